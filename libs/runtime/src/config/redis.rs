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
    /// The key that authenticates what authorization keeps in Redis (cached facts and
    /// invalidations, HMAC-SHA256), at least 32 characters, the same on every replica: an entry
    /// someone else planted in Redis fails the check and is not used. Required with `url`.
    pub mac_key: Option<SecretString>,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: None,
            key_prefix: "lms:".into(),
            mac_key: None,
        }
    }
}

impl RedisConfig {
    /// Checks the URL scheme, and that a Redis comes with a key to authenticate its entries.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match (&self.url, &self.mac_key) {
            (Some(_), None) => {
                return Err(invalid(
                    "redis.mac_key",
                    "is required with redis.url (a secret of at least 32 characters, the same \
                     on every replica), so entries planted in Redis are never trusted",
                ));
            }
            (_, Some(key)) if key.expose().len() < 32 => {
                return Err(invalid("redis.mac_key", "must be at least 32 characters"));
            }
            _ => {}
        }
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
