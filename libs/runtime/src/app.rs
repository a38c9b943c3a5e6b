//! A service as the platform runs it: context in, [`Application`] out, run until stopped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

use crate::auth::{PublishedRetention, RevocationFeed, TokenVerifier};
use crate::client::Peer;
use crate::config::{
    AuthConfig, CacheConfig, Config, RedisConfig, ServerConfig, ServiceConfig, ServiceName,
    SignInConfig,
};
use crate::redis::{RedisEndpoint, RedisError, RedisHandle};
use crate::server::{GrpcServer, set_status};
use crate::store::{Database, StoreError};
use crate::tls::{PeerTls, ServerTls, TlsError};

/// How often readiness pings the store.
const READINESS_INTERVAL: Duration = Duration::from_secs(5);

/// How often a service that awaits its migrations looks again.
const MIGRATIONS_POLL: Duration = Duration::from_secs(2);

/// Why a service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// A configuration value is unusable.
    #[error("configuration key `{key}`: {reason}")]
    Config {
        /// Dotted key.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The store could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Redis could not be reached.
    #[error(transparent)]
    Redis(#[from] RedisError),
    /// A TLS file could not be read or used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Reflection could not be built from the descriptors.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The server failed while serving.
    #[error("server: {0}")]
    Serve(#[source] tonic::transport::Error),
}

/// Everything a service needs to build itself, taken from the platform's [`Config`].
#[derive(Debug, Clone)]
pub struct ServiceContext {
    /// Which service.
    pub name: ServiceName,
    /// Its own section: listen address, database.
    pub service: ServiceConfig,
    /// The server stack settings.
    pub server: ServerConfig,
    /// The shared Redis settings.
    pub redis: RedisConfig,
    /// The decision cache settings.
    pub cache: CacheConfig,
    /// Verifies bearer tokens.
    pub verifier: TokenVerifier,
    /// Ended sessions: identity publishes them, every service's verifier refuses their tokens.
    pub revocations: RevocationFeed,
    /// Token settings: issuer, audience, where published keys come from.
    pub auth: AuthConfig,
    /// Sign-in and token lifetimes (identity).
    pub sign_in: SignInConfig,
    /// The server's TLS identity; `None` serves plaintext.
    pub server_tls: Option<ServerTls>,
    /// How peers' certificates are verified (and this service proves itself to them); `None`
    /// calls peers in plaintext.
    pub peer_tls: Option<PeerTls>,
    /// The in-process event backbone, where committed events go without Redis: one per
    /// process when its services share it (`lms dev`), else this service's own.
    pub events: crate::outbox::EventBus,
    /// How to reach each service, indexed by [`ServiceName`] (declared in [`ServiceName::ALL`] order).
    endpoints: [String; 4],
    /// A socket bound for this service before it was built (see [`ServiceContext::listen_on`]).
    bound: BoundListener,
}

/// A listening socket bound before its service is built and taken once by its server: every
/// peer's address is known before any service starts, and no other process can take the port
/// in between (a port only looked up, then bound later, can go to anyone's outgoing connection).
#[derive(Debug, Clone, Default)]
struct BoundListener(Arc<std::sync::Mutex<Option<std::net::TcpListener>>>);

impl ServiceContext {
    /// The context of `name` under `config`, with its TLS files read. Refuses a configuration
    /// with `server.require_tls` that leaves a connection of this service unencrypted.
    pub fn from_config(config: &Config, name: ServiceName) -> Result<Self, BootError> {
        if config.server.require_tls {
            require_tls(config, name)?;
        }
        let redis_endpoint = RedisEndpoint::from_config(&config.redis)?;
        let token_lifetime = Duration::from_secs(
            config.sign_in.access_token_ttl_seconds + config.auth.leeway_seconds,
        );
        let rotation = Duration::from_secs(config.sign_in.signing_key_rotation_hours * 3600);
        let verifier = verifier_from(&config.auth)?
            .with_published_retention(PublishedRetention::new(token_lifetime, rotation));
        let shared = match (&redis_endpoint, &config.redis.revocations_mac_key) {
            (Some(endpoint), Some(mac_key)) => {
                Some((endpoint, config.redis.key_prefix.as_str(), mac_key))
            }
            (None, _) => None,
            (Some(_), None) => {
                return Err(BootError::Config {
                    key: "redis.revocations_mac_key",
                    reason: "is required with redis.url: ended sessions in Redis are \
                             authenticated"
                        .into(),
                });
            }
        };
        let revocations =
            RevocationFeed::new(verifier.revocations().clone(), shared, token_lifetime).map_err(
                |error| BootError::Config {
                    key: "redis.url",
                    reason: error.to_string(),
                },
            )?;
        Ok(Self {
            name,
            service: config.service(name).clone(),
            server: config.server.clone(),
            redis: config.redis.clone(),
            cache: config.cache.clone(),
            verifier,
            revocations,
            auth: config.auth.clone(),
            sign_in: config.sign_in.clone(),
            server_tls: ServerTls::from_config(&config.server)?,
            peer_tls: PeerTls::from_config(&config.peers)?,
            events: crate::outbox::EventBus::default(),
            endpoints: ServiceName::ALL.map(|peer| config.service(peer).endpoint()),
            bound: BoundListener::default(),
        })
    }

    /// Serves on `listener`, already bound, instead of binding `service.listen` at build.
    pub fn listen_on(&mut self, listener: std::net::TcpListener) -> std::io::Result<()> {
        self.service.listen = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        self.bound = BoundListener(Arc::new(std::sync::Mutex::new(Some(listener))));
        Ok(())
    }

    /// The socket given to [`ServiceContext::listen_on`], once.
    pub(crate) fn take_bound_listener(&self) -> Option<std::net::TcpListener> {
        self.bound
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// The URL `peer` is reached at.
    pub fn endpoint(&self, peer: ServiceName) -> &str {
        &self.endpoints[peer as usize]
    }

    /// `peer` as this service calls it: its URL with this service's peer TLS.
    pub fn peer(&self, peer: ServiceName) -> Peer {
        Peer::new(self.endpoint(peer), self.peer_tls.clone())
    }

    /// Points calls to `peer` at `url` (tests bind port 0 and learn addresses late).
    pub fn set_endpoint(&mut self, peer: ServiceName, url: String) {
        self.endpoints[peer as usize] = url;
    }

    /// Where this service fetches the signing keys identity publishes: identity itself, unless
    /// this is identity (which publishes them into its own verifier).
    pub fn published_keys_source(&self) -> Option<Peer> {
        (self.auth.fetch_identity_keys && self.name != ServiceName::Identity)
            .then(|| self.peer(ServiceName::Identity))
    }

    /// Opens the service's database and applies its migrations, or, with
    /// `apply_migrations = false`, waits until `lms migrate` has.
    pub async fn open_database(
        &self,
        migrations: &crate::store::Migrations,
    ) -> Result<Database, BootError> {
        let database =
            Database::connect(&self.service.database_url, self.service.max_connections).await?;
        if self.service.apply_migrations {
            database.migrate(migrations).await?;
        } else {
            database
                .await_migrations(migrations, MIGRATIONS_POLL)
                .await?;
        }
        tracing::info!(service = %self.name, backend = ?database.backend(), "store ready");
        Ok(database)
    }

    /// Connects to Redis when one is configured; a Redis that is down does not stop the start
    /// (the service serves without it and joins it when it returns).
    pub async fn connect_redis(&self) -> Result<Option<RedisHandle>, BootError> {
        match self.redis_endpoint()? {
            Some(redis) => Ok(Some(
                RedisHandle::open(&redis, &self.redis.key_prefix).await?,
            )),
            None => Ok(None),
        }
    }

    /// Where this service's committed events go: its Redis stream, each entry signed with
    /// `redis.events_mac_key`, when it has Redis; else the process's bus.
    pub fn event_sink(
        &self,
        redis: Option<RedisHandle>,
    ) -> Result<crate::outbox::EventSink, BootError> {
        Ok(match redis {
            Some(redis) => crate::outbox::EventSink::stream(redis, self.events_sealer()?),
            None => crate::outbox::EventSink::InProcess(self.events.clone()),
        })
    }

    /// The key that signs the services' stream entries and checks them; refused without it.
    pub fn events_sealer(&self) -> Result<crate::sealed::Sealer, BootError> {
        let key = self
            .redis
            .events_mac_key
            .as_ref()
            .ok_or_else(|| BootError::Config {
                key: "redis.events_mac_key",
                reason: "is required with redis.url on every service: their events on Redis \
                     streams are authenticated (32+ random characters, the same on the four)"
                    .into(),
            })?;
        Ok(crate::sealed::Sealer::new(key))
    }

    /// The shared Redis as `redis` says now (with the CA to verify a `rediss://` server by);
    /// `None` without Redis. Read from the settings each time, so a context adjusted after
    /// [`ServiceContext::from_config`] (tests, `lms dev`) connects where it says.
    pub fn redis_endpoint(&self) -> Result<Option<RedisEndpoint>, BootError> {
        Ok(RedisEndpoint::from_config(&self.redis)?)
    }
}

/// With `server.require_tls`, every connection `name` accepts or makes must be encrypted and
/// its peer verified; the first that is not stops the start, saying what to set.
fn require_tls(config: &Config, name: ServiceName) -> Result<(), BootError> {
    let refuse = |reason: String| BootError::Config {
        key: "server.require_tls",
        reason: format!("is set, but {reason}"),
    };
    if !config.server.tls_enabled() {
        return Err(refuse(
            "the server has no certificate: set server.tls_cert_file and server.tls_key_file"
                .into(),
        ));
    }
    if !config.peers.tls_enabled() {
        return Err(refuse(
            "calls to other services would not verify them: set peers.tls_ca_file".into(),
        ));
    }
    if let Some(peer) = ServiceName::ALL
        .into_iter()
        .find(|peer| !config.service(*peer).endpoint().starts_with("https://"))
    {
        return Err(refuse(format!("{peer}.endpoint is not https://")));
    }
    if !crate::store::transport_verified(&config.service(name).database_url) {
        return Err(refuse(format!(
            "{name}.database_url does not verify PostgreSQL's certificate: add \
             sslmode=verify-full (or verify-ca) and sslrootcert=<CA file>"
        )));
    }
    if let Some(url) = &config.redis.url {
        if !url.expose().starts_with("rediss://") {
            return Err(refuse("redis.url is not rediss://".into()));
        }
        // `#insecure` makes the client skip the certificate check: encrypted, but to anyone.
        if url.expose().contains('#') {
            return Err(refuse(
                "redis.url has a fragment (#insecure skips the certificate check)".into(),
            ));
        }
    }
    Ok(())
}

/// The token verifier `auth` describes: the configured keys (if any); the keys identity
/// publishes are added as they are fetched.
pub fn verifier_from(auth: &AuthConfig) -> Result<TokenVerifier, BootError> {
    let jwks = match (&auth.jwks, &auth.jwks_file) {
        (Some(inline), _) => inline.clone(),
        (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| BootError::Config {
            key: "auth.jwks_file",
            reason: format!("cannot read {}: {e}", path.display()),
        })?,
        (None, None) => r#"{"keys":[]}"#.to_owned(),
    };
    TokenVerifier::new(&jwks, &auth.issuer, &auth.audience, auth.leeway_seconds).map_err(|e| {
        BootError::Config {
            key: "auth.jwks",
            reason: e.to_string(),
        }
    })
}

/// A background task of a service, started when it serves and stopped with it.
pub type BackgroundTask = Box<dyn FnOnce(CancellationToken) + Send>;

/// A built service: its server, the dependencies readiness watches and its background tasks.
pub struct Application {
    server: GrpcServer,
    database: Database,
    redis: Option<RedisHandle>,
    background: Vec<BackgroundTask>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("server", &self.server)
            .field("background", &self.background.len())
            .finish_non_exhaustive()
    }
}

impl Application {
    /// A service serving `server` over `database`.
    pub fn new(server: GrpcServer, database: Database) -> Self {
        Self {
            server,
            database,
            redis: None,
            background: Vec::new(),
        }
    }

    /// Adds a task started (with the shutdown token) when the service starts serving.
    pub fn with_background(
        mut self,
        task: impl FnOnce(CancellationToken) + Send + 'static,
    ) -> Self {
        self.background.push(Box::new(task));
        self
    }

    /// Adds the Redis connection, so readiness reports on it too.
    pub fn with_redis(mut self, redis: Option<RedisHandle>) -> Self {
        self.redis = redis;
        self
    }

    /// Which service.
    pub fn name(&self) -> ServiceName {
        self.server.name()
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Fully-qualified names of the gRPC services served.
    pub fn served(&self) -> &[&'static str] {
        self.server.served()
    }

    /// Serves until `shutdown` is cancelled, reporting NOT_SERVING while the store is unreachable
    /// or no key to verify tokens with is held yet.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> Result<(), BootError> {
        let Application {
            server,
            database,
            redis,
            background,
        } = self;
        for task in background {
            task(shutdown.child_token());
        }
        let readiness = tokio::spawn(watch_readiness(
            server.health(),
            server.served().to_vec(),
            server.verifier().clone(),
            database.clone(),
            redis,
            shutdown.clone(),
        ));
        let result = server.serve(shutdown).await;
        readiness.abort();
        database.close().await;
        result
    }
}

/// Reports SERVING while the store answers and the verifier holds a key: without a key every
/// authenticated call would fail, so a service that has not fetched identity's keys yet (or lost
/// them all) must not receive traffic. Key changes are reported at once, the store every
/// [`READINESS_INTERVAL`].
async fn watch_readiness(
    health: tonic_health::server::HealthReporter,
    served: Vec<&'static str>,
    verifier: TokenVerifier,
    database: Database,
    redis: Option<RedisHandle>,
    shutdown: CancellationToken,
) {
    let mut presence = verifier.key_presence();
    // What the server reports when it starts serving.
    let mut reported = verifier.holds_keys();
    let mut store_ok = true;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(READINESS_INTERVAL) => {
                store_ok = match database.ping().await {
                    Ok(()) => true,
                    Err(error) => {
                        tracing::warn!(%error, "store unreachable");
                        false
                    }
                };
                // Redis is an accelerator, not a dependency: its outage is logged, not a
                // reason to stop serving.
                if let Some(redis) = &redis
                    && let Err(error) = redis.ping().await
                {
                    tracing::warn!(%error, "redis unreachable");
                }
            }
            changed = presence.changed() => {
                if changed.is_err() {
                    // The verifier is gone with the server; nothing more to follow.
                    return;
                }
            }
        }
        let holds_keys = *presence.borrow_and_update();
        let ready = store_ok && holds_keys;
        if ready != reported && !shutdown.is_cancelled() {
            reported = ready;
            if !holds_keys {
                tracing::warn!("no key to verify tokens with; not serving");
            }
            let status = if ready {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            set_status(&health, &served, status).await;
        }
    }
}
