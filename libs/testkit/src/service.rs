use std::net::SocketAddr;
use std::path::Path;

use lms_runtime::client::{CallCredentials, Peer};
use lms_runtime::tls::PeerTls;
use lms_runtime::{Application, BootError, Config, SecretString, ServiceContext, ServiceName};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::TestAuth;

/// The key tests' services authenticate their Redis entries with.
pub const TEST_MAC_KEY: &str = "lms-test-mac-key-0123456789abcdef";

/// The key every test service authenticates ended sessions in Redis with.
pub const TEST_REVOCATIONS_MAC_KEY: &str = "lms-test-revocations-key-0123456789";

/// The key that signs the services' events on Redis streams in tests.
pub const TEST_EVENTS_MAC_KEY: &str = "lms-test-events-key-0123456789abcdef";

/// The key-encryption key tests' identity seals its signing keys and TOTP secrets with
/// (`sign_in.key_encryption_keys`: id `test`, 32 bytes in base64).
pub const TEST_KEK: &str = "test=bG1zLXRlc3Qta2V5LWVuY3J5cHRpb24ta2V5LTAwMDE=";

/// A socket on a free port of 127.0.0.1, bound now: give it to [`ServiceContext::listen_on`]
/// when a peer must know the address before the service is built.
pub fn local_listener() -> std::net::TcpListener {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free port on 127.0.0.1")
}

/// The context of `name` for a test: port 0 on 127.0.0.1, this test's database (and Redis when
/// given, as the service's own ACL user), trusting `auth`'s key both as the configured operator
/// key and as identity's.
pub fn service_context(
    name: ServiceName,
    database_url: &str,
    redis: Option<&crate::TestRedis>,
    auth: &TestAuth,
) -> ServiceContext {
    let mut config = Config {
        auth: auth.config(),
        ..Config::default()
    };
    let service = config.service_mut(name);
    service.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    service.database_url = SecretString::new(database_url);
    service.max_connections = 5;
    // Tests trust the test key; a test that runs identity wires its keys in explicitly.
    config.auth.fetch_identity_keys = false;
    if name == ServiceName::Identity {
        config.sign_in.key_encryption_keys = Some(SecretString::new(TEST_KEK));
    }
    if name == ServiceName::Delegation {
        // Delegation refuses to start without its platform account. This one exists nowhere:
        // a test that has delegation push facts runs identity and puts a real account here.
        config.delegation.service_account = Some(lms_runtime::config::ServiceAccountConfig {
            id: "00000000-0000-7000-8000-000000000000".into(),
            secret: SecretString::new("lmscs_placeholder"),
        });
    }
    if let Some(redis) = redis {
        // Each service connects as its own Redis user with the rules `lms redis-acl` prints,
        // as a deployment should: a rule that is too narrow fails the service's tests.
        config.redis.url = Some(SecretString::new(redis.as_service(name)));
        config.redis.key_prefix = redis.prefix().to_owned();
        config.redis.revocations_mac_key = Some(SecretString::new(TEST_REVOCATIONS_MAC_KEY));
        config.redis.events_mac_key = Some(SecretString::new(TEST_EVENTS_MAC_KEY));
        // Only authorization holds the key that authenticates its Redis entries.
        if name == ServiceName::Authorization {
            config.redis.mac_key = Some(SecretString::new(TEST_MAC_KEY));
        }
    }
    let context = ServiceContext::from_config(&config, name).expect("test configuration is valid");
    // The test key also stands in for identity's published keys, so it signs every kind of
    // token (configured keys verify operator tokens only).
    context
        .verifier
        .replace_published_keys(&auth.jwks())
        .expect("the test key is a valid JWKS");
    context
}

/// A SQLite URL for a database file in `dir`.
pub fn sqlite_url(dir: &Path, name: &str) -> String {
    format!("sqlite://{}/{name}.db", dir.display())
}

/// A service serving on 127.0.0.1 for one test; stopped when dropped.
#[derive(Debug)]
pub struct TestService {
    addr: SocketAddr,
    channel: Channel,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), BootError>>>,
}

impl TestService {
    /// Serves `application` in the background and connects to it.
    pub async fn start(application: Application) -> Self {
        let addr = application.local_addr();
        Self::start_with(application, Peer::plaintext(format!("http://{addr}"))).await
    }

    /// Serves `application`, which speaks TLS, and connects to it over TLS trusting `tls`.
    pub async fn start_tls(application: Application, tls: PeerTls) -> Self {
        let addr = application.local_addr();
        Self::start_with(application, Peer::new(format!("https://{addr}"), Some(tls))).await
    }

    async fn start_with(application: Application, peer: Peer) -> Self {
        let addr = application.local_addr();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(application.run_until_stopped(shutdown.clone()));
        let channel = peer
            .connect()
            .await
            .expect("the test service accepts connections");
        Self {
            addr,
            channel,
            shutdown,
            task: Some(task),
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A connected channel without credentials.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// A connected channel whose calls carry `token`; wrap it in any generated client with
    /// `XClient::new(service.authorized(token))`.
    pub fn authorized(&self, token: &str) -> InterceptedService<Channel, CallCredentials> {
        let credentials = CallCredentials::bearer(token).expect("tokens are ASCII");
        InterceptedService::new(self.channel.clone(), credentials)
    }

    /// Stops serving and waits for the service to finish.
    pub async fn stop(mut self) -> Result<(), BootError> {
        self.shutdown.cancel();
        match self.task.take() {
            Some(task) => task.await.expect("the service task does not panic"),
            None => Ok(()),
        }
    }
}

impl Drop for TestService {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
