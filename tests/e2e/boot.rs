use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::relationship_service_client::RelationshipServiceClient;
use lms_api::authorization::v1::{CheckRequest, SubjectStatus, WriteRelationshipsRequest};
use lms_api::common::v1::{ObjectReference, ObjectType, UserStatus};
use lms_api::delegation::v1::ListEventsRequest;
use lms_api::delegation::v1::event_service_client::EventServiceClient;
use lms_api::identity::v1::GetJwksRequest;
use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::reporting::v1::access_review_service_client::AccessReviewServiceClient;
use lms_api::reporting::v1::report_service_client::ReportServiceClient;
use lms_api::reporting::v1::{ListAdminAccessRequest, ListLearnerProgressRequest};
use lms_kernel::{TenantId, UserId};
use lms_runtime::{BootError, ServiceName};
use lms_testkit::{TestAuth, TestService, postgres_database, redis, service_context};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Checks health of the server and of every `lms.*` service reflection lists, and answers them.
async fn assert_serving(service: &TestService, package: &str) -> Vec<String> {
    let listed = lms_testkit::reflection_services(service.channel()).await;
    let ours: Vec<String> = listed
        .iter()
        .filter(|name| name.starts_with("lms."))
        .cloned()
        .collect();
    assert!(
        !ours.is_empty(),
        "reflection lists no lms service: {listed:?}"
    );
    assert!(
        ours.iter().all(|name| name.starts_with(package)),
        "{package} lists another package's services: {ours:?}"
    );
    let mut health = HealthClient::new(service.channel());
    for name in std::iter::once(String::new()).chain(ours.iter().cloned()) {
        let status = health
            .check(HealthCheckRequest {
                service: name.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "health of {name:?}");
    }
    ours
}

#[tokio::test]
async fn every_service_boots_on_postgresql_and_redis_and_serves_health_and_reflection() {
    lms_testkit::trace_init();
    let auth = TestAuth::new();
    let redis = redis().await;
    let expected = [
        (ServiceName::Identity, "lms.identity.v1.", 8),
        (ServiceName::Authorization, "lms.authorization.v1.", 4),
        (ServiceName::Delegation, "lms.delegation.v1.", 11),
        (ServiceName::Reporting, "lms.reporting.v1.", 2),
    ];
    for (name, package, services) in expected {
        let database = postgres_database().await;
        let context = service_context(name, database.url(), Some(&redis), &auth);
        let application = lms_platform::build_service(context).await.unwrap();
        let service = TestService::start(application).await;
        let listed = assert_serving(&service, package).await;
        assert_eq!(listed.len(), services, "{name}: {listed:?}");
        service.stop().await.unwrap();
    }
}

#[tokio::test]
async fn rpcs_not_built_yet_answer_unimplemented_and_only_to_authenticated_callers() {
    let auth = TestAuth::new();
    let database = postgres_database().await;
    let context = service_context(ServiceName::Reporting, database.url(), None, &auth);
    let service = TestService::start(lms_platform::build_service(context).await.unwrap()).await;

    let status = AccessReviewServiceClient::new(service.channel())
        .list_admin_access(ListAdminAccessRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "no token, no answer");

    let token = auth.user_token(TenantId::generate(), UserId::generate());
    let status = AccessReviewServiceClient::new(service.authorized(&token))
        .list_admin_access(ListAdminAccessRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
}

#[tokio::test]
async fn each_service_answers_its_own_rpcs() {
    let auth = TestAuth::new();
    let token = auth.user_token(TenantId::generate(), UserId::generate());
    let start = |name| {
        let auth = &auth;
        async move {
            let database = postgres_database().await;
            let context = service_context(name, database.url(), None, auth);
            let service =
                TestService::start(lms_platform::build_service(context).await.unwrap()).await;
            (database, service)
        }
    };

    let (_db, identity) = start(ServiceName::Identity).await;
    // Public before sign-in: reaches the handler without a token and publishes a signing key.
    let jwks = AuthenticationServiceClient::new(identity.channel())
        .get_jwks(GetJwksRequest {})
        .await
        .unwrap()
        .into_inner()
        .jwks_json;
    assert!(jwks.contains(r#""kty":"OKP""#), "{jwks}");

    // Delegation decides every call with authorization, which is not running here: the
    // decision path answers UNAVAILABLE and allows nothing.
    let (_db, delegation) = start(ServiceName::Delegation).await;
    let status = EventServiceClient::new(delegation.authorized(&token))
        .list_events(ListEventsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");

    // Reporting scopes every report by what authorization says the caller holds: without it,
    // no report. The access review is not built yet.
    let (_db, reporting) = start(ServiceName::Reporting).await;
    let status = ReportServiceClient::new(reporting.authorized(&token))
        .list_learner_progress(ListLearnerProgressRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let status = AccessReviewServiceClient::new(reporting.authorized(&token))
        .list_admin_access(ListAdminAccessRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
}

#[tokio::test]
async fn migrations_apply_once_on_postgresql_and_sqlite() {
    let auth = TestAuth::new();
    let dir = tempfile::tempdir().unwrap();
    for name in ServiceName::ALL {
        // Each service owns its database: their migration histories are separate.
        let database = postgres_database().await;
        for url in [
            database.url().to_owned(),
            lms_testkit::sqlite_url(dir.path(), name.as_str()),
        ] {
            let mut config = lms_runtime::Config {
                auth: auth.config(),
                ..Default::default()
            };
            config.service_mut(name).database_url = lms_runtime::SecretString::new(url.as_str());
            // Twice: the second run finds everything applied and changes nothing.
            lms_platform::migrate(&config, &[name]).await.unwrap();
            lms_platform::migrate(&config, &[name]).await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_service_whose_store_is_down_refuses_to_start_and_says_why() {
    let auth = TestAuth::new();
    // Nothing listens on port 1; the URL's password must not appear in the error.
    let context = service_context(
        ServiceName::Identity,
        "postgres://lms:hunter2@127.0.0.1:1/identity",
        None,
        &auth,
    );
    let error = lms_platform::build_service(context).await.unwrap_err();
    assert!(matches!(error, BootError::Store(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("database unreachable"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

/// Security review M15: Redis accelerates decisions but is not needed to start. Authorization
/// starts while Redis is down, serves decisions from its own tier, and joins Redis once it
/// answers (here: a Redis started on the port only after the service).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_starts_with_redis_down_and_joins_it_when_it_returns() {
    let auth = TestAuth::new();
    let database = postgres_database().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let prefix = format!("lms-degraded-{port}:");
    let mut context = service_context(ServiceName::Authorization, database.url(), None, &auth);
    context.redis.url = Some(lms_runtime::SecretString::new(format!(
        "redis://127.0.0.1:{port}"
    )));
    context.redis.key_prefix = prefix.clone();
    context.redis.mac_key = Some(lms_runtime::SecretString::new(lms_testkit::TEST_MAC_KEY));
    context.redis.events_mac_key = Some(lms_runtime::SecretString::new(
        lms_testkit::TEST_EVENTS_MAC_KEY,
    ));
    let service = TestService::start(lms_platform::build_service(context).await.unwrap()).await;
    assert_serving(&service, "lms.authorization.v1.").await;
    let (tenant, user) = (TenantId::generate(), UserId::generate());
    // A tenant authorization knows (one that was never written has nothing worth caching).
    RelationshipServiceClient::new(
        service.authorized(&auth.tenant_service_token("identity", tenant)),
    )
    .write_relationships(WriteRelationshipsRequest {
        event_id: uuid_v7(),
        statuses: vec![SubjectStatus {
            user_id: user.to_string(),
            status: UserStatus::Active as i32,
            restrict_bookings: false,
        }],
        ..Default::default()
    })
    .await
    .expect("facts written without Redis");
    let token = auth.user_token(tenant, user);
    let check = || {
        let mut checks = PermissionServiceClient::new(service.authorized(&token));
        async move {
            checks
                .check(CheckRequest {
                    permission: "courses.read".into(),
                    resource: Some(ObjectReference {
                        r#type: ObjectType::Course as i32,
                        id: uuid_v7(),
                        tenant_id: String::new(),
                    }),
                    ..Default::default()
                })
                .await
        }
    };
    check().await.expect("decided without Redis");

    let mut redis = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server is installed (see .ci/run)");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let joined = loop {
        check().await.expect("decided while Redis comes up");
        let keys = std::process::Command::new("redis-cli")
            .args([
                "-p",
                &port.to_string(),
                "--scan",
                "--pattern",
                &format!("{prefix}*"),
            ])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_default();
        if !keys.is_empty() {
            break true;
        }
        if std::time::Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    redis.kill().ok();
    redis.wait().ok();
    assert!(
        joined,
        "authorization never wrote its cache to the Redis that came back"
    );
}

fn uuid_v7() -> String {
    lms_kernel::CourseId::generate().to_string()
}
