//! The fan-out of notices to the learners' named managers (DESIGN §6: the people a notice
//! concerns include those named to receive updates about the learner). Who is named over a
//! learner is identity's to know, so a change writes its notices with a queue row in its own
//! transaction, and this task, in the background, asks identity (delegation's own token, scope
//! `identity.people.lookup`) and copies each notice to each named manager, taking the queue row
//! in the same transaction: a notice is never lost, and never copied twice, also with several
//! replicas.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
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
            // A full batch handled means more may be due: go on at once (what was put back is
            // not due again for a while, so this never spins).
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

/// How long a notice waits after its `attempts`-th failed round: doubling from a second up to
/// about half an hour (2^11 s), so a tenant identity keeps refusing is asked twice an hour and
/// its notices are never lost.
pub fn backoff_seconds(attempts: u32) -> i64 {
    1_i64 << attempts.min(MAX_BACKOFF_DOUBLINGS)
}

/// Doublings up to the longest wait.
const MAX_BACKOFF_DOUBLINGS: u32 = 11;

/// One round over the oldest due notices: answers how many it handled (copied, or put back for
/// later). A tenant identity does not answer for is not asked again this round: its notices
/// wait ([`backoff_seconds`]) and the other tenants' go on.
pub async fn round<S: Store>(core: &Core<S>) -> Result<usize, ApiError> {
    let now = lms_runtime::clock::now();
    let queue = core.store.fan_out_queue(BATCH, now).await?;
    let mut named: HashMap<(TenantId, UserId), Vec<UserId>> = HashMap::new();
    let mut failing: HashSet<TenantId> = HashSet::new();
    let (mut taken, mut postponed) = (Vec::new(), Vec::new());
    for notice in &queue {
        if failing.contains(&notice.tenant) {
            postponed.push((*notice, now + backoff_seconds(notice.attempts)));
            continue;
        }
        let key = (notice.tenant, notice.about.learner);
        let managers = match named.entry(key) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(asked) => {
                match managers_of(core, notice.tenant, notice.about.learner).await {
                    Ok(managers) => asked.insert(managers),
                    Err(error) => {
                        tracing::warn!(tenant = %notice.tenant, %error, "named managers not readable");
                        failing.insert(notice.tenant);
                        postponed.push((*notice, now + backoff_seconds(notice.attempts)));
                        continue;
                    }
                }
            }
        };
        taken.push((*notice, managers.clone()));
    }
    core.store.fan_out(&taken).await?;
    core.store.postpone(&postponed).await?;
    Ok(taken.len() + postponed.len())
}

async fn managers_of<S>(
    core: &Core<S>,
    tenant: TenantId,
    learner: UserId,
) -> Result<Vec<UserId>, ApiError> {
    let token = core.authorization.service_token(tenant).await?;
    core.identity.named_managers(&token, learner).await
}
