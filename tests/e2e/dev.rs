use std::net::SocketAddr;

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::{CheckRequest, Decision};
use lms_api::common::v1::{ObjectReference, ObjectType};
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

    // With no key-encryption key configured, `lms dev` made one beside its data, readable by its
    // owner only, and keeps using it.
    let kek = data_dir.path().join("identity-kek");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kek).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
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
}
