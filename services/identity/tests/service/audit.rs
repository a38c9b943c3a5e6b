//! Identity audits every change (H9): one record per change, written in the change's
//! transaction, naming the acting person and their session, with before/after holding ids and
//! codes only (M17); and roles given on a person's behalf name that person in authorization's
//! audit.

use base64::Engine as _;
use lms_api::authorization::v1::ListAuditRecordsRequest as RoleAuditRequest;
use lms_api::common::v1::UserStatus;
use lms_api::identity::v1::identity_audit_service_client::IdentityAuditServiceClient;
use lms_api::identity::v1::{
    AccountKind, ApproveAccountRequest, AuditRecord, CreateUserRequest, ListAuditRecordsRequest,
    NewUser, ReactivateUserRequest, SuspendUserRequest,
};
use serde_json::Value;
use tonic::Code;

use crate::fixture::{Platform, USER_PASSWORD, reason};

/// The `sid` claim of an access token: the sign-in session it belongs to.
fn session_of(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("the payload is base64url");
    let claims: Value = serde_json::from_slice(&bytes).expect("the payload is JSON");
    claims["sid"]
        .as_str()
        .expect("a sign-in token names its session")
        .to_owned()
}

async fn records_about(platform: &Platform, token: &str, kind: &str, id: &str) -> Vec<AuditRecord> {
    IdentityAuditServiceClient::new(platform.identity.authorized(token))
        .list_audit_records(ListAuditRecordsRequest {
            object_type: kind.into(),
            object_id: id.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .records
}

async fn a_suspension_leaves_one_record_naming_the_admin_and_their_session(platform: Platform) {
    let admin = platform.admin_token().await;
    let id = platform.create_user(&admin, "sid@example.org", "").await;
    platform
        .users(&admin)
        .suspend_user(SuspendUserRequest {
            user_id: id.clone(),
            reason: "told HR about Sid Vicious at sid@example.org".into(),
        })
        .await
        .unwrap();

    let records = records_about(&platform, &admin, "user", &id).await;
    let actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["user.suspended", "user.created"], "newest first");
    let suspended = &records[0];
    assert_eq!(suspended.actor_user_id, platform.admin.to_string());
    assert_eq!(suspended.actor_session_id, session_of(&admin));
    assert!(suspended.actor_service.is_empty());
    let before: Value = serde_json::from_str(&suspended.before_json).unwrap();
    let after: Value = serde_json::from_str(&suspended.after_json).unwrap();
    assert_eq!(before["status"], UserStatus::Active as i32);
    assert_eq!(after["status"], UserStatus::Suspended as i32);
    for record in &records {
        let text = format!("{}{}", record.before_json, record.after_json);
        for personal in ["sid@", "example.org", "Sid", "HR", "argon2"] {
            assert!(!text.contains(personal), "{personal:?} in {text}");
        }
    }
}

#[tokio::test]
async fn a_suspension_is_audited_with_the_admin_their_session_and_no_personal_data() {
    a_suspension_leaves_one_record_naming_the_admin_and_their_session(Platform::start().await)
        .await;
}

#[tokio::test]
async fn a_suspension_is_audited_on_sqlite_too() {
    a_suspension_leaves_one_record_naming_the_admin_and_their_session(
        Platform::start_on_sqlite_with(|_| {}).await,
    )
    .await;
}

async fn a_refused_change_writes_nothing(platform: Platform) {
    let admin = platform.admin_token().await;
    let id = platform.create_user(&admin, "rita@example.org", "").await;
    // Active already: the kernel refuses inside the store's transaction.
    let refused = platform
        .users(&admin)
        .reactivate_user(ReactivateUserRequest {
            user_id: id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let suspend = || SuspendUserRequest {
        user_id: id.clone(),
        reason: String::new(),
    };
    platform
        .users(&admin)
        .suspend_user(suspend())
        .await
        .unwrap();
    let twice = platform
        .users(&admin)
        .suspend_user(suspend())
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);

    let records = records_about(&platform, &admin, "user", &id).await;
    let actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["user.suspended", "user.created"]);
}

#[tokio::test]
async fn a_refused_change_leaves_no_audit_record() {
    a_refused_change_writes_nothing(Platform::start().await).await;
}

#[tokio::test]
async fn a_refused_change_leaves_no_audit_record_on_sqlite() {
    a_refused_change_writes_nothing(Platform::start_on_sqlite_with(|_| {}).await).await;
}

#[tokio::test]
async fn only_holders_of_audit_read_list_the_audit() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    platform.create_user(&admin, "lena@example.org", "").await;
    let learner = platform
        .sign_in("lena@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let denied = IdentityAuditServiceClient::new(platform.identity.authorized(&learner))
        .list_audit_records(ListAuditRecordsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(!reason(&denied).is_empty());
    let wrong = IdentityAuditServiceClient::new(platform.identity.authorized(&admin))
        .list_audit_records(ListAuditRecordsRequest {
            object_id: "x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn an_approval_role_assignment_names_the_approving_person_in_authorizations_audit() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let tutor = platform
        .users(&admin)
        .create_user(CreateUserRequest {
            user: Some(NewUser {
                email: "tess@example.org".into(),
                given_name: "Tess".into(),
                family_name: "Tutor".into(),
                password: USER_PASSWORD.into(),
                account_kind: AccountKind::Tutor as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
        .user_id;
    platform
        .approvals(&admin)
        .approve_account(ApproveAccountRequest {
            user_id: tutor.clone(),
        })
        .await
        .unwrap();

    let records = platform
        .roles(&admin)
        .list_audit_records(RoleAuditRequest::default())
        .await
        .unwrap()
        .into_inner()
        .records;
    let given = records
        .iter()
        .find(|r| r.action == "role_assignment.created" && r.after_json.contains(&tutor))
        .expect("the tutor role's assignment is audited");
    assert_eq!(
        given.stamp.as_ref().unwrap().actor_id,
        platform.admin.to_string(),
        "the approving person, not service:identity"
    );
    let approved = records_about(&platform, &admin, "user", &tutor).await;
    assert_eq!(approved[0].action, "user.approved");
    assert_eq!(approved[0].actor_user_id, platform.admin.to_string());
}
