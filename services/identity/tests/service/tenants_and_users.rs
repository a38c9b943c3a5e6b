//! Tenants created by operators; users created by those authorization allows; access changes
//! reaching authorization with their consistency token.

use lms_api::authorization::v1::{CheckRequest, Decision};
use lms_api::common::v1::{Consistency, ObjectReference, ObjectType, consistency::Requirement};
use lms_api::identity::v1::{CreateTenantRequest, CreateUserRequest, GetUserRequest, NewUser};
use tonic::Code;

use crate::fixture::{Platform, fields, reason};

fn learner(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        given_name: "Grace".into(),
        family_name: "Hopper".into(),
        password: "a learner's long password".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_access_coordinator_signs_in_and_creates_a_user_that_decisions_see_at_once() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let created = platform
        .users(&admin)
        .create_user(CreateUserRequest {
            user: Some(learner("grace@example.org")),
        })
        .await
        .unwrap()
        .into_inner();
    let user = created.user.unwrap();
    assert_eq!(user.status, 2, "a standard account is active at once");
    assert_eq!(user.employments.len(), 1);
    assert!(
        user.employments[0].main_account,
        "the Guest account is the main account"
    );

    // The admin's identity-issued token is accepted by authorization, and with the token the
    // write answered, the decision already sees the new user.
    let decision = platform
        .decisions(&admin)
        .check(CheckRequest {
            permission: "users.read".into(),
            resource: Some(ObjectReference {
                r#type: ObjectType::User as i32,
                id: user.user_id.clone(),
                tenant_id: String::new(),
            }),
            consistency: Some(Consistency {
                requirement: Some(Requirement::AtLeastAsFresh(created.written_at.unwrap())),
            }),
            subject_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision.decision(), Decision::Allowed);

    let fetched = platform
        .users(&admin)
        .get_user(GetUserRequest {
            user_id: user.user_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(fetched.email, "grace@example.org");
}

#[tokio::test]
async fn a_student_may_not_create_users_and_is_told_why() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    platform
        .users(&admin)
        .create_user(CreateUserRequest {
            user: Some(learner("grace@example.org")),
        })
        .await
        .unwrap();
    let student = platform
        .sign_in("grace@example.org", "a learner's long password")
        .await
        .unwrap()
        .access_token;
    let status = platform
        .users(&student)
        .create_user(CreateUserRequest {
            user: Some(learner("eve@example.org")),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(
        status.message().contains("users.create"),
        "{}",
        status.message()
    );
    // Their own record they may read; another's not.
    platform
        .users(&student)
        .get_user(GetUserRequest::default())
        .await
        .unwrap();
    let status = platform
        .users(&student)
        .get_user(GetUserRequest {
            user_id: platform.admin.to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_malformed_email_and_a_duplicate_user_are_refused_and_change_nothing() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let mut bad = learner("not an email");
    bad.given_name = String::new();
    let status = platform
        .users(&admin)
        .create_user(CreateUserRequest { user: Some(bad) })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(fields(&status), ["user.email", "user.given_name"]);

    platform
        .users(&admin)
        .create_user(CreateUserRequest {
            user: Some(learner("grace@example.org")),
        })
        .await
        .unwrap();
    let status = platform
        .users(&admin)
        .create_user(CreateUserRequest {
            user: Some(learner("GRACE@example.org")),
        })
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::AlreadyExists,
        "emails compare case-insensitively"
    );
    // The first password still signs in: the duplicate changed nothing.
    platform
        .sign_in("grace@example.org", "a learner's long password")
        .await
        .unwrap();
}

#[tokio::test]
async fn tutors_wait_for_approval_and_cannot_sign_in_meanwhile() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let mut tutor = learner("tutor@example.org");
    tutor.account_kind = 2;
    let user = platform
        .users(&admin)
        .create_user(CreateUserRequest { user: Some(tutor) })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(user.status, 1, "pending approval");
    let status = platform
        .sign_in("tutor@example.org", "a learner's long password")
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "ACCOUNT_PENDING_APPROVAL");
}

#[tokio::test]
async fn only_platform_operators_create_tenants() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let status = platform
        .tenants(&admin)
        .create_tenant(CreateTenantRequest {
            name: "Sneaky".into(),
            settings: None,
            access_coordinator: Some(learner("x@example.org")),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(reason(&status), "PLATFORM_OPERATOR_REQUIRED");
}
