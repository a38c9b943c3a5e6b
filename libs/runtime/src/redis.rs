//! The shared Redis: one multiplexed, self-reconnecting connection per process, and a key
//! prefix so deployments (and tests) can share a server. Redis accelerates; it is never needed
//! to start: a service that finds it down serves without it and joins it when it returns.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::RedisConfig;
use crate::secret::SecretString;
use crate::tls::{self, TlsError};

/// Where the shared Redis is: its URL (a secret: it may hold a password) and, for `rediss://`,
/// the CA its certificate must chain to (the system's roots when none is given).
#[derive(Clone)]
pub struct RedisEndpoint {
    url: SecretString,
    ca_pem: Option<Arc<[u8]>>,
}

impl std::fmt::Debug for RedisEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisEndpoint")
            .field("url", &self.url)
            .field("ca", &self.ca_pem.is_some())
            .finish()
    }
}

impl RedisEndpoint {
    /// Redis at `url`, trusting the system's roots for `rediss://`.
    pub fn new(url: SecretString) -> Self {
        Self { url, ca_pem: None }
    }

    /// Trusts only the CA certificates in `pem` for `rediss://`.
    pub fn with_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem = Some(pem.into().into());
        self
    }

    /// The Redis `config` names, with its CA file read; `None` without a URL.
    pub fn from_config(config: &RedisConfig) -> Result<Option<Self>, TlsError> {
        let Some(url) = &config.url else {
            return Ok(None);
        };
        let endpoint = Self::new(url.clone());
        Ok(Some(match &config.tls_ca_file {
            Some(path) => endpoint.with_ca_pem(tls::read("redis.tls_ca_file", path)?),
            None => endpoint,
        }))
    }

    /// A client for it; connections are made when used. Fails for a URL that cannot work (or a
    /// CA given for a plaintext `redis://` URL).
    pub fn client(&self) -> Result<redis::Client, redis::RedisError> {
        match &self.ca_pem {
            Some(ca) => redis::Client::build_with_tls(
                self.url.expose(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(ca.to_vec()),
                },
            ),
            None => redis::Client::open(self.url.expose()),
        }
    }
}

/// Why Redis could not be used. Messages never include the URL.
#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct RedisError(#[from] redis::RedisError);

/// How often a service that started without Redis tries to reach it.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// A connection to the shared Redis with this deployment's key prefix; empty while Redis has
/// not been reached yet.
#[derive(Clone)]
pub struct RedisHandle {
    connection: Arc<RwLock<Option<ConnectionManager>>>,
    prefix: Arc<str>,
}

impl std::fmt::Debug for RedisHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHandle")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisHandle {
    /// Connects and checks the server answers. Later outages are retried by the connection
    /// manager; callers treat errors as "Redis down" and fall back.
    pub async fn connect(redis: &RedisEndpoint, prefix: &str) -> Result<Self, RedisError> {
        let client = redis.client()?;
        let connection = Self::manager(client).await?;
        let handle = Self {
            connection: Arc::new(RwLock::new(Some(connection))),
            prefix: prefix.into(),
        };
        handle.ping().await?;
        Ok(handle)
    }

    /// Connects if Redis answers, else answers a handle without a connection and keeps trying
    /// in the background (every second) until it does. Fails only for a URL that cannot work.
    pub async fn open(redis: &RedisEndpoint, prefix: &str) -> Result<Self, RedisError> {
        let client = redis.client()?;
        let handle = Self {
            connection: Arc::default(),
            prefix: prefix.into(),
        };
        if let Err(error) = handle.try_connect(&client).await {
            tracing::warn!(%error, "redis unreachable; serving without it until it returns");
            let retrying = handle.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(RECONNECT_EVERY).await;
                    // Stop when every other copy of the handle (the service) is gone.
                    if Arc::strong_count(&retrying.connection) == 1 {
                        return;
                    }
                    if retrying.try_connect(&client).await.is_ok() {
                        tracing::info!("redis reached; using it from now on");
                        return;
                    }
                }
            });
        }
        Ok(handle)
    }

    async fn manager(client: redis::Client) -> Result<ConnectionManager, RedisError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(2);
        Ok(ConnectionManager::new_with_config(client, config).await?)
    }

    async fn try_connect(&self, client: &redis::Client) -> Result<(), RedisError> {
        let connection = Self::manager(client.clone()).await?;
        *self
            .connection
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(connection);
        Ok(())
    }

    /// The full key for `suffix`.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A handle on the shared connection (cheap to clone); `None` until Redis was reached.
    pub fn connection(&self) -> Option<ConnectionManager> {
        self.connection
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The shared connection, or an error while Redis has not been reached yet.
    pub fn require_connection(&self) -> Result<ConnectionManager, RedisError> {
        self.connection().ok_or_else(|| {
            RedisError(redis::RedisError::from((
                redis::ErrorKind::Io,
                "not connected yet",
            )))
        })
    }

    /// One round trip.
    pub async fn ping(&self) -> Result<(), RedisError> {
        let mut connection = self.require_connection()?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await?;
        Ok(())
    }
}
