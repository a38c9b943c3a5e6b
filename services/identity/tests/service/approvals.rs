//! The Access Coordinator: exactly one per tenant, handed over atomically; tutor and teacher
//! accounts wait for their approval; only they delete unused accounts and promote teachers.

use lms_api::identity::v1::{
    AccountKind, ApproveAccountRequest, CreateUserRequest, DeleteUnusedAccountRequest,
    GetTenantRequest, GetUserRequest, ListPendingApprovalsRequest, NewUser, PromoteTeacherRequest,
    RejectAccountRequest, TenantSettings, TransferAccessCoordinatorRequest,
};
use tonic::Code;

use crate::fixture::{Platform, USER_PASSWORD, reason};

async fn apply(platform: &Platform, admin: &str, email: &str, kind: AccountKind) -> String {
    platform
        .users(admin)
        .create_user(CreateUserRequest {
            user: Some(NewUser {
                email: email.into(),
                given_name: "Tess".into(),
                family_name: "Tutor".into(),
                password: USER_PASSWORD.into(),
                account_kind: kind as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
        .user_id
}

#[tokio::test]
async fn a_tutor_waits_in_the_queue_until_approved_and_then_holds_the_tutor_role() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let tutor = apply(&platform, &admin, "tess@example.org", AccountKind::Tutor).await;
    let queue = platform
        .approvals(&admin)
        .list_pending_approvals(ListPendingApprovalsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(queue.total, 1);
    assert_eq!(queue.users[0].user_id, tutor);

    let approved = platform
        .approvals(&admin)
        .approve_account(ApproveAccountRequest {
            user_id: tutor.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(approved.written_at.is_some());
    assert!(
        platform
            .roles_of(&admin, &tutor)
            .await
            .contains(&"builtin:tutor".to_owned())
    );
    platform
        .sign_in("tess@example.org", USER_PASSWORD)
        .await
        .expect("an approved tutor signs in");
    let queue = platform
        .approvals(&admin)
        .list_pending_approvals(ListPendingApprovalsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(queue.total, 0);

    let twice = platform
        .approvals(&admin)
        .approve_account(ApproveAccountRequest {
            user_id: tutor,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&twice), "NOT_PENDING");
}

#[tokio::test]
async fn only_the_access_coordinator_decides_and_a_rejected_application_is_deleted() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let other_admin = platform.create_user(&admin, "olga@example.org", "").await;
    platform
        .assign(&admin, &other_admin, "lms_administrator", "")
        .await;
    let olga = platform
        .sign_in("olga@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let teacher = apply(&platform, &admin, "ted@example.org", AccountKind::Teacher).await;

    let refused = platform
        .approvals(&olga)
        .approve_account(ApproveAccountRequest {
            user_id: teacher.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Code::PermissionDenied,
        "an LMS Administrator is not the Access Coordinator"
    );

    platform
        .approvals(&admin)
        .reject_account(RejectAccountRequest {
            user_id: teacher.clone(),
            reason: "not one of ours".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let gone = platform
        .users(&admin)
        .get_user(GetUserRequest { user_id: teacher })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}

#[tokio::test]
async fn an_approved_teacher_is_promoted_to_teacher_administrator() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let teacher = apply(&platform, &admin, "tina@example.org", AccountKind::Teacher).await;
    let early = platform
        .approvals(&admin)
        .promote_teacher(PromoteTeacherRequest {
            user_id: teacher.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&early), "NOT_AN_APPROVED_TEACHER");
    platform
        .approvals(&admin)
        .approve_account(ApproveAccountRequest {
            user_id: teacher.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    platform
        .approvals(&admin)
        .promote_teacher(PromoteTeacherRequest {
            user_id: teacher.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let roles = platform.roles_of(&admin, &teacher).await;
    assert!(roles.contains(&"builtin:teacher".to_owned()), "{roles:?}");
    assert!(
        roles.contains(&"builtin:teacher_administrator".to_owned()),
        "{roles:?}"
    );
}

#[tokio::test]
async fn an_account_in_use_is_not_deleted_as_unused() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let user = platform.create_user(&admin, "new@example.org", "").await;
    let refused = platform
        .approvals(&admin)
        .delete_unused_account(DeleteUnusedAccountRequest {
            user_id: user,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "ACCOUNT_IN_USE");
}

#[tokio::test]
async fn an_idle_account_is_deleted_and_its_access_ends() {
    let platform = Platform::start_full(TenantSettings::default(), 0).await;
    let admin = platform.admin_token().await;
    let user = platform.create_user(&admin, "idle@example.org", "").await;
    let deleted = platform
        .approvals(&admin)
        .delete_unused_account(DeleteUnusedAccountRequest {
            user_id: user.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(deleted.written_at.is_some());
    let refused = platform
        .sign_in("idle@example.org", USER_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn a_deleted_unused_account_takes_its_role_assignments_with_it() {
    let platform = Platform::start_full(TenantSettings::default(), 0).await;
    let admin = platform.admin_token().await;
    let user = platform.create_user(&admin, "idle@example.org", "").await;
    platform.assign(&admin, &user, "tutor", "").await;
    assert_eq!(platform.roles_of(&admin, &user).await, ["builtin:tutor"]);
    let deleted = platform
        .approvals(&admin)
        .delete_unused_account(DeleteUnusedAccountRequest {
            user_id: user.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(deleted.written_at.is_some(), "delivered with the deletion");
    assert!(
        platform.roles_of(&admin, &user).await.is_empty(),
        "no assignment outlives the account"
    );
}

#[tokio::test]
async fn the_access_coordinator_hands_over_atomically_with_the_duties() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let successor = platform.create_user(&admin, "sam@example.org", "").await;
    let handed = platform
        .tenants(&admin)
        .transfer_access_coordinator(TransferAccessCoordinatorRequest {
            new_user_id: successor.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(handed.tenant.unwrap().access_coordinator_user_id, successor);
    let written_at = handed.written_at;
    assert!(written_at.is_some());
    let tenant = platform
        .tenants(&admin)
        .get_tenant(GetTenantRequest::default())
        .await
        .unwrap()
        .into_inner()
        .tenant
        .unwrap();
    assert_eq!(tenant.access_coordinator_user_id, successor);
    // The duty is the tenant's record, not a role anyone holds.
    for holder in [successor.clone(), platform.admin.to_string()] {
        assert!(
            !platform
                .roles_of(&admin, &holder)
                .await
                .contains(&"builtin:access_coordinator".to_owned())
        );
    }

    // The former coordinator keeps LMS Administrator but no longer decides approvals; the
    // successor does, at once.
    let tutor = apply(&platform, &admin, "tom@example.org", AccountKind::Tutor).await;
    let refused = platform
        .approvals(&admin)
        .approve_account(ApproveAccountRequest {
            user_id: tutor.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let sam = platform
        .sign_in("sam@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    platform
        .approvals(&sam)
        .approve_account(ApproveAccountRequest {
            user_id: tutor,
            at_least_as_fresh: written_at,
        })
        .await
        .expect("the new coordinator approves, at least as fresh as the hand-over");
}

/// Issue 13 item 8: the duties follow the one coordinator record, and only the hand-over moves
/// it. An administrator who handed it on cannot take it back; the coordinator role cannot be
/// assigned (not even by a service); no custom role can carry the duties.
#[tokio::test]
async fn nobody_but_the_coordinator_or_an_operator_moves_the_duty_and_no_role_carries_it() {
    use lms_api::authorization::v1::role_service_client::RoleServiceClient;
    use lms_api::authorization::v1::{AssignRoleRequest, CreateRoleRequest, Grant, Reach};

    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    // No custom role carries the duties: the coordinator (here also the LMS Administrator, who
    // defines roles) holds them by record, not by grant, so there is nothing to give.
    let role = RoleServiceClient::new(platform.authorization.authorized(&admin))
        .create_role(CreateRoleRequest {
            name: "Deputy approver".into(),
            grants: vec![Grant {
                permission: "tutor_approvals.decide".into(),
                reach: Reach::Tenant as i32,
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(role.code(), Code::PermissionDenied);
    assert_eq!(reason(&role), "ESCALATION");

    let sam = platform.create_user(&admin, "sam@example.org", "").await;
    platform
        .tenants(&admin)
        .transfer_access_coordinator(TransferAccessCoordinatorRequest {
            new_user_id: sam.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    // The LMS Administrator holds security settings, but not the duty any more.
    let back = platform
        .tenants(&admin)
        .transfer_access_coordinator(TransferAccessCoordinatorRequest {
            new_user_id: platform.admin.to_string(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(back.code(), Code::PermissionDenied);
    assert_eq!(reason(&back), "NOT_ACCESS_COORDINATOR");

    // The retired coordinator role is assigned by nobody, services included.
    for token in [admin.clone(), platform.identity_service_token()] {
        let assigned = platform
            .roles(&token)
            .assign_role(AssignRoleRequest {
                user_id: platform.admin.to_string(),
                role_id: "builtin:access_coordinator".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(reason(&assigned), "NOT_ASSIGNABLE");
    }

    // A platform operator hands it over (naming the tenant) when the holder is gone.
    platform
        .tenants(&platform.operator_token())
        .transfer_access_coordinator(TransferAccessCoordinatorRequest {
            new_user_id: platform.admin.to_string(),
            tenant_id: platform.tenant.to_string(),
        })
        .await
        .unwrap();
}
