//! Re-sending what delegation holds of a tenant to reporting (`lms reporting rebuild`, see
//! `lms_runtime::outbox::rebuild`).

use std::future::Future;

use lms_kernel::TenantId;
use lms_runtime::outbox::topic;
use uuid::Uuid;

use super::StoreError;

/// Which of delegation's records a rebuild re-sends: one table each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// Courses (`reporting.course`).
    Courses,
    /// Enrolments (`reporting.enrolments`).
    Enrolments,
    /// Events of courses (`reporting.event`).
    Events,
    /// Bookings onto events (`reporting.bookings`).
    Bookings,
    /// Competency sign-offs (`reporting.competency`).
    Competencies,
    /// Enrolment requests (`reporting.enrolment_request`).
    Requests,
    /// Shop orders with their invitations counted (`reporting.order`).
    Orders,
}

impl RecordKind {
    /// Every kind, in the order a rebuild sends them.
    pub const ALL: [RecordKind; 7] = [
        RecordKind::Courses,
        RecordKind::Enrolments,
        RecordKind::Events,
        RecordKind::Bookings,
        RecordKind::Competencies,
        RecordKind::Requests,
        RecordKind::Orders,
    ];

    /// The topic its records travel under.
    pub fn topic(self) -> &'static str {
        match self {
            RecordKind::Courses => topic::COURSE,
            RecordKind::Enrolments => topic::ENROLMENTS,
            RecordKind::Events => topic::EVENT,
            RecordKind::Bookings => topic::BOOKINGS,
            RecordKind::Competencies => topic::COMPETENCY,
            RecordKind::Requests => topic::ENROLMENT_REQUEST,
            RecordKind::Orders => topic::ORDER,
        }
    }
}

/// Which of delegation's relationship facts a rebuild re-sends (as `reporting.facts`): the
/// facts as they hold now, read from the rows that hold them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactKind {
    /// The unit owning each course (courses, by course).
    OwningUnits,
    /// The course of each lesson (lessons, by lesson).
    Lessons,
    /// Tutors, course and event administrators (responsibilities, by course or event).
    Responsibilities,
    /// Learners enrolled on a course (enrolments that count, by enrolment).
    Enrolled,
    /// The course of each event (events, by event).
    Events,
    /// Learners holding a place on an event (bookings, by booking).
    Booked,
    /// Courses a catalogue offers to a person (catalogue learners, by person).
    Offered,
    /// A Purchaser's invitees who accepted (invitations, by invitation).
    Invitees,
    /// Courses a master grants this tenant (content grants to it, by grant).
    Grants,
}

impl FactKind {
    /// Every kind, in the order a rebuild sends them.
    pub const ALL: [FactKind; 9] = [
        FactKind::OwningUnits,
        FactKind::Lessons,
        FactKind::Responsibilities,
        FactKind::Enrolled,
        FactKind::Events,
        FactKind::Booked,
        FactKind::Offered,
        FactKind::Invitees,
        FactKind::Grants,
    ];
}

/// Re-sending records, a chunk at a time.
pub trait RecordStore: Send + Sync + 'static {
    /// Appends, as record events, at most `limit` of the tenant's `kind` records with ids after
    /// `after`, in id order, read in the appending transaction under the tenant's order lock
    /// (so no change committed after the chunk is older than it); answers how many and the
    /// last id, `None` when there were none left.
    fn republish(
        &self,
        tenant: TenantId,
        kind: RecordKind,
        after: Option<Uuid>,
        limit: i64,
    ) -> impl Future<Output = Result<(usize, Option<Uuid>), StoreError>> + Send;

    /// Appends, as facts for reporting alone, the `kind` facts of at most `limit` of the
    /// tenant's rows (or objects) with keys after `after`, in key order, under the same lock
    /// as [`RecordStore::republish`]; answers how many rows and the last key.
    fn republish_facts(
        &self,
        tenant: TenantId,
        kind: FactKind,
        after: Option<Uuid>,
        limit: i64,
    ) -> impl Future<Output = Result<(usize, Option<Uuid>), StoreError>> + Send;
}
