//! The event backbone's sending side (DESIGN.md §7): every event a service commits to its
//! outbox also goes to that service's event stream, for reporting to project.
//!
//! The [`Publisher`] follows the outbox on its own, apart from the relay: authorization being
//! down does not hold reporting up, nor the other way round. It reads the events not yet
//! published in sequence order, sends them, and only then marks exactly those published, so:
//! - nothing committed is skipped: a crash or an unreachable stream leaves the rows unpublished,
//!   and they go on the next round, in order;
//! - within a tenant, events reach the stream in commit order (the outbox's order lock makes a
//!   tenant's sequence follow its commits);
//! - an event may reach the stream twice (a crash between sending and marking, or two replicas
//!   publishing the same rows): each publisher sends in order, so the first copy of every event
//!   keeps the order, and reporting applies each event id once.
//!
//! With Redis configured the stream is `<prefix>events:<service>`, a Redis stream trimmed to
//! about [`STREAM_MAX_LEN`] entries (reporting rebuilds from the owners what it finds trimmed
//! away); only the service itself may add to it (`lms redis-acl`). Without Redis (`lms dev`)
//! the events go to an in-process [`EventBus`] shared by the services of the process.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, ObservableGauge};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::entry::EntryFields;
use super::{OutboxEvent, OutboxStore};
use crate::config::ServiceName;
use crate::redis::{RedisError, RedisHandle};
use crate::sealed::Sealer;

/// The stream key of a service's events, after the deployment's prefix.
pub fn stream_key(service: ServiceName) -> String {
    format!("{}{}", crate::redis_acl::EVENTS_NAMESPACE, service.as_str())
}

/// About how many entries a service's stream keeps (`XADD ... MAXLEN ~`): at a few hundred
/// bytes each, a few hundred MB of Redis, hours of a busy platform's changes.
pub const STREAM_MAX_LEN: usize = 1_000_000;

/// Events read and sent per round trip.
const BATCH: i64 = 500;

/// How often the outbox is looked at for new events: the most a committed event waits here.
const PUBLISH_EVERY: Duration = Duration::from_millis(100);

/// How often (in rounds) a pruning publisher prunes: about once a minute.
const PRUNE_EVERY_ROUNDS: u64 = 600;

/// How often (in rounds) the number still waiting is counted for the gauge.
const COUNT_EVERY_ROUNDS: u64 = 50;

/// How many published events the in-process bus holds for a slow reader before it tells it
/// that it missed some (the reader then rebuilds, as after a trimmed stream).
const BUS_CAPACITY: usize = 65_536;

/// A committed event as the backbone carries it: the outbox row and the service it is from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedEvent {
    /// The service whose outbox it left.
    pub service: ServiceName,
    /// The row: sequence, id, tenant, topic, payload.
    pub event: OutboxEvent,
}

/// The in-process backbone (`lms dev`, tests): every service of the process publishes to the
/// same bus; readers subscribe. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EventBus(broadcast::Sender<Arc<PublishedEvent>>);

impl Default for EventBus {
    fn default() -> Self {
        Self(broadcast::channel(BUS_CAPACITY).0)
    }
}

impl EventBus {
    /// Everything published from now on, in the order published.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<PublishedEvent>> {
        self.0.subscribe()
    }

    fn send(&self, service: ServiceName, events: &[OutboxEvent]) {
        for event in events {
            // Nobody listening (no reporting in this process) is not a failure: reporting
            // rebuilds from the owners what it was not there to hear.
            let _ = self.0.send(Arc::new(PublishedEvent {
                service,
                event: event.clone(),
            }));
        }
    }
}

/// Where a service's events go.
#[derive(Clone, Debug)]
pub enum EventSink {
    /// The service's Redis stream.
    Stream {
        /// The shared Redis.
        redis: RedisHandle,
        /// Signs each entry (`redis.events_mac_key`), so reporting knows it is the service's.
        sealer: Sealer,
        /// Trimmed to about this many entries.
        max_len: usize,
    },
    /// The process's bus.
    InProcess(EventBus),
}

impl EventSink {
    /// The service's stream, each entry signed by `sealer`.
    pub fn stream(redis: RedisHandle, sealer: Sealer) -> Self {
        Self::Stream {
            redis,
            sealer,
            max_len: STREAM_MAX_LEN,
        }
    }

    async fn send(&self, service: ServiceName, events: &[OutboxEvent]) -> Result<(), RedisError> {
        match self {
            Self::InProcess(bus) => {
                bus.send(service, events);
                Ok(())
            }
            Self::Stream {
                redis,
                sealer,
                max_len,
            } => {
                let mut connection = redis.require_connection()?;
                let key = redis.key(&stream_key(service));
                // One transaction: a command refused midway (Redis out of memory) fails the
                // whole batch, so no later event lands before an earlier one.
                let mut pipe = redis::pipe();
                pipe.atomic();
                for event in events {
                    let fields = EntryFields::of(event);
                    let xadd = pipe
                        .cmd("XADD")
                        .arg(&key)
                        .arg("MAXLEN")
                        .arg("~")
                        .arg(*max_len)
                        .arg("*");
                    for (name, value) in fields.signed(&key, sealer) {
                        xadd.arg(name).arg(value);
                    }
                    xadd.ignore();
                }
                pipe.query_async::<()>(&mut connection)
                    .await
                    .map_err(RedisError::from)
            }
        }
    }
}

/// Why a round stopped; the events stay unpublished and go on a later round.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The outbox could not be read or marked.
    #[error("outbox: {0}")]
    Store(#[from] sqlx::Error),
    /// The stream could not be reached.
    #[error("event stream: {0}")]
    Stream(#[from] RedisError),
}

/// Sends a service's committed events to its event stream (see the module docs).
pub struct Publisher<O> {
    outbox: O,
    service: ServiceName,
    sink: EventSink,
    behind: Arc<AtomicI64>,
    failing: AtomicBool,
    published: Counter<u64>,
    _gauge: ObservableGauge<i64>,
    /// Whether this publisher also prunes the outbox (one with no relay: its rows are
    /// delivered when written).
    prunes: bool,
}

impl<O> std::fmt::Debug for Publisher<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl<O: OutboxStore> Publisher<O> {
    /// A publisher of `service`'s `outbox` to `sink`.
    pub fn new(outbox: O, service: ServiceName, sink: EventSink) -> Self {
        let meter = opentelemetry::global::meter("lms");
        let behind = Arc::new(AtomicI64::new(0));
        let seen = behind.clone();
        let gauge = meter
            .i64_observable_gauge("lms.outbox.unpublished")
            .with_description("committed events not yet sent to the event stream")
            .with_callback(move |gauge| {
                gauge.observe(
                    seen.load(Ordering::Relaxed),
                    &[KeyValue::new("service", service.as_str())],
                );
            })
            .build();
        Self {
            outbox,
            service,
            sink,
            behind,
            failing: AtomicBool::new(false),
            published: meter
                .u64_counter("lms.outbox.published")
                .with_description("events sent to the event stream")
                .build(),
            _gauge: gauge,
            prunes: false,
        }
    }

    /// Also prunes published rows, as the relay does for a service that delivers to
    /// authorization: for an outbox whose rows have nowhere else to go (authorization's own).
    pub fn pruning(mut self) -> Self {
        self.prunes = true;
        self
    }

    /// Publishes every event committed so far, in sequence order; answers how many.
    pub async fn publish_pending(&self) -> Result<usize, PublishError> {
        // No rows are read while the stream is known to be out of reach.
        if let EventSink::Stream { redis, .. } = &self.sink {
            redis.require_connection()?;
        }
        let mut total = 0;
        loop {
            let batch = self.outbox.unpublished(BATCH).await?;
            if batch.is_empty() {
                return Ok(total);
            }
            self.sink.send(self.service, &batch).await?;
            let sequences: Vec<i64> = batch.iter().map(|event| event.sequence).collect();
            self.outbox.published(&sequences).await?;
            self.published.add(
                batch.len() as u64,
                &[KeyValue::new("service", self.service.as_str())],
            );
            total += batch.len();
            if (batch.len() as i64) < BATCH {
                return Ok(total);
            }
        }
    }

    /// One round: publishes, and says once when the stream fails and once when it is back.
    async fn round(&self, count: bool) {
        match self.publish_pending().await {
            Ok(_) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(service = %self.service, "event stream reached; publishing again");
                }
            }
            Err(error) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(service = %self.service, %error, "events not published; will retry");
                }
            }
        }
        if count && let Ok(waiting) = self.outbox.unpublished_count().await {
            self.behind.store(waiting, Ordering::Relaxed);
        }
    }

    /// Publishes every [`PUBLISH_EVERY`] until `shutdown`, and once more on the way out.
    pub fn spawn(self: Arc<Self>, shutdown: CancellationToken) {
        tokio::spawn(async move {
            let mut rounds = 0_u64;
            loop {
                let stopping = tokio::select! {
                    () = shutdown.cancelled() => true,
                    () = tokio::time::sleep(PUBLISH_EVERY) => false,
                };
                self.round(rounds.is_multiple_of(COUNT_EVERY_ROUNDS)).await;
                if stopping {
                    return;
                }
                if self.prunes && rounds.is_multiple_of(PRUNE_EVERY_ROUNDS) {
                    match self.outbox.prune(super::relay::KEEP_DELIVERED).await {
                        Ok(0) => {}
                        Ok(pruned) => tracing::debug!(pruned, "published outbox rows pruned"),
                        Err(error) => tracing::warn!(%error, "outbox not prunable"),
                    }
                }
                rounds += 1;
            }
        });
    }
}
