//! Events of courses, the bookings on them and competency sign-offs.
//!
//! Every booking write takes its event's lock first, so the places an event has and the order
//! of its waitlist hold under any number of concurrent bookers, also on several replicas; the
//! partial unique index on current bookings is the guard behind "one current booking per person
//! and event". The rules are the kernel's (`lms_kernel::booking`): the store reads what they
//! need under the lock, asks them, and writes what they answer.

use std::future::Future;

use lms_kernel::{
    Attendance, BookingId, BookingState, CompetencyCheckId, CourseId, EventId, EventStatus,
    TenantId, UserId,
};

use super::{NewEvent, StoreError};
use crate::audit::Audit;

/// An event as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EventRecord {
    /// Its id.
    pub id: EventId,
    /// The course it is a session of.
    pub course: CourseId,
    /// Title.
    pub title: String,
    /// Where it takes place.
    pub place: String,
    /// Start, Unix seconds.
    pub starts_at: i64,
    /// End, Unix seconds; after the start.
    pub ends_at: i64,
    /// Places; zero is unlimited.
    pub capacity: u32,
    /// Bookings wait for approval.
    pub requires_approval: bool,
    /// A full event waitlists (else it refuses further bookings).
    pub waitlist: bool,
    /// Scheduled or cancelled.
    pub status: EventStatus,
    /// Who created it (a user id or a service name).
    pub created_by: String,
    /// When, Unix seconds.
    pub created_at: i64,
    /// When it was cancelled.
    pub cancelled_at: Option<i64>,
}

/// How an event's bookings stand.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Tally {
    /// Places taken.
    pub booked: u32,
    /// Waiting for a place.
    pub waitlisted: u32,
    /// Waiting for approval.
    pub requested: u32,
}

/// A booking as stored, with the time of each state it reached.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BookingRecord {
    /// Its id.
    pub id: BookingId,
    /// The event.
    pub event: EventId,
    /// The learner.
    pub user: UserId,
    /// Where it is.
    pub state: BookingState,
    /// Who booked (a user id, or `service:<account>`).
    pub booked_by: String,
    /// Order of arrival on the event: the waitlist's order.
    pub arrival: i64,
    /// When each state was reached, Unix seconds.
    pub times: BookingTimes,
}

/// When a booking reached each state (each at most once in its life; attendance is the time of
/// the last mark).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct BookingTimes {
    /// Asked for approval.
    pub requested: Option<i64>,
    /// Given a place.
    pub booked: Option<i64>,
    /// Refused.
    pub declined: Option<i64>,
    /// Put on the waitlist.
    pub waitlisted: Option<i64>,
    /// Cancelled.
    pub cancelled: Option<i64>,
    /// Attendance marked.
    pub attendance: Option<i64>,
}

impl BookingRecord {
    /// Records `state` reached at `at`.
    pub fn moved_to(&mut self, state: BookingState, at: i64) {
        self.state = state;
        let slot = match state {
            BookingState::Requested => &mut self.times.requested,
            BookingState::Booked => &mut self.times.booked,
            BookingState::Declined => &mut self.times.declined,
            BookingState::Waitlisted => &mut self.times.waitlisted,
            BookingState::Cancelled => &mut self.times.cancelled,
            BookingState::Attended | BookingState::PartlyAttended | BookingState::NoShow => {
                &mut self.times.attendance
            }
        };
        *slot = Some(at);
    }

    /// Every state it reached and when, in order; the last is its state now.
    pub fn history(&self) -> Vec<(BookingState, i64)> {
        let t = self.times;
        let mut steps: Vec<(BookingState, i64)> = [
            (BookingState::Requested, t.requested),
            (BookingState::Waitlisted, t.waitlisted),
            (BookingState::Booked, t.booked),
            (BookingState::Declined, t.declined),
            (BookingState::Cancelled, t.cancelled),
        ]
        .into_iter()
        .filter_map(|(state, at)| at.map(|at| (state, at)))
        .collect();
        if let Some(at) = t.attendance {
            steps.push((self.state, at));
        }
        // Same-second steps keep the order of the list above, which is the machine's order.
        steps.sort_by_key(|(_, at)| *at);
        steps
    }
}

/// A person to book onto an event.
#[derive(Clone, Copy, Debug)]
pub struct ToBook<'a> {
    /// The event.
    pub event: EventId,
    /// The learner.
    pub user: UserId,
    /// Who books (a user id, or `service:<account>`).
    pub by: &'a str,
    /// Now, Unix seconds.
    pub at: i64,
}

/// What booking did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Booked {
    /// The person's current booking.
    pub booking: BookingRecord,
    /// False when it was there already.
    pub created: bool,
}

/// What cancelling a booking did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Unbooked {
    /// The booking, cancelled.
    pub booking: BookingRecord,
    /// The state it was in.
    pub was: BookingState,
    /// The first waitlisted booking, given the place it freed.
    pub promoted: Option<BookingRecord>,
}

/// What cancelling an event did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EventCalledOff {
    /// The event, cancelled.
    pub event: EventRecord,
    /// Its current bookings, cancelled with it, each with the state it was in.
    pub bookings: Vec<(BookingRecord, BookingState)>,
}

/// Which events a listing reads, in id (creation) order.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    /// Only these (the ones the caller may see); `None`: all.
    pub only: Option<Vec<EventId>>,
    /// Only this course's.
    pub course: Option<CourseId>,
    /// Those after this id.
    pub after: Option<EventId>,
}

/// Which bookings a listing reads.
#[derive(Clone, Copy, Debug, Default)]
pub struct BookingFilter {
    /// Only this event's, by arrival.
    pub event: Option<EventId>,
    /// Only this person's (newest first, unless narrowed to an event).
    pub user: Option<UserId>,
    /// Only in this state.
    pub state: Option<BookingState>,
    /// Those after this position (an arrival on an event, else a booking id's place in the
    /// newest-first order): the page token.
    pub after: Option<BookingCursor>,
}

/// Where a page of bookings starts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BookingCursor {
    /// After this arrival on the event.
    Arrival(i64),
    /// Older than this booking.
    Before(BookingId),
}

/// A competency signed off.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CompetencyRecord {
    /// Its id.
    pub id: CompetencyCheckId,
    /// The course.
    pub course: CourseId,
    /// The learner.
    pub user: UserId,
    /// The tutor's note.
    pub note: String,
    /// Who signed off.
    pub signed_off_by: String,
    /// When, Unix seconds.
    pub signed_off_at: i64,
}

/// Which competency checks a listing reads, in id order.
#[derive(Clone, Copy, Debug, Default)]
pub struct CompetencyFilter {
    /// Only this course's.
    pub course: Option<CourseId>,
    /// Only this person's.
    pub user: Option<UserId>,
    /// Those after this id.
    pub after: Option<CompetencyCheckId>,
}

/// Events, bookings and competency checks. Every method reads and writes within one tenant.
pub trait EventStore: Send + Sync + 'static {
    /// Creates an event of an active course, with its events. A missing or archived course is
    /// refused. The course is archived, never erased, from then on: its events have a history.
    fn create_event(
        &self,
        tenant: TenantId,
        event: &EventRecord,
        events: &[NewEvent],
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// An event with how its bookings stand.
    fn event(
        &self,
        tenant: TenantId,
        event: EventId,
    ) -> impl Future<Output = Result<Option<(EventRecord, Tally)>, StoreError>> + Send;

    /// At most `limit` events matching `filter`, with how their bookings stand.
    fn events(
        &self,
        tenant: TenantId,
        filter: &EventFilter,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(EventRecord, Tally)>, StoreError>> + Send;

    /// Cancels a scheduled event and its current bookings at `at`; `None` when there is no
    /// such event; a cancelled one is refused (`EVENT_CANCELLED`).
    fn cancel_event<F>(
        &self,
        tenant: TenantId,
        event: EventId,
        at: i64,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Option<EventCalledOff>, StoreError>> + Send
    where
        F: FnOnce(&EventCalledOff) -> Vec<NewEvent> + Send;

    /// Books `what.user` onto the event under its lock: a request when the event needs
    /// approval, a place while one is free, else the waitlist. A person with a current booking
    /// gets it back unchanged (`created: false`, no events). Refused when the event is missing
    /// (`Missing`), cancelled or over, or its course archived.
    fn book<F>(
        &self,
        tenant: TenantId,
        what: ToBook<'_>,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Booked, StoreError>> + Send
    where
        F: FnOnce(&EventRecord, &BookingRecord) -> Vec<NewEvent> + Send;

    /// A booking with its event.
    fn booking(
        &self,
        tenant: TenantId,
        booking: BookingId,
    ) -> impl Future<Output = Result<Option<(BookingRecord, EventRecord)>, StoreError>> + Send;

    /// Approves (a place, or the waitlist when full) or declines a requested booking under its
    /// event's lock; other states are refused naming theirs.
    fn decide_booking<F>(
        &self,
        tenant: TenantId,
        booking: BookingId,
        approve: bool,
        at: i64,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<BookingRecord, StoreError>> + Send
    where
        F: FnOnce(&EventRecord, &BookingRecord) -> Vec<NewEvent> + Send;

    /// Cancels a current booking under its event's lock; a place it held goes to the first
    /// waitlisted booking, in arrival order.
    fn cancel_booking<F>(
        &self,
        tenant: TenantId,
        booking: BookingId,
        at: i64,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Unbooked, StoreError>> + Send
    where
        F: FnOnce(&EventRecord, &Unbooked) -> Vec<NewEvent> + Send;

    /// Marks attendance of a booking that holds a place, from half an hour before its event
    /// starts (`now`).
    fn mark_attendance(
        &self,
        tenant: TenantId,
        booking: BookingId,
        attendance: Attendance,
        now: i64,
        audit: &Audit,
    ) -> impl Future<Output = Result<BookingRecord, StoreError>> + Send;

    /// At most `limit` bookings matching `filter`.
    fn bookings(
        &self,
        tenant: TenantId,
        filter: &BookingFilter,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<BookingRecord>, StoreError>> + Send;

    /// Signs off `check` unless the learner's competency on the course was signed off already
    /// (then answers that one, `false`). Refused (`NOT_ENROLLED`) unless the learner is or was
    /// enrolled on the course.
    fn sign_off<F>(
        &self,
        tenant: TenantId,
        check: &CompetencyRecord,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<(CompetencyRecord, bool), StoreError>> + Send
    where
        F: FnOnce(&CompetencyRecord) -> Vec<NewEvent> + Send;

    /// At most `limit` competency checks matching `filter`.
    fn competency_checks(
        &self,
        tenant: TenantId,
        filter: &CompetencyFilter,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<CompetencyRecord>, StoreError>> + Send;
}
