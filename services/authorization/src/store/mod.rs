//! The authorization store: role definitions, assignments, the audit trail and the relationship
//! facts decisions read. One port per aggregate ([`RoleStore`], [`FactStore`], [`DecisionStore`],
//! together [`Store`]), implemented once in plain SQL for PostgreSQL and SQLite ([`sql`]), and
//! one conformance suite run against both.
//!
//! Every write runs in one transaction that also bumps the tenant's revision, so the revision a
//! write returns is exactly the state a consistency token names.

mod decisions;
mod facts;
mod records;
mod roles;
mod sql;

pub use decisions::{DecisionStore, HeldCustomRole, ResourceRows, SubjectRows};
pub use facts::{
    Applied, Change, End, FactBatch, FactStore, RelatedFilter, Relationship, RelationshipFilter,
    SubjectStatus,
};
pub use records::RecordStore;
pub use roles::{
    AssignmentRecord, AuditEntry, AuditRecord, Guarded, ObjectType, RoleRecord, RoleStore, Source,
    Stamp,
};
pub use sql::{PgStore, SqlStore, SqliteStore, grants_to_text as grants_text};

/// A tenant's revision: increases with every write that can change a decision.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default)]
pub struct Revision(pub i64);

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

/// The whole port: what the service's core holds. Implemented for every type that implements
/// the three parts.
pub trait Store: RoleStore + FactStore + DecisionStore {}

impl<S: RoleStore + FactStore + DecisionStore> Store for S {}

#[cfg(test)]
pub(crate) mod conformance;
