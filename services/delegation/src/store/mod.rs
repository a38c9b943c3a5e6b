//! The delegation store: courses with their lessons ([`CourseStore`]), catalogues
//! ([`CatalogueStore`]), the responsibilities on
//! courses and events ([`ResponsibilityStore`]), enrolments with their requests and progress
//! ([`EnrolmentStore`]), events with their bookings and competency sign-offs ([`EventStore`]),
//! shop orders and invitations ([`PurchaseStore`]), content grants to client tenants
//! ([`GrantStore`]), reading the audit trail ([`AuditStore`]), and the outbox. One port per
//! aggregate, each record beside its port; implemented once in plain SQL for PostgreSQL and
//! SQLite ([`sql`]), with one conformance suite run against both.
//!
//! Every write that decisions depend on commits its outbox row in the same transaction, so a
//! change is either saved with the event that tells authorization, or not at all; every audited
//! write commits its audit record the same way.

mod audit;
mod catalogues;
mod courses;
pub(crate) mod enrolments;
mod events;
mod grants;
mod notifications;
mod purchases;
mod records;
mod responsibilities;
mod sql;

pub use audit::AuditStore;
pub use catalogues::{Audience, CatalogueFilter, CatalogueRecord, CatalogueStore, Changed, Offers};
pub use courses::{CourseChange, CourseFilter, CourseRecord, CourseStore, LessonRecord, Removed};
pub use enrolments::{
    Asked, EnrolmentFilter, EnrolmentRecord, EnrolmentStore, Made, Recorded, Report, RequestRecord,
    ToEnrol, Verdict, Withdrawn,
};
pub use events::{
    Booked, BookingCursor, BookingFilter, BookingRecord, BookingTimes, CompetencyFilter,
    CompetencyRecord, EventCalledOff, EventFilter, EventRecord, EventStore, Tally, ToBook,
    Unbooked,
};
pub use grants::{GrantFilter, GrantRecord, GrantStore, Takeable};
pub use lms_runtime::outbox::NewEvent;
pub use notifications::{NotificationFilter, NotificationRecord, NotificationStore};
pub use purchases::{
    Acceptance, InvitationRecord, InvitationState, Invited, OrderRecord, Placed, PurchaseStore,
    ToInvite, same_delivery,
};
pub use records::{FactKind, RecordKind, RecordStore};
pub use responsibilities::{ResponsibilityFilter, ResponsibilityRecord, ResponsibilityStore};
pub use sql::{PgStore, SqlStore, SqliteStore};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Something the change refers to does not exist (or was deleted concurrently).
    #[error("{what} {id} not found")]
    Missing {
        /// What kind of record, for example `course`.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The record's state forbids the change (FAILED_PRECONDITION with this reason).
    #[error("{message}")]
    Refused {
        /// Stable reason code, for example `ARCHIVED`.
        reason: &'static str,
        /// Explanation for people.
        message: String,
    },
    /// The change is invalid given what is stored (INVALID_ARGUMENT naming the field).
    #[error("{field} {message}")]
    Invalid {
        /// The request field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Stored data does not parse (a bug or a manual edit).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The database failed or is unreachable.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// The whole port: what the service's core holds.
pub trait Store:
    CourseStore
    + CatalogueStore
    + ResponsibilityStore
    + EnrolmentStore
    + EventStore
    + NotificationStore
    + PurchaseStore
    + GrantStore
    + AuditStore
    + RecordStore
{
}

impl<S> Store for S where
    S: CourseStore
        + CatalogueStore
        + ResponsibilityStore
        + EnrolmentStore
        + EventStore
        + NotificationStore
        + PurchaseStore
        + GrantStore
        + AuditStore
        + RecordStore
{
}

#[cfg(test)]
mod conformance;
