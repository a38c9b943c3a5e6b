use std::net::SocketAddr;

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::{CheckRequest, Decision};
use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::tenant_service_client::TenantServiceClient;
use lms_api::identity::v1::{GetTenantRequest, IssueServiceTokenRequest};
use lms_runtime::auth::{Scope, Scopes, SigningKey, SubjectKind, TokenIssuer, jwks_json};
use lms_runtime::client::{CallCredentials, connect};
use lms_runtime::{Config, ServiceName};
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// `make run` is `lms dev`: the same code path, on free ports and a temporary directory.
#[tokio::test]
async fn lms_dev_serves_all_four_services_on_sqlite_with_a_seeded_demo_tenant() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    for name in ServiceName::ALL {
        config.service_mut(name).listen = SocketAddr::from(([127, 0, 0, 1], 0));
    }
    // An operator's own key configured in `auth.jwks` is trusted beside identity's keys: the
    // seeding (identity-signed operator tokens) still works, and so do the key's tokens.
    let extra = TokenIssuer::new(
        SigningKey::generate("ops-extra"),
        config.auth.issuer.clone(),
        config.auth.audience.clone(),
    );
    config.auth.jwks = Some(jwks_json([extra.key()]));
    let dev = lms_platform::dev::build(config, data_dir.path())
        .await
        .unwrap();
    let endpoints = dev.platform.endpoints();
    let seeder = dev.seeder();
    assert_eq!(endpoints.len(), 4);
    for (name, _) in &endpoints {
        assert!(
            data_dir.path().join(format!("{name}.db")).exists(),
            "{name} has no SQLite file"
        );
    }

    let shutdown = CancellationToken::new();
    let running = tokio::spawn(dev.platform.run_until_stopped(shutdown.clone()));
    // The demo tenant is created through identity on the first run and found on the next.
    let demo = seeder.seed().await.unwrap();
    assert!(demo.created);
    let again = seeder.seed().await.unwrap();
    assert!(!again.created);
    assert_eq!(again.tenant, demo.tenant);
    let banner = lms_platform::dev::banner(&endpoints, data_dir.path(), &demo);
    for (name, addr) in &endpoints {
        assert!(
            banner.contains(&format!("http://{addr}")),
            "{name} missing from banner"
        );
    }
    let token = demo.token.clone();
    for (name, addr) in &endpoints {
        let channel = connect(format!("http://{addr}")).await.unwrap();
        let status = HealthClient::new(channel.clone())
            .check(HealthCheckRequest::default())
            .await
            .unwrap()
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{name}");
        let listed = lms_testkit::reflection_services(channel).await;
        let package = format!("lms.{name}.v1.");
        assert!(
            listed.iter().any(|s| s.starts_with(&package)),
            "{name}: {listed:?}"
        );
    }

    // The printed token, issued by identity's sign-in, works at authorization (which fetched
    // identity's keys): the demo administrator may read the reports of their tenant.
    let (_, authorization) = endpoints
        .iter()
        .find(|(name, _)| *name == ServiceName::Authorization)
        .unwrap();
    let channel = connect(format!("http://{authorization}")).await.unwrap();
    let response = PermissionServiceClient::new(InterceptedService::new(
        channel,
        CallCredentials::bearer(&token).unwrap(),
    ))
    .check(CheckRequest {
        permission: "reports.read".into(),
        resource: Some(ObjectReference {
            r#type: ObjectType::Tenant as i32,
            id: demo.tenant.clone(),
            tenant_id: String::new(),
        }),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner();
    assert_eq!(response.decision(), Decision::Allowed);

    // The platform operator made on the first run is kept beside the data, owner-only, as the
    // variables lmsctl reads; its id and secret trade for an operator token at identity.
    let operator = data_dir.path().join("operator");
    let kept_operator = std::fs::read_to_string(&operator).unwrap();
    let value = |key: &str| {
        kept_operator
            .lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .unwrap()
            .to_owned()
    };
    let (_, identity) = endpoints
        .iter()
        .find(|(name, _)| *name == ServiceName::Identity)
        .unwrap();
    let identity = connect(format!("http://{identity}")).await.unwrap();
    let operator_token = AuthenticationServiceClient::new(identity.clone())
        .issue_service_token(IssueServiceTokenRequest {
            service_account_id: value("LMS_CLIENT_ID"),
            client_secret: value("LMS_CLIENT_SECRET"),
            tenant_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .access_token;
    let mut extra_claims = extra.claims(
        SubjectKind::Service,
        "ops-extra",
        None,
        std::time::Duration::from_secs(60),
    );
    extra_claims.scope = Some(Scopes::of([Scope::Operator]).to_claim());
    for token in [operator_token, extra.sign(&extra_claims)] {
        let tenant = TenantServiceClient::new(InterceptedService::new(
            identity.clone(),
            CallCredentials::bearer(&token).unwrap(),
        ))
        .get_tenant(GetTenantRequest {
            tenant_id: demo.tenant.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .tenant
        .unwrap();
        assert_eq!(tenant.tenant_id, demo.tenant);
    }

    // With no key-encryption key configured, `lms dev` made one beside its data, readable by its
    // owner only, and keeps using it.
    let kek = data_dir.path().join("identity-kek");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for private in [&kek, &operator] {
            let mode = std::fs::metadata(private).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", private.display());
        }
    }
    let kept = std::fs::read_to_string(&kek).unwrap();

    shutdown.cancel();
    running.await.unwrap().unwrap();
    let mut config = Config::default();
    for name in ServiceName::ALL {
        config.service_mut(name).listen = SocketAddr::from(([127, 0, 0, 1], 0));
    }
    lms_platform::dev::build(config, data_dir.path())
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&kek).unwrap(), kept);
    // The next run reuses the operator it kept instead of making another.
    assert_eq!(std::fs::read_to_string(&operator).unwrap(), kept_operator);
    // A kept operator the store no longer vouches for (its secret rotated, or the databases
    // replaced) is replaced by a new one instead of failing the seeding.
    let stale = format!(
        "LMS_CLIENT_ID={}\nLMS_CLIENT_SECRET=lmscs_rotated-since\n",
        value("LMS_CLIENT_ID")
    );
    std::fs::write(&operator, &stale).unwrap();
    let mut config = Config::default();
    for name in ServiceName::ALL {
        config.service_mut(name).listen = SocketAddr::from(([127, 0, 0, 1], 0));
    }
    lms_platform::dev::build(config, data_dir.path())
        .await
        .unwrap();
    let replaced = std::fs::read_to_string(&operator).unwrap();
    assert!(
        replaced != stale && !replaced.contains(&value("LMS_CLIENT_ID")),
        "{replaced}"
    );
}
