//! The audit trail as it is read. Records are written by the other ports' write methods, inside
//! their own transactions (each takes the change's [`Audit`](crate::audit::Audit)).

use std::future::Future;

use lms_kernel::TenantId;

use super::{NewEvent, StoreError};
use crate::audit::{Audit, AuditEntry, AuditFilter};

/// Reading the audit trail.
pub trait AuditStore: Send + Sync + 'static {
    /// Writes a record of its own, for a change that spans several transactions (an import,
    /// recorded once with its counts when its last batch is committed).
    fn record_audit(
        &self,
        tenant: TenantId,
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Commits events that change nothing of identity's own (a role given in authorization
    /// alone) with their record, in one transaction.
    fn commit_audited(
        &self,
        tenant: TenantId,
        events: &[NewEvent],
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The tenant's records matching `filter`, newest first, at most `limit`.
    fn audit_records(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<AuditEntry>, StoreError>> + Send;
}
