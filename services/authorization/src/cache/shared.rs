//! The Redis tier: entries shared by the replicas, the tombstones and floors that keep a read
//! racing a write from planting an old entry, and the invalidation channel.
//!
//! A value is `<revision>:<sealed JSON>` (a tombstone is `<revision>:`), so the script that
//! writes it can compare revisions without opening the seal: a key only ever moves to a newer
//! revision. An entry is stored with the run id of the Redis process it was read under (learned
//! when the replica subscribes); after a restart (Redis may come back from an old snapshot,
//! without the tombstones written since) entries of the old run are not used.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use lms_runtime::clock::now_ms;
use lms_runtime::redis::RedisHandle;
use lms_runtime::redis_acl::AUTHORIZATION_NAMESPACE as NAMESPACE;
use lms_runtime::sealed::Sealer;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use super::{CacheKey, Entry, Invalidation};

/// How long Redis is skipped after an error.
const BREAKER: Duration = Duration::from_secs(1);

/// How long an entry lives in Redis without a change: a memory bound (Redis's own eviction
/// policy is the other), not a staleness bound.
pub const ENTRY_TTL: Duration = Duration::from_secs(3_600);

/// Sets `KEYS[1]` to `ARGV[1]` (for `ARGV[3]` ms) unless it holds a newer revision than
/// `ARGV[2]`: tombstones and entries alike only move forwards.
const SET_IF_NOT_NEWER: &str = "local c = redis.call('GET', KEYS[1]) \
    if c then local r = tonumber(string.match(c, '^(%d+):')) \
      if r and r > tonumber(ARGV[2]) then return 0 end end \
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3]) return 1";

/// One write's invalidation: tombstones `KEYS[1..n-1]` at revision `ARGV[1]` (for `ARGV[2]`
/// ms) unless a key holds a newer revision, raises the floor `KEYS[n]` to `ARGV[3]` when set
/// (it never falls: writers finish out of order), then publishes `ARGV[5]` on `ARGV[4]`. A
/// failing call stops the script before the message goes out.
const INVALIDATE: &str = "local rev = tonumber(ARGV[1]) \
    for i = 1, #KEYS - 1 do \
      local c = redis.call('GET', KEYS[i]) \
      local r = c and tonumber(string.match(c, '^(%d+):')) \
      if not r or r <= rev then redis.call('SET', KEYS[i], ARGV[1] .. ':', 'PX', ARGV[2]) end \
    end \
    if ARGV[3] ~= '' then \
      local f = tonumber(redis.call('GET', KEYS[#KEYS]) or '0') \
      if tonumber(ARGV[3]) > f then redis.call('SET', KEYS[#KEYS], ARGV[3]) end \
    end \
    redis.call('PUBLISH', ARGV[4], ARGV[5]) \
    return 1";

/// An entry as Redis holds it: with the Redis run it was read under.
#[derive(Serialize, Deserialize)]
struct Stored {
    run: String,
    entry: Entry,
}

/// The Redis run this replica writes under, and when it learned it.
#[derive(Clone, Debug)]
pub struct Run {
    id: String,
    learned_ms: i64,
}

/// A value found in Redis.
pub enum Found {
    /// Nothing (or a tombstone, or an entry of another run).
    Nothing,
    /// An entry whose seal held, with the tenant's floor in Redis.
    Entry(Entry, Option<i64>),
    /// A value whose seal failed: planted or corrupted.
    Forged,
}

/// The shared tier of one replica.
pub struct SharedTier {
    handle: RedisHandle,
    sealer: Sealer,
    channel: String,
    run: Mutex<Option<Run>>,
    /// Whether the invalidation subscription is up (a run is learned only then).
    subscribed: AtomicBool,
    /// Milliseconds since the epoch until which Redis is skipped.
    skip_until: AtomicI64,
}

impl SharedTier {
    /// The tier over `handle`, sealing with `sealer`.
    pub fn new(handle: RedisHandle, sealer: Sealer) -> SharedTier {
        SharedTier {
            channel: handle.key(&format!("{NAMESPACE}invalidations")),
            handle,
            sealer,
            run: Mutex::new(None),
            subscribed: AtomicBool::new(false),
            skip_until: AtomicI64::new(0),
        }
    }

    /// The invalidation channel and the sealer its messages are opened with.
    pub fn channel(&self) -> (String, Sealer) {
        (self.channel.clone(), self.sealer.clone())
    }

    fn run(&self) -> Option<Run> {
        self.run.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn connection(&self) -> Option<redis::aio::ConnectionManager> {
        if now_ms() < self.skip_until.load(Ordering::Relaxed) {
            return None;
        }
        self.handle.connection()
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

    /// The subscription is up: learns the run id of the Redis process. Until it is known,
    /// nothing is read from or written to the tier.
    pub async fn subscribed(&self) {
        self.subscribed.store(true, Ordering::Relaxed);
        self.learn_run().await;
    }

    /// Learns the run again if the subscription is up but the last attempt failed.
    pub async fn learn_run_if_unknown(&self) {
        if self.subscribed.load(Ordering::Relaxed) && self.run().is_none() {
            self.learn_run().await;
        }
    }

    async fn learn_run(&self) {
        let id = match self.handle.connection() {
            Some(mut connection) => redis::cmd("INFO")
                .arg("server")
                .query_async::<String>(&mut connection)
                .await
                .ok()
                .and_then(|info| {
                    info.lines()
                        .find_map(|line| line.strip_prefix("run_id:"))
                        .map(|id| id.trim().to_owned())
                }),
            None => None,
        };
        if id.is_none() {
            tracing::warn!("cannot read the redis run id; the shared cache tier is off until then");
        }
        *self.run.lock().unwrap_or_else(|p| p.into_inner()) = id.map(|id| Run {
            id,
            learned_ms: now_ms(),
        });
    }

    /// The subscription dropped (Redis may be restarting): forgets the run.
    pub fn unsubscribed(&self) {
        self.subscribed.store(false, Ordering::Relaxed);
        *self.run.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The values of `keys` in one round trip, with their tenants' floors.
    pub async fn get(&self, keys: &[CacheKey]) -> Vec<Found> {
        let nothing = || keys.iter().map(|_| Found::Nothing).collect();
        let (Some(run), Some(mut connection)) = (self.run(), self.connection()) else {
            return nothing();
        };
        let places: Vec<String> = keys.iter().map(|k| self.handle.key(&k.text())).collect();
        let floors: Vec<String> = keys.iter().map(|k| self.floor_key(k.tenant)).collect();
        let values: Vec<Option<String>> = match connection
            .mget(places.iter().chain(&floors).collect::<Vec<_>>())
            .await
        {
            Ok(values) => values,
            Err(error) => {
                self.failed(&error);
                return nothing();
            }
        };
        let (entries, floors) = values.split_at(keys.len());
        entries
            .iter()
            .zip(floors)
            .zip(&places)
            .map(|((value, floor), place)| {
                let Some((_, sealed)) = value.as_deref().and_then(|v| v.split_once(':')) else {
                    return Found::Nothing;
                };
                if sealed.is_empty() {
                    return Found::Nothing; // a tombstone
                }
                let Some(json) = self.sealer.open(place, sealed) else {
                    return Found::Forged;
                };
                match serde_json::from_str::<Stored>(json) {
                    Ok(stored) if stored.run == run.id => {
                        Found::Entry(stored.entry, floor.as_deref().and_then(|f| f.parse().ok()))
                    }
                    _ => Found::Nothing,
                }
            })
            .collect()
    }

    /// Stores `entry` unless the key holds a newer revision, or the read began before this
    /// replica learned the current run (it may predate a write whose tombstone the restart lost).
    pub async fn put(&self, key: &CacheKey, entry: &Entry) {
        let Some(run) = self.run().filter(|run| entry.read_at_ms >= run.learned_ms) else {
            return;
        };
        let Some(mut connection) = self.connection() else {
            return;
        };
        let place = self.handle.key(&key.text());
        let Ok(json) = serde_json::to_string(&Stored {
            run: run.id,
            entry: entry.clone(),
        }) else {
            return;
        };
        let value = format!("{}:{}", entry.revision, self.sealer.seal(&place, &json));
        let result = redis::cmd("EVAL")
            .arg(SET_IF_NOT_NEWER)
            .arg(1)
            .arg(&place)
            .arg(value)
            .arg(entry.revision)
            .arg(ENTRY_TTL.as_millis() as u64)
            .query_async::<i64>(&mut connection)
            .await;
        if let Err(error) = result {
            self.failed(&error);
        }
    }

    /// Tombstones the keys, raises the floor and tells every replica (this one included), in
    /// one script: the message is published only after the tombstones and the floor are in
    /// place, so a replica that hears it never finds the old facts in Redis.
    pub async fn invalidate(&self, invalidation: &Invalidation) {
        let Some(mut connection) = self.connection() else {
            return;
        };
        let Ok(message) = serde_json::to_string(invalidation) else {
            return;
        };
        let mut script = redis::cmd("EVAL");
        script
            .arg(INVALIDATE)
            .arg(invalidation.keys.len() + 1)
            .arg(
                invalidation
                    .keys
                    .iter()
                    .map(|key| self.handle.key(&key.text()))
                    .collect::<Vec<_>>(),
            )
            .arg(self.floor_key(invalidation.tenant))
            .arg(invalidation.revision)
            .arg(ENTRY_TTL.as_millis() as u64)
            .arg(invalidation.floor.map_or(String::new(), |f| f.to_string()))
            .arg(&self.channel)
            .arg(self.sealer.seal(&self.channel, &message));
        if let Err(error) = script.query_async::<i64>(&mut connection).await {
            self.failed(&error);
        }
    }
}
