//! Users after creation: updates by field mask, suspension and reactivation, and lists that
//! show each caller only the people they may see.

use lms_api::common::v1::{ObjectType, UserStatus};
use lms_api::identity::v1::{
    CreateGroupRequest, ListUsersRequest, ReactivateUserRequest, RefreshTokenRequest,
    SetGroupManagerRequest, SetPrimaryGroupRequest, SuspendUserRequest, UpdateUserRequest, User,
};
use prost_types::FieldMask;
use tonic::Code;

use crate::fixture::{ADMIN_EMAIL, Platform, USER_PASSWORD, fields, object, reason};

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

#[tokio::test]
async fn a_suspended_user_is_allowed_nothing_and_cannot_sign_in_until_reactivated() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let id = platform.create_user(&admin, "sid@example.org", "").await;
    let session = platform
        .sign_in("sid@example.org", USER_PASSWORD)
        .await
        .unwrap();
    let own_profile = object(ObjectType::User, &id);
    assert!(
        platform
            .allowed(
                &session.access_token,
                "users.read",
                own_profile.clone(),
                None
            )
            .await
    );

    let suspended = platform
        .users(&admin)
        .suspend_user(SuspendUserRequest {
            user_id: id.clone(),
            reason: "left the company".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(suspended.user.unwrap().status, UserStatus::Suspended as i32);
    assert!(
        !platform
            .allowed(
                &session.access_token,
                "users.read",
                own_profile.clone(),
                suspended.written_at
            )
            .await,
        "with the suspension's token the still-valid access token is allowed nothing"
    );
    let refused = platform
        .sign_in("sid@example.org", USER_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "ACCOUNT_SUSPENDED");
    let refresh = platform
        .authn()
        .refresh_token(RefreshTokenRequest {
            refresh_token: session.refresh_token,
        })
        .await
        .unwrap_err();
    assert_eq!(refresh.code(), Code::Unauthenticated);

    // Suspending twice is refused; reactivation restores sign-in and decisions.
    let again = platform
        .users(&admin)
        .suspend_user(SuspendUserRequest {
            user_id: id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&again), "NOT_ACTIVE");
    let reactivated = platform
        .users(&admin)
        .reactivate_user(ReactivateUserRequest {
            user_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let fresh = platform
        .sign_in("sid@example.org", USER_PASSWORD)
        .await
        .unwrap();
    assert!(
        platform
            .allowed(
                &fresh.access_token,
                "users.read",
                own_profile,
                reactivated.written_at
            )
            .await
    );
}

#[tokio::test]
async fn nobody_suspends_themselves_or_the_access_coordinator() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let own = platform
        .users(&admin)
        .suspend_user(SuspendUserRequest {
            user_id: platform.admin.to_string(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(own.code(), Code::PermissionDenied);
    assert_eq!(reason(&own), "SELF_ADMINISTRATION");

    let second = platform.create_user(&admin, "bob@example.org", "").await;
    platform
        .assign(&admin, &second, "lms_administrator", "")
        .await;
    let bob = platform
        .sign_in("bob@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let coordinator = platform
        .users(&bob)
        .suspend_user(SuspendUserRequest {
            user_id: platform.admin.to_string(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(coordinator.code(), Code::FailedPrecondition);
    assert_eq!(reason(&coordinator), "ACCESS_COORDINATOR");
}

#[tokio::test]
async fn an_update_changes_only_the_masked_fields_and_bad_input_changes_nothing() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let id = platform.create_user(&admin, "una@example.org", "").await;
    let updated = platform
        .users(&admin)
        .update_user(UpdateUserRequest {
            user_id: id.clone(),
            user: Some(User {
                given_name: "Una".into(),
                family_name: "ignored, not in the mask".into(),
                ..Default::default()
            }),
            update_mask: mask(&["given_name"]),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(updated.given_name, "Una");
    assert_eq!(updated.family_name, "Person");

    let taken = platform
        .users(&admin)
        .update_user(UpdateUserRequest {
            user_id: id.clone(),
            user: Some(User {
                email: ADMIN_EMAIL.into(),
                given_name: "Changed".into(),
                ..Default::default()
            }),
            update_mask: mask(&["email", "given_name"]),
        })
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    let unchanged = platform.user(&admin, &id).await;
    assert_eq!(
        (unchanged.email.as_str(), unchanged.given_name.as_str()),
        ("una@example.org", "Una"),
        "the refused update changed nothing"
    );

    for (user, paths, field) in [
        (
            User {
                email: "not an email".into(),
                ..Default::default()
            },
            &["email"][..],
            "user.email",
        ),
        (User::default(), &["password_hash"][..], "update_mask"),
        (User::default(), &[][..], "update_mask"),
    ] {
        let refused = platform
            .users(&admin)
            .update_user(UpdateUserRequest {
                user_id: id.clone(),
                user: Some(user),
                update_mask: mask(paths),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(fields(&refused), [field]);
    }
}

#[tokio::test]
async fn a_list_shows_a_manager_only_their_team_and_an_administrator_everyone_filtered() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let mona = platform.create_user(&admin, "mona@example.org", "").await;
    platform.assign(&admin, &mona, "manager", "").await;
    let team = platform
        .groups(&admin)
        .create_group(CreateGroupRequest {
            name: "Team".into(),
            external_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap()
        .group_id;
    platform
        .groups(&admin)
        .set_group_manager(SetGroupManagerRequest {
            group_id: team.clone(),
            manager_user_id: mona.clone(),
        })
        .await
        .unwrap();
    let mut members = Vec::new();
    for email in ["t1@example.org", "t2@example.org", "t3@example.org"] {
        let id = platform.create_user(&admin, email, "").await;
        platform
            .groups(&admin)
            .set_primary_group(SetPrimaryGroupRequest {
                user_id: id.clone(),
                group_id: team.clone(),
            })
            .await
            .unwrap();
        members.push(id);
    }
    let outsider = platform.create_user(&admin, "out@example.org", "").await;

    let mona_token = platform
        .sign_in("mona@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = platform
            .users(&mona_token)
            .list_users(ListUsersRequest {
                page_size: 2,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.users.into_iter().map(|u| u.user_id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert!(!seen.contains(&outsider), "the outsider is not on the page");
    assert!(!seen.contains(&platform.admin.to_string()));
    for member in &members {
        assert!(seen.contains(member), "team member {member} is listed");
    }

    let everyone = platform
        .users(&admin)
        .list_users(ListUsersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(everyone.len(), 6, "the administrator sees all six people");
    let found = platform
        .users(&admin)
        .list_users(ListUsersRequest {
            query: "OUT@".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].user_id, outsider);
    let in_team = platform
        .users(&admin)
        .list_users(ListUsersRequest {
            group_id: team,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(in_team.len(), 3);
    assert!(in_team.iter().all(|u| !u.primary_group_id.is_empty()));
}

#[tokio::test]
async fn a_training_coordinator_cannot_suspend_or_anonymise_an_lms_administrator() {
    use lms_api::identity::v1::AnonymiseUserRequest;
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let (lms, _) = platform
        .holder(&admin, "lin@example.org", "lms_administrator")
        .await;
    let (_, coordinator) = platform
        .holder(&admin, "tia@example.org", "training_coordinator")
        .await;

    let suspend = platform
        .users(&coordinator)
        .suspend_user(SuspendUserRequest {
            user_id: lms.clone(),
            reason: "takeover".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (suspend.code(), reason(&suspend)),
        (Code::PermissionDenied, "OUTRANKED".into())
    );
    assert!(
        suspend.message().contains("system_configuration"),
        "the refusal names what the actor lacks: {suspend:?}"
    );
    let anonymise = platform
        .users(&coordinator)
        .anonymise_user(AnonymiseUserRequest {
            user_id: lms.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (anonymise.code(), reason(&anonymise)),
        (Code::PermissionDenied, "OUTRANKED".into())
    );
    let untouched = platform.user(&admin, &lms).await;
    assert_eq!(untouched.status(), UserStatus::Active);
    assert_eq!(untouched.email, "lin@example.org");
}

#[tokio::test]
async fn a_teacher_administrator_cannot_change_an_lms_administrators_email_but_changes_a_students()
{
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let (lms, _) = platform
        .holder(&admin, "lin@example.org", "lms_administrator")
        .await;
    let (_, teachers) = platform
        .holder(&admin, "tad@example.org", "teacher_administrator")
        .await;
    let student = platform.create_user(&admin, "stu@example.org", "").await;
    let new_email = |id: &str, email: &str| UpdateUserRequest {
        user_id: id.into(),
        user: Some(User {
            email: email.into(),
            ..Default::default()
        }),
        update_mask: mask(&["email"]),
    };

    let refused = platform
        .users(&teachers)
        .update_user(new_email(&lms, "mine@example.org"))
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "OUTRANKED".into())
    );
    assert_eq!(platform.user(&admin, &lms).await.email, "lin@example.org");

    let changed = platform
        .users(&teachers)
        .update_user(new_email(&student, "student@example.org"))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(changed.email, "student@example.org");
}

#[tokio::test]
async fn an_lms_administrator_still_suspends_and_reactivates_a_student() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let student = platform.create_user(&admin, "stu@example.org", "").await;
    let suspended = platform
        .users(&admin)
        .suspend_user(SuspendUserRequest {
            user_id: student.clone(),
            reason: "left".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(suspended.status(), UserStatus::Suspended);
    platform
        .users(&admin)
        .reactivate_user(ReactivateUserRequest { user_id: student })
        .await
        .unwrap();
}
