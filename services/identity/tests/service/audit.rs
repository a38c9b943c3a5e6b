//! Identity audits every change (H9): one record per change, written in the change's
//! transaction, naming the acting person and their session, with before/after holding ids and
//! codes only (M17); and roles given on a person's behalf name that person in authorization's
//! audit.

use std::time::Duration;

use base64::Engine as _;
use lms_api::authorization::v1::ListAuditRecordsRequest as RoleAuditRequest;
use lms_api::common::v1::UserStatus;
use lms_api::identity::v1::identity_audit_service_client::IdentityAuditServiceClient;
use lms_api::identity::v1::import_service_client::ImportServiceClient;
use lms_api::identity::v1::{
    AccountKind, ApproveAccountRequest, AuditRecord, ChangePasswordRequest, CreateGroupRequest,
    CreateUserRequest, ImportCsvRequest, ImportKind, ImportOptions, ListAuditRecordsRequest,
    ListPlatformAuditRecordsRequest, NewUser, PromoteTeacherRequest, ReactivateUserRequest,
    SuspendUserRequest, TenantSettings, UnlockSignInRequest, UpdateTenantSettingsRequest,
    import_csv_request,
};
use prost_types::FieldMask;
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
async fn operators_alone_read_the_platform_trail_which_keeps_the_tenants_they_made() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let operator = platform.operator_token();
    let (other, _) = platform
        .another_tenant("Other Co", "oc@other.example")
        .await;
    platform.create_user(&admin, "tess@example.org", "").await;
    let trail = |token: &str, request: ListPlatformAuditRecordsRequest| {
        let mut client = IdentityAuditServiceClient::new(platform.identity.authorized(token));
        async move { client.list_platform_audit_records(request).await }
    };
    let created = |page_size, page_token| ListPlatformAuditRecordsRequest {
        action: "tenant.created".into(),
        page_size,
        page_token,
        ..Default::default()
    };

    // Both tenants, newest first, each made by the operator; one a page.
    let first = trail(&operator, created(1, String::new()))
        .await
        .unwrap()
        .into_inner();
    let second = trail(&operator, created(1, first.next_page_token.clone()))
        .await
        .unwrap()
        .into_inner();
    let made: Vec<&AuditRecord> = first.records.iter().chain(&second.records).collect();
    let tenants: Vec<&str> = made.iter().map(|r| r.object_id.as_str()).collect();
    assert_eq!(tenants, [other.clone(), platform.tenant.to_string()]);
    assert!(
        made.iter()
            .all(|r| r.object_type == "tenant" && r.actor_service == "operator"),
        "{made:?}"
    );
    // The tenant's own trail keeps its creation too; its people's changes stay there alone.
    let own = records_about(&platform, &admin, "tenant", &platform.tenant.to_string()).await;
    assert!(own.iter().any(|r| r.action == "tenant.created"));
    let everything = trail(&operator, ListPlatformAuditRecordsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .records;
    assert!(
        everything.iter().all(|r| r.object_type != "user"),
        "{everything:?}"
    );

    // Nobody else reads it: not the tenant's administrator, nor a tenant's own service.
    for token in [admin, platform.identity_service_token()] {
        let denied = trail(&token, ListPlatformAuditRecordsRequest::default())
            .await
            .unwrap_err();
        assert_eq!(
            (denied.code(), reason(&denied).as_str()),
            (Code::PermissionDenied, "PLATFORM_OPERATOR_REQUIRED")
        );
    }
}

/// The actor authorization's audit names for the assignment of `role` to `holder`.
async fn assigned_by(platform: &Platform, admin: &str, holder: &str, role: &str) -> String {
    let records = platform
        .roles(admin)
        .list_audit_records(RoleAuditRequest::default())
        .await
        .unwrap()
        .into_inner()
        .records;
    records
        .iter()
        .find(|r| {
            r.action == "role_assignment.created"
                && r.after_json.contains(holder)
                && r.after_json.contains(role)
        })
        .and_then(|r| r.stamp.as_ref())
        .map(|stamp| stamp.actor_id.clone())
        .unwrap_or_else(|| panic!("the {role} assignment of {holder} is audited"))
}

async fn applicant(platform: &Platform, admin: &str, email: &str, kind: AccountKind) -> String {
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
async fn an_approval_role_assignment_names_the_approving_person_in_authorizations_audit() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let tutor = applicant(&platform, &admin, "tess@example.org", AccountKind::Tutor).await;
    platform
        .approvals(&admin)
        .approve_account(ApproveAccountRequest {
            user_id: tutor.clone(),
            ..Default::default()
        })
        .await
        .unwrap();

    let admin_id = platform.admin.to_string();
    assert_eq!(
        assigned_by(&platform, &admin, &tutor, "builtin:tutor").await,
        admin_id,
        "the approving person, not service:identity"
    );
    let approved = records_about(&platform, &admin, "user", &tutor).await;
    assert_eq!(approved[0].action, "user.approved");
    assert_eq!(approved[0].actor_user_id, admin_id);
}

#[tokio::test]
async fn a_promotion_is_audited_and_its_role_names_the_promoting_person() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let teacher = applicant(&platform, &admin, "tina@example.org", AccountKind::Teacher).await;
    let approvals = || platform.approvals(&admin);
    approvals()
        .approve_account(ApproveAccountRequest {
            user_id: teacher.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    approvals()
        .promote_teacher(PromoteTeacherRequest {
            user_id: teacher.clone(),
            ..Default::default()
        })
        .await
        .unwrap();

    let role = "builtin:teacher_administrator";
    assert_eq!(
        assigned_by(&platform, &admin, &teacher, role).await,
        platform.admin.to_string()
    );
    let records = records_about(&platform, &admin, "user", &teacher).await;
    assert_eq!(records[0].action, "user.promoted");
    assert_eq!(records[0].actor_user_id, platform.admin.to_string());
}

#[tokio::test]
async fn settings_lockout_lifts_and_password_changes_are_audited_without_secrets() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let tenant = platform.tenant.to_string();
    platform
        .tenants(&admin)
        .update_tenant_settings(UpdateTenantSettingsRequest {
            settings: Some(TenantSettings {
                locations_enabled: true,
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["locations_enabled".into()],
            }),
        })
        .await
        .unwrap();
    let settings = records_about(&platform, &admin, "tenant", &tenant).await;
    assert_eq!(settings[0].action, "tenant.settings_changed");
    let before: Value = serde_json::from_str(&settings[0].before_json).unwrap();
    let after: Value = serde_json::from_str(&settings[0].after_json).unwrap();
    assert_eq!(before["locations_enabled"], false);
    assert_eq!(after["locations_enabled"], true);
    assert_eq!(after["mfa_required_for_admins"], false);

    let learner = platform.create_user(&admin, "lou@example.org", "").await;
    let own = platform
        .sign_in("lou@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let new_password = "seven purple otters juggling";
    platform
        .authn_as(&own)
        .change_password(ChangePasswordRequest {
            current_password: USER_PASSWORD.into(),
            new_password: new_password.into(),
        })
        .await
        .unwrap();
    platform
        .authn_as(&admin)
        .unlock_sign_in(UnlockSignInRequest {
            user_id: learner.clone(),
            tenant_id: String::new(),
        })
        .await
        .unwrap();
    platform
        .authn_as(&platform.operator_token())
        .unlock_sign_in(UnlockSignInRequest {
            user_id: learner.clone(),
            tenant_id: tenant.clone(),
        })
        .await
        .unwrap();

    let records = records_about(&platform, &admin, "user", &learner).await;
    let actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "user.sign_in_unlocked",
            "user.sign_in_unlocked",
            "user.password_changed",
            "user.created"
        ]
    );
    assert_eq!(records[0].actor_service, "operator");
    assert!(records[0].actor_user_id.is_empty());
    assert_eq!(records[1].actor_user_id, platform.admin.to_string());
    assert_eq!(
        records[2].actor_user_id, learner,
        "the person changed their own"
    );
    assert_eq!(records[2].actor_session_id, session_of(&own));
    for record in &records {
        let text = format!("{}{}", record.before_json, record.after_json);
        for secret in [new_password, USER_PASSWORD, "argon2", "lou@"] {
            assert!(!text.contains(secret), "{secret:?} in {text}");
        }
    }

    let by_admin = IdentityAuditServiceClient::new(platform.identity.authorized(&admin))
        .list_audit_records(ListAuditRecordsRequest {
            actor_user_id: learner.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .records;
    assert_eq!(by_admin.len(), 1, "only the learner's own change is theirs");
    assert_eq!(by_admin[0].action, "user.password_changed");
}

#[tokio::test]
async fn the_audit_pages_newest_first() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    for name in ["a", "b", "c"] {
        platform
            .create_user(&admin, &format!("{name}@example.org"), "")
            .await;
    }
    let client = || IdentityAuditServiceClient::new(platform.identity.authorized(&admin));
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client()
            .list_audit_records(ListAuditRecordsRequest {
                page_size: 2,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.records.iter().map(|r| r.sequence));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert!(seen.len() >= 4, "tenant creation and three users: {seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seen:?}"
    );
}

#[tokio::test]
async fn the_feed_gives_roles_on_behalf_of_the_person_who_ran_the_import() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    platform
        .groups(&admin)
        .create_group(CreateGroupRequest {
            name: "Sales".into(),
            external_id: "T-SALES".into(),
        })
        .await
        .unwrap();
    let file = "external_id,email,given_name,family_name,group,role\n\
                HR-1,mia@example.org,Mia,Moss,T-SALES,manager\n";
    let messages = vec![
        ImportCsvRequest {
            part: Some(import_csv_request::Part::Options(ImportOptions {
                kind: ImportKind::Users as i32,
                skip_bad_rows: false,
                people_data_feed: true,
            })),
        },
        ImportCsvRequest {
            part: Some(import_csv_request::Part::Chunk(file.as_bytes().to_vec())),
        },
    ];
    let mut stream = ImportServiceClient::new(platform.identity.authorized(&admin))
        .import_csv(tokio_stream::iter(messages))
        .await
        .unwrap()
        .into_inner();
    while stream.message().await.unwrap().is_some() {}

    let tenant = platform.tenant.to_string();
    let imported = records_about(&platform, &admin, "tenant", &tenant).await;
    let imported = imported
        .iter()
        .find(|r| r.action == "tenant.imported")
        .expect("one record for the import");
    let counts: Value = serde_json::from_str(&imported.after_json).unwrap();
    assert_eq!(counts["imported"], 1);
    assert_eq!(imported.actor_user_id, platform.admin.to_string());
    assert!(!imported.after_json.contains("mia"));

    // The feed's events reach authorization after the stream ends.
    let mut actor = None;
    for _ in 0..100 {
        let records = platform
            .roles(&admin)
            .list_audit_records(RoleAuditRequest::default())
            .await
            .unwrap()
            .into_inner()
            .records;
        actor = records
            .iter()
            .find(|r| r.action == "role_assignment.created" && r.after_json.contains("manager"))
            .and_then(|r| r.stamp.as_ref())
            .map(|s| s.actor_id.clone());
        if actor.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(actor, Some(platform.admin.to_string()));
}
