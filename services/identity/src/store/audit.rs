//! The audit trail as it is read. Records are written by the other ports' write methods, inside
//! their own transactions (each takes the change's [`Audit`](crate::audit::Audit)).

use std::future::Future;

use lms_kernel::{TenantId, UserId};

use super::{NewEvent, StoreError, TenantRecord, UserRecord};
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

    /// Commits events about `user` with their record, as [`commit_audited`](Self::commit_audited)
    /// does, once `check` accepts the tenant and the user as the transaction finds them. Both
    /// rows are locked first (the tenant's, then the user's: the order every writer takes them
    /// in), so a change committed meanwhile (the user suspended, the tenant's settings changed)
    /// is what `check` sees, and one still under way is waited for. `Missing` when either is
    /// gone.
    fn commit_audited_if<F>(
        &self,
        tenant: TenantId,
        user: UserId,
        check: F,
        events: &[NewEvent],
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send
    where
        F: FnOnce(&TenantRecord, &UserRecord) -> Result<(), StoreError> + Send;

    /// The records of `tenant`'s trail (the platform's own trail for `None`: operator accounts,
    /// tenants created, the platform's service accounts) matching `filter`, newest first, at
    /// most `limit`.
    fn audit_records(
        &self,
        tenant: Option<TenantId>,
        filter: &AuditFilter,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<AuditEntry>, StoreError>> + Send;
}
