//! The decision cache: compiled subject and resource facts, in process (per replica) and in
//! Redis (shared by replicas), invalidated across replicas through Redis pub/sub.
//!
//! Guarantees:
//! - Every entry carries the tenant revision it was read at (its owner tenant's, read in the same
//!   statement as the facts). A decision asked at least as fresh as a token uses only entries read
//!   at or after the token's revision: the new-enemy problem cannot occur, whatever happened to
//!   invalidations.
//! - Entries live until something they depend on changes: a write invalidates exactly the keys it
//!   changes (or the whole tenant: settings, role definitions, the unit tree, by raising the
//!   tenant's floor), a validity window they depend on opens or closes (`changes_at`), or capacity
//!   evicts them. Not for the staleness bound.
//! - A decision asked without a token is never staler than `cache.max_staleness_ms`: an entry
//!   older than that is used only while the replica knows it has heard every invalidation up to
//!   a moment within the bound ([`horizon`]: the store's revisions are the heartbeat). A dropped
//!   subscription, a Redis restart, a slow Redis or a lost publish fall back to using only entries
//!   younger than the bound, then drop the tenant's older entries. An entry's age is its read
//!   time (taken before the read) in both tiers: a copy from Redis gets no fresh life.
//! - A read racing a write cannot plant an old entry: invalidated keys keep a tombstone with the
//!   write's revision (here and in Redis) for longer than a read may take to be stored.
//! - Redis errors are misses: the store answers, and a short breaker keeps the hot path from
//!   waiting on a dead Redis.
//! - What is read from Redis is used only if its MAC holds (`sealed`): an entry or invalidation
//!   planted by anyone without the replicas' key is a miss, and is counted.

mod horizon;
mod shared;

use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use lms_kernel::{ResourceFacts, SubjectFacts, TenantId, UserId};
use lms_runtime::clock::now_ms;
use lms_runtime::config::CacheConfig;
use lms_runtime::redis::{RedisEndpoint, RedisHandle};
use lms_runtime::redis_acl::AUTHORIZATION_NAMESPACE as NAMESPACE;
use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use serde::{Deserialize, Serialize};
use tokio_stream::StreamExt;

use crate::store::Revision;
use horizon::{Horizons, Trust};
use lms_runtime::sealed::Sealer;
use shared::{Found, SharedTier};

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

/// Where a lookup was answered.
#[derive(Clone, Copy)]
enum Outcome {
    Local,
    Redis,
    Miss,
    /// Not looked up: the decision asked for the store's latest (full consistency), as the
    /// services' own decisions do. Counted so the dashboard shows what share never could hit.
    Bypassed,
}

/// The process's [`CacheLookups`] so far.
pub fn lookups() -> CacheLookups {
    CacheLookups {
        local: LOOKUPS.local.load(Ordering::Relaxed),
        redis: LOOKUPS.redis.load(Ordering::Relaxed),
        miss: LOOKUPS.miss.load(Ordering::Relaxed),
    }
}

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
    /// When the read began (ms since the epoch): its age, in either tier (a copy from Redis
    /// gets no fresh local life; it is under the MAC).
    pub read_at_ms: i64,
    /// When a validity window the facts depend on opens or closes: not used from then on.
    pub changes_at_ms: Option<i64>,
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
    /// The revision of the write: every write publishes exactly one, so a replica can tell when
    /// it missed one.
    pub revision: i64,
    /// Keys to drop.
    pub keys: Vec<CacheKey>,
    /// When set, every entry of the tenant read before this revision is dropped.
    pub floor: Option<i64>,
}

/// What a read from the store produced facts at: the entry's stamp.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Read {
    /// The owner tenant's revision, read with the facts.
    pub revision: Revision,
    /// When the read began (ms since the epoch): the entry's age counts from here.
    pub started_ms: i64,
    /// When a validity window the facts depend on opens or closes (ms since the epoch).
    pub changes_at_ms: Option<i64>,
}

/// How long an invalidated key refuses entries read before the invalidation, in this replica. A
/// read that took longer than half of it to be stored is not stored. (Redis keeps its tombstones
/// as long as its entries.)
const TOMBSTONE: Duration = Duration::from_secs(10);

/// Redis writes of entries one replica has in flight at most.
const MAX_PUTS_IN_FLIGHT: usize = 256;

/// The two-tier cache of one authorization replica.
pub struct FactsCache {
    /// This replica's entries. quick_cache rather than moka here: a decision looks up two
    /// entries, and moka's per-read bookkeeping was most of a warm Check's own cost.
    local: quick_cache::sync::Cache<CacheKey, Arc<Entry>>,
    /// Keys invalidated lately, with the revision of the write that did.
    tombstones: moka::sync::Cache<CacheKey, i64>,
    /// When the latest tombstone was laid (ms since the epoch).
    last_tombstone_ms: AtomicI64,
    /// Redis writes of entries in flight: beyond this many, entries are kept here only (a
    /// slow Redis must not pile up tasks).
    puts: Arc<tokio::sync::Semaphore>,
    horizons: Horizons,
    shared: Option<Arc<SharedTier>>,
    bound_ms: i64,
    lookups: Counter<u64>,
    /// Values read from Redis whose MAC failed.
    rejected: Counter<u64>,
    /// Tenants whose floor rose because invalidations were lost.
    lost: Counter<u64>,
}

impl std::fmt::Debug for FactsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactsCache")
            .field("entries", &self.local.len())
            .field("redis", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

impl FactsCache {
    /// A cache with the configured bound; with `redis`, shared and invalidated across replicas.
    pub fn new(config: &CacheConfig, redis: Option<(RedisHandle, Sealer)>) -> Arc<FactsCache> {
        let meter = opentelemetry::global::meter("lms");
        Arc::new(FactsCache {
            local: quick_cache::sync::Cache::new(
                usize::try_from(config.capacity).unwrap_or(usize::MAX),
            ),
            // Not bounded by count: a tombstone refused or evicted early could let a racing
            // read plant an old entry. They are small and last seconds.
            tombstones: moka::sync::Cache::builder().time_to_live(TOMBSTONE).build(),
            horizons: Horizons::default(),
            last_tombstone_ms: AtomicI64::new(i64::MIN / 2),
            puts: Arc::new(tokio::sync::Semaphore::new(MAX_PUTS_IN_FLIGHT)),
            shared: redis.map(|(handle, sealer)| Arc::new(SharedTier::new(handle, sealer))),
            bound_ms: config.max_staleness_ms as i64,
            lookups: meter
                .u64_counter("lms.authorization.cache.lookups")
                .with_description(
                    "Decision-cache lookups by outcome: local, redis, miss, or bypassed (the \
                     decision asked for full consistency)",
                )
                .build(),
            rejected: meter
                .u64_counter("lms.authorization.cache.rejected")
                .with_description(
                    "Values read from Redis that failed their MAC (planted or corrupted), not used",
                )
                .build(),
            lost: meter
                .u64_counter("lms.authorization.cache.lost_invalidations")
                .with_description(
                    "Times a tenant's entries were dropped because an invalidation never arrived",
                )
                .build(),
        })
    }

    /// Whether a write invalidated `key` after `revision` was read (`now_ms` being now).
    fn raced(&self, key: &CacheKey, revision: i64, now_ms: i64) -> bool {
        // No tombstone can be alive if none was laid within its lifetime: most decisions skip
        // the lookup. (Laid before the cache is consulted, and read after it.)
        if now_ms - self.last_tombstone_ms.load(Ordering::SeqCst) > TOMBSTONE.as_millis() as i64 {
            return false;
        }
        self.tombstones
            .get(key)
            .is_some_and(|invalidated| revision < invalidated)
    }

    /// Keeps `entry` here unless a write to its key raced its read. Inserted before it looks
    /// for the tombstone, as [`FactsCache::apply`] tombstones before it drops the key: whichever
    /// runs second sees the other.
    fn keep(&self, key: CacheKey, entry: Arc<Entry>) {
        let revision = entry.revision;
        self.local.insert(key, entry);
        if self.raced(&key, revision, now_ms()) {
            self.local.remove(&key);
        }
    }

    /// Whether `entry` may answer a decision asking `freshness` now.
    fn usable(&self, entry: &Entry, key: &CacheKey, freshness: Freshness) -> bool {
        let now = now_ms();
        if entry.changes_at_ms.is_some_and(|at| now >= at) || self.raced(key, entry.revision, now) {
            return false;
        }
        let trust = self
            .horizons
            .trust(key.tenant, entry.revision, now, self.bound_ms);
        match (freshness, trust) {
            (Freshness::Full, _) | (_, Trust::Below) => false,
            (Freshness::AtLeast(revision), _) => entry.revision >= revision.0,
            (Freshness::Latency, Trust::Synced) => true,
            (Freshness::Latency, Trust::Young) => now - entry.read_at_ms <= self.bound_ms,
        }
    }

    fn count(&self, outcome: Outcome) {
        let (name, slot) = match outcome {
            Outcome::Local => ("local", Some(&LOOKUPS.local)),
            Outcome::Redis => ("redis", Some(&LOOKUPS.redis)),
            Outcome::Miss => ("miss", Some(&LOOKUPS.miss)),
            Outcome::Bypassed => ("bypassed", None),
        };
        self.lookups.add(1, &[KeyValue::new("outcome", name)]);
        if let Some(slot) = slot {
            slot.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A usable entry for `key` that this replica holds: no I/O.
    pub fn get_local(&self, key: &CacheKey, freshness: Freshness) -> Option<Arc<Entry>> {
        if freshness == Freshness::Full {
            self.count(Outcome::Bypassed);
            return None;
        }
        let entry = self
            .local
            .get(key)
            .filter(|entry| self.usable(entry, key, freshness))?;
        self.count(Outcome::Local);
        Some(entry)
    }

    /// A usable entry for `key`, from this replica or Redis.
    pub async fn get(&self, key: &CacheKey, freshness: Freshness) -> Option<Arc<Entry>> {
        self.get_many(&[*key], freshness).await.pop().flatten()
    }

    /// Usable entries for `keys`, from this replica or else Redis, in at most one round trip.
    pub async fn get_many(
        &self,
        keys: &[CacheKey],
        freshness: Freshness,
    ) -> Vec<Option<Arc<Entry>>> {
        let mut found: Vec<Option<Arc<Entry>>> =
            keys.iter().map(|k| self.get_local(k, freshness)).collect();
        let wanted = vec![freshness; keys.len()];
        self.fill_from_shared(keys, &wanted, &mut found).await;
        found
    }

    /// Usable entries for two keys (a decision's subject and resource), each as fresh as
    /// asked: without allocating when this replica holds both, else in one Redis round trip.
    pub async fn get_pair(
        &self,
        keys: [CacheKey; 2],
        freshness: [Freshness; 2],
    ) -> [Option<Arc<Entry>>; 2] {
        let mut found = [
            self.get_local(&keys[0], freshness[0]),
            self.get_local(&keys[1], freshness[1]),
        ];
        if found.iter().any(Option::is_none) {
            self.fill_from_shared(&keys, &freshness, &mut found).await;
        }
        found
    }

    /// Fills the empty slots of `found` from Redis, in one round trip: one slot per key, each
    /// key as fresh as `freshness` (aligned with `keys`) asks.
    async fn fill_from_shared(
        &self,
        keys: &[CacheKey],
        freshness: &[Freshness],
        found: &mut [Option<Arc<Entry>>],
    ) {
        let slots: Vec<usize> = (0..keys.len())
            .filter(|&i| found[i].is_none() && freshness[i] != Freshness::Full)
            .collect();
        let missing: Vec<CacheKey> = slots.iter().map(|&i| keys[i]).collect();
        let shared_values = match (&self.shared, missing.is_empty()) {
            (Some(shared), false) => shared.get(&missing).await,
            _ => Vec::new(),
        };
        let mut shared_values = shared_values.into_iter();
        for i in slots {
            let key = &keys[i];
            match shared_values.next() {
                Some(Found::Entry(entry, floor))
                    if floor.is_none_or(|floor| entry.revision >= floor)
                        && self.usable(&entry, key, freshness[i]) =>
                {
                    let entry = Arc::new(entry);
                    self.keep(*key, entry.clone());
                    self.count(Outcome::Redis);
                    found[i] = Some(entry);
                    continue;
                }
                Some(Found::Forged) => {
                    tracing::warn!("a cache entry in redis failed its MAC; not used");
                    self.rejected.add(1, &[KeyValue::new("what", "entry")]);
                }
                _ => {}
            }
            self.count(Outcome::Miss);
        }
    }

    /// Stores facts read from the store, in both tiers (Redis after the answer: a cold decision
    /// does not wait for it). Not stored when the read raced a write to the same key, took too
    /// long to be sure it did not, or read a tenant that was never written (nothing to cache, and
    /// a made-up tenant id must not make the replica follow it).
    pub fn put(&self, key: CacheKey, read: Read, facts: Facts) {
        let now = now_ms();
        let entry = Entry {
            revision: read.revision.0,
            read_at_ms: read.started_ms,
            changes_at_ms: read.changes_at_ms,
            facts,
        };
        let slow = now - entry.read_at_ms > TOMBSTONE.as_millis() as i64 / 2;
        if entry.revision == 0
            || slow
            || self.raced(&key, entry.revision, now)
            || !self.horizons.admit(key.tenant, entry.revision)
        {
            return;
        }
        let entry = Arc::new(entry);
        self.keep(key, entry.clone());
        if let Some(shared) = &self.shared
            && let Ok(permit) = self.puts.clone().try_acquire_owned()
        {
            let shared = shared.clone();
            tokio::spawn(async move {
                shared.put(&key, &entry).await;
                drop(permit);
            });
        }
    }

    /// Drops what a write changed (its keys, or with a floor the whole tenant's older entries)
    /// here at once, then in Redis and on every other replica without holding up the write's
    /// answer: until they hear it, the staleness bound holds for them. With Redis, this replica
    /// too counts the write as heard only when its own message comes back on the channel: if it
    /// never reached Redis (a breaker, an error), Redis may still hold the old facts, and the
    /// gap makes this replica drop the tenant's older entries as the others do.
    pub fn invalidate(&self, invalidation: Invalidation) {
        match &self.shared {
            None => self.apply(&invalidation),
            Some(shared) => {
                self.drop_keys(&invalidation);
                let shared = shared.clone();
                tokio::spawn(async move { shared.invalidate(&invalidation).await });
            }
        }
    }

    /// Drops an invalidation's keys here, leaving tombstones.
    fn drop_keys(&self, invalidation: &Invalidation) {
        for key in &invalidation.keys {
            let newer = self
                .tombstones
                .get(key)
                .is_none_or(|revision| revision < invalidation.revision);
            if newer {
                self.last_tombstone_ms.store(now_ms(), Ordering::SeqCst);
                self.tombstones.insert(*key, invalidation.revision);
            }
            self.local.remove(key);
        }
    }

    /// Applies an invalidation (this replica's or another's) here.
    fn apply(&self, invalidation: &Invalidation) {
        self.drop_keys(invalidation);
        self.horizons.hear(
            invalidation.tenant,
            invalidation.revision,
            invalidation.floor,
        );
    }

    /// Listens for other replicas' invalidations until the cache is dropped. Invalidations missed
    /// while the subscription is down show as gaps in the revisions heard; see [`horizon`].
    pub fn listen(cache: &Arc<FactsCache>, endpoint: RedisEndpoint) {
        let Some(shared) = cache.shared.clone() else {
            return;
        };
        let (channel, sealer) = shared.channel();
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
                        // Subscribed first: every entry stored from now on was read under a
                        // run whose invalidations this replica hears.
                        shared.subscribed().await;
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
                        shared.unsubscribed();
                        tracing::warn!("invalidation subscription ended; resubscribing");
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot subscribe to invalidations; retrying")
                    }
                }
                if weak.strong_count() == 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
    }

    /// Keeps the horizons until the cache is dropped: every quarter of the bound, reads the
    /// revisions of the tenants it holds entries for through `revisions` and reconciles them
    /// with the invalidations heard.
    pub fn keep_horizons<F, Fut>(cache: &Arc<FactsCache>, revisions: F)
    where
        F: Fn(Vec<uuid::Uuid>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<(uuid::Uuid, i64)>, crate::store::StoreError>> + Send,
    {
        let weak: Weak<FactsCache> = Arc::downgrade(cache);
        let every = Duration::from_millis((cache.bound_ms as u64 / 4).max(1));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(cache) = weak.upgrade() else { return };
                if let Some(shared) = &cache.shared {
                    shared.learn_run_if_unknown().await;
                }
                let tenants = cache.horizons.tenants();
                if tenants.is_empty() {
                    continue;
                }
                let started = now_ms();
                match revisions(tenants).await {
                    Ok(stored) => {
                        for (tenant, floor) in cache.horizons.reconcile(started, &stored) {
                            tracing::warn!(%tenant, floor, "invalidations were lost; dropping the tenant's older entries");
                            cache.lost.add(1, &[]);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot read revisions; only young entries are used")
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use lms_kernel::TenantSettings;

    use super::*;

    const BOUND_MS: u64 = 1_000;

    fn cache() -> Arc<FactsCache> {
        let config = CacheConfig {
            max_staleness_ms: BOUND_MS,
            ..CacheConfig::default()
        };
        FactsCache::new(&config, None)
    }

    fn key() -> (TenantId, UserId, CacheKey) {
        let (tenant, user) = (TenantId::generate(), UserId::generate());
        (tenant, user, CacheKey::subject(tenant, user))
    }

    fn facts(tenant: TenantId, user: UserId) -> Facts {
        Facts::Subject(Arc::new(SubjectFacts::new(
            tenant,
            user,
            TenantSettings::default(),
        )))
    }

    fn read(revision: i64, started_ms: i64) -> Read {
        Read {
            revision: Revision(revision),
            started_ms,
            changes_at_ms: None,
        }
    }

    #[tokio::test]
    async fn a_read_that_raced_a_write_to_its_key_is_not_stored() {
        let (cache, (tenant, user, key)) = (cache(), key());
        let started = now_ms();
        // The write (revision 6) lands between the read (at 5) and its storing.
        cache.invalidate(Invalidation {
            tenant: tenant.as_uuid(),
            revision: 6,
            keys: vec![key],
            floor: None,
        });
        cache.put(key, read(5, started), facts(tenant, user));
        assert!(cache.get_local(&key, Freshness::Latency).is_none());
        cache.put(key, read(6, now_ms()), facts(tenant, user));
        assert!(cache.get_local(&key, Freshness::Latency).is_some());
    }

    #[tokio::test]
    async fn an_entry_is_not_used_once_a_validity_window_it_depends_on_changes() {
        let (cache, (tenant, user, key)) = (cache(), key());
        let mut stamp = read(3, now_ms());
        stamp.changes_at_ms = Some(now_ms() - 1);
        cache.put(key, stamp, facts(tenant, user));
        assert!(cache.get_local(&key, Freshness::Latency).is_none());
    }

    #[tokio::test]
    async fn an_old_entry_answers_only_while_the_replica_knows_it_heard_everything() {
        let (cache, (tenant, user, key)) = (cache(), key());
        // Read two bounds ago (and stored just in time to be sure no write raced it).
        let old = now_ms() - 2 * BOUND_MS as i64;
        cache.put(key, read(4, old), facts(tenant, user));
        assert!(
            cache.get_local(&key, Freshness::Latency).is_none(),
            "older than the bound and nothing known of the tenant's writes"
        );
        cache.horizons.reconcile(now_ms(), &[(tenant.as_uuid(), 4)]);
        assert!(cache.get_local(&key, Freshness::Latency).is_some());
        // A token asks for at least its revision, whatever the entry's age.
        assert!(
            cache
                .get_local(&key, Freshness::AtLeast(Revision(5)))
                .is_none()
        );
        // A write the replica never heard of: one round waits for it, the next drops the entry.
        cache.horizons.reconcile(now_ms(), &[(tenant.as_uuid(), 5)]);
        cache.horizons.reconcile(now_ms(), &[(tenant.as_uuid(), 5)]);
        assert!(cache.get_local(&key, Freshness::Latency).is_none());
    }
}
