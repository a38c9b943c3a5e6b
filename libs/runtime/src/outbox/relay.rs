//! Delivery of outbox events to authorization: on the request path (the answer waits, briefly,
//! for its own events so it can carry authorization's token) and from a background loop that
//! retries what could not be delivered, tenants in parallel.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lms_api::authorization::v1::{AssignRoleRequest, RevokeRoleRequest, WriteRelationshipsRequest};
use lms_api::common::v1::ConsistencyToken;
use lms_kernel::TenantId;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, ObservableGauge};
use prost::Message;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::store::{Backlog, OutboxStore};
use super::{OutboxEvent, topic};
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::peers::Authorization;
use crate::peers::authorization::is_refusal;
use crate::store::Database;

/// How long a request waits for its own events to reach authorization before it answers without
/// a token (the change is saved; the background loop delivers it).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(2);
/// Delivered rows are kept this long (a request reads its token back from them), then pruned.
pub const KEEP_DELIVERED: Duration = Duration::from_secs(3600);
/// How often the background loop looks for undelivered events.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// Events read per turn.
const BATCH: i64 = 100;
/// Tenants the background loop delivers at once.
const PARALLEL_TENANTS: usize = 8;
/// Failures in a row after which requests stop waiting for authorization for a while.
const BREAKER_FAILURES: u32 = 3;
/// How long requests skip delivery once the breaker opened (the background loop keeps trying,
/// and its first success closes the breaker).
const BREAKER_OPEN: Duration = Duration::from_secs(5);
/// Deliveries that failed on authorization's own account (not a refusal, not an outage) after
/// which an event is set aside: about twenty seconds of the background loop.
const MAX_ATTEMPTS: i64 = 20;
/// Prune once per this many background rounds.
const PRUNE_EVERY_ROUNDS: u64 = 300;

/// Why a delivery stopped.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Authorization did not answer; the event stays pending.
    #[error("authorization unavailable: {0}")]
    Unavailable(ApiError),
    /// The outbox could not be read or marked.
    #[error("outbox store failed: {0}")]
    Store(#[from] sqlx::Error),
}

/// What became of one event.
enum Outcome {
    /// Applied; authorization's token when it changed something.
    Delivered(Option<ConsistencyToken>),
    /// Refused for good or unreadable: set aside with the reason.
    DeadLetter(String),
    /// Authorization failed on its own account: counted, set aside after [`MAX_ATTEMPTS`].
    Failed(String),
}

/// The facts events at the head of `pending`, at most [`MAX_RUN`]: delivered in one call.
/// Events for reporting alone may sit between them (identity follows a change's facts with the
/// person's record): they ride along, settled with the run, so they do not break it up.
fn facts_run(pending: &[OutboxEvent]) -> &[OutboxEvent] {
    let len = pending
        .iter()
        .take(MAX_RUN)
        .take_while(|event| event.topic == topic::FACTS || for_reporting(&event.topic))
        .count();
    &pending[..len]
}

/// Whether `topic` is for reporting alone (nothing to send to authorization).
fn for_reporting(topic: &str) -> bool {
    topic.starts_with(topic::FOR_REPORTING)
}

/// Facts events delivered in one call at most (authorization's limit per batch).
const MAX_RUN: usize = 100;

/// Rows appended before events carried their id in the request (identity before the outbox
/// moved to the runtime) take the row's id, so they too are applied once.
fn with_event_id(mut request: AssignRoleRequest, event: &OutboxEvent) -> AssignRoleRequest {
    if request.event_id.is_empty() {
        request.event_id = event.event_id.to_string();
    }
    request
}

fn is_revocation(topic: &str) -> bool {
    topic == topic::REVOKE_ROLE || topic == topic::REVOKE_ROLE_V1
}

/// Opens after repeated failures so requests answer at once instead of waiting on an
/// authorization that is down.
#[derive(Debug, Default)]
struct Breaker {
    failures: AtomicU32,
    open_until_ms: AtomicI64,
}

impl Breaker {
    fn is_open(&self) -> bool {
        now_ms() < self.open_until_ms.load(Ordering::Relaxed)
    }

    fn succeeded(&self) {
        self.failures.store(0, Ordering::Relaxed);
        self.open_until_ms.store(0, Ordering::Relaxed);
    }

    fn failed(&self) {
        if self.failures.fetch_add(1, Ordering::Relaxed) + 1 >= BREAKER_FAILURES {
            self.open_until_ms.store(
                now_ms() + BREAKER_OPEN.as_millis() as i64,
                Ordering::Relaxed,
            );
        }
    }
}

/// Delivers a service's outbox to authorization.
pub struct Relay<O = Database> {
    outbox: O,
    authorization: Authorization,
    /// One turn at a time per tenant in this process (replicas take turns through the store).
    turns: Mutex<HashMap<TenantId, Arc<tokio::sync::Mutex<()>>>>,
    breaker: Breaker,
    dead_letters: Counter<u64>,
    /// The last backlog the background loop read, and when, for the gauges.
    backlog: Arc<Mutex<(Backlog, Instant)>>,
    _gauges: (ObservableGauge<i64>, ObservableGauge<f64>),
}

impl<O> std::fmt::Debug for Relay<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").finish_non_exhaustive()
    }
}

impl<O: OutboxStore> Relay<O> {
    /// A relay delivering `outbox` to `authorization`.
    pub fn new(outbox: O, authorization: Authorization) -> Self {
        let dead_letters = opentelemetry::global::meter("lms")
            .u64_counter("lms.outbox.dead_letters")
            .with_description(
                "outbox events authorization refused for good or that could not be read",
            )
            .build();
        let backlog = Arc::new(Mutex::new((Backlog::default(), Instant::now())));
        let (seen, aged) = (backlog.clone(), backlog.clone());
        let meter = opentelemetry::global::meter("lms");
        let pending = meter
            .i64_observable_gauge("lms.outbox.pending")
            .with_description("outbox events not yet delivered to authorization")
            .with_callback(move |gauge| {
                let (backlog, _) = *seen.lock().unwrap_or_else(|p| p.into_inner());
                gauge.observe(backlog.pending, &[]);
            })
            .build();
        let oldest = meter
            .f64_observable_gauge("lms.outbox.oldest_pending_seconds")
            .with_unit("s")
            .with_description("age of the oldest outbox event not yet delivered")
            .with_callback(move |gauge| {
                // Aged since it was read: a loop stuck in delivery, or a store it cannot
                // read, must not freeze the lag that would page someone about it.
                let (backlog, read) = *aged.lock().unwrap_or_else(|p| p.into_inner());
                let oldest = if backlog.pending > 0 {
                    backlog.oldest_seconds + read.elapsed().as_secs_f64()
                } else {
                    0.0
                };
                gauge.observe(oldest, &[]);
            })
            .build();
        Self {
            outbox,
            authorization,
            turns: Mutex::default(),
            breaker: Breaker::default(),
            dead_letters,
            backlog,
            _gauges: (pending, oldest),
        }
    }

    /// Reads how far delivery is behind and keeps it for the gauges.
    pub async fn measure_backlog(&self) -> Result<Backlog, sqlx::Error> {
        let backlog = self.outbox.backlog().await?;
        *self.backlog.lock().unwrap_or_else(|p| p.into_inner()) = (backlog, Instant::now());
        Ok(backlog)
    }

    /// The request path: delivers the tenant's events up to the request's own last one (see
    /// [`super::receipt`]), within [`REQUEST_DEADLINE`], and answers the token that covers
    /// them. `None` when the breaker is open, the deadline passes or delivery fails:
    /// the change is saved and the background loop delivers it.
    pub async fn deliver_committed(&self, tenant: TenantId) -> Option<ConsistencyToken> {
        if self.breaker.is_open() {
            tracing::debug!(%tenant, "authorization failing; delivery left to the relay");
            return None;
        }
        // The request's own events when the server opened a receipt for it; else (a spawned
        // stream) everything committed so far, which includes them.
        let own = super::receipt::appended(tenant);
        let delivery = async {
            let up_to = match own.as_deref().and_then(|own| own.iter().max()) {
                Some(last) => *last,
                None => match self.outbox.last_sequence(tenant).await? {
                    Some(last) => last,
                    None => return Ok(None),
                },
            };
            let dead = self.deliver_up_to(tenant, up_to).await?;
            // Authorization refused an event this request wrote (set aside now, or by another
            // replica meanwhile): the change is saved here but not there, so no token may
            // claim decisions see it. Without a receipt, any event set aside on the way counts.
            let refused = match own.as_deref() {
                Some(own) if !own.is_empty() => self.outbox.any_dead(tenant, own).await?,
                _ => dead > 0,
            };
            if refused {
                return Ok(None);
            }
            Ok::<_, DeliveryError>(
                self.outbox
                    .written_at(tenant, up_to)
                    .await?
                    .map(|token| ConsistencyToken { token }),
            )
        };
        match tokio::time::timeout(REQUEST_DEADLINE, delivery).await {
            Ok(Ok(token)) => token,
            Ok(Err(error)) => {
                tracing::warn!(%tenant, %error, "change saved; delivery to authorization will be retried");
                None
            }
            // Not counted by the breaker: the time may have gone to waiting for the tenant's
            // turn, not to authorization; a call that times out counts as it fails.
            Err(_) => {
                tracing::warn!(%tenant, "change saved; delivery to authorization timed out and will be retried");
                None
            }
        }
    }

    /// Delivers the tenant's undelivered events with sequence at most `up_to` (and those
    /// committed by the time its turn comes), in order; stops at the first event authorization
    /// could not take (it stays pending). Answers how many events were set aside as dead
    /// letters.
    pub async fn deliver_up_to(
        &self,
        tenant: TenantId,
        up_to: i64,
    ) -> Result<usize, DeliveryError> {
        let turn_lock = self
            .turns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(tenant)
            .or_default()
            .clone();
        let _turn = turn_lock.lock().await;
        // Whatever the tenant committed while this turn waited goes along: the writes queued
        // behind it then find their events delivered, one call for all of them.
        let up_to = match self.outbox.last_sequence(tenant).await? {
            Some(last) => last.max(up_to),
            None => up_to,
        };
        let mut dead = 0;
        loop {
            let pending = self.outbox.pending(tenant, up_to, BATCH).await?;
            let full = pending.len() as i64 == BATCH;
            let mut stopped = None;
            let mut at = 0;
            while at < pending.len() {
                // A run of facts goes in one call: what concurrent writes appended while the
                // previous turn was out is delivered together (each still applied once by its
                // id, in order), so a busy tenant pays one round trip per turn, not per write.
                let run = facts_run(&pending[at..]);
                if run.len() > 1 {
                    match self.send_run(tenant, run).await {
                        Ok(Some(token)) => {
                            let (first, last) = (run[0].sequence, run[run.len() - 1].sequence);
                            let token = token.as_ref().map(|t| t.token.as_str());
                            self.outbox
                                .delivered_run(tenant, first, last, token)
                                .await?;
                            at += run.len();
                            continue;
                        }
                        // Refused or failed whole: each goes alone below, so only an event
                        // authorization refuses is set aside and failures count per event.
                        Ok(None) => {}
                        Err(error) => {
                            stopped = Some(error);
                            break;
                        }
                    }
                }
                let event = &pending[at];
                at += 1;
                match self.send(event).await {
                    Ok(Outcome::Delivered(token)) => {
                        let token = token.as_ref().map(|t| t.token.as_str());
                        self.outbox.delivered(event.sequence, token).await?;
                    }
                    Ok(Outcome::Failed(error)) => {
                        let attempts = self.outbox.failed(event.sequence, &error).await?;
                        // A revocation is never given up on: a role kept is worse than a
                        // tenant held up (the metric and the log say which event).
                        if attempts < MAX_ATTEMPTS || is_revocation(&event.topic) {
                            tracing::warn!(%tenant, sequence = event.sequence, attempts, %error, "outbox delivery failed; will retry");
                            stopped = Some(ApiError::Unavailable {
                                dependency: "authorization",
                            });
                            break;
                        }
                        self.set_aside(event, &format!("failed {attempts} times, last: {error}"))
                            .await?;
                        dead += 1;
                    }
                    Ok(Outcome::DeadLetter(reason)) => {
                        self.set_aside(event, &reason).await?;
                        dead += 1;
                    }
                    Err(error) => {
                        stopped = Some(error);
                        break;
                    }
                }
            }
            if let Some(error) = stopped {
                self.breaker.failed();
                return Err(DeliveryError::Unavailable(error));
            }
            self.breaker.succeeded();
            if !full {
                return Ok(dead);
            }
        }
    }

    /// Moves `event` to the dead letters, logged and counted.
    async fn set_aside(&self, event: &OutboxEvent, reason: &str) -> Result<(), sqlx::Error> {
        tracing::error!(
            tenant = %event.tenant,
            sequence = event.sequence,
            event = %event.event_id,
            topic = %event.topic,
            %reason,
            "outbox event set aside as a dead letter"
        );
        self.outbox.dead_letter(event.sequence, reason).await?;
        self.dead_letters
            .add(1, &[KeyValue::new("topic", event.topic.clone())]);
        Ok(())
    }

    /// Delivers a run of facts events in one call: `Some` with authorization's token when it
    /// applied them all; `None` when one is unreadable or authorization refused or failed the
    /// run (the caller then sends each alone); an error when authorization is out of reach.
    async fn send_run(
        &self,
        tenant: TenantId,
        run: &[OutboxEvent],
    ) -> Result<Option<Option<ConsistencyToken>>, ApiError> {
        let mut requests = Vec::with_capacity(run.len());
        for event in run.iter().filter(|event| !for_reporting(&event.topic)) {
            match WriteRelationshipsRequest::decode(event.payload.as_slice()) {
                Ok(request) => requests.push(request),
                Err(_) => return Ok(None),
            }
        }
        if requests.is_empty() {
            return Ok(Some(None));
        }
        match self.authorization.write_batch(tenant, requests).await {
            Ok(token) if token.token.is_empty() => Ok(Some(None)),
            Ok(token) => Ok(Some(Some(token))),
            Err(ApiError::Forwarded(status)) => {
                tracing::debug!(%tenant, code = ?status.code(), "a run of facts was not taken whole; sending each alone");
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Sends one event; refusals and unreadable events come back as dead letters, anything
    /// else that fails is an error (retry later).
    async fn send(&self, event: &OutboxEvent) -> Result<Outcome, ApiError> {
        let delivered = match event.topic.as_str() {
            topic::FACTS => match WriteRelationshipsRequest::decode(event.payload.as_slice()) {
                Ok(request) => self.authorization.write(event.tenant, request).await,
                Err(error) => return Ok(Outcome::DeadLetter(format!("unreadable: {error}"))),
            },
            topic::ASSIGN_ROLE => match AssignRoleRequest::decode(event.payload.as_slice()) {
                Ok(request) => {
                    let request = with_event_id(request, event);
                    self.authorization.assign(event.tenant, request).await
                }
                Err(error) => return Ok(Outcome::DeadLetter(format!("unreadable: {error}"))),
            },
            topic::REVOKE_ROLE => match RevokeRoleRequest::decode(event.payload.as_slice()) {
                Ok(request) => self.authorization.revoke(event.tenant, request).await,
                Err(error) => return Ok(Outcome::DeadLetter(format!("unreadable: {error}"))),
            },
            // Appended before v2: the holder and the role in an AssignRoleRequest.
            topic::REVOKE_ROLE_V1 => match AssignRoleRequest::decode(event.payload.as_slice()) {
                Ok(held) => {
                    let request = RevokeRoleRequest {
                        user_id: held.user_id,
                        role_id: held.role_id,
                        event_id: event.event_id.to_string(),
                        ..Default::default()
                    };
                    self.authorization.revoke(event.tenant, request).await
                }
                Err(error) => return Ok(Outcome::DeadLetter(format!("unreadable: {error}"))),
            },
            // Nothing for authorization: the publisher takes it to reporting.
            other if for_reporting(other) => {
                return Ok(Outcome::Delivered(None));
            }
            other => return Ok(Outcome::DeadLetter(format!("unknown topic {other:?}"))),
        };
        match delivered {
            Ok(token) if token.token.is_empty() => Ok(Outcome::Delivered(None)),
            Ok(token) => Ok(Outcome::Delivered(Some(token))),
            Err(ApiError::Forwarded(status)) if is_refusal(status.code()) => {
                Ok(Outcome::DeadLetter(format!(
                    "refused by authorization: {:?}: {}",
                    status.code(),
                    status.message()
                )))
            }
            Err(ApiError::Forwarded(status)) => Ok(Outcome::Failed(format!(
                "authorization failed: {:?}: {}",
                status.code(),
                status.message()
            ))),
            Err(error) => Err(error),
        }
    }

    /// Delivers every tenant's pending events now, tenants in parallel (the background loop's
    /// round; tests call it to drain).
    pub async fn deliver_all(self: &Arc<Self>) -> Result<(), DeliveryError> {
        let tenants = self.outbox.tenants_with_pending().await?;
        let mut running = JoinSet::new();
        let mut first_error = None;
        for tenant in tenants {
            if running.len() >= PARALLEL_TENANTS
                && let Some(Ok(Err(error))) = running.join_next().await
            {
                first_error.get_or_insert(error);
            }
            let relay = Arc::clone(self);
            running.spawn(async move {
                let up_to = relay.outbox.last_sequence(tenant).await?.unwrap_or(0);
                relay
                    .deliver_up_to(tenant, up_to)
                    .await
                    .inspect_err(|error| {
                        tracing::warn!(%tenant, %error, "outbox delivery failed; will retry");
                    })
            });
        }
        while let Some(result) = running.join_next().await {
            if let Ok(Err(error)) = result {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Retries pending events and prunes delivered ones until `shutdown`; measures the
    /// backlog for the gauges in a loop of its own, so that a delivery that hangs (on
    /// authorization, on a tenant's turn) shows as a growing lag instead of a frozen one.
    pub fn spawn_retries(self: Arc<Self>, shutdown: CancellationToken) {
        let measuring = Arc::clone(&self);
        let stop_measuring = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop_measuring.cancelled() => return,
                    () = tokio::time::sleep(RETRY_EVERY) => {}
                }
                if let Err(error) = measuring.measure_backlog().await {
                    tracing::warn!(%error, "outbox backlog not readable");
                }
            }
        });
        tokio::spawn(async move {
            let mut round = 0_u64;
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(RETRY_EVERY) => {}
                }
                if let Err(DeliveryError::Store(error)) = self.deliver_all().await {
                    tracing::warn!(%error, "outbox not readable");
                }
                round += 1;
                if round.is_multiple_of(PRUNE_EVERY_ROUNDS) {
                    match self.outbox.prune(KEEP_DELIVERED).await {
                        Ok(0) => {}
                        Ok(pruned) => tracing::debug!(pruned, "delivered outbox rows pruned"),
                        Err(error) => tracing::warn!(%error, "outbox not prunable"),
                    }
                }
            }
        });
    }

    /// The outbox this relay delivers.
    pub fn outbox(&self) -> &O {
        &self.outbox
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(payload: Vec<u8>) -> OutboxEvent {
        OutboxEvent {
            sequence: 1,
            event_id: uuid::Uuid::now_v7(),
            tenant: TenantId::generate(),
            topic: topic::ASSIGN_ROLE.into(),
            payload,
        }
    }

    #[test]
    fn an_assignment_appended_without_its_id_in_the_request_takes_the_rows_id() {
        let legacy = row(AssignRoleRequest::default().encode_to_vec());
        assert_eq!(
            with_event_id(AssignRoleRequest::default(), &legacy).event_id,
            legacy.event_id.to_string()
        );
        let current = crate::outbox::assign_role(AssignRoleRequest::default());
        let request = AssignRoleRequest::decode(current.payload.as_slice()).unwrap();
        assert_eq!(
            with_event_id(request, &legacy).event_id,
            current.event_id.to_string(),
            "an id already in the request stays"
        );
        assert!(is_revocation(topic::REVOKE_ROLE_V1) && is_revocation(topic::REVOKE_ROLE));
        assert!(!is_revocation(topic::FACTS));
    }
}
