//! The administration side of the store: custom roles, role assignments and the audit trail
//! every change to them leaves.

use std::future::Future;

use lms_kernel::{
    AssignmentId, CustomRoleId, Grants, ResponsibilitySet, RoleId, TenantId, UnitId, UserId,
};

use super::{Revision, StoreError};

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

/// What a guarded insert did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Guarded {
    /// The assignment is stored, at this revision.
    Added(Revision),
    /// Nothing is stored: the holder holds the role there already, by this assignment. With an
    /// event, the event is recorded as applied at the revision given.
    Held(AssignmentRecord, Option<Revision>),
    /// Nothing is stored: the event was applied before.
    Replayed,
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

/// Roles, assignments and their audit trail. Every write appends its audit entry and bumps the
/// tenant's revision in the same transaction (choosing a main role changes no decision, so it
/// leaves the revision alone).
pub trait RoleStore: Send + Sync + 'static {
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

    /// Stores an assignment under the guards its request asks for, checked in the write's own
    /// transaction: once per `event`, when one is given (a service delivering it; the id is
    /// recorded with the write), so a redelivery never brings back an assignment revoked since;
    /// and, `unless_held`, not at all when the holder already holds the role at the same place
    /// in force at the new assignment's stamp. The tenant's revision is taken first, which
    /// queues the tenant's writers, so two such inserts at once store one assignment.
    fn insert_assignment_guarded(
        &self,
        tenant: TenantId,
        assignment: &AssignmentRecord,
        audit: AuditEntry,
        event: Option<uuid::Uuid>,
        unless_held: bool,
    ) -> impl Future<Output = Result<Guarded, StoreError>> + Send;

    /// Removes what `user` holds of `role` (of every role when `None`; only assignments from
    /// `source`, when given) for a
    /// service delivering `event`, at most once per event, with one audit record per
    /// assignment removed: `Ok(None)` when the event was applied before. Holding nothing is no
    /// error (the revision still moves, so the answer is a token for this event).
    fn revoke_held(
        &self,
        tenant: TenantId,
        user: UserId,
        role: Option<RoleId>,
        source: Option<i16>,
        event: uuid::Uuid,
        audit: impl Fn(&AssignmentRecord) -> AuditEntry + Send,
    ) -> impl Future<Output = Result<Option<(Vec<AssignmentRecord>, Revision)>, StoreError>> + Send;

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
}
