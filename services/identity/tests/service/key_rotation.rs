//! Signing-key rotation across identity replicas and the services that follow identity's keys
//! (M10): a new key is known everywhere before any token names it, a stale replica's answer
//! removes nothing, and a service without keys does not take traffic.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lms_api::authorization::v1::CheckRequest;
use lms_api::common::v1::ObjectType;
use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::user_service_client::UserServiceClient;
use lms_api::identity::v1::{
    GetUserRequest, RefreshTokenRequest, SignInRequest, TokenPair, sign_in_response,
};
use lms_runtime::ServiceName;
use lms_runtime::auth::follow_identity_keys;
use lms_testkit::{TestAuth, TestService, postgres_database, service_context};
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use tokio_util::sync::CancellationToken;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::fixture::{ADMIN_EMAIL, ADMIN_PASSWORD, Platform, object};

/// The key id a token names.
fn kid(token: &str) -> String {
    let header = token.split('.').next().expect("a JWT has a header");
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url header"))
            .expect("a JSON header");
    header["kid"]
        .as_str()
        .expect("tokens name their key")
        .to_owned()
}

async fn sign_in(platform: &Platform, identity: &TestService) -> TokenPair {
    let response = AuthenticationServiceClient::new(identity.channel())
        .sign_in(SignInRequest {
            tenant_id: platform.tenant.to_string(),
            email: ADMIN_EMAIL.into(),
            password: ADMIN_PASSWORD.into(),
        })
        .await
        .expect("sign-in answers")
        .into_inner();
    match response.outcome {
        Some(sign_in_response::Outcome::Tokens(tokens)) => tokens,
        other => panic!("expected tokens, got {other:?}"),
    }
}

/// A fresh access token from `identity` (refreshing spares a password check per call).
async fn refreshed(identity: &TestService, pair: &mut TokenPair) -> String {
    *pair = AuthenticationServiceClient::new(identity.channel())
        .refresh_token(RefreshTokenRequest {
            refresh_token: pair.refresh_token.clone(),
        })
        .await
        .expect("refresh answers")
        .into_inner()
        .tokens
        .expect("a new pair");
    pair.access_token.clone()
}

/// Whether `token` verifies on identity replica `identity`: it reads its own record there.
async fn verifies_on_identity(identity: &TestService, token: &str) -> Result<(), tonic::Status> {
    UserServiceClient::new(identity.authorized(token))
        .get_user(GetUserRequest::default())
        .await
        .map(drop)
}

/// Whether `token` verifies on authorization: any decision is an answer.
async fn verifies_on_authorization(platform: &Platform, token: &str) -> Result<(), tonic::Status> {
    platform
        .decisions(token)
        .check(CheckRequest {
            permission: "users.read".into(),
            resource: Some(object(ObjectType::Tenant, &platform.tenant.to_string())),
            ..Default::default()
        })
        .await
        .map(drop)
}

/// Makes rotation due: every stored key a day and a minute old.
async fn age_stored_keys(platform: &Platform) {
    const AGE: &str = "UPDATE signing_keys SET created_at = created_at - 86460";
    if platform.identity_url.starts_with("sqlite:") {
        let identity = SqlitePool::connect(&platform.identity_url).await.unwrap();
        sqlx::query(AGE).execute(&identity).await.unwrap();
    } else {
        let identity = PgPool::connect(&platform.identity_url).await.unwrap();
        sqlx::query(AGE).execute(&identity).await.unwrap();
    }
}

/// Authorization follows the keys `identity` publishes, every second, as `lms serve` does.
fn follow(platform: &Platform, identity: &TestService, stop: &CancellationToken) {
    tokio::spawn(follow_identity_keys(
        platform.authorization_verifier.clone(),
        lms_runtime::client::Peer::plaintext(format!("http://{}", identity.addr())),
        Duration::from_secs(1),
        stop.child_token(),
    ));
}

#[tokio::test]
async fn a_rotated_key_verifies_on_every_replica_and_on_authorization_from_its_first_token() {
    let platform =
        Platform::start_with_sign_in(|sign_in| sign_in.signing_key_reload_seconds = 1).await;
    rotation_verifies_everywhere(platform).await;
}

#[tokio::test]
async fn a_rotated_key_verifies_everywhere_from_its_first_token_on_sqlite() {
    let platform =
        Platform::start_on_sqlite_with(|sign_in| sign_in.signing_key_reload_seconds = 1).await;
    rotation_verifies_everywhere(platform).await;
}

async fn rotation_verifies_everywhere(platform: Platform) {
    let replica = platform
        .identity_replica_with(|context| context.sign_in.signing_key_reload_seconds = 1)
        .await;
    let stop = CancellationToken::new();
    follow(&platform, &platform.identity, &stop);
    let (mut on_primary, mut on_replica) = (
        sign_in(&platform, &platform.identity).await,
        sign_in(&platform, &replica).await,
    );
    let before = kid(&on_primary.access_token);
    age_stored_keys(&platform).await;

    // A replica makes the new key within a reload; it signs three reloads later. Every token
    // either replica issues meanwhile and after verifies everywhere at once.
    let mut rotated = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        for (issuer, other, pair) in [
            (&platform.identity, &replica, &mut on_primary),
            (&replica, &platform.identity, &mut on_replica),
        ] {
            let token = refreshed(issuer, pair).await;
            if kid(&token) != before {
                rotated += 1;
            }
            verifies_on_identity(other, &token)
                .await
                .expect("the other replica knows the key");
            verifies_on_identity(issuer, &token)
                .await
                .expect("the issuing replica knows the key");
            verifies_on_authorization(&platform, &token)
                .await
                .expect("authorization knows the key");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.cancel();
    assert!(rotated > 0, "no token was signed with a rotated key");
}

#[tokio::test]
async fn a_stale_replicas_answer_never_removes_a_key_learned_from_another() {
    let platform =
        Platform::start_with_sign_in(|sign_in| sign_in.signing_key_reload_seconds = 1).await;
    // Re-reads the store only every minute: it keeps answering the old set for this test.
    let stale = platform.identity_replica().await;
    let stop = CancellationToken::new();
    // Behind one address, replicas answer in turn: authorization hears both.
    follow(&platform, &platform.identity, &stop);
    follow(&platform, &stale, &stop);
    let mut pair = sign_in(&platform, &platform.identity).await;
    let before = kid(&pair.access_token);
    age_stored_keys(&platform).await;

    let deadline = Instant::now() + Duration::from_secs(10);
    let token = loop {
        let token = refreshed(&platform.identity, &mut pair).await;
        if kid(&token) != before {
            break token;
        }
        assert!(
            Instant::now() < deadline,
            "identity never signed with a new key"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let stale_jwks = stale_keys(&stale).await;
    assert!(
        !stale_jwks.contains(&kid(&token)),
        "the replica is not stale: {stale_jwks}"
    );
    // Several answers of each replica later, the new key is still trusted.
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        verifies_on_authorization(&platform, &token)
            .await
            .expect("a stale answer removed the new key");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
}

async fn stale_keys(stale: &TestService) -> String {
    AuthenticationServiceClient::new(stale.channel())
        .get_jwks(lms_api::identity::v1::GetJwksRequest {})
        .await
        .unwrap()
        .into_inner()
        .jwks_json
}

async fn health(service: &TestService) -> ServingStatus {
    HealthClient::new(service.channel())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers")
        .into_inner()
        .status()
}

const NO_KEYS: &str = r#"{"keys":[]}"#;

#[tokio::test]
async fn a_service_without_keys_is_not_serving_until_identity_answers() {
    lms_testkit::trace_init();
    let auth = TestAuth::new();
    let (authz_db, identity_db) = (postgres_database().await, postgres_database().await);
    // Identity's address, bound now and served once identity starts on it.
    let identity_listener = lms_testkit::local_listener();
    let identity_addr = identity_listener.local_addr().unwrap();

    // Authorization with no configured key, following an identity that is not up yet.
    let mut context = service_context(ServiceName::Authorization, authz_db.url(), None, &auth);
    context.verifier.replace_keys(NO_KEYS).unwrap();
    context.verifier.replace_published_keys(NO_KEYS).unwrap();
    context.auth.fetch_identity_keys = true;
    context.auth.jwks_refresh_seconds = 1;
    context.set_endpoint(ServiceName::Identity, format!("http://{identity_addr}"));
    let authorization = TestService::start(lms_authorization::build(context).await.unwrap()).await;
    for _ in 0..5 {
        assert_eq!(health(&authorization).await, ServingStatus::NotServing);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // Identity serves as soon as its key ring is loaded.
    let mut context = service_context(ServiceName::Identity, identity_db.url(), None, &auth);
    context.listen_on(identity_listener).unwrap();
    context.set_endpoint(
        ServiceName::Authorization,
        format!("http://{}", authorization.addr()),
    );
    let identity = TestService::start(lms_identity::build(context).await.unwrap()).await;
    assert_eq!(health(&identity).await, ServingStatus::Serving);

    // Authorization retries the fetch and turns SERVING with identity's keys.
    let deadline = Instant::now() + Duration::from_secs(10);
    while health(&authorization).await != ServingStatus::Serving {
        assert!(
            Instant::now() < deadline,
            "authorization never turned SERVING"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
