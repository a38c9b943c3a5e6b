//! The relationship facts identity and delegation push, and the tenant settings and user
//! statuses that arrive with them.

use std::future::Future;

use lms_kernel::{TenantId, TenantSettings, UserId, UserStatus};
use uuid::Uuid;

use super::{Revision, StoreError};

/// One relationship fact: `resource` has `relation` to `subject`. Types and relations are the
/// proto's enum numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Relationship {
    /// The resource's type.
    pub resource_type: i16,
    /// The resource.
    pub resource_id: Uuid,
    /// The relation.
    pub relation: i16,
    /// The subject's type.
    pub subject_type: i16,
    /// The subject.
    pub subject_id: Uuid,
    /// Start of validity.
    pub valid_from: Option<i64>,
    /// End of validity, exclusive.
    pub valid_until: Option<i64>,
}

/// A change to one relationship.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Change {
    /// Create or update.
    Touch(Relationship),
    /// Remove if present.
    Delete(Relationship),
}

/// A user's status as decisions see it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SubjectStatus {
    /// The user.
    pub user: UserId,
    /// Their status.
    pub status: UserStatus,
    /// Barred from booking.
    pub restrict_bookings: bool,
}

/// What applying fact batches did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Applied {
    /// The tenant's revision that covers them.
    pub revision: Revision,
    /// For each batch, whether it was applied before (and changed nothing now).
    pub replays: Vec<bool>,
    /// The client tenants whose people's facts changed with them, each at its new revision: a
    /// client link made or ended, or the master's settings changed, decides whether the
    /// master's content grants among the client's facts are in effect.
    pub clients: Vec<(TenantId, Revision)>,
}

/// One event's worth of facts from identity or delegation, applied atomically and once.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct FactBatch {
    /// The owning service's event id.
    pub event_id: Uuid,
    /// Relationship changes, in order.
    pub changes: Vec<Change>,
    /// New tenant settings, when they changed.
    pub settings: Option<TenantSettings>,
    /// Status changes.
    pub statuses: Vec<SubjectStatus>,
}

/// A filter on relationships; `None` matches anything.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct RelationshipFilter {
    /// Resource type and id.
    pub resource: Option<(i16, Uuid)>,
    /// Relation.
    pub relation: Option<i16>,
    /// Subject type and id.
    pub subject: Option<(i16, Uuid)>,
}

/// Which end of a relationship [`RelatedFilter::ids`] name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum End {
    /// The resource (read forwards: a group's members).
    Resource,
    /// The subject (read backwards: the groups a user manages).
    Subject,
}

/// The relationships of one relation at any of several objects of one type: one hop of a
/// lookup from a whole set of objects in one query.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RelatedFilter<'a> {
    /// The relation.
    pub relation: i16,
    /// The end `ids` are at.
    pub end: End,
    /// Their type.
    pub kind: i16,
    /// The objects; a few thousand at most per call (each is a bound parameter).
    pub ids: &'a [Uuid],
}

/// Facts in, applied once per event; relationships out, for listing and lookups.
pub trait FactStore: Send + Sync + 'static {
    /// Whether the event `event` was applied already.
    fn applied(&self, event: uuid::Uuid) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Applies a batch atomically; a batch whose event id was applied before changes nothing and
    /// answers `(current revision, true)`.
    fn apply_facts(
        &self,
        tenant: TenantId,
        batch: &FactBatch,
    ) -> impl Future<Output = Result<(Revision, bool), StoreError>> + Send {
        async move {
            let applied = self
                .apply_fact_batches(tenant, std::slice::from_ref(batch))
                .await?;
            Ok((
                applied.revision,
                applied.replays.first().copied().unwrap_or(true),
            ))
        }
    }

    /// Applies `batches` in order in one transaction, each once by its event id (one applied
    /// before changes nothing); answers the revision that covers them all, for each whether it
    /// was a replay, and the client tenants it moved too. Refused whole when any batch is.
    fn apply_fact_batches(
        &self,
        tenant: TenantId,
        batches: &[FactBatch],
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;

    /// Relationships matching `filter`, in key order, after `after`, at most `limit`.
    fn relationships(
        &self,
        tenant: TenantId,
        filter: RelationshipFilter,
        after: Option<Relationship>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Relationship>, StoreError>> + Send;

    /// Relationships matching `filter`, in key order, after `after`, at most `limit`; none
    /// (and no query) for no ids.
    fn related(
        &self,
        tenant: TenantId,
        filter: RelatedFilter<'_>,
        after: Option<Relationship>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Relationship>, StoreError>> + Send;
}
