//! `[cache]`: the decision cache of authorization.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// The decision cache: compiled facts per subject and resource, in process and in Redis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// The staleness bound of a decision asked without a consistency token: no cached fact is
    /// older than this. Writes invalidate sooner (across replicas through Redis pub/sub).
    pub max_staleness_ms: u64,
    /// Entries kept per replica.
    pub capacity: u64,
    /// Most relationships a lookup reads per relation query; a lookup cut by it answers
    /// `truncated` rather than listing less in silence.
    #[serde(default = "default_lookup_fanout")]
    pub lookup_fanout: u32,
}

fn default_lookup_fanout() -> u32 {
    100_000
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_staleness_ms: 1_000,
            capacity: 100_000,
            lookup_fanout: default_lookup_fanout(),
        }
    }
}

impl CacheConfig {
    /// Checks the staleness bound and the capacity.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.lookup_fanout == 0 {
            return Err(invalid("cache.lookup_fanout", "must be at least 1"));
        }
        if self.max_staleness_ms == 0 || self.capacity == 0 {
            return Err(invalid(
                "cache.max_staleness_ms",
                "staleness bound and capacity must be at least 1",
            ));
        }
        Ok(())
    }
}
