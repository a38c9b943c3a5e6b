//! Transport security with a CA made in the test: gRPC between services (with and without mutual
//! TLS), identity's keys fetched over TLS, Redis over `rediss://` and PostgreSQL with
//! `sslmode=verify-ca`.

use std::time::Duration;

use lms_api::authorization::v1::Decision;
use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::identity::v1::authentication_service_server::{
    AuthenticationService, AuthenticationServiceServer,
};
use lms_api::identity::v1::*;
use lms_kernel::{TenantId, UserId};
use lms_runtime::auth::TokenVerifier;
use lms_runtime::client::{CallCredentials, Peer};
use lms_runtime::config::{PeersConfig, RedisConfig, ServerConfig};
use lms_runtime::redis::{RedisEndpoint, RedisHandle};
use lms_runtime::store::Database;
use lms_runtime::tls::{PeerTls, ServerTls};
use lms_runtime::{Application, Config, GrpcServer, SecretString, ServiceContext, ServiceName};
use lms_testkit::{RedisProcess, TestAuth, TestCa, TestCert, TestService};
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::probe::{self, check};

/// The certificate PostgreSQL at 127.0.0.1:5432 serves (Debian's self-signed snakeoil).
const POSTGRES_CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

/// Server TLS read from the files a configuration would name.
fn server_tls(cert: &TestCert, client_ca: Option<&TestCa>) -> ServerTls {
    ServerTls::from_config(&ServerConfig {
        tls_cert_file: Some(cert.cert_file.clone()),
        tls_key_file: Some(cert.key_file.clone()),
        tls_client_ca_file: client_ca.map(TestCa::cert_file),
        ..ServerConfig::default()
    })
    .expect("the test's TLS files are usable")
    .expect("server TLS is configured")
}

/// Peer TLS trusting `ca`, presenting `client` when given, read from files.
fn peer_tls(ca: &TestCa, client: Option<&TestCert>) -> PeerTls {
    PeerTls::from_config(&PeersConfig {
        tls_ca_file: Some(ca.cert_file()),
        tls_cert_file: client.map(|c| c.cert_file.clone()),
        tls_key_file: client.map(|c| c.key_file.clone()),
    })
    .expect("the test's TLS files are usable")
    .expect("peer TLS is configured")
}

/// The probe serving TLS with a certificate of `ca`, requiring client certificates of
/// `client_ca` when given, and a client connected to it trusting `ca`.
async fn tls_probe(auth: &TestAuth, ca: &TestCa, client_ca: Option<&TestCa>) -> TestService {
    let mut context = probe::context(auth);
    context.server_tls = Some(server_tls(&ca.server_cert("probe"), client_ca));
    let client = client_ca.map(|client_ca| client_ca.client_cert("caller"));
    let application = probe_application(context).await;
    TestService::start_tls(application, peer_tls(ca, client.as_ref())).await
}

async fn probe_application(context: ServiceContext) -> Application {
    let database = Database::connect(&SecretString::new("sqlite::memory:"), 1)
        .await
        .unwrap();
    let server = GrpcServer::bind(&context, &[]).await.unwrap().add_service(
        lms_api::authorization::v1::permission_service_server::PermissionServiceServer::new(
            probe::Probe,
        ),
    );
    Application::new(server, database)
}

/// `Check` through `channel` with a valid token of `auth`.
async fn check_over(channel: Channel, auth: &TestAuth) -> Result<Decision, Status> {
    let token = auth.user_token(TenantId::generate(), UserId::generate());
    let credentials = CallCredentials::bearer(&token).unwrap();
    PermissionServiceClient::new(InterceptedService::new(channel, credentials))
        .check(check("courses.read"))
        .await
        .map(|response| response.into_inner().decision())
}

/// Whether a client at `peer` gets an answer: refused at connect or at the first call alike
/// (with TLS 1.3 a missing client certificate is refused after the client's handshake ends).
async fn answered(peer: Peer, auth: &TestAuth) -> bool {
    match peer.connect().await {
        Ok(channel) => check_over(channel, auth).await.is_ok(),
        Err(_) => false,
    }
}

#[tokio::test]
async fn a_client_trusting_the_servers_ca_calls_it_over_tls() {
    let (auth, ca) = (TestAuth::new(), TestCa::new("lms-test-ca"));
    let service = tls_probe(&auth, &ca, None).await;
    assert_eq!(
        check_over(service.channel(), &auth).await.unwrap(),
        Decision::Allowed
    );
    // The TLS port does not speak plaintext gRPC.
    let plaintext = Peer::plaintext(format!("http://{}", service.addr()));
    assert!(!answered(plaintext, &auth).await);
}

#[tokio::test]
async fn a_client_trusting_another_ca_is_refused() {
    let (auth, ca, stranger) = (
        TestAuth::new(),
        TestCa::new("lms-test-ca"),
        TestCa::new("another-ca"),
    );
    let service = tls_probe(&auth, &ca, None).await;
    let untrusting = Peer::new(
        format!("https://{}", service.addr()),
        Some(peer_tls(&stranger, None)),
    );
    let error = untrusting.connect().await.unwrap_err();
    assert!(
        matches!(error, lms_runtime::client::PeerError::Connect { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn with_mutual_tls_only_clients_with_a_certificate_of_the_client_ca_are_served() {
    let (auth, ca, clients) = (
        TestAuth::new(),
        TestCa::new("lms-test-ca"),
        TestCa::new("lms-clients-ca"),
    );
    // The test service's own channel presents a certificate of `clients`.
    let service = tls_probe(&auth, &ca, Some(&clients)).await;
    assert_eq!(
        check_over(service.channel(), &auth).await.unwrap(),
        Decision::Allowed
    );
    let url = format!("https://{}", service.addr());
    let anonymous = Peer::new(url.clone(), Some(peer_tls(&ca, None)));
    assert!(!answered(anonymous, &auth).await, "no client certificate");
    let other_ca = TestCa::new("another-ca");
    let stranger = other_ca.client_cert("stranger");
    let foreign = Peer::new(url, Some(peer_tls(&ca, Some(&stranger))));
    assert!(
        !answered(foreign, &auth).await,
        "a certificate of another CA"
    );
}

/// Identity's JWKS endpoint and nothing else: the keys it publishes are `auth`'s.
struct PublishedKeys(String);

#[tonic::async_trait]
impl AuthenticationService for PublishedKeys {
    async fn get_jwks(
        &self,
        _: Request<GetJwksRequest>,
    ) -> Result<Response<GetJwksResponse>, Status> {
        Ok(Response::new(GetJwksResponse {
            jwks_json: self.0.clone(),
        }))
    }

    // The fetch calls GetJwks alone; identity's other RPCs are not this stand-in's.
    async fn sign_in(&self, _: Request<SignInRequest>) -> Result<Response<SignInResponse>, Status> {
        Err(Status::unimplemented("keys only"))
    }

    async fn verify_mfa(
        &self,
        _: Request<VerifyMfaRequest>,
    ) -> Result<Response<VerifyMfaResponse>, Status> {
        Err(Status::unimplemented("keys only"))
    }

    async fn refresh_token(
        &self,
        _: Request<RefreshTokenRequest>,
    ) -> Result<Response<RefreshTokenResponse>, Status> {
        Err(Status::unimplemented("keys only"))
    }

    async fn sign_out(
        &self,
        _: Request<SignOutRequest>,
    ) -> Result<Response<SignOutResponse>, Status> {
        Err(Status::unimplemented("keys only"))
    }

    async fn change_password(
        &self,
        _: Request<ChangePasswordRequest>,
    ) -> Result<Response<ChangePasswordResponse>, Status> {
        Err(Status::unimplemented("keys only"))
    }

    async fn begin_totp_enrolment(
        &self,
        _: Request<BeginTotpEnrolmentRequest>,
    ) -> Result<Response<BeginTotpEnrolmentResponse>, Status> {
        Err(Status::unimplemented("keys only"))
    }

    async fn confirm_totp_enrolment(
        &self,
        _: Request<ConfirmTotpEnrolmentRequest>,
    ) -> Result<Response<ConfirmTotpEnrolmentResponse>, Status> {
        Err(Status::unimplemented("keys only"))
    }

    async fn create_service_account(
        &self,
        _: Request<CreateServiceAccountRequest>,
    ) -> Result<Response<CreateServiceAccountResponse>, Status> {
        Err(Status::unimplemented("keys only"))
    }

    async fn issue_service_token(
        &self,
        _: Request<IssueServiceTokenRequest>,
    ) -> Result<Response<IssueServiceTokenResponse>, Status> {
        Err(Status::unimplemented("keys only"))
    }

    async fn unlock_sign_in(
        &self,
        _: Request<UnlockSignInRequest>,
    ) -> Result<Response<UnlockSignInResponse>, Status> {
        Err(Status::unimplemented("keys only"))
    }

    async fn list_service_accounts(
        &self,
        _: Request<ListServiceAccountsRequest>,
    ) -> Result<Response<ListServiceAccountsResponse>, Status> {
        Err(Status::unimplemented("keys only"))
    }

    async fn rotate_service_account_secret(
        &self,
        _: Request<RotateServiceAccountSecretRequest>,
    ) -> Result<Response<RotateServiceAccountSecretResponse>, Status> {
        Err(Status::unimplemented("keys only"))
    }

    async fn disable_service_account(
        &self,
        _: Request<DisableServiceAccountRequest>,
    ) -> Result<Response<DisableServiceAccountResponse>, Status> {
        Err(Status::unimplemented("keys only"))
    }
}

#[tokio::test]
async fn identity_keys_are_fetched_over_tls_from_a_server_of_the_trusted_ca() {
    let (auth, identity_keys, ca) = (TestAuth::new(), TestAuth::new(), TestCa::new("lms-test-ca"));
    let mut context =
        lms_testkit::service_context(ServiceName::Identity, "sqlite::memory:", None, &auth);
    context.server_tls = Some(server_tls(&ca.server_cert("identity"), None));
    let database = Database::connect(&SecretString::new("sqlite::memory:"), 1)
        .await
        .unwrap();
    let get_jwks = "/lms.identity.v1.AuthenticationService/GetJwks";
    let server = GrpcServer::bind(&context, &[get_jwks])
        .await
        .unwrap()
        .add_service(AuthenticationServiceServer::new(PublishedKeys(
            identity_keys.jwks(),
        )));
    let identity =
        TestService::start_tls(Application::new(server, database), peer_tls(&ca, None)).await;

    // A verifier holding no key yet follows identity at its https:// address.
    let verifier = TokenVerifier::new(r#"{"keys":[]}"#, "lms-identity", "lms-access", 30).unwrap();
    let token = identity_keys.user_token(TenantId::generate(), UserId::generate());
    assert!(verifier.verify(&token).is_err());
    let stop = CancellationToken::new();
    let source = Peer::new(
        format!("https://{}", identity.addr()),
        Some(peer_tls(&ca, None)),
    );
    tokio::spawn(lms_runtime::auth::follow_identity_keys(
        verifier.clone(),
        source,
        Duration::from_secs(60),
        stop.clone(),
    ));
    let mut presence = verifier.key_presence();
    tokio::time::timeout(Duration::from_secs(20), presence.wait_for(|held| *held))
        .await
        .expect("identity's keys arrive over TLS")
        .unwrap();
    stop.cancel();
    assert!(verifier.verify(&token).is_ok());
}

#[tokio::test]
async fn redis_over_tls_answers_through_the_handle_when_its_ca_is_trusted() {
    let (ca, stranger) = (TestCa::new("lms-test-ca"), TestCa::new("another-ca"));
    let server = RedisProcess::start_tls(&ca).await;
    assert!(server.url().starts_with("rediss://"));
    let config = |ca: &TestCa| RedisConfig {
        url: Some(SecretString::new(server.url())),
        tls_ca_file: Some(ca.cert_file()),
        ..RedisConfig::default()
    };
    let trusted = RedisEndpoint::from_config(&config(&ca)).unwrap().unwrap();
    let redis = RedisHandle::connect(&trusted, "tls:").await.unwrap();
    let mut connection = redis.connection().unwrap();
    redis::cmd("SET")
        .arg(redis.key("greeting"))
        .arg("hello")
        .exec_async(&mut connection)
        .await
        .unwrap();
    let value: String = redis::cmd("GET")
        .arg(redis.key("greeting"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(value, "hello");

    let untrusted = RedisEndpoint::from_config(&config(&stranger))
        .unwrap()
        .unwrap();
    assert!(RedisHandle::connect(&untrusted, "tls:").await.is_err());
}

/// The test database's URL with `query` appended.
fn with_query(url: &str, query: &[(&str, &str)]) -> SecretString {
    let mut url = url::Url::parse(url).unwrap();
    url.query_pairs_mut().extend_pairs(query);
    SecretString::new(url.to_string())
}

#[tokio::test]
async fn postgres_with_verify_ca_connects_encrypted_only_to_a_server_of_the_given_ca() {
    let database = lms_testkit::postgres_database().await;
    let verified = with_query(
        database.url(),
        &[("sslmode", "verify-ca"), ("sslrootcert", POSTGRES_CERT)],
    );
    let store = Database::connect(&verified, 1).await.unwrap();
    let Database::Postgres(pool) = &store else {
        panic!("a PostgreSQL URL opens PostgreSQL");
    };
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(pool)
            .await
            .unwrap();
    assert!(encrypted);
    store.close().await;

    let ca = TestCa::new("another-ca");
    let wrong_root = with_query(
        database.url(),
        &[
            ("sslmode", "verify-ca"),
            ("sslrootcert", ca.cert_file().to_str().unwrap()),
        ],
    );
    assert!(Database::connect(&wrong_root, 1).await.is_err());
}

#[test]
fn a_service_requiring_tls_refuses_to_start_without_it() {
    let mut config = Config::default();
    config.server.require_tls = true;
    let error = ServiceContext::from_config(&config, ServiceName::Authorization).unwrap_err();
    assert!(
        error.to_string().contains("server.require_tls")
            && error.to_string().contains("server.tls_cert_file"),
        "{error}"
    );

    // Everything encrypted but the database: still refused, naming it.
    let ca = TestCa::new("lms-test-ca");
    let cert = ca.server_cert("authorization");
    config.server.tls_cert_file = Some(cert.cert_file.clone());
    config.server.tls_key_file = Some(cert.key_file.clone());
    config.peers.tls_ca_file = Some(ca.cert_file());
    for name in ServiceName::ALL {
        config.service_mut(name).endpoint = Some(format!("https://lms-{name}:50051"));
    }
    config.authorization.database_url =
        SecretString::new("postgres://lms:secret@db/lms?sslmode=require");
    let error = ServiceContext::from_config(&config, ServiceName::Authorization).unwrap_err();
    assert!(
        error.to_string().contains("authorization.database_url"),
        "{error}"
    );
    assert!(!error.to_string().contains("secret"), "{error}");

    config.authorization.database_url = SecretString::new(format!(
        "postgres://lms:secret@db/lms?sslmode=verify-full&sslrootcert={}",
        ca.cert_file().display()
    ));
    let context = ServiceContext::from_config(&config, ServiceName::Authorization).unwrap();
    // The private key is held, never printed.
    let printed = format!("{context:?}");
    let key_body = cert.key_pem.lines().nth(1).unwrap();
    assert!(!printed.contains(key_body), "{printed}");

    // A Redis encrypted but not verified (`#insecure`) is refused too.
    config.redis.url = Some(SecretString::new(
        "rediss://lms:secret@redis:6380/#insecure",
    ));
    let error = ServiceContext::from_config(&config, ServiceName::Authorization).unwrap_err();
    assert!(error.to_string().contains("#insecure"), "{error}");
    assert!(!error.to_string().contains("secret"), "{error}");
}

#[test]
fn tls_with_a_plaintext_peer_is_refused_at_load() {
    let ca = TestCa::new("lms-test-ca");
    let cert = ca.server_cert("identity");
    let env = [
        (
            "LMS_SERVER__TLS_CERT_FILE",
            cert.cert_file.display().to_string(),
        ),
        (
            "LMS_SERVER__TLS_KEY_FILE",
            cert.key_file.display().to_string(),
        ),
        (
            "LMS_PEERS__TLS_CA_FILE",
            ca.cert_file().display().to_string(),
        ),
        (
            "LMS_IDENTITY__ENDPOINT",
            "https://lms-identity:50051".into(),
        ),
        (
            "LMS_AUTHORIZATION__ENDPOINT",
            "https://lms-authorization:50052".into(),
        ),
        (
            "LMS_DELEGATION__ENDPOINT",
            "https://lms-delegation:50053".into(),
        ),
    ];
    let vars = |extra: Option<(&str, &str)>| {
        env.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .chain(extra.map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect::<Vec<_>>()
    };
    // Reporting keeps its default, http://127.0.0.1:50054.
    let error = Config::load(None, vars(None)).unwrap_err();
    assert!(error.to_string().contains("reporting.endpoint"), "{error}");
    let config = Config::load(
        None,
        vars(Some((
            "LMS_REPORTING__ENDPOINT",
            "https://lms-reporting:50054",
        ))),
    )
    .unwrap();
    assert!(config.server.tls_enabled() && config.peers.tls_enabled());
}
