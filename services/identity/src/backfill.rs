//! Data moves identity makes at start, once, when a new version tells authorization something an
//! older one did not.
//!
//! The Access Coordinator's duties used to be a role (`builtin:access_coordinator`) and now
//! follow a fact (`RELATION_ACCESS_COORDINATOR`): every tenant created before that change has its
//! coordinator announced through the outbox (and the old role taken back), once.

use std::sync::Arc;

use lms_kernel::Template;
use tokio_util::sync::CancellationToken;

use crate::core::Core;
use crate::relationships;
use crate::store::Store;

/// Tenants announced per store read.
const PAGE: i64 = 100;

/// Announces every tenant's Access Coordinator not announced yet, then delivers.
pub async fn announce_coordinators<S: Store + Clone>(
    core: Arc<Core<S>>,
    shutdown: CancellationToken,
) {
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        let pending = match core.store.unannounced_coordinators(PAGE).await {
            Ok(pending) => pending,
            Err(error) => {
                tracing::warn!(%error, "cannot read tenants to announce their coordinator; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                continue;
            }
        };
        if pending.is_empty() {
            return;
        }
        for (tenant, coordinator) in pending {
            let events = [
                relationships::access_coordinator_changed(tenant, None, coordinator),
                relationships::role_taken(coordinator, Template::AccessCoordinator),
            ];
            match core
                .store
                .announce_coordinator(tenant, coordinator, &events)
                .await
            {
                Ok(()) => {
                    tracing::info!(%tenant, "access coordinator announced as a fact");
                    core.deliver(tenant).await;
                }
                Err(error) => {
                    tracing::warn!(%tenant, %error, "cannot announce the access coordinator");
                    return;
                }
            }
        }
    }
}
