//! The shared Redis: one multiplexed, self-reconnecting connection per process, and a key
//! prefix so deployments (and tests) can share a server.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::secret::SecretString;

/// Why Redis could not be used. Messages never include the URL.
#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct RedisError(#[from] redis::RedisError);

/// A connection to the shared Redis with this deployment's key prefix.
#[derive(Clone)]
pub struct RedisHandle {
    connection: ConnectionManager,
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
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(2);
        let connection = ConnectionManager::new_with_config(client, config).await?;
        let handle = Self {
            connection,
            prefix: prefix.into(),
        };
        handle.ping().await?;
        Ok(handle)
    }

    /// The full key for `suffix`.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A handle on the shared connection (cheap to clone).
    pub fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// One round trip.
    pub async fn ping(&self) -> Result<(), RedisError> {
        let mut connection = self.connection.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await?;
        Ok(())
    }
}
