//! Platform service accounts (security review M9): created, listed, rotated and disabled by
//! platform operators; their tokens carry the account's scopes and name no tenant; rotating or
//! disabling ends the tokens already handed out. (A tenant's own accounts: `tenant_accounts`.)

use lms_api::identity::v1::{
    CreateServiceAccountRequest, CreateServiceAccountResponse, CreateTenantRequest,
    DisableServiceAccountRequest, GetTenantRequest, IssueServiceTokenRequest,
    ListServiceAccountsRequest, NewUser, RotateServiceAccountSecretRequest, UnlockSignInRequest,
};
use tonic::Code;

use crate::fixture::{Platform, fields, reason, refused_within_a_second};

async fn create(platform: &Platform, name: &str, scopes: &[&str]) -> CreateServiceAccountResponse {
    platform
        .authn_as(&platform.operator_token())
        .create_service_account(CreateServiceAccountRequest {
            name: name.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            tenant_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn issue(platform: &Platform, account: &str, secret: &str) -> Result<String, tonic::Status> {
    platform
        .authn()
        .issue_service_token(IssueServiceTokenRequest {
            service_account_id: account.into(),
            client_secret: secret.into(),
            tenant_id: String::new(),
        })
        .await
        .map(|r| r.into_inner().access_token)
}

fn new_tenant(name: &str) -> CreateTenantRequest {
    CreateTenantRequest {
        name: name.into(),
        settings: None,
        access_coordinator: Some(NewUser {
            email: format!("ada@{name}.example.org"),
            given_name: "Ada".into(),
            family_name: "Byron".into(),
            password: "violet kettle under moonlight".into(),
            ..Default::default()
        }),
    }
}

/// Lists the token's accounts as an operator would; the error when it is not one.
async fn list(platform: &Platform, token: &str) -> Result<Vec<String>, tonic::Status> {
    platform
        .authn_as(token)
        .list_service_accounts(ListServiceAccountsRequest::default())
        .await
        .map(|r| {
            r.into_inner()
                .service_accounts
                .into_iter()
                .map(|a| a.name)
                .collect()
        })
}

#[tokio::test]
async fn a_service_account_trades_its_secret_for_a_token_the_platform_accepts() {
    let platform = Platform::start().await;
    let created = create(&platform, "delegation", &["authorization.decide"]).await;
    assert!(created.client_secret.starts_with("lmscs_"));
    let account = created.service_account.clone().unwrap();
    assert_eq!(account.scopes, ["authorization.decide"]);
    assert_eq!(account.created_by, "operator:operator");

    let wrong = issue(&platform, &created.service_account_id, "lmscs_guess")
        .await
        .unwrap_err();
    assert_eq!(reason(&wrong), "INVALID_CLIENT");

    let token = issue(
        &platform,
        &created.service_account_id,
        &created.client_secret,
    )
    .await
    .unwrap();
    // Signed by identity's keys and naming the service: it reads the tenant.
    platform
        .tenants(&token)
        .get_tenant(GetTenantRequest {
            tenant_id: platform.tenant.to_string(),
        })
        .await
        .unwrap();

    // A person's accounts are their tenant's, which never run the platform.
    let admin = platform.admin_token().await;
    let not_operator = platform
        .authn_as(&admin)
        .create_service_account(CreateServiceAccountRequest {
            name: "sneaky".into(),
            scopes: vec!["platform.operator".into()],
            tenant_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&not_operator), ["scopes[0]"]);
    let duplicate = platform
        .authn_as(&platform.operator_token())
        .create_service_account(CreateServiceAccountRequest {
            name: "delegation".into(),
            scopes: vec!["authorization.decide".into()],
            tenant_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), Code::AlreadyExists);
    let unknown_scope = platform
        .authn_as(&platform.operator_token())
        .create_service_account(CreateServiceAccountRequest {
            name: "shop".into(),
            scopes: vec!["authorization.decide".into(), "everything".into()],
            tenant_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&unknown_scope), ["scopes[1]"]);
}

/// Before M9 every platform-wide service token was an operator: a reporting or shop account
/// could create tenants, mint more accounts and lift lockouts.
#[tokio::test]
async fn only_the_operator_scope_runs_the_platform() {
    let platform = Platform::start().await;
    let reporting = create(&platform, "reporting", &["authorization.decide"]).await;
    let token = issue(
        &platform,
        &reporting.service_account_id,
        &reporting.client_secret,
    )
    .await
    .unwrap();
    let refused = platform
        .tenants(&token)
        .create_tenant(new_tenant("sneaky"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(reason(&refused), "PLATFORM_OPERATOR_REQUIRED");
    assert_eq!(
        reason(&list(&platform, &token).await.unwrap_err()),
        "PLATFORM_OPERATOR_REQUIRED"
    );
    let unlock = platform
        .authn_as(&token)
        .unlock_sign_in(UnlockSignInRequest {
            user_id: uuid::Uuid::now_v7().to_string(),
            tenant_id: platform.tenant.to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&unlock), "PLATFORM_OPERATOR_REQUIRED");

    // An account with the operator scope runs the platform.
    let ops = create(&platform, "ops", &["platform.operator"]).await;
    let platform_token = issue(&platform, &ops.service_account_id, &ops.client_secret)
        .await
        .unwrap();
    platform
        .tenants(&platform_token)
        .create_tenant(new_tenant("welcome"))
        .await
        .unwrap();
}

#[tokio::test]
async fn rotating_the_secret_or_disabling_the_account_ends_the_tokens_it_holds() {
    let platform = Platform::start().await;
    let operator = platform.operator_token();
    let ops = create(&platform, "ops", &["platform.operator"]).await;
    let id = ops.service_account_id.clone();
    let first = issue(&platform, &id, &ops.client_secret).await.unwrap();
    assert!(
        list(&platform, &first)
            .await
            .unwrap()
            .contains(&"ops".into())
    );

    let rotated = platform
        .authn_as(&operator)
        .rotate_service_account_secret(RotateServiceAccountSecretRequest {
            service_account_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_ne!(rotated.client_secret, ops.client_secret);
    refused_within_a_second(|| async { list(&platform, &first).await.map(|_| ()) }).await;
    let old_secret = issue(&platform, &id, &ops.client_secret).await.unwrap_err();
    assert_eq!(reason(&old_secret), "INVALID_CLIENT");
    let second = issue(&platform, &id, &rotated.client_secret).await.unwrap();
    list(&platform, &second).await.unwrap();

    let disabled = platform
        .authn_as(&operator)
        .disable_service_account(DisableServiceAccountRequest {
            service_account_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .service_account
        .unwrap();
    assert!(disabled.disabled_at.is_some());
    refused_within_a_second(|| async { list(&platform, &second).await.map(|_| ()) }).await;
    let refused = issue(&platform, &id, &rotated.client_secret)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert_eq!(reason(&refused), "CLIENT_DISABLED");

    // Listed with its state; asking again changes nothing.
    let again = platform
        .authn_as(&operator)
        .disable_service_account(DisableServiceAccountRequest {
            service_account_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .service_account
        .unwrap();
    assert_eq!(again.disabled_at, disabled.disabled_at);
    let listed = platform
        .authn_as(&operator)
        .list_service_accounts(ListServiceAccountsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .service_accounts;
    let ops = listed.iter().find(|a| a.service_account_id == id).unwrap();
    assert_eq!(ops.scopes, ["platform.operator"]);
    assert!(ops.disabled_at.is_some());
    let unknown = platform
        .authn_as(&operator)
        .rotate_service_account_secret(RotateServiceAccountSecretRequest {
            service_account_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}

/// The claims of a token, read without verifying (the test only looks at what was issued).
fn claims(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn issue_for(
    platform: &Platform,
    account: &CreateServiceAccountResponse,
    tenant: &str,
) -> Result<String, tonic::Status> {
    platform
        .authn()
        .issue_service_token(IssueServiceTokenRequest {
            service_account_id: account.service_account_id.clone(),
            client_secret: account.client_secret.clone(),
            tenant_id: tenant.into(),
        })
        .await
        .map(|r| r.into_inner().access_token)
}

#[tokio::test]
async fn a_platform_service_gets_tokens_narrowed_to_one_tenant_without_the_operator_scope() {
    let platform = Platform::start().await;
    let tenant = platform.tenant.to_string();
    let delegation = create(&platform, "delegation", &["authorization.facts.courses"]).await;
    let wide = claims(
        &issue(
            &platform,
            &delegation.service_account_id,
            &delegation.client_secret,
        )
        .await
        .unwrap(),
    );
    assert!(
        wide.get("tid").is_none_or(serde_json::Value::is_null),
        "{wide}"
    );
    let narrowed = claims(&issue_for(&platform, &delegation, &tenant).await.unwrap());
    assert_eq!(narrowed["tid"], tenant.as_str());
    assert_eq!(narrowed["scope"], "authorization.facts.courses");
    assert_eq!(
        narrowed["plt"], true,
        "a platform service, never the tenant's integration"
    );

    // An operator's narrowed token runs nothing platform-wide.
    let operator = create(
        &platform,
        "ops",
        &["platform.operator", "authorization.decide"],
    )
    .await;
    let token = issue_for(&platform, &operator, &tenant).await.unwrap();
    assert_eq!(claims(&token)["scope"], "authorization.decide");
    let refused = platform
        .tenants(&token)
        .create_tenant(new_tenant("narrowed"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    // People facts and role assignment never travel narrowed: identity signs its own.
    let people = create(
        &platform,
        "people-writer",
        &["authorization.facts.people", "authorization.roles.assign"],
    )
    .await;
    let refused = issue_for(&platform, &people, &tenant).await.unwrap_err();
    assert_eq!(fields(&refused), ["tenant_id"]);
    let only_operator = create(&platform, "ops-only", &["platform.operator"]).await;
    let refused = issue_for(&platform, &only_operator, &tenant)
        .await
        .unwrap_err();
    assert_eq!(fields(&refused), ["tenant_id"]);

    let unknown = issue_for(
        &platform,
        &delegation,
        &lms_kernel::TenantId::generate().to_string(),
    )
    .await
    .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let malformed = issue_for(&platform, &delegation, "nope").await.unwrap_err();
    assert_eq!(fields(&malformed), ["tenant_id"]);
}

#[tokio::test]
async fn a_tenant_s_integration_never_gets_a_token_for_another_tenant() {
    let platform = Platform::start().await;
    let (other, _) = platform
        .another_tenant("elsewhere", "ac@elsewhere.example")
        .await;
    let integration = platform
        .authn_as(&platform.operator_token())
        .create_service_account(CreateServiceAccountRequest {
            name: "shop".into(),
            scopes: vec!["authorization.decide".into()],
            tenant_id: platform.tenant.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    let own = issue_for(&platform, &integration, &platform.tenant.to_string())
        .await
        .unwrap();
    assert_eq!(claims(&own)["tid"], platform.tenant.to_string().as_str());
    assert!(
        claims(&own).get("plt").is_none(),
        "an integration, not the platform"
    );
    let refused = issue_for(&platform, &integration, &other)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(reason(&refused), "OTHER_TENANT");
}

#[tokio::test]
async fn a_platform_service_finds_a_person_by_address_only_with_the_lookup_scope() {
    let platform = Platform::start().await;
    let tenant = platform.tenant.to_string();
    let delegation = create(
        &platform,
        "delegation",
        &["authorization.facts.courses", "identity.people.lookup"],
    )
    .await;
    let token = issue_for(&platform, &delegation, &tenant).await.unwrap();
    let find = |token: String, email: &'static str| {
        let mut users = platform.users(&token);
        async move {
            users
                .find_user_by_email(lms_api::identity::v1::FindUserByEmailRequest {
                    email: email.into(),
                })
                .await
                .map(|r| r.into_inner())
        }
    };
    let found = find(token.clone(), "ADA@example.org").await.unwrap();
    assert_eq!(found.user_id, platform.admin.to_string());
    let unknown = find(token.clone(), "nobody@example.org").await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert!(!unknown.message().contains("nobody"), "{unknown:?}");
    let bad = find(token, "not an address").await.unwrap_err();
    assert_eq!(fields(&bad), ["email"]);

    // Without the scope, and for people (who read people through their own rights): refused.
    let facts_only = create(&platform, "facts", &["authorization.facts.courses"]).await;
    let facts_token = issue_for(&platform, &facts_only, &tenant).await.unwrap();
    let refused = find(facts_token, "ada@example.org").await.unwrap_err();
    assert_eq!(reason(&refused), "SCOPE_REQUIRED");
    let refused = find(platform.admin_token().await, "ada@example.org")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(reason(&refused), "SCOPE_REQUIRED");
}

#[tokio::test]
async fn a_platform_service_lists_who_is_named_over_a_person_their_account_or_its_group() {
    use lms_api::common::v1::ObjectType;
    use lms_api::identity::v1::{
        AddNamedManagerRequest, CreateUnitRequest, ListNamedManagersRequest, NamedManagerPurpose,
        UnitKind,
    };
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let unit = |kind: UnitKind, name: &'static str, parent: String| {
        let mut units = platform.units(&admin);
        async move {
            units
                .create_unit(CreateUnitRequest {
                    kind: kind as i32,
                    name: name.into(),
                    parent_unit_id: parent,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .unit
                .unwrap()
                .unit_id
        }
    };
    let group = unit(UnitKind::AccountGroup, "Northern accounts", String::new()).await;
    let account = unit(UnitKind::CustomerAccount, "Initech", group.clone()).await;
    let elsewhere = unit(UnitKind::CustomerAccount, "Rival Ltd", String::new()).await;
    let worker = platform
        .create_user(&admin, "worker@example.org", &account)
        .await;
    let mut named = Vec::new();
    for (email, target, kind, purpose) in [
        (
            "boss@example.org",
            &worker,
            ObjectType::User,
            NamedManagerPurpose::Manages,
        ),
        (
            "region@example.org",
            &group,
            ObjectType::Unit,
            NamedManagerPurpose::ReceivesUpdates,
        ),
        (
            "rival@example.org",
            &elsewhere,
            ObjectType::Unit,
            NamedManagerPurpose::ReceivesUpdates,
        ),
    ] {
        let manager = platform.create_user(&admin, email, "").await;
        platform
            .users(&admin)
            .add_named_manager(AddNamedManagerRequest {
                user_id: manager.clone(),
                target: Some(crate::fixture::object(kind, target)),
                purpose: purpose as i32,
            })
            .await
            .unwrap();
        named.push(manager);
    }
    let tenant = platform.tenant.to_string();
    let delegation = create(&platform, "delegation", &["identity.people.lookup"]).await;
    let token = issue_for(&platform, &delegation, &tenant).await.unwrap();
    let listed = platform
        .users(&token)
        .list_named_managers(ListNamedManagersRequest {
            user_id: worker.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .user_ids;
    let mut expected = vec![named[0].clone(), named[1].clone()];
    expected.sort();
    assert_eq!(
        listed, expected,
        "over them and over their account's group, not elsewhere"
    );
    let facts_only = create(&platform, "facts", &["authorization.facts.courses"]).await;
    let facts_token = issue_for(&platform, &facts_only, &tenant).await.unwrap();
    let refused = platform
        .users(&facts_token)
        .list_named_managers(ListNamedManagersRequest { user_id: worker })
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "SCOPE_REQUIRED");
}
