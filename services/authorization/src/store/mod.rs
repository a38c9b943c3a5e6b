//! The authorization store: role definitions, assignments, the audit trail and the relationship
//! facts decisions read. One port ([`Store`]), one SQL body compiled for PostgreSQL and SQLite
//! ([`sql`]), one conformance suite run against both.
//!
//! Every write runs in one transaction that also bumps the tenant's revision, so the revision a
//! write returns is exactly the state a consistency token names.

mod sql;

use std::future::Future;

use lms_kernel::{
    AssignmentId, CustomRoleId, Grants, ResponsibilitySet, RoleId, TenantId, TenantSettings,
    UnitId, UserId, UserStatus,
};
pub use sql::{PgStore, SqliteStore, grants_to_text as grants_text};
use uuid::Uuid;

/// A tenant's revision: increases with every write that can change a decision.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default)]
pub struct Revision(pub i64);

/// Who did something, and when (seconds since the Unix epoch).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Stamp {
    /// A user id or a service account name.
    pub actor: String,
    /// When.
    pub at: i64,
}

/// A custom role as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RoleRecord {
    /// Its id.
    pub id: CustomRoleId,
    /// Display name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Its grants.
    pub grants: Grants,
    /// Responsibilities its holders may take.
    pub responsibilities: ResponsibilitySet,
    /// The role it was copied from.
    pub copied_from: Option<RoleId>,
    /// Optimistic-concurrency version, 1 on creation.
    pub version: i64,
    /// Creation.
    pub created: Stamp,
    /// Last change.
    pub updated: Stamp,
}

/// Where an assignment came from (the proto's `AssignmentSource` numbers).
pub type Source = i16;

/// A role assignment as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AssignmentRecord {
    /// Its id.
    pub id: AssignmentId,
    /// The holder.
    pub user: UserId,
    /// The role.
    pub role: RoleId,
    /// The unit it is assigned at; `None` for the tenant.
    pub unit: Option<UnitId>,
    /// Start of validity.
    pub valid_from: Option<i64>,
    /// End of validity, exclusive.
    pub valid_until: Option<i64>,
    /// Where it came from.
    pub source: Source,
    /// The holder's main role.
    pub main_role: bool,
    /// Who assigned it, when.
    pub assigned: Stamp,
}

impl AssignmentRecord {
    /// Whether it is in effect at `at`.
    pub fn is_active(&self, at: i64) -> bool {
        self.valid_from.is_none_or(|from| from <= at)
            && self.valid_until.is_none_or(|until| at < until)
    }
}

/// What an audit record is about (the proto's `ObjectType` numbers).
pub type ObjectType = i16;

/// One audit entry to append, written in the same transaction as the change.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AuditEntry {
    /// Who and when.
    pub stamp: Stamp,
    /// What happened, for example `role_assignment.created`.
    pub action: &'static str,
    /// The kind of object changed.
    pub object_type: ObjectType,
    /// Its id.
    pub object_id: String,
    /// JSON before; `None` on creation.
    pub before: Option<String>,
    /// JSON after; `None` on deletion.
    pub after: Option<String>,
}

/// An audit record as read back.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AuditRecord {
    /// Increasing sequence.
    pub sequence: i64,
    /// The entry.
    pub entry: AuditEntry,
}

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

/// Everything stored about a subject that a decision needs, before compiling.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SubjectRows {
    /// The tenant's settings (defaults when identity never pushed any).
    pub settings: TenantSettings,
    /// Client tenants of the subject's tenant.
    pub clients: Vec<TenantId>,
    /// The subject's status, `None` when never pushed (active).
    pub status: Option<SubjectStatus>,
    /// Their assignments, with the custom roles they name.
    pub assignments: Vec<AssignmentRecord>,
    /// The grants of the custom roles the assignments name.
    pub custom_roles: Vec<HeldCustomRole>,
    /// Relationships whose subject is the user.
    pub relationships: Vec<Relationship>,
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

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A custom role with that name exists in the tenant.
    #[error("a role with that name already exists")]
    DuplicateName,
    /// The role changed since the version the caller read.
    #[error("the role changed since version {expected}")]
    VersionMismatch {
        /// The version the caller expected.
        expected: i64,
    },
    /// The role is still held.
    #[error("the role is still held by {holders} assignment(s)")]
    RoleHeld {
        /// How many assignments hold it.
        holders: i64,
    },
    /// The course already has another Course Tutor.
    #[error("the course already has a Course Tutor")]
    CourseTutorTaken,
    /// Stored data does not parse (a bug or a manual edit).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The port decisions and administration use; see the module docs.
pub trait Store: Send + Sync + 'static {
    /// The tenant's current revision (0 before any write).
    fn revision(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Revision, StoreError>> + Send;

    /// Stores a new custom role.
    fn insert_role(
        &self,
        tenant: TenantId,
        role: &RoleRecord,
        audit: AuditEntry,
    ) -> impl Future<Output = Result<Revision, StoreError>> + Send;

    /// Replaces a custom role's name, description and grants, bumping its version; with
    /// `expected_version`, only if the stored version matches.
    fn update_role(
        &self,
        tenant: TenantId,
        role: &RoleRecord,
        expected_version: Option<i64>,
        audit: AuditEntry,
    ) -> impl Future<Output = Result<Option<Revision>, StoreError>> + Send;

    /// Deletes a custom role nobody holds. `Ok(None)` when it does not exist.
    fn delete_role(
        &self,
        tenant: TenantId,
        role: CustomRoleId,
        audit: AuditEntry,
    ) -> impl Future<Output = Result<Option<Revision>, StoreError>> + Send;

    /// One custom role.
    fn role(
        &self,
        tenant: TenantId,
        role: CustomRoleId,
    ) -> impl Future<Output = Result<Option<RoleRecord>, StoreError>> + Send;

    /// Custom roles ordered by name key, after `after_name_key`, at most `limit`.
    fn roles(
        &self,
        tenant: TenantId,
        after_name_key: Option<&str>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<RoleRecord>, StoreError>> + Send;

    /// Stores an assignment. When it is the main role, the holder's other assignments lose the flag.
    fn insert_assignment(
        &self,
        tenant: TenantId,
        assignment: &AssignmentRecord,
        audit: AuditEntry,
    ) -> impl Future<Output = Result<Revision, StoreError>> + Send;

    /// Removes an assignment; `Ok(None)` when it does not exist.
    fn delete_assignment(
        &self,
        tenant: TenantId,
        assignment: AssignmentId,
        audit: AuditEntry,
    ) -> impl Future<Output = Result<Option<(AssignmentRecord, Revision)>, StoreError>> + Send;

    /// One assignment.
    fn assignment(
        &self,
        tenant: TenantId,
        assignment: AssignmentId,
    ) -> impl Future<Output = Result<Option<AssignmentRecord>, StoreError>> + Send;

    /// A user's assignments.
    fn assignments_of(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<AssignmentRecord>, StoreError>> + Send;

    /// Assignments of a role, by assignment id, after `after`, at most `limit`.
    fn holders_of(
        &self,
        tenant: TenantId,
        role: RoleId,
        after: Option<AssignmentId>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<AssignmentRecord>, StoreError>> + Send;

    /// Makes `assignment` the holder's main role; `Ok(None)` when it is not theirs.
    fn set_main_role(
        &self,
        tenant: TenantId,
        user: UserId,
        assignment: AssignmentId,
        audit: AuditEntry,
    ) -> impl Future<Output = Result<Option<AssignmentRecord>, StoreError>> + Send;

    /// Audit records, newest first, optionally about one object, before `before_sequence`.
    fn audit_records(
        &self,
        tenant: TenantId,
        object: Option<(ObjectType, String)>,
        before_sequence: Option<i64>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<AuditRecord>, StoreError>> + Send;

    /// Applies a batch atomically; a batch whose event id was applied before changes nothing and
    /// answers `(current revision, true)`.
    fn apply_facts(
        &self,
        tenant: TenantId,
        batch: &FactBatch,
    ) -> impl Future<Output = Result<(Revision, bool), StoreError>> + Send;

    /// Relationships matching `filter`, in key order, after `after`, at most `limit`.
    fn relationships(
        &self,
        tenant: TenantId,
        filter: RelationshipFilter,
        after: Option<Relationship>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Relationship>, StoreError>> + Send;

    /// What decisions need about `user`, read at one revision, which is returned with it.
    fn subject_rows(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> impl Future<Output = Result<(SubjectRows, Revision), StoreError>> + Send;

    /// `unit` and every unit above it (following `RELATION_PARENT_UNIT`), nearest first.
    fn unit_ancestors(
        &self,
        tenant: TenantId,
        unit: UnitId,
    ) -> impl Future<Output = Result<Vec<UnitId>, StoreError>> + Send;
}

#[cfg(test)]
pub(crate) mod conformance;
