//! The audit trail as it is read. Records are written by the other ports' write methods, inside
//! their own transactions (each takes the change's [`Audit`](crate::audit::Audit)); this port
//! only reads them back.

use std::future::Future;

use lms_kernel::TenantId;
use lms_runtime::audit::{AuditEntry, AuditFilter};

use super::StoreError;

/// Reading the audit trail.
pub trait AuditStore: Send + Sync + 'static {
    /// The records of `tenant`'s trail matching `filter`, newest first, at most `limit`.
    fn audit_records(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<AuditEntry>, StoreError>> + Send;
}
