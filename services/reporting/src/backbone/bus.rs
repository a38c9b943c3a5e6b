//! The in-process backbone (`lms dev`): the events the services of this process publish, in the
//! order published.

use std::time::Duration;

use lms_runtime::outbox::{EventBus, PublishedEvent};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::reader::MAX_ATTEMPTS;
use crate::projection::{Projection, ProjectionError, is_transient};

/// The longest wait between two tries of an event the store failed.
const MOST_BACKOFF: Duration = Duration::from_secs(5);

/// Follows `bus` until `shutdown`, applying each event to `projection`. An event the store
/// fails on its own account is tried again (waiting longer each time) until it applies; one
/// it refuses is tried [`MAX_ATTEMPTS`] times and then logged, as is one that cannot be read.
/// A reader that falls more than the bus holds behind logs how many it missed.
pub fn follow_bus(bus: &EventBus, projection: Projection, shutdown: CancellationToken) {
    let mut events = bus.subscribe();
    tokio::spawn(async move {
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => return,
                received = events.recv() => received,
            };
            match received {
                Ok(event) => {
                    if !apply(&projection, &event, &shutdown).await {
                        return;
                    }
                }
                Err(RecvError::Lagged(count)) => {
                    tracing::error!(
                        count,
                        "reporting fell behind the in-process events and missed some: the projections miss them until rebuilt"
                    );
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
}

/// Applies `event`, trying again as the module says; `false` when shutdown came meanwhile.
async fn apply(
    projection: &Projection,
    event: &PublishedEvent,
    shutdown: &CancellationToken,
) -> bool {
    let mut refusals = 0;
    let mut wait = Duration::from_millis(100);
    loop {
        let error = match projection.apply(event, "bus").await {
            Ok(_) => return true,
            Err(ProjectionError::Store(error)) if is_transient(&error) => error.to_string(),
            Err(ProjectionError::Store(error)) if refusals + 1 < MAX_ATTEMPTS => {
                refusals += 1;
                error.to_string()
            }
            Err(error) => {
                tracing::error!(event = %event.event.event_id, %error, "event not projected");
                return true;
            }
        };
        tracing::warn!(event = %event.event.event_id, %error, "event not projected yet; trying again");
        tokio::select! {
            () = shutdown.cancelled() => return false,
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(MOST_BACKOFF);
    }
}
