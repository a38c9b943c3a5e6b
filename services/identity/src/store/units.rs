//! The unit tree: locations, accounts, account groups and the Guest account.

use crate::audit::Audit;
use std::future::Future;

use lms_kernel::{TenantId, UnitError, UnitId, UnitKind};

use super::{NewEvent, StoreError};

/// A unit as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UnitRecord {
    /// Its id.
    pub id: UnitId,
    /// Its kind.
    pub kind: UnitKind,
    /// Display name.
    pub name: String,
    /// Parent, when not a root.
    pub parent: Option<UnitId>,
    /// External id.
    pub external_id: Option<String>,
}

/// Which units a listing keeps, and where its page starts.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct UnitFilter {
    /// Only children of this unit.
    pub parent: Option<UnitId>,
    /// Only this kind.
    pub kind: Option<UnitKind>,
    /// Only units after this id (the previous page's last).
    pub after: Option<UnitId>,
}

/// What moving a unit found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Moved {
    /// Moved; the unit as it was before.
    Moved(UnitRecord),
    /// No such unit, or no such new parent.
    NotFound(UnitId),
    /// The new parent is the unit or lies below it.
    Cycle,
    /// The unit rules refuse the move for another reason (its kind under the new parent's).
    Refused(UnitError),
}

/// What deleting a unit found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Deleted {
    /// Deleted; the unit as it was.
    Deleted(UnitRecord),
    /// No such unit.
    NotFound,
    /// It has child units.
    HasChildren,
    /// People are employed there now.
    HasEmployees,
    /// The unit rules refuse it for another reason (the Guest account).
    Refused(UnitError),
}

/// A tenant's unit tree: accounts, account groups, locations and the Guest account.
pub trait UnitStore: Send + Sync + 'static {
    /// A unit.
    fn unit(
        &self,
        tenant: TenantId,
        unit: UnitId,
    ) -> impl Future<Output = Result<Option<UnitRecord>, StoreError>> + Send;

    /// Creates a unit under its parent (which must exist).
    fn create_unit(
        &self,
        tenant: TenantId,
        unit: &UnitRecord,
        events: &[NewEvent],
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Units in id order.
    fn units(
        &self,
        tenant: TenantId,
        filter: UnitFilter,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<UnitRecord>, StoreError>> + Send;

    /// Renames a unit; `None` when there is no such unit.
    fn rename_unit(
        &self,
        tenant: TenantId,
        unit: UnitId,
        name: &str,
        audit: &Audit,
    ) -> impl Future<Output = Result<Option<UnitRecord>, StoreError>> + Send;

    /// Moves a unit under `parent` (a root when `None`) if the unit rules allow it (read in
    /// the transaction: the new parent's kind and ancestors), with
    /// the events `events` builds from the unit as it was, in one transaction that serialises
    /// the tenant's tree changes.
    fn move_unit<F>(
        &self,
        tenant: TenantId,
        unit: UnitId,
        parent: Option<UnitId>,
        audit: &Audit,
        events: F,
    ) -> impl Future<Output = Result<Moved, StoreError>> + Send
    where
        F: FnOnce(&UnitRecord) -> Vec<NewEvent> + Send;

    /// Deletes a unit if the unit rules allow it, given its children and the people employed
    /// there at `now` (counted in the transaction).
    fn delete_unit<F>(
        &self,
        tenant: TenantId,
        unit: UnitId,
        now: i64,
        audit: &Audit,
        events: F,
    ) -> impl Future<Output = Result<Deleted, StoreError>> + Send
    where
        F: FnOnce(&UnitRecord) -> Vec<NewEvent> + Send;

    /// The tenant's Guest account.
    fn guest_account(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Option<UnitRecord>, StoreError>> + Send;
}
