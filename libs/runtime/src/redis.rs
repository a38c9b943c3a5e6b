//! The shared Redis: one multiplexed, self-reconnecting connection per process, and a key
//! prefix so deployments (and tests) can share a server. Redis accelerates; it is never needed
//! to start: a service that finds it down serves without it and joins it when it returns.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::secret::SecretString;

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
    pub async fn connect(url: &SecretString, prefix: &str) -> Result<Self, RedisError> {
        let client = redis::Client::open(url.expose())?;
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
    pub async fn open(url: &SecretString, prefix: &str) -> Result<Self, RedisError> {
        let client = redis::Client::open(url.expose())?;
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

    /// One round trip.
    pub async fn ping(&self) -> Result<(), RedisError> {
        let mut connection = self.connection().ok_or_else(|| {
            RedisError(redis::RedisError::from((
                redis::ErrorKind::Io,
                "not connected yet",
            )))
        })?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await?;
        Ok(())
    }
}
