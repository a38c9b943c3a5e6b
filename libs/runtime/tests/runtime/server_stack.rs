use lms_api::authorization::v1::Decision;
use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_kernel::{TenantId, UserId};
use lms_runtime::auth::SubjectKind;
use lms_testkit::TestAuth;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

use crate::probe::{check, context, start};

/// Calls `Check` for `permission`, with `token` as bearer when given.
async fn call(
    service: &lms_testkit::TestService,
    token: Option<&str>,
    permission: &str,
) -> Result<lms_api::authorization::v1::CheckResponse, tonic::Status> {
    let response = match token {
        Some(token) => {
            PermissionServiceClient::new(service.authorized(token))
                .check(check(permission))
                .await
        }
        None => {
            PermissionServiceClient::new(service.channel())
                .check(check(permission))
                .await
        }
    };
    response.map(tonic::Response::into_inner)
}

/// The refusal of a `Check` carrying `token`: its code and `ErrorInfo` reason.
async fn refusal(service: &lms_testkit::TestService, token: Option<&str>) -> (Code, String) {
    let status = call(service, token, "courses.read").await.unwrap_err();
    (status.code(), error_reason(&status))
}

fn error_reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_valid_token_reaches_the_handler_as_the_verified_caller() {
    let auth = TestAuth::new();
    let service = start(context(&auth)).await;
    let tenant = TenantId::generate();
    let token = auth.user_token(tenant, UserId::generate());
    let response = call(&service, Some(&token), "courses.read").await.unwrap();
    assert_eq!(response.decision(), Decision::Allowed);
    // The tenant the handler saw is the token's, never a request field's.
    assert_eq!(response.checked_at.unwrap().token, tenant.to_string());
}

#[tokio::test]
async fn a_request_without_a_token_is_unauthenticated() {
    let service = start(context(&TestAuth::new())).await;
    assert_eq!(
        refusal(&service, None).await,
        (Code::Unauthenticated, "TOKEN_MISSING".into())
    );
}

#[tokio::test]
async fn an_expired_token_is_unauthenticated() {
    let auth = TestAuth::new();
    let service = start(context(&auth)).await;
    let token = auth.expired_user_token(TenantId::generate(), UserId::generate());
    assert_eq!(
        refusal(&service, Some(&token)).await,
        (Code::Unauthenticated, "TOKEN_EXPIRED".into())
    );
}

#[tokio::test]
async fn a_token_signed_by_an_untrusted_key_is_unauthenticated() {
    let (trusted, stranger) = (TestAuth::new(), TestAuth::new());
    let service = start(context(&trusted)).await;
    let token = stranger.user_token(TenantId::generate(), UserId::generate());
    assert_eq!(
        refusal(&service, Some(&token)).await,
        (Code::Unauthenticated, "TOKEN_INVALID".into())
    );
}

#[tokio::test]
async fn a_garbage_token_is_unauthenticated_without_echoing_it() {
    let service = start(context(&TestAuth::new())).await;
    let status = call(&service, Some("secret-looking-garbage"), "courses.read")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(error_reason(&status), "TOKEN_MALFORMED");
    assert!(!status.message().contains("secret-looking-garbage"));
}

#[tokio::test]
async fn a_service_token_is_accepted_without_a_tenant() {
    let auth = TestAuth::new();
    let service = start(context(&auth)).await;
    let response =
        PermissionServiceClient::new(service.authorized(&auth.service_token("delegation")))
            .check(check("courses.read"))
            .await
            .unwrap()
            .into_inner();
    assert_eq!(response.checked_at.unwrap().token, "");
    // A token claiming to be a user must name a tenant.
    let mut claims = auth.user_claims(TenantId::generate(), UserId::generate());
    claims.tid = None;
    claims.kind = SubjectKind::User;
    let (code, _) = refusal(&service, Some(&auth.sign(&claims))).await;
    assert_eq!(code, Code::Unauthenticated);
}

#[tokio::test]
async fn a_domain_error_reaches_the_client_with_its_google_rpc_details() {
    let auth = TestAuth::new();
    let service = start(context(&auth)).await;
    let token = auth.user_token(TenantId::generate(), UserId::generate());
    let status = call(&service, Some(&token), "").await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let bad_request = status
        .get_details_bad_request()
        .expect("a BadRequest detail");
    assert_eq!(bad_request.field_violations.len(), 1);
    assert_eq!(bad_request.field_violations[0].field, "permission");
    assert_eq!(
        bad_request.field_violations[0].description,
        "must name a permission"
    );
}

#[tokio::test]
async fn a_request_outliving_the_server_deadline_is_cut_off() {
    let auth = TestAuth::new();
    let mut context = context(&auth);
    context.server.request_timeout_ms = 100;
    let service = start(context).await;
    let token = auth.user_token(TenantId::generate(), UserId::generate());
    let status = call(&service, Some(&token), "slow").await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded);
}

#[tokio::test]
async fn health_and_reflection_answer_without_a_token() {
    let service = start(context(&TestAuth::new())).await;
    let mut health = HealthClient::new(service.channel());
    for name in ["", "lms.authorization.v1.PermissionService"] {
        let response = health
            .check(HealthCheckRequest {
                service: name.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            response.status(),
            ServingStatus::Serving,
            "service {name:?}"
        );
    }
    let listed = lms_testkit::reflection_services(service.channel()).await;
    assert!(
        listed.contains(&"lms.authorization.v1.PermissionService".to_owned()),
        "{listed:?}"
    );
    assert!(
        listed.contains(&"grpc.health.v1.Health".to_owned()),
        "{listed:?}"
    );
    // Reflection lists what this server serves, not the whole contract.
    assert!(
        !listed.iter().any(|name| name.starts_with("lms.identity")),
        "{listed:?}"
    );
}

#[tokio::test]
async fn responses_carry_the_request_id() {
    let auth = TestAuth::new();
    let service = start(context(&auth)).await;
    let token = auth.user_token(TenantId::generate(), UserId::generate());
    let mut request = tonic::Request::new(check("courses.read"));
    request
        .metadata_mut()
        .insert("x-request-id", "client-chosen-42".parse().unwrap());
    let response = PermissionServiceClient::new(service.authorized(&token))
        .check(request)
        .await
        .unwrap();
    assert_eq!(
        response.metadata().get("x-request-id").unwrap(),
        "client-chosen-42"
    );
    // Without one, the server makes one up.
    let response = PermissionServiceClient::new(service.authorized(&token))
        .check(check("courses.read"))
        .await
        .unwrap();
    assert!(response.metadata().get("x-request-id").is_some());
}

#[tokio::test]
async fn shutdown_stops_the_server_and_frees_the_port() {
    let service = start(context(&TestAuth::new())).await;
    let addr = service.addr();
    service.stop().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens after shutdown"
    );
}

/// Security review M18: one tenant's storm of slow requests takes only its own share of the
/// service; past it that tenant is refused at once, while another tenant is still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenant_cannot_take_every_slot_from_the_others() {
    let auth = TestAuth::new();
    let mut context = context(&auth);
    context.server.tenant_concurrency_limit = 4;
    context.server.request_timeout_ms = 2_000;
    let service = std::sync::Arc::new(start(context).await);
    let noisy = auth.user_token(TenantId::generate(), UserId::generate());
    let mut storm = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (service, token) = (service.clone(), noisy.clone());
        storm.spawn(async move { call(&service, Some(&token), "slow").await });
    }
    // Let the four slow requests take the noisy tenant's places.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let refused = call(&service, Some(&noisy), "courses.read")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert_eq!(error_reason(&refused), "TENANT_BUSY");
    let quiet = auth.user_token(TenantId::generate(), UserId::generate());
    let answered = call(&service, Some(&quiet), "courses.read").await.unwrap();
    assert_eq!(answered.decision(), Decision::Allowed);
    while let Some(slow) = storm.join_next().await {
        assert_eq!(slow.unwrap().unwrap_err().code(), Code::DeadlineExceeded);
    }
    // The places come back when the slow requests end.
    call(&service, Some(&noisy), "courses.read").await.unwrap();
}

#[tokio::test]
async fn a_configured_key_verifies_operator_tokens_only() {
    let (identity, operator) = (TestAuth::new(), TestAuth::new());
    let context = context(&identity);
    // `auth.jwks` holds only the operator's key; identity's key is published.
    context.verifier.replace_keys(&operator.jwks()).unwrap();
    let service = start(context).await;
    let tenant = TenantId::generate();
    let operator_token = operator.service_token("lms-dev");
    assert!(
        call(&service, Some(&operator_token), "courses.read")
            .await
            .is_ok()
    );
    for token in [
        operator.user_token(tenant, UserId::generate()),
        operator.tenant_service_token("provisioning", tenant),
    ] {
        assert_eq!(
            refusal(&service, Some(&token)).await,
            (Code::Unauthenticated, "TOKEN_INVALID".into())
        );
    }
    // The same kinds of token signed by identity's key are accepted.
    for token in [
        identity.user_token(tenant, UserId::generate()),
        identity.tenant_service_token("provisioning", tenant),
    ] {
        assert!(call(&service, Some(&token), "courses.read").await.is_ok());
    }
}

#[tokio::test]
async fn a_server_without_keys_is_not_serving_until_it_learns_one() {
    let auth = TestAuth::new();
    let context = context(&auth);
    let verifier = context.verifier.clone();
    verifier.replace_keys(r#"{"keys":[]}"#).unwrap();
    verifier.replace_published_keys(r#"{"keys":[]}"#).unwrap();
    let service = start(context).await;
    let status = |name: &'static str| {
        let mut health = HealthClient::new(service.channel());
        async move {
            health
                .check(HealthCheckRequest {
                    service: name.into(),
                })
                .await
                .unwrap()
                .into_inner()
                .status()
        }
    };
    for name in ["", "lms.authorization.v1.PermissionService"] {
        assert_eq!(status(name).await, ServingStatus::NotServing, "{name:?}");
    }
    verifier.merge_published_keys(&auth.jwks()).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while status("lms.authorization.v1.PermissionService").await != ServingStatus::Serving {
        assert!(std::time::Instant::now() < deadline, "never turned SERVING");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status("").await, ServingStatus::Serving);
}
