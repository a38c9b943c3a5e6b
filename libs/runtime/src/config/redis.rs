//! `[redis]`: the shared Redis (decision cache and event stream).

use std::path::PathBuf;

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
    /// invalidations, HMAC-SHA256), at least 32 characters, the same on every authorization
    /// replica and given to no other service: an entry anyone else wrote to Redis fails the
    /// check and is not used. Authorization refuses to start with `url` but without it.
    pub mac_key: Option<SecretString>,
    /// CA bundle (PEM) the server certificate of a `rediss://` URL must chain to; unset, the
    /// system's roots are used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca_file: Option<PathBuf>,
    /// The key that authenticates ended sessions in Redis (HMAC-SHA256), at least 32
    /// characters, the same on every service (identity seals with it, every verifier checks):
    /// a session id anyone else added to the set is ignored. Every service refuses to start
    /// with `url` but without it. Separate from `mac_key`, which only authorization holds.
    pub revocations_mac_key: Option<SecretString>,
    /// The key that authenticates the services' events on their Redis streams (HMAC-SHA256 per
    /// entry), at least 32 characters, the same on identity, delegation and reporting (they
    /// refuse to start with `url` but without it): reporting skips an entry anyone else added.
    pub events_mac_key: Option<SecretString>,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: None,
            key_prefix: "lms:".into(),
            mac_key: None,
            tls_ca_file: None,
            revocations_mac_key: None,
            events_mac_key: None,
        }
    }
}

impl RedisConfig {
    /// Checks the URL scheme, and that a Redis comes with a key to authenticate its entries.
    pub fn validate(&self) -> Result<(), ConfigError> {
        // Required with a URL only by authorization (checked when it starts): the other
        // services never hold the key, so none of them can seal an entry authorization trusts.
        if let Some(key) = &self.mac_key
            && key.expose().len() < 32
        {
            return Err(invalid("redis.mac_key", "must be at least 32 characters"));
        }
        if let Some(key) = &self.revocations_mac_key
            && key.expose().len() < 32
        {
            return Err(invalid(
                "redis.revocations_mac_key",
                "must be at least 32 characters",
            ));
        }
        if let Some(key) = &self.events_mac_key
            && key.expose().len() < 32
        {
            return Err(invalid(
                "redis.events_mac_key",
                "must be at least 32 characters",
            ));
        }
        if self.url.is_some() && self.revocations_mac_key.is_none() {
            return Err(invalid(
                "redis.revocations_mac_key",
                "is required with redis.url: ended sessions in Redis are authenticated \
                 (32+ random characters, the same on every service)",
            ));
        }
        if let Some(url) = &self.url
            && !(url.expose().starts_with("redis://") || url.expose().starts_with("rediss://"))
        {
            return Err(invalid(
                "redis.url",
                "must start with redis:// or rediss://",
            ));
        }
        if self.tls_ca_file.is_some()
            && !self
                .url
                .as_ref()
                .is_some_and(|url| url.expose().starts_with("rediss://"))
        {
            return Err(invalid(
                "redis.tls_ca_file",
                "requires a rediss:// redis.url",
            ));
        }
        Ok(())
    }
}
