//! Events and bookings as state machines (DESIGN.md §6): whether an event takes bookings, where
//! a new booking lands (asked for approval, booked, or waitlisted when the places are taken),
//! how a request is decided, what may be cancelled, and when attendance may be marked.
//!
//! A booking's life: `requested` → `booked` | `waitlisted` | `declined`; `waitlisted` → `booked`
//! (in arrival order, as places free); `requested` | `booked` | `waitlisted` → `cancelled`;
//! after the event opens for attendance, `booked` → `attended` | `partly_attended` | `no_show`,
//! and a mark may be corrected. Declined and cancelled bookings are history: booking again makes
//! a new one.

use std::fmt;

/// How long before an event starts its attendance may be marked (registration at the door).
pub const ATTENDANCE_OPENS_BEFORE_SECONDS: i64 = 30 * 60;

/// When attendance of an event starting at `starts_at` (Unix seconds) may first be marked.
pub const fn attendance_opens_at(starts_at: i64) -> i64 {
    starts_at - ATTENDANCE_OPENS_BEFORE_SECONDS
}

/// Whether an event still happens.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum EventStatus {
    /// It takes bookings until it ends.
    Scheduled,
    /// Called off; its bookings were cancelled with it.
    Cancelled,
}

impl EventStatus {
    /// The status's number, as the API and the stores write it.
    pub const fn code(self) -> i16 {
        match self {
            EventStatus::Scheduled => 1,
            EventStatus::Cancelled => 2,
        }
    }

    /// The status a number names, if any.
    pub const fn from_code(code: i16) -> Option<EventStatus> {
        match code {
            1 => Some(EventStatus::Scheduled),
            2 => Some(EventStatus::Cancelled),
            _ => None,
        }
    }

    /// The status in words.
    pub const fn name(self) -> &'static str {
        match self {
            EventStatus::Scheduled => "scheduled",
            EventStatus::Cancelled => "cancelled",
        }
    }
}

/// Where a booking is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BookingState {
    /// Waiting for an Event Administrator's approval; holds no place.
    Requested,
    /// Holds a place.
    Booked,
    /// The request was refused.
    Declined,
    /// Waiting for a place, in arrival order.
    Waitlisted,
    /// Taken back (by the learner, their manager, the event's administrators, or with the
    /// event).
    Cancelled,
    /// Was there.
    Attended,
    /// Was there for part of it.
    PartlyAttended,
    /// Held a place and did not come.
    NoShow,
}

impl BookingState {
    /// Every state, in code order.
    pub const ALL: [BookingState; 8] = [
        BookingState::Requested,
        BookingState::Booked,
        BookingState::Declined,
        BookingState::Waitlisted,
        BookingState::Cancelled,
        BookingState::Attended,
        BookingState::PartlyAttended,
        BookingState::NoShow,
    ];

    /// The state's number, as the API and the stores write it.
    pub const fn code(self) -> i16 {
        match self {
            BookingState::Requested => 1,
            BookingState::Booked => 2,
            BookingState::Declined => 3,
            BookingState::Waitlisted => 4,
            BookingState::Cancelled => 5,
            BookingState::Attended => 6,
            BookingState::PartlyAttended => 7,
            BookingState::NoShow => 8,
        }
    }

    /// The state a number names, if any.
    pub const fn from_code(code: i16) -> Option<BookingState> {
        match code {
            1 => Some(BookingState::Requested),
            2 => Some(BookingState::Booked),
            3 => Some(BookingState::Declined),
            4 => Some(BookingState::Waitlisted),
            5 => Some(BookingState::Cancelled),
            6 => Some(BookingState::Attended),
            7 => Some(BookingState::PartlyAttended),
            8 => Some(BookingState::NoShow),
            _ => None,
        }
    }

    /// The state in words.
    pub const fn name(self) -> &'static str {
        match self {
            BookingState::Requested => "requested",
            BookingState::Booked => "booked",
            BookingState::Declined => "declined",
            BookingState::Waitlisted => "waitlisted",
            BookingState::Cancelled => "cancelled",
            BookingState::Attended => "attended",
            BookingState::PartlyAttended => "partly_attended",
            BookingState::NoShow => "no_show",
        }
    }

    /// The reason code a refusal names when the booking's state forbids a change.
    pub const fn reason(self) -> &'static str {
        match self {
            BookingState::Requested => "BOOKING_REQUESTED",
            BookingState::Booked => "BOOKING_BOOKED",
            BookingState::Declined => "BOOKING_DECLINED",
            BookingState::Waitlisted => "BOOKING_WAITLISTED",
            BookingState::Cancelled => "BOOKING_CANCELLED",
            BookingState::Attended => "BOOKING_ATTENDED",
            BookingState::PartlyAttended => "BOOKING_PARTLY_ATTENDED",
            BookingState::NoShow => "BOOKING_NO_SHOW",
        }
    }

    /// Whether the booking takes one of the event's places (booked, and after the event
    /// whatever its attendance).
    pub const fn holds_place(self) -> bool {
        matches!(
            self,
            BookingState::Booked
                | BookingState::Attended
                | BookingState::PartlyAttended
                | BookingState::NoShow
        )
    }

    /// Whether the booking is current (a person has at most one current booking per event);
    /// declined and cancelled ones are history.
    pub const fn is_current(self) -> bool {
        !matches!(self, BookingState::Declined | BookingState::Cancelled)
    }
}

impl fmt::Display for BookingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What attendance marks.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Attendance {
    /// Was there.
    Attended,
    /// Was there for part of it.
    PartlyAttended,
    /// Did not come.
    NoShow,
}

impl Attendance {
    /// The booking state the mark puts a booking in.
    pub const fn state(self) -> BookingState {
        match self {
            Attendance::Attended => BookingState::Attended,
            Attendance::PartlyAttended => BookingState::PartlyAttended,
            Attendance::NoShow => BookingState::NoShow,
        }
    }
}

/// Why an event or a booking refuses a change. Each names the state it is in, so the refusal
/// (FAILED_PRECONDITION) carries a reason code clients tell apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BookingError {
    /// The event was cancelled.
    #[error("the event is cancelled")]
    EventCancelled,
    /// Every place is taken and the event keeps no waitlist.
    #[error("the event is full and keeps no waitlist")]
    EventFull,
    /// The event has ended: nobody books onto it any more.
    #[error("the event has ended")]
    EventEnded,
    /// Attendance is not open yet.
    #[error("attendance opens half an hour before the event starts (at {opens_at})")]
    AttendanceNotOpen {
        /// When it opens, Unix seconds.
        opens_at: i64,
    },
    /// The booking is in a state the change does not leave from.
    #[error("the booking is {from}; it cannot become {to}")]
    Transition {
        /// Where it is.
        from: BookingState,
        /// Where it was asked to go.
        to: BookingState,
    },
}

impl BookingError {
    /// The stable reason code.
    pub const fn reason(self) -> &'static str {
        match self {
            BookingError::EventCancelled => "EVENT_CANCELLED",
            BookingError::EventFull => "EVENT_FULL",
            BookingError::EventEnded => "EVENT_ENDED",
            BookingError::AttendanceNotOpen { .. } => "ATTENDANCE_NOT_OPEN",
            BookingError::Transition { from, .. } => from.reason(),
        }
    }
}

/// An event's places as they stand under its lock.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Placement {
    /// Places; zero is unlimited.
    pub capacity: u32,
    /// Places taken (bookings that hold one).
    pub taken: u32,
    /// Whether the event keeps a waitlist when full.
    pub waitlist: bool,
}

impl Placement {
    /// Where someone given a place now lands: booked while one is free, else waitlisted, or
    /// refused when the event keeps no waitlist.
    pub const fn seat(self) -> Result<BookingState, BookingError> {
        if self.has_free_place() {
            Ok(BookingState::Booked)
        } else if self.waitlist {
            Ok(BookingState::Waitlisted)
        } else {
            Err(BookingError::EventFull)
        }
    }

    /// Whether a place is free now.
    pub const fn has_free_place(self) -> bool {
        self.capacity == 0 || self.taken < self.capacity
    }
}

/// Fails unless an event of `status` ending at `ends_at` takes bookings at `now`.
pub fn check_bookable(status: EventStatus, ends_at: i64, now: i64) -> Result<(), BookingError> {
    match status {
        EventStatus::Cancelled => Err(BookingError::EventCancelled),
        EventStatus::Scheduled if now >= ends_at => Err(BookingError::EventEnded),
        EventStatus::Scheduled => Ok(()),
    }
}

/// Where a new booking lands: waiting for approval when the event needs it, else a place or
/// the waitlist (refused when full without one).
pub const fn on_booking(
    requires_approval: bool,
    placement: Placement,
) -> Result<BookingState, BookingError> {
    if requires_approval {
        Ok(BookingState::Requested)
    } else {
        placement.seat()
    }
}

/// Where a request lands when decided: approved, a place or the waitlist; else declined.
pub fn decide(
    from: BookingState,
    approve: bool,
    placement: Placement,
) -> Result<BookingState, BookingError> {
    let to = if approve {
        BookingState::Booked
    } else {
        BookingState::Declined
    };
    match from {
        BookingState::Requested if approve => placement.seat(),
        BookingState::Requested => Ok(to),
        _ => Err(BookingError::Transition { from, to }),
    }
}

/// Fails unless a booking in `from` may be cancelled at `now`, on an event ending at `ends_at`:
/// not once decided against, cancelled, or attendance marked, and not after the event (a
/// place held then is marked, not cancelled, and nobody is promoted onto a past event).
pub fn cancel(from: BookingState, ends_at: i64, now: i64) -> Result<(), BookingError> {
    match from {
        BookingState::Requested | BookingState::Booked | BookingState::Waitlisted
            if now >= ends_at =>
        {
            Err(BookingError::EventEnded)
        }
        BookingState::Requested | BookingState::Booked | BookingState::Waitlisted => Ok(()),
        _ => Err(BookingError::Transition {
            from,
            to: BookingState::Cancelled,
        }),
    }
}

/// The state marking `attendance` puts a booking in `from` at `now`, for an event starting at
/// `starts_at`: only a booking holding a place, from half an hour before the start; a mark may
/// be corrected.
pub fn mark(
    from: BookingState,
    attendance: Attendance,
    starts_at: i64,
    now: i64,
) -> Result<BookingState, BookingError> {
    let to = attendance.state();
    if !from.holds_place() {
        return Err(BookingError::Transition { from, to });
    }
    let opens_at = attendance_opens_at(starts_at);
    if now < opens_at {
        return Err(BookingError::AttendanceNotOpen { opens_at });
    }
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: Placement = Placement {
        capacity: 2,
        taken: 2,
        waitlist: true,
    };
    const FULL_NO_WAITLIST: Placement = Placement {
        waitlist: false,
        ..FULL
    };
    const FREE: Placement = Placement {
        capacity: 2,
        taken: 1,
        waitlist: false,
    };
    const UNLIMITED: Placement = Placement {
        capacity: 0,
        taken: 5000,
        waitlist: false,
    };

    #[test]
    fn codes_round_trip_and_name_each_state_once() {
        for state in BookingState::ALL {
            assert_eq!(BookingState::from_code(state.code()), Some(state));
        }
        assert_eq!(BookingState::from_code(0), None);
        let reasons: std::collections::HashSet<_> =
            BookingState::ALL.iter().map(|s| s.reason()).collect();
        assert_eq!(reasons.len(), BookingState::ALL.len());
        for status in [EventStatus::Scheduled, EventStatus::Cancelled] {
            assert_eq!(EventStatus::from_code(status.code()), Some(status));
        }
    }

    #[test]
    fn a_new_booking_takes_a_free_place_waits_when_full_and_asks_when_approval_is_needed() {
        assert_eq!(on_booking(false, FREE), Ok(BookingState::Booked));
        assert_eq!(on_booking(false, FULL), Ok(BookingState::Waitlisted));
        assert_eq!(
            on_booking(false, FULL_NO_WAITLIST),
            Err(BookingError::EventFull)
        );
        assert_eq!(on_booking(false, UNLIMITED), Ok(BookingState::Booked));
        assert_eq!(on_booking(true, FREE), Ok(BookingState::Requested));
        assert_eq!(
            on_booking(true, FULL_NO_WAITLIST),
            Ok(BookingState::Requested)
        );
    }

    #[test]
    fn only_a_request_is_decided_and_approval_into_a_full_event_waits() {
        assert_eq!(
            decide(BookingState::Requested, true, FREE),
            Ok(BookingState::Booked)
        );
        assert_eq!(
            decide(BookingState::Requested, true, FULL),
            Ok(BookingState::Waitlisted)
        );
        assert_eq!(
            decide(BookingState::Requested, false, FULL),
            Ok(BookingState::Declined)
        );
        assert_eq!(
            decide(BookingState::Requested, true, FULL_NO_WAITLIST),
            Err(BookingError::EventFull),
            "the request stays, to be approved when a place frees"
        );
        for from in BookingState::ALL {
            if from != BookingState::Requested {
                let error = decide(from, true, FREE).unwrap_err();
                assert_eq!(error.reason(), from.reason());
            }
        }
    }

    #[test]
    fn current_bookings_cancel_until_the_event_ends_and_history_never() {
        for from in BookingState::ALL {
            let cancellable = matches!(
                from,
                BookingState::Requested | BookingState::Booked | BookingState::Waitlisted
            );
            assert_eq!(cancel(from, 100, 99).is_ok(), cancellable, "{from}");
            if cancellable {
                assert_eq!(cancel(from, 100, 100), Err(BookingError::EventEnded));
            }
        }
    }

    #[test]
    fn attendance_opens_half_an_hour_before_and_only_for_places_held() {
        let start = 10_000;
        let opens = attendance_opens_at(start);
        assert_eq!(
            mark(BookingState::Booked, Attendance::Attended, start, opens - 1),
            Err(BookingError::AttendanceNotOpen { opens_at: opens })
        );
        assert_eq!(
            mark(BookingState::Booked, Attendance::NoShow, start, opens),
            Ok(BookingState::NoShow)
        );
        assert_eq!(
            mark(
                BookingState::NoShow,
                Attendance::PartlyAttended,
                start,
                start
            ),
            Ok(BookingState::PartlyAttended),
            "a mark is corrected"
        );
        for from in [
            BookingState::Requested,
            BookingState::Waitlisted,
            BookingState::Declined,
            BookingState::Cancelled,
        ] {
            assert!(mark(from, Attendance::Attended, start, start).is_err());
        }
    }

    #[test]
    fn a_cancelled_or_ended_event_takes_no_bookings() {
        assert_eq!(
            check_bookable(EventStatus::Cancelled, 100, 0),
            Err(BookingError::EventCancelled)
        );
        assert_eq!(
            check_bookable(EventStatus::Scheduled, 100, 100),
            Err(BookingError::EventEnded)
        );
        assert_eq!(check_bookable(EventStatus::Scheduled, 100, 99), Ok(()));
    }

    #[test]
    fn places_are_held_by_bookings_with_a_seat_and_current_ones_exclude_history() {
        let holding: Vec<_> = BookingState::ALL
            .into_iter()
            .filter(|s| s.holds_place())
            .collect();
        assert_eq!(
            holding,
            [
                BookingState::Booked,
                BookingState::Attended,
                BookingState::PartlyAttended,
                BookingState::NoShow
            ]
        );
        assert!(holding.iter().all(|s| s.is_current()));
        assert!(!BookingState::Declined.is_current());
        assert!(!BookingState::Cancelled.is_current());
        assert!(!FULL.has_free_place() && FREE.has_free_place() && UNLIMITED.has_free_place());
        assert_eq!(BookingError::EventFull.reason(), "EVENT_FULL");
    }

    mod model {
        use proptest::prelude::*;

        use super::super::*;

        /// What happens to an event, in order.
        #[derive(Clone, Debug)]
        enum Step {
            /// Someone new books.
            Book,
            /// The n-th booking's request is decided.
            Decide(usize, bool),
            /// The n-th booking is cancelled.
            Cancel(usize),
        }

        fn step() -> impl Strategy<Value = Step> {
            prop_oneof![
                3 => Just(Step::Book),
                1 => (0usize..40, any::<bool>()).prop_map(|(n, approve)| Step::Decide(n, approve)),
                2 => (0usize..40).prop_map(Step::Cancel),
            ]
        }

        proptest! {
            /// Any sequence of bookings, decisions and cancellations, applied as the stores apply
            /// them (a freed place goes to the first waiting): the places held never exceed the
            /// capacity, and nobody waits while a place is free.
            #[test]
            fn places_are_never_exceeded_and_nobody_waits_for_a_free_place(
                capacity in 0u32..5,
                requires_approval in any::<bool>(),
                waitlist in any::<bool>(),
                steps in proptest::collection::vec(step(), 1..40),
            ) {
                let mut bookings: Vec<BookingState> = Vec::new();
                let placement = |bookings: &[BookingState]| Placement {
                    capacity,
                    taken: bookings.iter().filter(|s| s.holds_place()).count() as u32,
                    waitlist,
                };
                for step in steps {
                    match step {
                        Step::Book => {
                            if let Ok(state) = on_booking(requires_approval, placement(&bookings)) {
                                bookings.push(state);
                            }
                        }
                        Step::Decide(n, approve) if n < bookings.len() => {
                            if let Ok(to) = decide(bookings[n], approve, placement(&bookings)) {
                                bookings[n] = to;
                            }
                        }
                        Step::Cancel(n) if n < bookings.len() => {
                            let was = bookings[n];
                            if cancel(was, 100, 0).is_ok() {
                                bookings[n] = BookingState::Cancelled;
                                let first = bookings.iter().position(|s| *s == BookingState::Waitlisted);
                                if was.holds_place()
                                    && placement(&bookings).has_free_place()
                                    && let Some(first) = first
                                {
                                    bookings[first] = BookingState::Booked;
                                }
                            }
                        }
                        Step::Decide(..) | Step::Cancel(_) => {}
                    }
                    let now = placement(&bookings);
                    if capacity > 0 {
                        prop_assert!(now.taken <= capacity, "{bookings:?}");
                    }
                    let waiting = bookings.contains(&BookingState::Waitlisted);
                    prop_assert!(!(waiting && now.has_free_place()), "{bookings:?}");
                    prop_assert!(waitlist || !waiting, "no waitlist, nobody waits");
                }
            }
        }
    }
}
