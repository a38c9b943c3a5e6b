//! `[redis]`: the shared Redis (decision cache and event stream).

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};
use crate::secret::SecretString;

/// The shared Redis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://host:port/db`; absent keeps caches and the event bus in process.
    pub url: Option<SecretString>,
    /// Prefix of every key this deployment writes, so deployments can share a Redis.
    pub key_prefix: String,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: None,
            key_prefix: "lms:".into(),
        }
    }
}

impl RedisConfig {
    /// Checks the URL scheme.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.url
            && !(url.expose().starts_with("redis://") || url.expose().starts_with("rediss://"))
        {
            return Err(invalid(
                "redis.url",
                "must start with redis:// or rediss://",
            ));
        }
        Ok(())
    }
}
