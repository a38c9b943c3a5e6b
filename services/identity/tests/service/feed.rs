//! The people-data feed as a tenant's integration (issue 15): an HR system's service account
//! holding `identity.people.import` imports people into its tenant as its holder would: every
//! decision the import takes about a person is bounded by the holder's rights (and by the
//! holder's second factor where the tenant requires one), and the audit names the integration
//! and the holder. One an operator made is trusted within its scope.

use lms_api::authorization::v1::ListAuditRecordsRequest as RoleAuditRequest;
use lms_api::authorization::v1::role_service_client::RoleServiceClient;
use lms_api::authorization::v1::{AssignRoleRequest, CreateRoleRequest, Grant, Reach};
use lms_api::identity::v1::identity_audit_service_client::IdentityAuditServiceClient;
use lms_api::identity::v1::{
    AuditRecord, CreateGroupRequest, CreateServiceAccountResponse, CreateUserRequest, ImportKind,
    ListAuditRecordsRequest, ListUsersRequest, NewUser, RotateServiceAccountSecretRequest,
    SignInRequest, TenantSettings, UpdateTenantSettingsRequest, User, sign_in_response,
};
use lms_runtime::auth::Caller;
use prost_types::FieldMask;
use tonic::Code;

use crate::fixture::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Platform, USER_PASSWORD, create_account, eventually_roles, import,
    issue_token, people, reason,
};

const FEED: &str = "identity.people.import";

/// An HR file: Mia joins the Sales team as its manager, Ned as a member.
const HR_FILE: &str = "external_id,email,given_name,family_name,group,role\n\
                       HR-1,mia@example.org,Mia,Moss,T-SALES,manager\n\
                       HR-2,ned@example.org,Ned,North,T-SALES,student\n";

/// A service account `name` made by `maker`'s caller for their tenant (or, for an operator,
/// for `tenant_id`) with `scopes`, and a token of it.
async fn integration(
    platform: &Platform,
    maker: &str,
    name: &str,
    scopes: &[&str],
    tenant_id: &str,
) -> (CreateServiceAccountResponse, String) {
    let created = create_account(platform, maker, name, scopes, tenant_id)
        .await
        .unwrap();
    let token = issue_token(platform, &created).await.unwrap();
    (created, token)
}

/// Imports `file` as the people-data feed (rows with a `role`), skipping bad rows or not.
async fn feed(
    platform: &Platform,
    token: &str,
    skip_bad_rows: bool,
    file: &str,
) -> Result<Vec<lms_api::identity::v1::ImportCsvResponse>, tonic::Status> {
    import(
        platform,
        token,
        ImportKind::Users,
        (skip_bad_rows, true),
        file,
    )
    .await
}

async fn sales_team(platform: &Platform, admin: &str) {
    platform
        .groups(admin)
        .create_group(CreateGroupRequest {
            name: "Sales".into(),
            external_id: "T-SALES".into(),
        })
        .await
        .unwrap();
}

/// The people `admin` lists whose e-mail starts with `query`.
async fn found(platform: &Platform, admin: &str, query: &str) -> Vec<User> {
    platform
        .users(admin)
        .list_users(ListUsersRequest {
            query: query.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .users
}

/// Identity's audit records about the tenant, newest first.
async fn tenant_records(platform: &Platform, admin: &str, actor: &str) -> Vec<AuditRecord> {
    IdentityAuditServiceClient::new(platform.identity.authorized(admin))
        .list_audit_records(ListAuditRecordsRequest {
            object_type: "tenant".into(),
            object_id: platform.tenant.to_string(),
            actor_user_id: actor.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .records
}

/// The actor authorization's audit names for the Manager role given to `user`, once the feed's
/// events reached it (at most five seconds).
async fn manager_given_by(platform: &Platform, admin: &str, user: &str) -> String {
    for _ in 0..100 {
        let records = platform
            .roles(admin)
            .list_audit_records(RoleAuditRequest::default())
            .await
            .unwrap()
            .into_inner()
            .records;
        let given = records.iter().find(|r| {
            r.action == "role_assignment.created"
                && r.after_json.contains("manager")
                && r.after_json.contains(user)
        });
        if let Some(stamp) = given.and_then(|r| r.stamp.as_ref()) {
            return stamp.actor_id.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the Manager role given to {user} never reached authorization's audit");
}

#[tokio::test]
async fn an_integration_with_the_feed_scope_imports_people_into_its_tenant() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    sales_team(&platform, &admin).await;
    let (_, hr) = integration(&platform, &admin, "hr-feed", &[FEED], "").await;

    let progress = feed(&platform, &hr, false, HR_FILE).await.unwrap();
    let last = progress.last().unwrap();
    assert_eq!((last.rows_read, last.rows_imported), (2, 2));
    assert_eq!(people(&platform, &admin).await, 3);
    let mia = found(&platform, &admin, "mia@").await.remove(0);
    assert!(!mia.primary_group_id.is_empty(), "the feed's team is hers");
    eventually_roles(&platform, &admin, &mia.user_id, true).await;
    let again = feed(&platform, &hr, false, HR_FILE).await.unwrap();
    assert_eq!(
        again.last().unwrap().rows_unchanged,
        2,
        "matched by external id"
    );

    // The scope opens the import, nothing else a person may do.
    let refused = platform
        .users(&hr)
        .create_user(CreateUserRequest {
            user: Some(NewUser {
                email: "eve@example.org".into(),
                given_name: "Eve".into(),
                family_name: "Evans".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "USER_REQUIRED".into())
    );
}

#[tokio::test]
async fn an_integration_without_the_feed_scope_is_refused_naming_it() {
    use tonic_types::StatusExt;
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let scopes = ["authorization.roles.assign", "authorization.decide"];
    let (_, roster) = integration(&platform, &admin, "roster-sync", &scopes, "").await;

    let refused = feed(&platform, &roster, false, HR_FILE).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "SCOPE_REQUIRED".into())
    );
    assert!(refused.message().contains(FEED), "{refused:?}");
    let info = refused.get_details_error_info().unwrap();
    assert_eq!(info.metadata["scope"], FEED);
    assert_eq!(people(&platform, &admin).await, 1, "nobody was imported");
}

#[tokio::test]
async fn an_integration_whose_holder_may_not_assign_manager_has_those_rows_refused() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    sales_team(&platform, &admin).await;
    // Hana may import people and run the tenant's integrations, not hand out Manager (which
    // reads the team's people, and she reads nobody's).
    let integrator = RoleServiceClient::new(platform.authorization.authorized(&admin))
        .create_role(CreateRoleRequest {
            name: "HR Integrator".into(),
            grants: ["users.import", "system_configuration.update"]
                .into_iter()
                .map(|permission| Grant {
                    permission: permission.into(),
                    reach: Reach::Tenant as i32,
                })
                .collect(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap()
        .role_id;
    let hana = platform.create_user(&admin, "hana@example.org", "").await;
    platform
        .roles(&admin)
        .assign_role(AssignRoleRequest {
            user_id: hana.clone(),
            role_id: integrator,
            ..Default::default()
        })
        .await
        .unwrap();
    let hanas = platform
        .sign_in("hana@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let (created, hr) = integration(&platform, &hanas, "hr-feed", &[FEED], "").await;
    assert_eq!(created.service_account.unwrap().holder_user_id, hana);

    let strict = feed(&platform, &hr, false, HR_FILE).await.unwrap();
    let errors: Vec<_> = strict.iter().flat_map(|m| &m.errors).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0].line, errors[0].column.as_str()), (2, "role"));
    assert!(errors[0].reason.contains("Manager role"), "{errors:?}");
    assert_eq!(people(&platform, &admin).await, 2, "nobody was imported");

    let skipping = feed(&platform, &hr, true, HR_FILE).await.unwrap();
    assert_eq!(skipping.last().unwrap().rows_imported, 1);
    assert!(found(&platform, &admin, "mia@").await.is_empty());
    assert_eq!(found(&platform, &admin, "ned@").await.len(), 1);
}

#[tokio::test]
async fn an_integration_cannot_touch_another_tenant() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let (globex, _) = platform
        .another_tenant("Globex", "grace@globex.example.org")
        .await;
    let outcome = platform
        .authn()
        .sign_in(SignInRequest {
            tenant_id: globex,
            email: "grace@globex.example.org".into(),
            password: USER_PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .outcome;
    let Some(sign_in_response::Outcome::Tokens(grace)) = outcome else {
        panic!("Globex's coordinator signs in: {outcome:?}");
    };
    let grace = grace.access_token;
    let (_, theirs) = integration(&platform, &grace, "hr-feed", &[FEED], "").await;
    let (_, ours) = integration(&platform, &admin, "hr-feed", &[FEED], "").await;
    let row =
        |email: &str| format!("external_id,email,given_name,family_name\nHR-1,{email},Kim,Kay\n");

    feed(&platform, &theirs, false, &row("kim@globex.example.org"))
        .await
        .unwrap();
    // The same external id in our tenant is another person: Globex's stays as it is.
    let ours_imported = feed(&platform, &ours, false, &row("kim@example.org"))
        .await
        .unwrap();
    assert_eq!(ours_imported.last().unwrap().rows_imported, 1);
    let emails = |users: Vec<User>| -> Vec<String> { users.into_iter().map(|u| u.email).collect() };
    assert_eq!(
        emails(found(&platform, &grace, "kim@").await),
        ["kim@globex.example.org"]
    );
    assert_eq!(
        emails(found(&platform, &admin, "kim@").await),
        ["kim@example.org"]
    );
}

#[tokio::test]
async fn the_audit_names_the_integration_and_its_holder() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    sales_team(&platform, &admin).await;
    let (_, hr) = integration(&platform, &admin, "hr-feed", &[FEED], "").await;
    feed(&platform, &hr, false, HR_FILE).await.unwrap();
    let holder = platform.admin.to_string();

    // Identity's trail: the integration beside its holder, found among the holder's records.
    let records = tenant_records(&platform, &admin, &holder).await;
    let imported = records
        .iter()
        .find(|r| r.action == "tenant.imported")
        .expect("the import is among the holder's records");
    assert_eq!(imported.actor_service, "integration:hr-feed");
    assert_eq!(imported.actor_user_id, holder);
    assert!(imported.actor_session_id.is_empty());
    let mia = found(&platform, &admin, "mia@").await.remove(0);
    assert_eq!(
        mia.created.unwrap().actor_id,
        format!("integration:hr-feed for {holder}")
    );
    // Authorization's, for the Manager role the feed gave.
    assert_eq!(
        manager_given_by(&platform, &admin, &mia.user_id).await,
        format!("integration:hr-feed for {holder}")
    );
}

#[tokio::test]
async fn a_tenant_account_named_like_a_platform_service_is_audited_as_the_integration_it_is() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    sales_team(&platform, &admin).await;
    let (_, impostor) = integration(&platform, &admin, "identity", &[FEED], "").await;
    let caller = platform.authorization_verifier.verify(&impostor).unwrap();
    assert!(
        matches!(&caller, Caller::Integration { name, .. } if name == "identity"),
        "{caller:?}"
    );

    feed(&platform, &impostor, false, HR_FILE).await.unwrap();
    let records = tenant_records(&platform, &admin, "").await;
    let imported = records
        .iter()
        .find(|r| r.action == "tenant.imported")
        .unwrap();
    assert_eq!(imported.actor_service, "integration:identity");
    let mia = found(&platform, &admin, "mia@").await.remove(0);
    assert_eq!(
        manager_given_by(&platform, &admin, &mia.user_id).await,
        format!("integration:identity for {}", platform.admin)
    );
}

#[tokio::test]
async fn an_integration_is_no_way_around_its_holders_second_factor() {
    let platform = Platform::start().await;
    let password_only = platform.admin_token().await;
    let (created, before) = integration(&platform, &password_only, "hr-feed", &[FEED], "").await;
    let one =
        |n: u8| format!("external_id,email,given_name,family_name\nHR-{n},p{n}@example.org,P,Q\n");
    feed(&platform, &before, false, &one(1)).await.unwrap();

    platform
        .tenants(&password_only)
        .update_tenant_settings(UpdateTenantSettingsRequest {
            settings: Some(TenantSettings {
                mfa_required_for_admins: true,
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["mfa_required_for_admins".into()],
            }),
        })
        .await
        .unwrap();
    // Made in a password-only session, it now acts as one: importing is risky.
    let token = issue_token(&platform, &created).await.unwrap();
    let refused = feed(&platform, &token, false, &one(2)).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "MFA_REQUIRED".into())
    );

    // Rotated by its holder with a second factor, it does what such a session may.
    let secret = platform.enrol_totp(&password_only).await;
    let with_mfa = platform
        .sign_in_with_second_factor(ADMIN_EMAIL, ADMIN_PASSWORD, &secret)
        .await;
    let rotated = platform
        .authn_as(&with_mfa)
        .rotate_service_account_secret(RotateServiceAccountSecretRequest {
            service_account_id: created.service_account_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let rotated = CreateServiceAccountResponse {
        client_secret: rotated.client_secret,
        ..created
    };
    let token = issue_token(&platform, &rotated).await.unwrap();
    let caller = platform.authorization_verifier.verify(&token).unwrap();
    assert!(
        matches!(caller, Caller::Integration { mfa: true, .. }),
        "{caller:?}"
    );
    feed(&platform, &token, false, &one(2)).await.unwrap();
    assert_eq!(people(&platform, &with_mfa).await, 3);
}

#[tokio::test]
async fn an_integration_an_operator_made_imports_trusted_within_its_scope() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    sales_team(&platform, &admin).await;
    let tenant = platform.tenant.to_string();
    let (created, hr) = integration(
        &platform,
        &platform.operator_token(),
        "hr-feed",
        &[FEED],
        &tenant,
    )
    .await;
    assert!(created.service_account.unwrap().holder_user_id.is_empty());

    feed(&platform, &hr, false, HR_FILE).await.unwrap();
    let mia = found(&platform, &admin, "mia@").await.remove(0);
    eventually_roles(&platform, &admin, &mia.user_id, true).await;
    let records = tenant_records(&platform, &admin, "").await;
    let imported = records
        .iter()
        .find(|r| r.action == "tenant.imported")
        .unwrap();
    assert_eq!(
        (
            imported.actor_service.as_str(),
            imported.actor_user_id.as_str()
        ),
        ("integration:hr-feed", "")
    );
    assert_eq!(
        manager_given_by(&platform, &admin, &mia.user_id).await,
        "integration:hr-feed"
    );
}
