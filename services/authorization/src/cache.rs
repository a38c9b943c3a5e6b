//! The decision cache: compiled subject and resource facts, in process (per replica) and in
//! Redis (shared by replicas), invalidated across replicas through Redis pub/sub.
//!
//! Guarantees:
//! - Every entry carries the tenant revision it was read at. A decision asked at least as fresh
//!   as a token uses only entries read at or after the token's revision: the new-enemy problem
//!   cannot occur, whatever happened to invalidations.
//! - A decision asked without a token may use any live entry. Entries live at most
//!   `cache.max_staleness_ms` in both tiers, so such a decision is never staler than that bound;
//!   invalidations (local at once, remote through pub/sub) usually make it far fresher.
//! - Writes invalidate exactly the keys they change, or the whole tenant (settings, role
//!   definitions, the unit tree) by raising the tenant's floor revision.
//! - Redis errors are misses: the store answers, and a short breaker keeps the hot path from
//!   waiting on a dead Redis.
//! - What is read from Redis is used only if its MAC holds (`sealed`): an entry or invalidation
//!   planted by anyone without the replicas' key is a miss, and is counted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use lms_kernel::{ResourceFacts, SubjectFacts, TenantId, UserId};
use lms_runtime::clock::now_ms;
use lms_runtime::config::CacheConfig;
use lms_runtime::redis::{RedisEndpoint, RedisHandle};
use lms_runtime::redis_acl::AUTHORIZATION_NAMESPACE as NAMESPACE;
use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use tokio_stream::StreamExt;

use crate::store::Revision;
use lms_runtime::sealed::Sealer;

/// Lookups by outcome, summed over every cache in the process: what benchmarks report as hit
/// ratios without an OpenTelemetry pipeline (the same counts go to the `lookups` metric).
static LOOKUPS: Lookups = Lookups {
    local: AtomicU64::new(0),
    redis: AtomicU64::new(0),
    miss: AtomicU64::new(0),
};

struct Lookups {
    local: AtomicU64,
    redis: AtomicU64,
    miss: AtomicU64,
}

/// Decision-cache lookups so far in this process, by where they were answered.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct CacheLookups {
    /// Answered by the replica's own tier.
    pub local: u64,
    /// Answered by Redis.
    pub redis: u64,
    /// Read from the store.
    pub miss: u64,
}

/// The process's [`CacheLookups`] so far.
pub fn lookups() -> CacheLookups {
    CacheLookups {
        local: LOOKUPS.local.load(Ordering::Relaxed),
        redis: LOOKUPS.redis.load(Ordering::Relaxed),
        miss: LOOKUPS.miss.load(Ordering::Relaxed),
    }
}

/// How long Redis is skipped after an error.
const BREAKER: Duration = Duration::from_secs(1);

/// What a decision asks of the cache.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Freshness {
    /// Any live entry (bounded staleness).
    Latency,
    /// Only entries read at or after this revision.
    AtLeast(Revision),
    /// No cache.
    Full,
}

/// A cached value with the revision it was read at.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    /// The tenant revision the facts were read at.
    pub revision: i64,
    /// When they were read (ms since the epoch): an entry is never used past the staleness
    /// bound from this moment, in either tier, so a copy from Redis gets no fresh local life
    /// and an old sealed entry written back into Redis is refused (it is under the MAC).
    pub read_at_ms: i64,
    /// The facts.
    pub facts: Facts,
}

impl Entry {
    /// The subject facts it holds, with the revision they were read at.
    pub fn subject(&self) -> Option<(Arc<SubjectFacts>, Revision)> {
        match &self.facts {
            Facts::Subject(facts) => Some((facts.clone(), Revision(self.revision))),
            Facts::Resource(_) => None,
        }
    }

    /// The resource facts it holds, with the revision they were read at.
    pub fn resource(&self) -> Option<(Arc<ResourceFacts>, Revision)> {
        match &self.facts {
            Facts::Resource(facts) => Some((facts.clone(), Revision(self.revision))),
            Facts::Subject(_) => None,
        }
    }
}

/// Cached facts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Facts {
    /// A subject's compiled facts.
    Subject(Arc<SubjectFacts>),
    /// A resource's facts.
    Resource(Arc<ResourceFacts>),
}

/// What a cache entry holds facts about. Hashed and compared as it is, so a decision formats no
/// strings to find its facts; only Redis sees the text form.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct CacheKey {
    tenant: uuid::Uuid,
    of: Of,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
enum Of {
    /// A subject's compiled facts.
    Subject(uuid::Uuid),
    /// A resource's facts, by object type and id.
    Resource(i16, uuid::Uuid),
}

impl CacheKey {
    /// The key of a subject's facts.
    pub fn subject(tenant: TenantId, user: UserId) -> CacheKey {
        CacheKey {
            tenant: tenant.as_uuid(),
            of: Of::Subject(user.as_uuid()),
        }
    }

    /// The key of a resource's facts.
    pub fn resource(tenant: TenantId, kind: i16, id: uuid::Uuid) -> CacheKey {
        CacheKey {
            tenant: tenant.as_uuid(),
            of: Of::Resource(kind, id),
        }
    }

    /// The key's text in Redis (before the configured prefix).
    fn text(&self) -> String {
        match self.of {
            Of::Subject(user) => {
                format!("{NAMESPACE}s:{}:{}", self.tenant.simple(), user.simple())
            }
            Of::Resource(kind, id) => {
                format!(
                    "{NAMESPACE}r:{}:{kind}:{}",
                    self.tenant.simple(),
                    id.simple()
                )
            }
        }
    }
}

/// An invalidation, as published to other replicas.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Invalidation {
    /// The tenant.
    pub tenant: uuid::Uuid,
    /// Keys to drop.
    pub keys: Vec<CacheKey>,
    /// When set, every entry of the tenant read before this revision is dropped.
    pub floor: Option<i64>,
}

/// The two-tier cache of one authorization replica.
pub struct FactsCache {
    local: moka::sync::Cache<CacheKey, Arc<Entry>>,
    /// Per tenant: entries read before this revision are invalid (tenant-wide invalidations).
    floors: Mutex<HashMap<uuid::Uuid, i64>>,
    redis: Option<RedisTier>,
    ttl: Duration,
    lookups: Counter<u64>,
    /// Values read from Redis whose MAC failed.
    rejected: Counter<u64>,
}

impl std::fmt::Debug for FactsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactsCache")
            .field("entries", &self.local.entry_count())
            .field("redis", &self.redis.is_some())
            .finish_non_exhaustive()
    }
}

struct RedisTier {
    handle: RedisHandle,
    sealer: Sealer,
    channel: String,
    /// Milliseconds since the epoch until which Redis is skipped.
    skip_until: AtomicI64,
}

impl RedisTier {
    fn available(&self) -> bool {
        now_ms() >= self.skip_until.load(Ordering::Relaxed)
    }

    fn failed(&self, error: &redis::RedisError) {
        tracing::warn!(%error, "redis failed; skipping it for a moment");
        self.skip_until
            .store(now_ms() + BREAKER.as_millis() as i64, Ordering::Relaxed);
    }

    fn floor_key(&self, tenant: uuid::Uuid) -> String {
        self.handle
            .key(&format!("{NAMESPACE}floor:{}", tenant.simple()))
    }
}

impl FactsCache {
    /// A cache with the configured bound; with `redis`, shared and invalidated across replicas.
    pub fn new(config: &CacheConfig, redis: Option<(RedisHandle, Sealer)>) -> Arc<FactsCache> {
        let ttl = Duration::from_millis(config.max_staleness_ms);
        let channel = redis
            .as_ref()
            .map(|(r, _)| r.key(&format!("{NAMESPACE}invalidations")))
            .unwrap_or_default();
        Arc::new(FactsCache {
            local: moka::sync::Cache::builder()
                .max_capacity(config.capacity)
                .time_to_live(ttl)
                .build(),
            floors: Mutex::default(),
            redis: redis.map(|(handle, sealer)| RedisTier {
                handle,
                sealer,
                channel,
                skip_until: AtomicI64::new(0),
            }),
            ttl,
            lookups: opentelemetry::global::meter("lms")
                .u64_counter("lms.authorization.cache.lookups")
                .with_description("Decision-cache lookups by outcome: local, redis or miss")
                .build(),
            rejected: opentelemetry::global::meter("lms")
                .u64_counter("lms.authorization.cache.rejected")
                .with_description(
                    "Values read from Redis that failed their MAC (planted or corrupted), not used",
                )
                .build(),
        })
    }

    fn floor(&self, tenant: uuid::Uuid) -> i64 {
        self.floors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&tenant)
            .copied()
            .unwrap_or(0)
    }

    fn usable(&self, entry: &Entry, key: &CacheKey, freshness: Freshness) -> bool {
        if now_ms().saturating_sub(entry.read_at_ms) > self.ttl.as_millis() as i64 {
            return false;
        }
        let fresh_enough = match freshness {
            Freshness::Latency => true,
            Freshness::AtLeast(revision) => entry.revision >= revision.0,
            Freshness::Full => false,
        };
        fresh_enough && entry.revision >= self.floor(key.tenant)
    }

    fn count(&self, outcome: &'static str) {
        self.lookups.add(1, &[KeyValue::new("outcome", outcome)]);
        let slot = match outcome {
            "local" => &LOOKUPS.local,
            "redis" => &LOOKUPS.redis,
            _ => &LOOKUPS.miss,
        };
        slot.fetch_add(1, Ordering::Relaxed);
    }

    /// A usable entry for `key` that this replica holds: no I/O.
    pub fn get_local(&self, key: &CacheKey, freshness: Freshness) -> Option<Arc<Entry>> {
        if freshness == Freshness::Full {
            return None;
        }
        let entry = self
            .local
            .get(key)
            .filter(|entry| self.usable(entry, key, freshness))?;
        self.count("local");
        Some(entry)
    }

    /// A usable entry for `key`, from this replica or Redis.
    pub async fn get(&self, key: &CacheKey, freshness: Freshness) -> Option<Arc<Entry>> {
        if freshness == Freshness::Full {
            return None;
        }
        if let Some(entry) = self.get_local(key, freshness) {
            return Some(entry);
        }
        if let Some(redis) = self.redis.as_ref().filter(|r| r.available())
            && let Some(mut connection) = redis.handle.connection()
        {
            let keys = [redis.handle.key(&key.text()), redis.floor_key(key.tenant)];
            match connection
                .mget::<_, (Option<String>, Option<i64>)>(&keys)
                .await
            {
                Ok((Some(sealed), floor)) => {
                    let json = redis.sealer.open(&keys[0], &sealed);
                    if json.is_none() {
                        tracing::warn!("a cache entry in redis failed its MAC; not used");
                        self.rejected.add(1, &[KeyValue::new("what", "entry")]);
                    }
                    if let Some(json) = json
                        && let Ok(entry) = serde_json::from_str::<Entry>(json)
                        && floor.is_none_or(|floor| entry.revision >= floor)
                        && self.usable(&entry, key, freshness)
                    {
                        let entry = Arc::new(entry);
                        self.local.insert(*key, entry.clone());
                        self.count("redis");
                        return Some(entry);
                    }
                }
                Ok((None, _)) => {}
                Err(error) => redis.failed(&error),
            }
        }
        self.count("miss");
        None
    }

    /// Stores facts read from the store at `revision`, in both tiers.
    pub async fn put(&self, key: CacheKey, revision: Revision, facts: Facts) {
        let entry = Arc::new(Entry {
            revision: revision.0,
            read_at_ms: now_ms(),
            facts,
        });
        if let Some(redis) = self.redis.as_ref().filter(|r| r.available())
            && let Some(mut connection) = redis.handle.connection()
            && let Ok(json) = serde_json::to_string(&*entry)
        {
            let place = redis.handle.key(&key.text());
            let sealed = redis.sealer.seal(&place, &json);
            let result: redis::RedisResult<()> = connection
                .pset_ex(place, sealed, self.ttl.as_millis() as u64)
                .await;
            if let Err(error) = result {
                redis.failed(&error);
            }
        }
        self.local.insert(key, entry);
    }

    /// Drops `keys` (and, with `floor`, the whole tenant's older entries) here, in Redis, and on
    /// every other replica.
    pub async fn invalidate(&self, invalidation: Invalidation) {
        self.apply(&invalidation);
        let Some(redis) = self.redis.as_ref().filter(|r| r.available()) else {
            return;
        };
        // Not reached yet: the other replicas' staleness bound covers what they hold.
        let Some(mut connection) = redis.handle.connection() else {
            return;
        };
        let mut pipe = redis::pipe();
        for key in &invalidation.keys {
            pipe.del(redis.handle.key(&key.text())).ignore();
        }
        if let Some(floor) = invalidation.floor {
            // The floor only rises: concurrent writers may finish out of order.
            pipe.cmd("EVAL")
                .arg("local c = tonumber(redis.call('GET', KEYS[1]) or '0') if tonumber(ARGV[1]) > c then redis.call('SET', KEYS[1], ARGV[1]) end")
                .arg(1)
                .arg(redis.floor_key(invalidation.tenant))
                .arg(floor)
                .ignore();
        }
        if let Ok(message) = serde_json::to_string(&invalidation) {
            pipe.publish(&redis.channel, redis.sealer.seal(&redis.channel, &message))
                .ignore();
        }
        if let Err(error) = pipe.query_async::<()>(&mut connection).await {
            redis.failed(&error);
        }
    }

    /// Applies an invalidation to this replica.
    pub fn apply(&self, invalidation: &Invalidation) {
        for key in &invalidation.keys {
            self.local.invalidate(key);
        }
        if let Some(floor) = invalidation.floor {
            let mut floors = self.floors.lock().unwrap_or_else(|p| p.into_inner());
            let current = floors.entry(invalidation.tenant).or_insert(0);
            *current = (*current).max(floor);
        }
    }

    /// Forgets everything this replica holds (after missing invalidations).
    pub fn clear(&self) {
        self.local.invalidate_all();
    }

    /// Listens for other replicas' invalidations until the cache is dropped. While the
    /// subscription is down, invalidations may be missed: the replica clears its tier on every
    /// (re)subscription, and the staleness bound holds meanwhile.
    pub fn listen(cache: &Arc<FactsCache>, endpoint: RedisEndpoint) {
        let Some((channel, sealer)) = cache
            .redis
            .as_ref()
            .map(|r| (r.channel.clone(), r.sealer.clone()))
        else {
            return;
        };
        let weak: Weak<FactsCache> = Arc::downgrade(cache);
        tokio::spawn(async move {
            loop {
                let subscribed = async {
                    let client = endpoint.client()?;
                    let mut pubsub = client.get_async_pubsub().await?;
                    pubsub.subscribe(&channel).await?;
                    redis::RedisResult::Ok(pubsub)
                }
                .await;
                match subscribed {
                    Ok(pubsub) => {
                        let Some(cache) = weak.upgrade() else { return };
                        cache.clear();
                        drop(cache);
                        let mut messages = pubsub.into_on_message();
                        while let Some(message) = messages.next().await {
                            let Some(cache) = weak.upgrade() else { return };
                            let payload = String::from_utf8_lossy(message.get_payload_bytes());
                            let Some(json) = sealer.open(&channel, &payload) else {
                                tracing::warn!("an invalidation failed its MAC; ignored");
                                cache
                                    .rejected
                                    .add(1, &[KeyValue::new("what", "invalidation")]);
                                continue;
                            };
                            if let Ok(invalidation) = serde_json::from_str::<Invalidation>(json) {
                                cache.apply(&invalidation);
                            }
                        }
                        tracing::warn!("invalidation subscription ended; resubscribing");
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot subscribe to invalidations; retrying")
                    }
                }
                if weak.strong_count() == 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }
}
