//! Admission for import jobs: one import per tenant at a time (two imports of one tenant would
//! plan against the same snapshot and race each other's writes), and a few per process, so
//! imports cannot together take the service's memory, disk or database pool.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use lms_kernel::TenantId;
use lms_runtime::ApiError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Imports one process runs at once, across tenants.
pub const PROCESS_IMPORTS: usize = 4;

/// When a refused import may try again: imports of ordinary files take seconds.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The running imports.
#[derive(Clone)]
pub struct Jobs {
    slots: Arc<Semaphore>,
    running: Arc<Mutex<HashSet<TenantId>>>,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            slots: Arc::new(Semaphore::new(PROCESS_IMPORTS)),
            running: Arc::default(),
        }
    }
}

/// An admitted import; dropping it (the job ends, however it ends) frees its tenant and slot.
pub struct Admitted {
    _slot: OwnedSemaphorePermit,
    tenant: TenantId,
    running: Arc<Mutex<HashSet<TenantId>>>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.tenant);
    }
}

impl Jobs {
    /// Admits an import of `tenant`, or refuses it at once with why: the client holds a stream
    /// open, so waiting in a queue would only hold it longer.
    pub fn admit(&self, tenant: TenantId) -> Result<Admitted, ApiError> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if running.contains(&tenant) {
            return Err(ApiError::ResourceExhausted {
                reason: "IMPORT_RUNNING",
                message: "another import of this tenant is running; start this one when it has \
                          finished"
                    .into(),
                retry_after: RETRY_AFTER,
            });
        }
        let slot =
            self.slots
                .clone()
                .try_acquire_owned()
                .map_err(|_| ApiError::ResourceExhausted {
                    reason: "IMPORTS_BUSY",
                    message: "the service runs as many imports as it may; try again shortly".into(),
                    retry_after: RETRY_AFTER,
                })?;
        running.insert(tenant);
        Ok(Admitted {
            _slot: slot,
            tenant,
            running: self.running.clone(),
        })
    }
}
