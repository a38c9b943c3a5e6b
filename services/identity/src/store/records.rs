//! Re-sending what identity holds of a tenant to reporting (`lms reporting rebuild`, see
//! `lms_runtime::outbox::rebuild`).

use std::future::Future;

use lms_kernel::TenantId;
use uuid::Uuid;

use super::StoreError;

/// Which of identity's facts a rebuild re-sends, by the table they stand on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactKind {
    /// The tenant's Access Coordinator and client tenants (one chunk).
    Tenant,
    /// Units: in the tenant, under their parent.
    Units,
    /// People: their status, and their team (primary group).
    People,
    /// Employments: employee and main account, in their window.
    Employments,
    /// Groups: manager and administrators.
    Groups,
    /// Group members, by person (a group of a hundred thousand travels in many chunks).
    Members,
    /// People named to manage a user or a unit.
    NamedManagers,
}

impl FactKind {
    /// Every kind, in the order a rebuild sends them.
    pub const ALL: [FactKind; 7] = [
        FactKind::Tenant,
        FactKind::Units,
        FactKind::People,
        FactKind::Employments,
        FactKind::Groups,
        FactKind::Members,
        FactKind::NamedManagers,
    ];
}

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

    /// Appends, as directory records (`reporting.directory`), at most `limit` of the tenant's
    /// units (or groups, with `groups`) with ids after `after`, in id order, read under the
    /// tenant's order lock like the people; answers how many and the last id.
    fn republish_directory(
        &self,
        tenant: TenantId,
        groups: bool,
        after: Option<Uuid>,
        limit: i64,
    ) -> impl Future<Output = Result<(usize, Option<Uuid>), StoreError>> + Send;

    /// Appends, as re-sent facts (`reporting.facts`), the facts standing on at most `limit` of
    /// the tenant's `kind` rows with ids after `after`, in id order, read under the tenant's
    /// order lock like the people; answers how many rows and the last id, `None` when there
    /// were none left (the tenant's own facts come in one chunk).
    fn republish_facts(
        &self,
        tenant: TenantId,
        kind: FactKind,
        after: Option<Uuid>,
        limit: i64,
    ) -> impl Future<Output = Result<(usize, Option<Uuid>), StoreError>> + Send;
}
