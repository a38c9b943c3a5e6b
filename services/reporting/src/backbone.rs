//! The event backbone's reading side (DESIGN.md §7): reporting follows the services' event
//! streams with a consumer group and hands each event to the [`Projection`].
//!
//! - Each entry is acknowledged only after its projection committed: a replica that stops
//!   midway leaves its entries pending, and another replica (or itself, restarted) claims them
//!   once they have been idle for [`CLAIM_AFTER`]. The inbox makes the second application a
//!   no-op.
//! - The group starts at the beginning of each stream, so what the services published while
//!   reporting was down (or before it first ran) is read when it starts.
//! - Each entry must carry the MAC its service signs with (`redis.events_mac_key`): an entry
//!   anyone else added to the stream is not applied. Like one that can never be applied (an
//!   unreadable payload), it is logged, counted (`lms.reporting.events_skipped`, by reason) and
//!   acknowledged, so it does not hold the stream.
//! - `lms.reporting.events_behind` is, per stream, the entries not yet read plus those read
//!   and not yet acknowledged.
//!
//! Without Redis (`lms dev`) the same events come from the process's
//! [`EventBus`](lms_runtime::outbox::EventBus) instead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lms_kernel::TenantId;
use lms_runtime::ServiceName;
use lms_runtime::outbox::EntryFields;
use lms_runtime::outbox::{EventBus, OutboxEvent, PublishedEvent, stream_key};
use lms_runtime::redis::{RedisError, RedisHandle};
use lms_runtime::sealed::Sealer;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, ObservableGauge};
use redis::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::projection::{Projection, ProjectionError};

/// The consumer group every reporting replica reads in.
pub const GROUP: &str = "reporting";

/// The services whose streams reporting follows: those with an outbox.
pub const PUBLISHERS: [ServiceName; 2] = [ServiceName::Identity, ServiceName::Delegation];

/// Entries read per stream and round trip.
const COUNT: usize = 200;

/// How long to wait when a round found nothing new.
const IDLE_WAIT: Duration = Duration::from_millis(100);

/// An entry read by a replica and not acknowledged for this long is taken over by another.
pub const CLAIM_AFTER: Duration = Duration::from_secs(30);

/// How often (in rounds) pending entries are looked for and the backlog measured.
const HOUSEKEEPING_EVERY_ROUNDS: u64 = 20;

/// One entry read from a stream: its event, or why it cannot be applied.
#[derive(Debug)]
struct Entry {
    key: String,
    id: String,
    event: Result<PublishedEvent, Unusable>,
}

/// Why an entry is skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unusable {
    /// A field the publisher writes is missing or unreadable.
    Malformed,
    /// Its MAC does not hold: not written by the stream's service.
    Forged,
}

impl Unusable {
    fn as_str(self) -> &'static str {
        match self {
            Unusable::Malformed => "malformed",
            Unusable::Forged => "forged",
        }
    }
}

/// Reads the services' streams in [`GROUP`] as one consumer.
pub struct StreamReader {
    redis: RedisHandle,
    sealer: Sealer,
    consumer: String,
    projection: Projection,
    claim_after: Duration,
    behind: Arc<Mutex<HashMap<String, i64>>>,
    skipped: Counter<u64>,
    _gauge: ObservableGauge<i64>,
}

impl std::fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamReader")
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
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
        let behind: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
        let seen = behind.clone();
        let gauge = meter
            .i64_observable_gauge("lms.reporting.events_behind")
            .with_description(
                "events in a service's stream not yet projected (unread plus unacknowledged)",
            )
            .with_callback(move |gauge| {
                for (stream, behind) in seen.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                    gauge.observe(*behind, &[KeyValue::new("stream", stream.clone())]);
                }
            })
            .build();
        Self {
            redis,
            sealer,
            consumer: consumer.into(),
            projection,
            claim_after: CLAIM_AFTER,
            behind,
            skipped: meter
                .u64_counter("lms.reporting.events_skipped")
                .with_description("events that could never be applied, acknowledged and logged")
                .build(),
            _gauge: gauge,
        }
    }

    /// Takes over entries idle for `after` rather than [`CLAIM_AFTER`] (tests).
    pub fn claiming_after(mut self, after: Duration) -> Self {
        self.claim_after = after;
        self
    }

    fn keys(&self) -> Vec<String> {
        PUBLISHERS
            .iter()
            .map(|&service| self.redis.key(&stream_key(service)))
            .collect()
    }

    /// Creates the group on each stream (and the stream, if no event was published yet),
    /// starting from the first entry. A group that exists is left as it is.
    pub async fn join(&self) -> Result<(), RedisError> {
        let mut connection = self.redis.require_connection()?;
        for key in self.keys() {
            let created = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&key)
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query_async::<()>(&mut connection)
                .await;
            match created {
                Ok(()) => {}
                Err(error) if error.code() == Some("BUSYGROUP") => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// Reads and applies what is new for this consumer; answers how many entries it handled.
    pub async fn read_new(&self) -> Result<usize, ReadError> {
        let mut connection = self.redis.require_connection()?;
        let keys = self.keys();
        let mut command = redis::cmd("XREADGROUP");
        command
            .arg("GROUP")
            .arg(GROUP)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(COUNT)
            .arg("STREAMS")
            .arg(&keys);
        for _ in &keys {
            command.arg(">");
        }
        let reply: Value = command
            .query_async(&mut connection)
            .await
            .map_err(RedisError::from)?;
        let entries = self.streams_reply(&reply);
        self.handle(entries).await
    }

    /// Takes over and applies entries other consumers left pending for longer than the claim
    /// time (a replica that stopped before acknowledging); answers how many.
    pub async fn claim_pending(&self) -> Result<usize, ReadError> {
        let mut connection = self.redis.require_connection()?;
        let mut handled = 0;
        for key in self.keys() {
            let reply: Value = redis::cmd("XAUTOCLAIM")
                .arg(&key)
                .arg(GROUP)
                .arg(&self.consumer)
                .arg(self.claim_after.as_millis() as u64)
                .arg("0-0")
                .arg("COUNT")
                .arg(COUNT)
                .query_async(&mut connection)
                .await
                .map_err(RedisError::from)?;
            // [next cursor, entries, deleted ids]
            let entries = match &reply {
                Value::Array(parts) if parts.len() >= 2 => self.entries_of(&key, &parts[1]),
                _ => Vec::new(),
            };
            handled += self.handle(entries).await?;
        }
        Ok(handled)
    }

    /// Applies each entry, then acknowledges it: after its projection committed, or when it
    /// can never be applied. A store failure stops the round; the rest stay pending.
    async fn handle(&self, entries: Vec<Entry>) -> Result<usize, ReadError> {
        let mut connection = self.redis.require_connection()?;
        let count = entries.len();
        for entry in entries {
            let skipped = match &entry.event {
                Ok(event) => match self.projection.apply(event, &entry.id).await {
                    Ok(_) => None,
                    Err(ProjectionError::Store(error)) => return Err(ReadError::Store(error)),
                    Err(error) => {
                        tracing::error!(stream = %entry.key, entry = %entry.id, %error, "event skipped");
                        Some(Unusable::Malformed)
                    }
                },
                Err(unusable) => {
                    tracing::error!(stream = %entry.key, entry = %entry.id, reason = unusable.as_str(), "stream entry skipped");
                    Some(*unusable)
                }
            };
            if let Some(reason) = skipped {
                self.skipped.add(
                    1,
                    &[
                        KeyValue::new("stream", entry.key.clone()),
                        KeyValue::new("reason", reason.as_str()),
                    ],
                );
            }
            redis::cmd("XACK")
                .arg(&entry.key)
                .arg(GROUP)
                .arg(&entry.id)
                .query_async::<i64>(&mut connection)
                .await
                .map_err(RedisError::from)?;
        }
        Ok(count)
    }

    /// Measures, per stream, the entries the group has not read plus those read and not
    /// acknowledged.
    pub async fn measure_backlog(&self) -> Result<HashMap<String, i64>, RedisError> {
        let mut connection = self.redis.require_connection()?;
        let mut behind = HashMap::new();
        for key in self.keys() {
            let reply: Value = redis::cmd("XINFO")
                .arg("GROUPS")
                .arg(&key)
                .query_async(&mut connection)
                .await?;
            let Value::Array(groups) = reply else {
                continue;
            };
            for group in &groups {
                let fields = fields_of(group);
                if fields.get("name").and_then(text).as_deref() != Some(GROUP) {
                    continue;
                }
                let number = |name: &str| match fields.get(name) {
                    Some(Value::Int(n)) => *n,
                    _ => 0,
                };
                behind.insert(key.clone(), number("lag") + number("pending"));
            }
        }
        *self.behind.lock().unwrap_or_else(|p| p.into_inner()) = behind.clone();
        Ok(behind)
    }

    /// Follows the streams until `shutdown`: new entries every round, pending ones and the
    /// backlog every few.
    pub fn spawn(self: Arc<Self>, shutdown: CancellationToken) {
        tokio::spawn(async move {
            let mut rounds = 0_u64;
            let mut failing = false;
            loop {
                let housekeeping = rounds.is_multiple_of(HOUSEKEEPING_EVERY_ROUNDS);
                let round = async {
                    if housekeeping {
                        self.join().await?;
                        self.claim_pending().await?;
                        self.measure_backlog().await?;
                    }
                    self.read_new().await
                };
                let wait = match round.await {
                    Ok(handled) => {
                        if std::mem::take(&mut failing) {
                            tracing::info!("event streams readable again");
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
                        IDLE_WAIT * 10
                    }
                };
                rounds += 1;
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        });
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

/// Follows the in-process bus until `shutdown` (no Redis: `lms dev`).
pub fn follow_bus(bus: &EventBus, projection: Projection, shutdown: CancellationToken) {
    let mut events = bus.subscribe();
    let missed = Arc::new(AtomicI64::new(0));
    tokio::spawn(async move {
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => return,
                received = events.recv() => received,
            };
            match received {
                Ok(event) => {
                    if let Err(error) = projection.apply(&event, "bus").await {
                        tracing::error!(%error, event = %event.event.event_id, "event not projected");
                    }
                }
                Err(RecvError::Lagged(count)) => {
                    let total = missed.fetch_add(count as i64, Ordering::Relaxed) + count as i64;
                    tracing::error!(
                        count,
                        total,
                        "reporting fell behind the in-process events and missed some"
                    );
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
}

impl StreamReader {
    /// The entries of an `XREADGROUP` reply: `[[key, [[id, fields], ...]], ...]` (or a map of key
    /// to entries on RESP3); nil when nothing is new.
    fn streams_reply(&self, reply: &Value) -> Vec<Entry> {
        match reply {
            Value::Array(streams) => streams
                .iter()
                .flat_map(|stream| match stream {
                    Value::Array(pair) if pair.len() == 2 => match text(&pair[0]) {
                        Some(key) => self.entries_of(&key, &pair[1]),
                        None => Vec::new(),
                    },
                    _ => Vec::new(),
                })
                .collect(),
            Value::Map(streams) => streams
                .iter()
                .flat_map(|(key, entries)| match text(key) {
                    Some(key) => self.entries_of(&key, entries),
                    None => Vec::new(),
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `[[id, fields], ...]` of stream `key`.
    fn entries_of(&self, key: &str, entries: &Value) -> Vec<Entry> {
        let Value::Array(entries) = entries else {
            return Vec::new();
        };
        entries
            .iter()
            .filter_map(|entry| match entry {
                Value::Array(pair) if pair.len() == 2 => Some(Entry {
                    key: key.to_owned(),
                    id: text(&pair[0])?,
                    event: self.event_of(key, &fields_of(&pair[1])),
                }),
                _ => None,
            })
            .collect()
    }

    /// The event an entry of `key`'s stream carries, if the stream's service signed it.
    fn event_of(
        &self,
        key: &str,
        fields: &HashMap<String, Value>,
    ) -> Result<PublishedEvent, Unusable> {
        let event = published_of(key, fields).ok_or(Unusable::Malformed)?;
        let Some(Value::BulkString(mac)) = fields.get("mac") else {
            return Err(Unusable::Forged);
        };
        let entry = EntryFields::of(&event.event);
        if !self.sealer.verify(key, &entry.parts(&event.event), mac) {
            return Err(Unusable::Forged);
        }
        Ok(event)
    }
}

/// Alternating names and values (or a map) as a map.
fn fields_of(value: &Value) -> HashMap<String, Value> {
    match value {
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|pair| Some((text(pair.first()?)?, pair.get(1)?.clone())))
            .collect(),
        Value::Map(items) => items
            .iter()
            .filter_map(|(name, value)| Some((text(name)?, value.clone())))
            .collect(),
        _ => HashMap::new(),
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    }
}

/// The event an entry of `key`'s stream carries, as the publisher wrote it; `None` when a
/// field is missing or unreadable.
fn published_of(key: &str, fields: &HashMap<String, Value>) -> Option<PublishedEvent> {
    let service = PUBLISHERS
        .into_iter()
        .find(|&service| key.ends_with(&stream_key(service)))?;
    let payload = match fields.get("payload")? {
        Value::BulkString(bytes) => bytes.clone(),
        _ => return None,
    };
    Some(PublishedEvent {
        service,
        event: OutboxEvent {
            sequence: text(fields.get("sequence")?)?.parse().ok()?,
            event_id: text(fields.get("id")?)?.parse().ok()?,
            tenant: TenantId::parse(&text(fields.get("tenant")?)?).ok()?,
            topic: text(fields.get("topic")?)?,
            payload,
        },
    })
}
