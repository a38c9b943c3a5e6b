//! Imports: what an import matches rows against, and one batch applied whole.

use crate::audit::Actor;
use std::future::Future;

use lms_kernel::{Email, GroupId, TenantId, UnitId, UserId, UserStatus};
use uuid::Uuid;

use super::units::UnitRecord;
use super::users::{EmploymentRecord, UserRecord};
use super::{NewEvent, StoreError};

/// A user as an import sees them: matched by external id.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ImportedUser {
    /// Their id.
    pub id: UserId,
    /// Sign-in address, when not anonymised.
    pub email: Option<String>,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Custom field values, as stored (JSON).
    pub custom_fields: String,
    /// Their main employment.
    pub main: Option<EmploymentRecord>,
    /// Their other employments.
    pub others: Vec<EmploymentRecord>,
    /// Their team.
    pub primary_group: Option<GroupId>,
    /// The role the people-data feed last gave them.
    pub feed_role: Option<String>,
    /// Lifecycle.
    pub status: UserStatus,
}

/// What an import needs to know of the tenant, read once before it starts.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ImportSnapshot {
    /// Users with an external id, by it.
    pub users: std::collections::HashMap<String, ImportedUser>,
    /// Every sign-in address in use, with the external id of its user (if any).
    pub emails: std::collections::HashMap<String, Option<String>>,
    /// Units with an external id, by it.
    pub units: std::collections::HashMap<String, UnitRecord>,
    /// Groups with an external id, by it.
    pub groups: std::collections::HashMap<String, GroupId>,
    /// Every unit's parent, external id or not: the tree an import's parents must keep acyclic.
    pub unit_parents: std::collections::HashMap<UnitId, Option<UnitId>>,
}

/// A change an import makes to an existing user.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ImportedChange {
    /// The user.
    pub user: UserId,
    /// New profile values.
    pub email: Email,
    /// New given name.
    pub given_name: String,
    /// New family name.
    pub family_name: String,
    /// New custom field values (JSON).
    pub custom_fields: String,
    /// A new main employment, replacing (ending) the current main one.
    pub new_main: Option<EmploymentRecord>,
    /// The main employment to end at the new one's start.
    pub end_main: Option<Uuid>,
    /// A new primary group.
    pub primary_group: Option<GroupId>,
    /// The feed's role now.
    pub feed_role: Option<String>,
}

/// One transaction of an import.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ImportBatch {
    /// New users, each with their main employment, their team and the feed's role.
    pub created: Vec<(UserRecord, EmploymentRecord, Option<String>)>,
    /// Changed users.
    pub changed: Vec<ImportedChange>,
    /// New units (accounts, account groups).
    pub units: Vec<UnitRecord>,
    /// Renamed or moved units: id, name, parent.
    pub units_changed: Vec<(UnitId, String, Option<UnitId>)>,
    /// Events for authorization.
    pub events: Vec<NewEvent>,
}

/// Imports: the snapshot rows are matched against, and batches applied whole.
pub trait ImportStore: Send + Sync + 'static {
    /// What an import matches rows against.
    fn import_snapshot(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<ImportSnapshot, StoreError>> + Send;

    /// Applies one batch of an import in one transaction; the roles it gives or takes are
    /// marked as given on behalf of `by`.
    fn apply_import(
        &self,
        tenant: TenantId,
        batch: &ImportBatch,
        by: &Actor,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
