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
async fn lms_dev_serves_all_four_services_on_sqlite_with_a_working_token() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    for name in ServiceName::ALL {
        config.service_mut(name).listen = SocketAddr::from(([127, 0, 0, 1], 0));
    }
    let dev = lms_platform::dev::build(config, data_dir.path())
        .await
        .unwrap();
    let endpoints = dev.platform.endpoints();
    let banner = dev.banner();
    let token = dev.token.clone();
    assert_eq!(endpoints.len(), 4);
    for (name, addr) in &endpoints {
        assert!(
            banner.contains(&format!("http://{addr}")),
            "{name} missing from banner"
        );
        assert!(
            data_dir.path().join(format!("{name}.db")).exists(),
            "{name} has no SQLite file"
        );
    }

    let shutdown = CancellationToken::new();
    let running = tokio::spawn(dev.platform.run_until_stopped(shutdown.clone()));
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

    // The printed token works end to end: the demo administrator may read their own reports.
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
            r#type: ObjectType::User as i32,
            id: lms_platform::dev::DEMO_ADMIN_USER_ID.into(),
            tenant_id: String::new(),
        }),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner();
    assert_eq!(response.decision(), Decision::Allowed);

    shutdown.cancel();
    running.await.unwrap().unwrap();
}
