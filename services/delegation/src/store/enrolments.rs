//! Enrolments of learners on courses, the requests of learners for courses that need approval,
//! and the content player's attempts that move enrolments along.

use std::future::Future;

use lms_kernel::enrolment::Score;
use lms_kernel::{
    CourseId, Enrolment, EnrolmentId, EnrolmentRequestId, EnrolmentState, Progress, ProgressEffect,
    RequestState, TenantId, UserId,
};

use super::{NewEvent, StoreError};
use crate::audit::Audit;

/// An enrolment as stored: one learner on one course, from enrolment to completion or
/// withdrawal. Enrolling again after that makes a new one; the old one stays.
#[derive(Clone, PartialEq, Debug)]
pub struct EnrolmentRecord {
    /// Its id.
    pub id: EnrolmentId,
    /// The course.
    pub course: CourseId,
    /// The learner.
    pub user: UserId,
    /// Its state and the time of each transition.
    pub enrolment: Enrolment,
    /// Who enrolled the learner (a user id, or `service:<name>`).
    pub enrolled_by: String,
}

impl EnrolmentRecord {
    /// A new enrolment of `user` on `course` at `at`.
    pub fn new(course: CourseId, user: UserId, enrolled_by: &str, at: i64) -> Self {
        EnrolmentRecord {
            id: EnrolmentId::generate(),
            course,
            user,
            enrolment: Enrolment::new(at),
            enrolled_by: enrolled_by.to_owned(),
        }
    }
}

/// A learner's request to join a course that needs approval.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RequestRecord {
    /// Its id.
    pub id: EnrolmentRequestId,
    /// The course.
    pub course: CourseId,
    /// The learner.
    pub user: UserId,
    /// Waiting, approved or rejected.
    pub state: RequestState,
    /// When asked.
    pub requested_at: i64,
    /// When decided.
    pub decided_at: Option<i64>,
    /// Who decided (a user id).
    pub decided_by: Option<String>,
}

/// Which enrolments or requests a listing reads: a page in id order (the order they were made).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct EnrolmentFilter {
    /// Only on this course.
    pub course: Option<CourseId>,
    /// Only of this learner.
    pub user: Option<UserId>,
    /// Only requests in this state (ignored for enrolments).
    pub request_state: Option<RequestState>,
    /// Ids after this one.
    pub after: Option<uuid::Uuid>,
}

/// Learners to enrol directly on a course, by whom (a user id, or `service:<name>`) and when.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ToEnrol<'a> {
    /// The course.
    pub course: CourseId,
    /// The learners, each once.
    pub users: &'a [UserId],
    /// Who enrols them.
    pub by: &'a str,
    /// When.
    pub at: i64,
}

/// The Course Tutor's decision on a request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Verdict<'a> {
    /// The request.
    pub request: EnrolmentRequestId,
    /// Approve, or reject.
    pub approve: bool,
    /// Who decides (a user id).
    pub by: &'a str,
    /// When.
    pub at: i64,
}

/// What the enrolments made by one write are, for the facts and the answer.
pub type Made = Vec<EnrolmentRecord>;

/// What a learner's own ask to join a course came to.
#[derive(Clone, PartialEq, Debug)]
pub enum Asked {
    /// Enrolled at once.
    Enrolled(EnrolmentRecord),
    /// A request waits for the Course Tutor (a new one, or the one waiting already).
    Requested(RequestRecord),
}

/// A withdrawal: the enrolment as it now stands, and whether the learner still counts as
/// enrolled on the course through another of their enrolments (a completed one).
#[derive(Clone, PartialEq, Debug)]
pub struct Withdrawn {
    /// The enrolment, withdrawn.
    pub enrolment: EnrolmentRecord,
    /// Another enrolment of theirs on the course still counts.
    pub still_enrolled: bool,
}

/// A content player's report.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Report<'a> {
    /// The course.
    pub course: CourseId,
    /// The learner.
    pub user: UserId,
    /// The player's own id of the attempt.
    pub attempt: &'a str,
    /// What happened.
    pub progress: Progress,
    /// When it was received.
    pub at: i64,
}

/// What a report did: the enrolment as it stands after it, and whether it moved.
#[derive(Clone, PartialEq, Debug)]
pub struct Recorded {
    /// The enrolment.
    pub enrolment: EnrolmentRecord,
    /// Moved, or ignored as older news.
    pub effect: ProgressEffect,
}

/// A score as stored.
pub(crate) fn stored_score(score: Option<Score>) -> Option<f64> {
    score.map(|s| f64::from(s.value()))
}

/// Enrolments, requests and attempts. Every method reads and writes within one tenant; every
/// write that changes who counts as enrolled appends the events its `events` builds from what
/// it did, in the same transaction.
pub trait EnrolmentStore: Send + Sync + 'static {
    /// Enrols each learner of `what` who has no open enrolment on its course (the others are
    /// left as they are, so a deployment repeated enrols nobody twice), marks the course as
    /// ever enrolled, and answers the enrolments made. A missing course is `Missing`, an
    /// archived one `Refused` (`ARCHIVED`).
    fn enrol<F>(
        &self,
        tenant: TenantId,
        what: ToEnrol<'_>,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Made, StoreError>> + Send
    where
        F: FnOnce(&[EnrolmentRecord]) -> Vec<NewEvent> + Send;

    /// Withdraws `user` from `course` at `at`: their current enrolment (the kernel's
    /// [`lms_kernel::enrolment::current`]), refused (`ENROLMENT_COMPLETED`, …) when that one is
    /// closed; `None` when they were never enrolled there.
    fn withdraw<F>(
        &self,
        tenant: TenantId,
        course: CourseId,
        user: UserId,
        at: i64,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Option<Withdrawn>, StoreError>> + Send
    where
        F: FnOnce(&Withdrawn) -> Vec<NewEvent> + Send;

    /// A page of enrolments in id order, at most `limit`.
    fn enrolments(
        &self,
        tenant: TenantId,
        filter: EnrolmentFilter,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<EnrolmentRecord>, StoreError>> + Send;

    /// A learner's own ask to join `course` at `at` (the kernel's `admit`): enrolled at once
    /// when the course needs no approval, else a request (the one waiting already, if any).
    /// Refused when they are enrolled (`ALREADY_ENROLLED`) or the course archived; `Missing`
    /// when there is no such course.
    fn ask_to_join<F>(
        &self,
        tenant: TenantId,
        course: CourseId,
        user: UserId,
        at: i64,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Asked, StoreError>> + Send
    where
        F: FnOnce(&[EnrolmentRecord]) -> Vec<NewEvent> + Send;

    /// A request.
    fn enrolment_request(
        &self,
        tenant: TenantId,
        request: EnrolmentRequestId,
    ) -> impl Future<Output = Result<Option<RequestRecord>, StoreError>> + Send;

    /// A page of requests in id order, at most `limit`.
    fn enrolment_requests(
        &self,
        tenant: TenantId,
        filter: EnrolmentFilter,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<RequestRecord>, StoreError>> + Send;

    /// Approves or rejects a waiting request (the kernel's `decide_request`; a decided one is
    /// refused naming its state). An approval enrols the learner unless they are enrolled
    /// already, and is refused on an archived course. `None` when there is no such request.
    fn decide_request<F>(
        &self,
        tenant: TenantId,
        verdict: Verdict<'_>,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Option<(RequestRecord, Option<EnrolmentRecord>)>, StoreError>> + Send
    where
        F: FnOnce(&[EnrolmentRecord]) -> Vec<NewEvent> + Send;

    /// Applies a content player's report (the kernel's `Enrolment::record`). A new attempt id
    /// is bound to the learner's current enrolment on the course; a known one stays with the
    /// enrolment it was first bound to, so a late report of an old attempt never touches a newer
    /// enrolment, and the same report twice changes nothing the second time. `Missing` when the
    /// learner has no enrolment on the course; `Invalid` (`attempt_id`) when the attempt is
    /// another learner's or course's; a withdrawn enrolment or an archived course is `Refused`.
    fn record_progress(
        &self,
        tenant: TenantId,
        report: Report<'_>,
        audit: &Audit,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;
}

/// The state a stored number names.
pub(crate) fn enrolment_state(code: i16) -> Result<EnrolmentState, StoreError> {
    EnrolmentState::from_code(code)
        .ok_or_else(|| StoreError::Corrupt(format!("enrolment state {code}")))
}

/// The request state a stored number names.
pub(crate) fn request_state(code: i16) -> Result<RequestState, StoreError> {
    RequestState::from_code(code)
        .ok_or_else(|| StoreError::Corrupt(format!("enrolment request state {code}")))
}
