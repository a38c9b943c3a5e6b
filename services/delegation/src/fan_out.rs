//! The fan-out of notices to the learners' named managers (DESIGN §6: the people a notice
//! concerns include those named to receive updates about the learner). Who is named over a
//! learner is identity's to know, so a change writes its notices with a queue row in its own
//! transaction, and this task, in the background, asks identity (delegation's own token, scope
//! `identity.people.lookup`) and copies each notice to each named manager, taking the queue row
//! in the same transaction: a notice is never lost, and never copied twice, also with several
//! replicas.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

use lms_kernel::{TenantId, UserId};
use lms_runtime::ApiError;
use tokio_util::sync::CancellationToken;

use crate::core::Core;
use crate::store::Store;

/// How often the queue is looked at.
const EVERY: Duration = Duration::from_millis(500);

/// Notices read per round.
const BATCH: i64 = 200;

/// Runs the fan-out until `shutdown`.
pub fn spawn<S: Store>(core: Arc<Core<S>>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(EVERY) => {}
            }
            // A full batch taken means more wait: go on at once.
            loop {
                match round(&core).await {
                    Ok(read) if read == BATCH as usize => continue,
                    Ok(_) => break,
                    Err(error) => {
                        tracing::warn!(%error, "notices not fanned out to named managers");
                        break;
                    }
                }
            }
        }
    });
}

/// One round over the oldest queued notices: answers how many it took. A tenant identity does
/// not answer for now keeps its notices queued for the next round (the next round waits, so a
/// refusing identity is not asked in a tight loop); the others go on.
pub async fn round<S: Store>(core: &Core<S>) -> Result<usize, ApiError> {
    let queue = core.store.fan_out_queue(BATCH).await?;
    let mut named: HashMap<(TenantId, UserId), Option<Vec<UserId>>> = HashMap::new();
    let mut taken = Vec::with_capacity(queue.len());
    for notice in &queue {
        let key = (notice.tenant, notice.about.learner);
        let managers = match named.entry(key) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(asked) => {
                let managers = managers_of(core, notice.tenant, notice.about.learner).await;
                if let Err(error) = &managers {
                    tracing::warn!(tenant = %notice.tenant, %error, "named managers not readable");
                }
                asked.insert(managers.ok())
            }
        };
        if let Some(managers) = managers {
            taken.push((*notice, managers.clone()));
        }
    }
    core.store.fan_out(&taken).await?;
    Ok(taken.len())
}

async fn managers_of<S>(
    core: &Core<S>,
    tenant: TenantId,
    learner: UserId,
) -> Result<Vec<UserId>, ApiError> {
    let token = core.authorization.service_token(tenant).await?;
    core.identity.named_managers(&token, learner).await
}
