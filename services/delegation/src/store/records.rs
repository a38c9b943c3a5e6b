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
}

impl RecordKind {
    /// Every kind, in the order a rebuild sends them.
    pub const ALL: [RecordKind; 6] = [
        RecordKind::Courses,
        RecordKind::Enrolments,
        RecordKind::Events,
        RecordKind::Bookings,
        RecordKind::Competencies,
        RecordKind::Requests,
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
        }
    }
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
}
