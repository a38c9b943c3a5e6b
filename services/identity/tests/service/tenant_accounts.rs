//! A tenant's own service accounts (issue 15): its administrator (a person who may change the
//! tenant's configuration) creates integrations that hold only integration scopes; their tokens
//! name the tenant and the administrator as holder, and authorization bounds what they assign by
//! what the holder holds. People manage only their own tenant's accounts; operators may create
//! one for any tenant.

use lms_api::authorization::v1::ListAuditRecordsRequest as RoleAuditRequest;
use lms_api::identity::v1::identity_audit_service_client::IdentityAuditServiceClient;
use lms_api::identity::v1::{
    CreateServiceAccountResponse, DisableServiceAccountRequest, ListAuditRecordsRequest,
    ListServiceAccountsRequest, RotateServiceAccountSecretRequest, ServiceAccount,
    SuspendUserRequest, TenantSettings,
};
use lms_kernel::TenantId;
use lms_runtime::auth::{Caller, Scope, Scopes};
use tonic::Code;

use crate::fixture::{
    Platform, USER_PASSWORD, create_account, fields, issue_token, reason, refused_within_a_second,
};

const INTEGRATION: [&str; 2] = ["authorization.roles.assign", "authorization.decide"];

/// The accounts `token`'s caller sees.
async fn listed(platform: &Platform, token: &str) -> Result<Vec<ServiceAccount>, tonic::Status> {
    platform
        .authn_as(token)
        .list_service_accounts(ListServiceAccountsRequest::default())
        .await
        .map(|r| r.into_inner().service_accounts)
}

#[tokio::test]
async fn an_administrators_integration_assigns_within_what_they_hold() {
    let platform = Platform::start_with(TenantSettings {
        clients_enabled: true,
        ..Default::default()
    })
    .await;
    let admin = platform.admin_token().await;
    let created = create_account(&platform, &admin, "hr-feed", &INTEGRATION, "")
        .await
        .unwrap();
    let account = created.service_account.clone().unwrap();
    assert_eq!(account.tenant_id, platform.tenant.to_string());
    assert_eq!(account.holder_user_id, platform.admin.to_string());
    assert_eq!(account.created_by, format!("user:{}", platform.admin));
    assert_eq!(
        account.scopes,
        ["authorization.decide", "authorization.roles.assign"]
    );

    let token = issue_token(&platform, &created).await.unwrap();
    let caller = platform.authorization_verifier.verify(&token).unwrap();
    let Caller::Integration {
        name,
        tenant,
        holder,
        scopes,
        ..
    } = caller
    else {
        panic!("an integration's token, got {caller:?}");
    };
    assert_eq!(name, "hr-feed");
    assert_eq!(tenant, platform.tenant);
    assert_eq!(holder, Some(platform.admin));
    assert_eq!(scopes, Scopes::of([Scope::AssignRoles, Scope::Decide]));

    // Within what the administrator holds: allowed, and audited naming service and holder.
    let learner = platform.create_user(&admin, "lin@example.org", "").await;
    platform.assign(&token, &learner, "tutor", "").await;
    platform.assign(&token, &learner, "student", "").await;
    let mut roles = platform.roles_of(&admin, &learner).await;
    roles.sort();
    assert_eq!(roles, ["builtin:student", "builtin:tutor"]);
    let audit = platform
        .roles(&admin)
        .list_audit_records(RoleAuditRequest::default())
        .await
        .unwrap()
        .into_inner()
        .records;
    let actor = audit[0].stamp.clone().unwrap().actor_id;
    assert_eq!(actor, format!("integration:hr-feed for {}", platform.admin));

    // Beyond it (a Master Administrator reaches the clients, the LMS Administrator does not).
    let refused = platform
        .roles(&token)
        .assign_role(lms_api::authorization::v1::AssignRoleRequest {
            user_id: learner.clone(),
            role_id: "builtin:master_administrator".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "ESCALATION".into())
    );

    // The creation is in the tenant's own audit trail, naming the administrator.
    let trail = IdentityAuditServiceClient::new(platform.identity.authorized(&admin))
        .list_audit_records(ListAuditRecordsRequest {
            object_type: "service_account".into(),
            object_id: created.service_account_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .records;
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].action, "service_account.created");
    assert_eq!(trail[0].actor_user_id, platform.admin.to_string());

    // An integration makes no integrations.
    let refused = create_account(&platform, &token, "more", &["authorization.decide"], "")
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "PLATFORM_OPERATOR_REQUIRED");
}

#[tokio::test]
async fn a_person_without_system_configuration_cannot_manage_accounts() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let tutor = platform.create_user(&admin, "tim@example.org", "").await;
    platform.assign(&admin, &tutor, "tutor", "").await;
    let tutor = platform
        .sign_in("tim@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let refused = create_account(&platform, &tutor, "shop", &["authorization.decide"], "")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(
        refused.message().contains("system_configuration.update"),
        "{refused:?}"
    );
    let refused = listed(&platform, &tutor).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        listed(&platform, &admin).await.unwrap().is_empty(),
        "nothing was created"
    );
}

#[tokio::test]
async fn people_see_and_manage_only_their_own_tenants_accounts() {
    let platform = Platform::start().await;
    let (admin, operator) = (platform.admin_token().await, platform.operator_token());
    let (other_tenant, _) = platform
        .another_tenant("Globex", "grace@globex.example.org")
        .await;
    // One name, three owners: names are unique per tenant and among platform accounts.
    let platforms = create_account(&platform, &operator, "shop", &["authorization.decide"], "")
        .await
        .unwrap();
    let others = create_account(&platform, &operator, "shop", &INTEGRATION, &other_tenant)
        .await
        .unwrap();
    let ours = create_account(&platform, &admin, "shop", &INTEGRATION, "")
        .await
        .unwrap();
    let again = create_account(&platform, &admin, "shop", &INTEGRATION, "")
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);

    let seen: Vec<String> = listed(&platform, &admin)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.service_account_id)
        .collect();
    assert_eq!(seen, std::slice::from_ref(&ours.service_account_id));
    assert_eq!(listed(&platform, &operator).await.unwrap().len(), 3);

    for theirs in [&platforms, &others] {
        let id = theirs.service_account_id.clone();
        let rotate = platform
            .authn_as(&admin)
            .rotate_service_account_secret(RotateServiceAccountSecretRequest {
                service_account_id: id.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(rotate.code(), Code::NotFound);
        let disable = platform
            .authn_as(&admin)
            .disable_service_account(DisableServiceAccountRequest {
                service_account_id: id,
            })
            .await
            .unwrap_err();
        assert_eq!(disable.code(), Code::NotFound);
        // Untouched: the old secret still trades for a token.
        issue_token(&platform, theirs).await.unwrap();
    }
    // The operator manages every account, the tenant's included.
    platform
        .authn_as(&operator)
        .rotate_service_account_secret(RotateServiceAccountSecretRequest {
            service_account_id: ours.service_account_id.clone(),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn tenant_accounts_hold_only_integration_scopes() {
    let platform = Platform::start().await;
    let (admin, operator) = (platform.admin_token().await, platform.operator_token());
    let tenant = platform.tenant.to_string();
    let refusals = [
        (
            &admin,
            vec!["authorization.decide", "platform.operator"],
            "",
        ),
        (&admin, vec!["authorization.facts.people"], ""),
        (
            &operator,
            vec!["authorization.facts.courses"],
            tenant.as_str(),
        ),
    ];
    for (token, scopes, tenant_id) in refusals {
        let refused = create_account(&platform, token, "feed", &scopes, tenant_id)
            .await
            .unwrap_err();
        let last = scopes.len() - 1;
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(fields(&refused), [format!("scopes[{last}]")]);
        assert!(
            refused.message().contains("never holds it"),
            "says why: {refused:?}"
        );
    }
    // The platform's own accounts still may.
    create_account(
        &platform,
        &operator,
        "identity-2",
        &["authorization.facts.people"],
        "",
    )
    .await
    .unwrap();
    assert!(listed(&platform, &admin).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_operator_creates_accounts_for_a_tenant_and_people_cannot_name_one() {
    let platform = Platform::start().await;
    let (admin, operator) = (platform.admin_token().await, platform.operator_token());
    let player = create_account(
        &platform,
        &operator,
        "content-player",
        &["authorization.decide"],
        &platform.tenant.to_string(),
    )
    .await
    .unwrap();
    let account = player.service_account.clone().unwrap();
    assert_eq!(account.tenant_id, platform.tenant.to_string());
    assert!(account.holder_user_id.is_empty(), "held by nobody");
    assert_eq!(account.created_by, "operator:operator");
    let caller = platform
        .authorization_verifier
        .verify(&issue_token(&platform, &player).await.unwrap())
        .unwrap();
    assert_eq!(caller.tenant(), Some(platform.tenant));
    assert_eq!(caller.holder(), None);
    // The tenant's administrator sees it among their tenant's accounts.
    assert_eq!(listed(&platform, &admin).await.unwrap(), [account]);

    let unknown = create_account(
        &platform,
        &operator,
        "shop",
        &INTEGRATION,
        &TenantId::generate().to_string(),
    )
    .await
    .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let (other_tenant, _) = platform
        .another_tenant("Globex", "grace@globex.example.org")
        .await;
    for tenant_id in [other_tenant.as_str(), "not-a-tenant"] {
        let refused = create_account(&platform, &admin, "shop", &INTEGRATION, tenant_id)
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(fields(&refused), ["tenant_id"]);
    }
    // Naming their own tenant is the same as naming none.
    let own = create_account(
        &platform,
        &admin,
        "shop",
        &INTEGRATION,
        &platform.tenant.to_string(),
    )
    .await
    .unwrap();
    assert_eq!(
        own.service_account.unwrap().holder_user_id,
        platform.admin.to_string()
    );
}

#[tokio::test]
async fn disabling_a_tenant_account_ends_its_tokens() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let created = create_account(&platform, &admin, "hr-feed", &INTEGRATION, "")
        .await
        .unwrap();
    let id = created.service_account_id.clone();
    // The integration reads its holder's roles: the call that shows whether a token still works.
    let works = |token: String| {
        let platform = &platform;
        async move {
            platform
                .try_roles_of(&token, &platform.admin.to_string())
                .await
                .map(|_| ())
        }
    };
    let first = issue_token(&platform, &created).await.unwrap();
    works(first.clone()).await.unwrap();

    let rotated = platform
        .authn_as(&admin)
        .rotate_service_account_secret(RotateServiceAccountSecretRequest {
            service_account_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    refused_within_a_second(|| works(first.clone())).await;
    let second = issue_token(
        &platform,
        &CreateServiceAccountResponse {
            client_secret: rotated.client_secret,
            ..created.clone()
        },
    )
    .await
    .unwrap();
    works(second.clone()).await.unwrap();

    let disabled = platform
        .authn_as(&admin)
        .disable_service_account(DisableServiceAccountRequest {
            service_account_id: id,
        })
        .await
        .unwrap()
        .into_inner()
        .service_account
        .unwrap();
    assert!(disabled.disabled_at.is_some());
    refused_within_a_second(|| works(second.clone())).await;
}

#[tokio::test]
async fn an_integration_whose_holder_is_suspended_gets_no_token() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let (bea, beas_token) = platform
        .holder(&admin, "bea@example.org", "lms_administrator")
        .await;
    let created = create_account(&platform, &beas_token, "shop", &INTEGRATION, "")
        .await
        .unwrap();
    assert_eq!(created.service_account.clone().unwrap().holder_user_id, bea);
    let token = issue_token(&platform, &created).await.unwrap();
    let learner = platform.create_user(&admin, "lin@example.org", "").await;
    platform.assign(&token, &learner, "student", "").await;

    platform
        .users(&admin)
        .suspend_user(SuspendUserRequest {
            user_id: bea.clone(),
            reason: String::new(),
        })
        .await
        .unwrap();
    let refused = issue_token(&platform, &created).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::Unauthenticated, "CLIENT_DISABLED".into())
    );
    assert!(refused.message().contains("holder"), "{refused:?}");
    // The token it holds already assigns nothing: Bea holds nothing while suspended.
    let denied = platform
        .roles(&token)
        .assign_role(lms_api::authorization::v1::AssignRoleRequest {
            user_id: learner,
            role_id: "builtin:tutor".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_person_rotates_only_the_accounts_they_hold_and_may_disable_the_tenants() {
    let platform = Platform::start().await;
    let (admin, operator) = (platform.admin_token().await, platform.operator_token());
    let (_, peer) = platform
        .holder(&admin, "peer@acme.example", "lms_administrator")
        .await;
    let mine = create_account(&platform, &admin, "roster", &INTEGRATION, "")
        .await
        .unwrap();
    let trusted = create_account(
        &platform,
        &operator,
        "shop",
        &INTEGRATION,
        &platform.tenant.to_string(),
    )
    .await
    .unwrap();
    let rotate = |token: &str, account: &CreateServiceAccountResponse| {
        let mut authn = platform.authn_as(token);
        let id = account.service_account_id.clone();
        async move {
            authn
                .rotate_service_account_secret(RotateServiceAccountSecretRequest {
                    service_account_id: id,
                })
                .await
        }
    };
    // A peer administrator's new secret would act within the holder's rights, an operator-made
    // account's with none: neither is handed to another person.
    for (token, account) in [(&peer, &mine), (&admin, &trusted), (&peer, &trusted)] {
        let refused = rotate(token, account).await.unwrap_err();
        assert_eq!(
            (refused.code(), reason(&refused).as_str()),
            (Code::PermissionDenied, "HOLDER_REQUIRED")
        );
        issue_token(&platform, account).await.unwrap();
    }
    let rotated = rotate(&admin, &mine).await.unwrap().into_inner();
    assert!(!rotated.client_secret.is_empty());
    // Disabling takes nothing from anyone's rights: any administrator of the tenant may.
    platform
        .authn_as(&peer)
        .disable_service_account(DisableServiceAccountRequest {
            service_account_id: trusted.service_account_id.clone(),
        })
        .await
        .unwrap();
    assert!(issue_token(&platform, &trusted).await.is_err());
}
