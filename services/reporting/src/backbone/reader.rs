//! One replica's reader of the services' streams, in the group every replica shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lms_runtime::ServiceName;
use lms_runtime::outbox::{PUBLISHERS, PublishedEvent, open_entry, stream_key};
use lms_runtime::redis::{RedisError, RedisHandle};
use lms_runtime::sealed::Sealer;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, ObservableGauge};
use redis::Value;
use tokio_util::sync::CancellationToken;

use super::reply::{RawEntry, autoclaim_reply, entry_order, info_fields, read_reply, text};
use crate::projection::{Projection, ProjectionError, is_transient};

/// The consumer group every reporting replica reads in.
pub const GROUP: &str = "reporting";

/// Entries read per stream and round trip.
const COUNT: usize = 200;

/// While the streams are behind (a stream's read came back full), reads follow one another into
/// one transaction until it holds about this many entries (later reads ask for no more than
/// the room left) or [`BATCH_BYTES`]: a transaction's commit and fixed statements are paid
/// once for many events, and a batch holds at most that many bytes beyond one read's worth.
pub const BATCH_ENTRIES: usize = 1000;
const BATCH_BYTES: usize = 8 << 20;

/// How long to wait when a round found nothing new, and after a failed one.
const IDLE_WAIT: Duration = Duration::from_millis(100);
const FAILED_WAIT: Duration = Duration::from_secs(1);

/// An entry read by a replica and not acknowledged for this long is taken over by another.
pub const CLAIM_AFTER: Duration = Duration::from_secs(30);

/// An entry whose statements the store refuses this many times is set aside.
pub const MAX_ATTEMPTS: u32 = 5;

/// How often (in rounds) pending entries are looked for and the backlog measured.
const HOUSEKEEPING_EVERY_ROUNDS: u64 = 20;

/// A consumer with nothing pending, idle this long, is removed from the group (replicas get a
/// new name each start).
const FORGET_CONSUMERS_AFTER: Duration = Duration::from_secs(3600);

/// Reads the services' streams in [`GROUP`] as one consumer.
pub struct StreamReader {
    redis: RedisHandle,
    /// Each publisher with its stream's full key.
    streams: Vec<(ServiceName, String)>,
    sealer: Sealer,
    consumer: String,
    projection: Projection,
    claim_after: Duration,
    /// Failed applications per entry id, for [`MAX_ATTEMPTS`].
    attempts: Mutex<HashMap<String, u32>>,
    /// Per stream: events behind, and whether the stream was trimmed past unread entries.
    measured: Arc<Mutex<HashMap<String, (i64, bool)>>>,
    skipped: Counter<u64>,
    trimmed: Counter<u64>,
    _gauges: (ObservableGauge<i64>, ObservableGauge<i64>),
}

impl std::fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamReader")
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

/// Why a round of reading stopped; what it did not apply stays pending.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Redis failed.
    #[error("event stream: {0}")]
    Stream(#[from] RedisError),
    /// The reporting store failed.
    #[error("reporting store: {0}")]
    Store(#[from] sqlx::Error),
}

impl From<redis::RedisError> for ReadError {
    fn from(error: redis::RedisError) -> Self {
        ReadError::Stream(error.into())
    }
}

/// Whether some stream gave `count` of `entries` (it may hold more).
fn some_stream_full(entries: &[RawEntry], count: usize) -> bool {
    let mut per_stream: HashMap<&str, usize> = HashMap::new();
    entries.iter().any(|entry| {
        let read = per_stream.entry(entry.key.as_str()).or_default();
        *read += 1;
        *read >= count
    })
}

/// The bytes `entries` hold.
fn size(entries: &[RawEntry]) -> usize {
    entries
        .iter()
        .flat_map(|entry| entry.fields.iter().flatten())
        .map(|(name, value)| name.len() + value.len())
        .sum()
}

impl StreamReader {
    /// A reader named `consumer` (unique per replica) applying to `projection` the entries
    /// `sealer` (the services' events key) finds signed.
    pub fn new(
        redis: RedisHandle,
        sealer: Sealer,
        consumer: impl Into<String>,
        projection: Projection,
    ) -> Self {
        let meter = opentelemetry::global::meter("lms");
        let measured: Arc<Mutex<HashMap<String, (i64, bool)>>> = Arc::default();
        let (behind, gaps) = (measured.clone(), measured.clone());
        let observe =
            |measured: &Mutex<HashMap<String, (i64, bool)>>,
             pick: fn(&(i64, bool)) -> i64,
             gauge: &dyn opentelemetry::metrics::AsyncInstrument<i64>| {
                for (stream, value) in measured.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                    gauge.observe(pick(value), &[KeyValue::new("stream", stream.clone())]);
                }
            };
        let behind_gauge = meter
            .i64_observable_gauge("lms.reporting.events_behind")
            .with_description(
                "events in a service's stream not yet projected (unread plus unacknowledged)",
            )
            .with_callback(move |gauge| observe(&behind, |v| v.0, gauge))
            .build();
        let gap_gauge = meter
            .i64_observable_gauge("lms.reporting.stream_gap")
            .with_description(
                "1 when a stream was trimmed past entries reporting never read (rebuild needed)",
            )
            .with_callback(move |gauge| observe(&gaps, |v| i64::from(v.1), gauge))
            .build();
        let streams = PUBLISHERS
            .iter()
            .map(|&service| (service, redis.key(&stream_key(service))))
            .collect();
        Self {
            redis,
            streams,
            sealer,
            consumer: consumer.into(),
            projection,
            claim_after: CLAIM_AFTER,
            attempts: Mutex::default(),
            measured,
            skipped: meter
                .u64_counter("lms.reporting.events_skipped")
                .with_description(
                    "stream entries set aside unapplied (forged, unreadable, refused)",
                )
                .build(),
            trimmed: meter
                .u64_counter("lms.reporting.events_trimmed")
                .with_description("pending stream entries trimmed away before they were applied")
                .build(),
            _gauges: (behind_gauge, gap_gauge),
        }
    }

    /// Takes over entries idle for `after` rather than [`CLAIM_AFTER`] (tests).
    pub fn claiming_after(mut self, after: Duration) -> Self {
        self.claim_after = after;
        self
    }

    fn keys(&self) -> impl Iterator<Item = &String> {
        self.streams.iter().map(|(_, key)| key)
    }

    /// Creates the group on each stream (and the stream, if nothing was published yet),
    /// starting from the first entry. A group that exists is left as it is.
    pub async fn join(&self) -> Result<(), RedisError> {
        let mut connection = self.redis.require_connection()?;
        for key in self.keys() {
            let created = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(key)
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query_async::<()>(&mut connection)
                .await;
            match created {
                Ok(()) => tracing::info!(stream = %key, "joined the event stream from its start"),
                Err(error) if error.code() == Some("BUSYGROUP") => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// Applies what this consumer was given and has not acknowledged (a round cut short)
    /// and, when there is none, what is new; answers how many entries it handled.
    pub async fn read_new(&self) -> Result<usize, ReadError> {
        let pending = self.read_group("0").await?;
        if !pending.is_empty() {
            return self.apply_and_ack(pending).await;
        }
        let mut batch = self.read_group(">").await?;
        let (mut bytes, mut full) = (size(&batch), some_stream_full(&batch, COUNT));
        while full && batch.len() < BATCH_ENTRIES && bytes < BATCH_BYTES {
            let room = (BATCH_ENTRIES - batch.len()).div_ceil(self.streams.len());
            let count = COUNT.min(room);
            match self.read_group_of(">", count).await {
                Ok(more) => {
                    (bytes, full) = (bytes + size(&more), some_stream_full(&more, count));
                    batch.extend(more);
                }
                // What was read is applied; the failure shows again on the next round.
                Err(error) => {
                    tracing::warn!(%error, "a further read failed: applying what was read");
                    break;
                }
            }
        }
        self.apply_and_ack(batch).await
    }

    /// `XREADGROUP` from `from` on every stream: `>` what nobody was given, `0` what this
    /// consumer was given and has not acknowledged.
    async fn read_group(&self, from: &str) -> Result<Vec<RawEntry>, ReadError> {
        self.read_group_of(from, COUNT).await
    }

    /// `XREADGROUP` from `from` on every stream, at most `count` entries each.
    async fn read_group_of(&self, from: &str, count: usize) -> Result<Vec<RawEntry>, ReadError> {
        let mut connection = self.redis.require_connection()?;
        let keys: Vec<&String> = self.keys().collect();
        let mut command = redis::cmd("XREADGROUP");
        command
            .arg("GROUP")
            .arg(GROUP)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(&keys);
        for _ in &keys {
            command.arg(from);
        }
        let reply: Value = command.query_async(&mut connection).await?;
        Ok(read_reply(&reply))
    }

    /// Takes over and applies entries other consumers left pending for longer than the claim
    /// time (a replica that stopped before acknowledging), every stream however the others
    /// fare; answers how many, or the first failure.
    pub async fn claim_pending(&self) -> Result<usize, ReadError> {
        let mut handled = 0;
        let mut first_error = None;
        for key in self.keys() {
            if let Err(error) = self.claim_on(key, &mut handled).await {
                tracing::warn!(stream = %key, %error, "pending entries not taken over");
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(handled), Err)
    }

    async fn claim_on(&self, key: &str, handled: &mut usize) -> Result<(), ReadError> {
        let mut connection = self.redis.require_connection()?;
        let mut cursor = "0-0".to_owned();
        loop {
            let reply: Value = redis::cmd("XAUTOCLAIM")
                .arg(key)
                .arg(GROUP)
                .arg(&self.consumer)
                .arg(self.claim_after.as_millis() as u64)
                .arg(&cursor)
                .arg("COUNT")
                .arg(COUNT)
                .query_async(&mut connection)
                .await?;
            let (next, entries, trimmed) = autoclaim_reply(key, &reply);
            if trimmed > 0 {
                self.count_trimmed(key, trimmed as u64);
            }
            *handled += self.apply_and_ack(entries).await?;
            if next == "0-0" {
                return Ok(());
            }
            cursor = next;
        }
    }

    /// Applies the entries in order, all in one transaction, then acknowledges, in one call
    /// per stream, every entry applied or set aside, also when a failure stopped the round (the
    /// rest stay pending). When the batch is refused for one entry's sake (unreadable, or a
    /// statement the store refuses), they are applied one by one, so that one alone is set
    /// aside.
    async fn apply_and_ack(&self, entries: Vec<RawEntry>) -> Result<usize, ReadError> {
        let mut done: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut outcome = Ok(entries.len());
        let mut opened: Vec<(&RawEntry, PublishedEvent)> = Vec::with_capacity(entries.len());
        for entry in &entries {
            match self.open(entry).await {
                Ok(Some(event)) => opened.push((entry, event)),
                Ok(None) => done.entry(&entry.key).or_default().push(&entry.id),
                Err(error) => {
                    outcome = Err(error);
                    break;
                }
            }
        }
        if outcome.is_ok() && !opened.is_empty() {
            let batch: Vec<(&PublishedEvent, &str)> = opened
                .iter()
                .map(|(entry, event)| (event, entry.id.as_str()))
                .collect();
            match self.projection.apply_batch(&batch).await {
                Ok(_) => {
                    let mut attempts = self.attempts_lock();
                    for (entry, _) in &opened {
                        attempts.remove(&entry.id);
                        done.entry(&entry.key).or_default().push(&entry.id);
                    }
                }
                Err(ProjectionError::Store(error)) if is_transient(&error) => {
                    outcome = Err(error.into());
                }
                Err(_) => {
                    for (entry, _) in &opened {
                        match self.apply_one(entry).await {
                            Ok(()) => done.entry(&entry.key).or_default().push(&entry.id),
                            Err(error) => {
                                outcome = Err(error);
                                break;
                            }
                        }
                    }
                }
            }
        }
        if !done.is_empty() {
            let mut connection = self.redis.require_connection()?;
            for (key, ids) in done {
                redis::cmd("XACK")
                    .arg(key)
                    .arg(GROUP)
                    .arg(ids)
                    .query_async::<i64>(&mut connection)
                    .await?;
            }
        }
        outcome
    }

    /// The event an entry carries, verified; `None` when there is nothing to apply (an entry
    /// trimmed away, one of no stream of ours, one set aside as unsigned or unreadable).
    async fn open(&self, entry: &RawEntry) -> Result<Option<PublishedEvent>, ReadError> {
        let Some(fields) = &entry.fields else {
            self.count_trimmed(&entry.key, 1);
            return Ok(None);
        };
        let Some(service) = self
            .streams
            .iter()
            .find_map(|(service, key)| (*key == entry.key).then_some(*service))
        else {
            return Ok(None);
        };
        match open_entry(service, &entry.key, fields, &self.sealer) {
            Ok(event) => Ok(Some(event)),
            Err(unopened) => {
                self.set_aside(entry, fields, unopened.as_str()).await?;
                Ok(None)
            }
        }
    }

    /// Applies one entry, or sets it aside; an error leaves it pending.
    async fn apply_one(&self, entry: &RawEntry) -> Result<(), ReadError> {
        let Some(fields) = &entry.fields else {
            self.count_trimmed(&entry.key, 1);
            return Ok(());
        };
        let Some(service) = self
            .streams
            .iter()
            .find_map(|(service, key)| (*key == entry.key).then_some(*service))
        else {
            return Ok(());
        };
        let event = match open_entry(service, &entry.key, fields, &self.sealer) {
            Ok(event) => event,
            Err(unopened) => return self.set_aside(entry, fields, unopened.as_str()).await,
        };
        match self.projection.apply(&event, &entry.id).await {
            Ok(_) => {
                self.attempts_lock().remove(&entry.id);
                Ok(())
            }
            Err(ProjectionError::Unreadable { .. }) => {
                self.set_aside(entry, fields, "unreadable").await
            }
            Err(ProjectionError::Store(error)) if is_transient(&error) => Err(error.into()),
            Err(ProjectionError::Store(error)) => {
                let attempts = {
                    let mut attempts = self.attempts_lock();
                    let count = attempts.entry(entry.id.clone()).or_default();
                    *count += 1;
                    *count
                };
                if attempts < MAX_ATTEMPTS {
                    return Err(error.into());
                }
                self.attempts_lock().remove(&entry.id);
                tracing::error!(stream = %entry.key, entry = %entry.id, %error, "the store keeps refusing an event");
                self.set_aside(entry, fields, "refused").await
            }
        }
    }

    fn attempts_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.attempts.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn set_aside(
        &self,
        entry: &RawEntry,
        fields: &HashMap<String, Vec<u8>>,
        reason: &'static str,
    ) -> Result<(), ReadError> {
        tracing::error!(stream = %entry.key, entry = %entry.id, reason, "stream entry set aside unapplied");
        self.projection
            .set_aside(&entry.key, &entry.id, reason, fields)
            .await?;
        self.skipped.add(
            1,
            &[
                KeyValue::new("stream", entry.key.clone()),
                KeyValue::new("reason", reason),
            ],
        );
        Ok(())
    }

    fn count_trimmed(&self, key: &str, count: u64) {
        tracing::error!(stream = %key, count, "pending entries were trimmed away before they were applied: the projections miss them until rebuilt");
        self.trimmed
            .add(count, &[KeyValue::new("stream", key.to_owned())]);
    }

    /// Measures, per stream, the entries the group has not read plus those read and not
    /// acknowledged, and whether the stream was trimmed past entries the group never read.
    pub async fn measure_backlog(&self) -> Result<HashMap<String, (i64, bool)>, RedisError> {
        let mut connection = self.redis.require_connection()?;
        let mut measured = HashMap::new();
        for key in self.keys() {
            let groups: Value = redis::cmd("XINFO")
                .arg("GROUPS")
                .arg(key)
                .query_async(&mut connection)
                .await?;
            let Value::Array(groups) = groups else {
                continue;
            };
            let Some(group) = groups
                .iter()
                .map(info_fields)
                .find(|fields| fields.get("name").and_then(text).as_deref() == Some(GROUP))
            else {
                continue;
            };
            let number = |fields: &HashMap<String, Value>, name: &str| match fields.get(name) {
                Some(Value::Int(n)) => Some(*n),
                _ => None,
            };
            let stream: Value = redis::cmd("XINFO")
                .arg("STREAM")
                .arg(key)
                .query_async(&mut connection)
                .await?;
            let stream = info_fields(&stream);
            let id = |fields: &HashMap<String, Value>, name: &str| {
                fields
                    .get(name)
                    .and_then(text)
                    .as_deref()
                    .and_then(entry_order)
            };
            // Trimming removes the oldest entries, and the group reads in order: once more
            // entries were removed than the group has read, some it never read are gone.
            // Before Redis can count what the group read, an emptied stream that had entries
            // past the last one the group was given tells the same.
            let removed = number(&stream, "entries-added").unwrap_or(0)
                - number(&stream, "length").unwrap_or(0);
            let gap = match number(&group, "entries-read") {
                Some(read) => removed > read,
                None => {
                    number(&stream, "length") == Some(0)
                        && id(&stream, "last-generated-id") > id(&group, "last-delivered-id")
                }
            };
            let was_gap = self
                .measured
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(key)
                .is_some_and(|m| m.1);
            if gap && !was_gap {
                tracing::error!(stream = %key, "the stream was trimmed past entries reporting never read: the projections miss them until rebuilt");
            }
            let behind =
                number(&group, "lag").unwrap_or(0) + number(&group, "pending").unwrap_or(0);
            measured.insert(key.clone(), (behind, gap));
        }
        *self.measured.lock().unwrap_or_else(|p| p.into_inner()) = measured.clone();
        Ok(measured)
    }

    /// Removes consumers that have nothing pending and have been idle for an hour (replicas
    /// that are gone), so the group's list stays short.
    pub async fn forget_idle_consumers(&self) -> Result<(), RedisError> {
        let mut connection = self.redis.require_connection()?;
        for key in self.keys() {
            let consumers: Value = redis::cmd("XINFO")
                .arg("CONSUMERS")
                .arg(key)
                .arg(GROUP)
                .query_async(&mut connection)
                .await?;
            let Value::Array(consumers) = consumers else {
                continue;
            };
            for consumer in consumers.iter().map(info_fields) {
                let name = consumer.get("name").and_then(text);
                let number = |field: &str| match consumer.get(field) {
                    Some(Value::Int(n)) => *n,
                    _ => 0,
                };
                let gone = number("pending") == 0
                    && number("idle") > FORGET_CONSUMERS_AFTER.as_millis() as i64;
                if let Some(name) = name.filter(|name| gone && *name != self.consumer) {
                    redis::cmd("XGROUP")
                        .arg("DELCONSUMER")
                        .arg(key)
                        .arg(GROUP)
                        .arg(&name)
                        .query_async::<i64>(&mut connection)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Follows the streams until `shutdown`: new entries every round; pending ones of stopped
    /// replicas, the backlog and the group's housekeeping every few, whatever the rounds do.
    pub fn spawn(self: Arc<Self>, shutdown: CancellationToken) {
        tokio::spawn(async move {
            let mut rounds = 0_u64;
            let mut failing = false;
            loop {
                if rounds.is_multiple_of(HOUSEKEEPING_EVERY_ROUNDS) {
                    self.housekeeping().await;
                }
                rounds += 1;
                let wait = match self.read_new().await {
                    Ok(handled) => {
                        if std::mem::take(&mut failing) {
                            tracing::info!("event streams read again");
                        }
                        if handled == 0 {
                            IDLE_WAIT
                        } else {
                            Duration::ZERO
                        }
                    }
                    Err(error) => {
                        if !std::mem::replace(&mut failing, true) {
                            tracing::warn!(%error, "event streams not read; will retry");
                        }
                        FAILED_WAIT
                    }
                };
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        });
    }

    async fn housekeeping(&self) {
        if let Err(error) = self.join().await {
            tracing::debug!(%error, "event stream group not joined");
            return;
        }
        // Failures are logged by claim_pending; the backlog is measured regardless.
        let _ = self.claim_pending().await;
        if let Err(error) = self.measure_backlog().await {
            tracing::debug!(%error, "event stream backlog not measured");
        }
        if let Err(error) = self.forget_idle_consumers().await {
            tracing::debug!(%error, "idle consumers not removed");
        }
    }
}
