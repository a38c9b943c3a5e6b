//! Re-sending who holds which role to reporting (`lms reporting rebuild`, see
//! `lms_runtime::outbox::rebuild`).

use std::future::Future;

use lms_kernel::TenantId;
use uuid::Uuid;

use super::StoreError;

/// Re-sending records, a chunk at a time.
pub trait RecordStore: Send + Sync + 'static {
    /// Appends, as `reporting.roles` records, every assignment of at most `limit` of the
    /// tenant's holders with ids after `after`, in id order, read in the appending transaction
    /// under the tenant's outbox order lock (so no change committed after the chunk is older
    /// than it); answers how many holders and the last one.
    fn republish_roles(
        &self,
        tenant: TenantId,
        after: Option<Uuid>,
        limit: i64,
    ) -> impl Future<Output = Result<(usize, Option<Uuid>), StoreError>> + Send;
}
