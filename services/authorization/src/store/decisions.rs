//! What a decision reads: a subject's rows and a resource's rows, each at one revision, and a
//! unit's ancestors.

use std::collections::BTreeMap;
use std::future::Future;

use lms_kernel::{
    CustomRoleId, Grants, ResponsibilitySet, TenantId, TenantSettings, UnitId, UserId,
};

use uuid::Uuid;

use super::{AssignmentRecord, Relationship, Revision, StoreError, SubjectStatus};

/// Everything stored about a subject that a decision needs, before compiling.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SubjectRows {
    /// The tenant's settings (defaults when identity never pushed any).
    pub settings: TenantSettings,
    /// Client tenants of the subject's tenant.
    pub clients: Vec<TenantId>,
    /// The subject's status, `None` when never pushed (unknown: denied everything).
    pub status: Option<SubjectStatus>,
    /// Their assignments, with the custom roles they name.
    pub assignments: Vec<AssignmentRecord>,
    /// The grants of the custom roles the assignments name.
    pub custom_roles: Vec<HeldCustomRole>,
    /// Relationships whose subject is the user, and the content grants to the tenant (whose
    /// subject is the master that granted).
    pub relationships: Vec<Relationship>,
    /// The masters among those granting that have the tenant as a client now, with clients
    /// switched on: only their grants are in effect.
    pub linked_masters: Vec<TenantId>,
}

/// Everything stored about a resource that a decision needs, before compiling. Rows are read
/// whatever their validity window: compiling drops those not in effect, and the windows say
/// when the compiled facts change on their own.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ResourceRows {
    /// A user's status, `None` when never pushed (or the resource is not a user).
    pub status: Option<SubjectStatus>,
    /// The relationships the kind needs, in key order: for a user, those naming them as the
    /// subject by `RELATION_EMPLOYEE`, `RELATION_PRIMARY_MEMBER`, `RELATION_MEMBER` or
    /// `RELATION_INVITEE`; for a course, its `RELATION_OWNING_UNIT`; for a lesson or an event,
    /// its `RELATION_PARENT_COURSE`.
    pub relationships: Vec<Relationship>,
    /// Every unit the resource involves (a unit itself, a user's employments, a course's owning
    /// unit), each with its chain: the unit and every unit above it, nearest first.
    pub unit_chains: BTreeMap<UnitId, Vec<UnitId>>,
}

/// What a decision needs of a custom role someone holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct HeldCustomRole {
    /// The role.
    pub id: CustomRoleId,
    /// Its grants.
    pub grants: Grants,
    /// The responsibilities it allows.
    pub responsibilities: ResponsibilitySet,
}

/// The reads behind every decision and consistency token.
pub trait DecisionStore: Send + Sync + 'static {
    /// The tenant's current revision (0 before any write).
    fn revision(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Revision, StoreError>> + Send;

    /// The current revisions of `tenants` (0 for a tenant never written), in one round trip per
    /// few hundred tenants: what the decision cache reconciles the invalidations it heard with.
    fn revisions(
        &self,
        tenants: &[uuid::Uuid],
    ) -> impl Future<Output = Result<Vec<(uuid::Uuid, i64)>, StoreError>> + Send;

    /// What decisions need about `user`, read at one revision, which is returned with it.
    fn subject_rows(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> impl Future<Output = Result<(SubjectRows, Revision), StoreError>> + Send;

    /// What decisions need about the resource `(kind, id)` of `tenant` (its owner), with the
    /// owner's revision, read in one statement: the revision is the one the rows are at. A unit
    /// tree deeper than 64 or with a cycle is [`StoreError::Corrupt`].
    fn resource_rows(
        &self,
        tenant: TenantId,
        kind: i16,
        id: Uuid,
    ) -> impl Future<Output = Result<(ResourceRows, Revision), StoreError>> + Send;

    /// The statuses of the tenant's users (those identity announced), in user id order, after
    /// `after`, at most `limit`: the people a tenant-wide grant reaches, for a lookup that must
    /// decide each (a learner barred from booking is reached by no booking grant).
    fn statuses(
        &self,
        tenant: TenantId,
        after: Option<UserId>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<SubjectStatus>, StoreError>> + Send;

    /// `unit` and every unit above it (following `RELATION_PARENT_UNIT`), nearest first.
    fn unit_ancestors(
        &self,
        tenant: TenantId,
        unit: UnitId,
    ) -> impl Future<Output = Result<Vec<UnitId>, StoreError>> + Send;

    /// Whether `unit` is one of the tenant's: identity announced it (`RELATION_UNIT_OF_TENANT`),
    /// or a fact or an assignment of the tenant already places something there (units made
    /// before that announcement existed).
    fn unit_known(
        &self,
        tenant: TenantId,
        unit: UnitId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
