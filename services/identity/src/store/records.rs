//! Re-sending what identity holds of a tenant to reporting (`lms reporting rebuild`, see
//! `lms_runtime::outbox::rebuild`).

use std::future::Future;

use lms_kernel::TenantId;
use uuid::Uuid;

use super::StoreError;

/// Re-sending records, a chunk at a time.
pub trait RecordStore: Send + Sync + 'static {
    /// At most `limit` tenants with ids after `after`, in id order.
    fn tenant_ids(
        &self,
        after: Option<TenantId>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<TenantId>, StoreError>> + Send;

    /// Appends, as person records, at most `limit` of the tenant's people with ids after
    /// `after`, in id order, read in the appending transaction under the tenant's order lock
    /// (so no change committed after the chunk is older than it); answers how many and the
    /// last id, `None` when there were none left.
    fn republish_people(
        &self,
        tenant: TenantId,
        after: Option<Uuid>,
        limit: i64,
    ) -> impl Future<Output = Result<(usize, Option<Uuid>), StoreError>> + Send;
}
