//! The identity store: tenants, units, groups, users with their employments and credentials,
//! signing keys, sign-in sessions and the outbox. One port per aggregate ([`TenantStore`],
//! [`UnitStore`], [`GroupStore`], [`UserStore`], [`CredentialStore`], [`ImportStore`], together
//! [`Store`]), each record beside its port; implemented once in plain SQL for PostgreSQL and
//! SQLite ([`sql`]), and one conformance suite run against both.
//!
//! Every write that decisions depend on commits its outbox row in the same transaction, so a
//! change is either saved with the event that tells authorization, or not at all.

mod audit;
mod credentials;
mod groups;
mod import;
mod records;
mod reseal;
mod sql;
mod tenants;
mod units;
mod users;

pub use audit::AuditStore;
pub use credentials::{
    AccountOwner, AccountReach, AccountSecret, Attempt, CredentialStore, MfaChallenge, Redeemed,
    RefreshRecord, ServiceAccountRecord, TotpState,
};
pub use groups::{CustomField, GroupRecord, GroupStore, NamedManager};
pub use import::{ImportBatch, ImportSnapshot, ImportStore, ImportedChange, ImportedUser};
use lms_kernel::{AccountKind, UnitKind, UserStatus};
pub use lms_runtime::outbox::NewEvent;
pub use records::{FactKind, RecordStore};
pub use reseal::{ResealStore, Resealed};
pub use sql::{PgStore, SqlStore, SqliteStore};
pub use tenants::{TenantRecord, TenantStore};
pub use units::{Deleted, Moved, UnitFilter, UnitRecord, UnitStore};
pub use users::{
    EmploymentChange, EmploymentRecord, UserChange, UserFilter, UserRecord, UserStore,
};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A record with that value exists in the tenant (a user's email, a unit's external id).
    #[error("a {resource} with that {field} exists")]
    Duplicate {
        /// What kind of record, for example `user`.
        resource: &'static str,
        /// The field whose value is taken.
        field: &'static str,
    },
    /// Something the change refers to does not exist (or was deleted concurrently).
    #[error("{what} {id} not found")]
    Missing {
        /// What kind of record, for example `group`.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The record's state forbids the change (FAILED_PRECONDITION with this reason).
    #[error("{message}")]
    Refused {
        /// Stable reason code, for example `NOT_SUSPENDED`.
        reason: &'static str,
        /// Explanation for people.
        message: String,
    },
    /// The record still holds something, so the change is refused (a group with members).
    #[error("{0}")]
    NotEmpty(&'static str),
    /// Stored data does not parse (a bug or a manual edit).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The database failed or is unreachable.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// The whole port: what the service's core holds. Implemented for every type that implements
/// the six parts, so a `S: Store` bound brings every method into scope.
pub trait Store:
    TenantStore
    + UnitStore
    + GroupStore
    + UserStore
    + CredentialStore
    + ImportStore
    + AuditStore
    + ResealStore
    + RecordStore
{
}

impl<S> Store for S where
    S: TenantStore
        + UnitStore
        + GroupStore
        + UserStore
        + CredentialStore
        + ImportStore
        + AuditStore
        + ResealStore
        + RecordStore
{
}

/// The status a stored number names.
fn status_from_number(value: i16) -> Result<UserStatus, StoreError> {
    UserStatus::from_code(value).ok_or_else(|| StoreError::Corrupt(format!("user status {value}")))
}

/// The unit kind a stored number names.
fn unit_kind_from_number(value: i16) -> Result<UnitKind, StoreError> {
    UnitKind::from_code(value).ok_or_else(|| StoreError::Corrupt(format!("unit kind {value}")))
}

/// The account kind a stored number names.
fn account_kind_from_number(value: i16) -> Result<AccountKind, StoreError> {
    AccountKind::from_code(value)
        .ok_or_else(|| StoreError::Corrupt(format!("account kind {value}")))
}

#[cfg(test)]
mod conformance;
