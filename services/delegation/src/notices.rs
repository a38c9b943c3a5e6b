//! Notifications (DESIGN §6): what delegation tells the people a change concerns, so a mailer
//! can tell them in turn. Each is kept per recipient, written in the transaction of the change
//! it reports (a change is never saved without its notices, nor a notice without its change),
//! and stays pending until acknowledged. Who hears of what is this module's one table.

use lms_kernel::{BookingState, CourseId, EventId, TenantId, UserId};
use uuid::Uuid;

/// What happened.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum NoticeKind {
    /// A booking waits for approval: for those who approve it.
    BookingRequested,
    /// A place was given: for the learner and the event's administrators.
    BookingMade,
    /// A request was declined: for the learner.
    BookingDeclined,
    /// A booking was cancelled: for the learner and the event's administrators.
    BookingCancelled,
    /// The event was called off: for each learner booked on it.
    EventCancelled,
    /// A learner asks to join a course: for its Course Tutor, who decides.
    EnrolmentRequested,
    /// A competency was signed off: for the learner.
    CompetencySignedOff,
    /// A Purchaser invited the learner (the address is their account's) to a seat: for the
    /// learner, who accepts it or not.
    InvitationReceived,
    /// The event was full: the learner waits on its waitlist, for the learner and the event's
    /// administrators (a place given later is `BookingMade`).
    BookingWaitlisted,
}

impl NoticeKind {
    /// Every kind, in code order.
    pub const ALL: [NoticeKind; 9] = [
        NoticeKind::BookingRequested,
        NoticeKind::BookingMade,
        NoticeKind::BookingDeclined,
        NoticeKind::BookingCancelled,
        NoticeKind::EventCancelled,
        NoticeKind::EnrolmentRequested,
        NoticeKind::CompetencySignedOff,
        NoticeKind::InvitationReceived,
        NoticeKind::BookingWaitlisted,
    ];

    /// The kind's number, as the API and the stores write it.
    pub const fn code(self) -> i16 {
        match self {
            NoticeKind::BookingRequested => 1,
            NoticeKind::BookingMade => 2,
            NoticeKind::BookingDeclined => 3,
            NoticeKind::BookingCancelled => 4,
            NoticeKind::EventCancelled => 5,
            NoticeKind::EnrolmentRequested => 6,
            NoticeKind::CompetencySignedOff => 7,
            NoticeKind::InvitationReceived => 8,
            NoticeKind::BookingWaitlisted => 9,
        }
    }

    /// The kind a number names, if any.
    pub fn from_code(code: i16) -> Option<NoticeKind> {
        NoticeKind::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// Whether the people with duties on the course or event hear of it (else the learner
    /// alone does, and nobody need read who holds them).
    pub const fn reaches_duty_holders(self) -> bool {
        matches!(
            self,
            NoticeKind::BookingRequested
                | NoticeKind::BookingMade
                | NoticeKind::BookingWaitlisted
                | NoticeKind::BookingCancelled
                | NoticeKind::EnrolmentRequested
        )
    }

    /// Whether the learner's named managers hear of it too (what happens to their learning; an
    /// invitation is the learner's own to take or leave).
    pub const fn reaches_named_managers(self) -> bool {
        !matches!(self, NoticeKind::InvitationReceived)
    }

    /// What a booking that reached `state` tells (nothing for the states no one waits on).
    pub const fn of_booking(state: BookingState) -> Option<NoticeKind> {
        match state {
            BookingState::Requested => Some(NoticeKind::BookingRequested),
            BookingState::Booked => Some(NoticeKind::BookingMade),
            BookingState::Waitlisted => Some(NoticeKind::BookingWaitlisted),
            BookingState::Declined => Some(NoticeKind::BookingDeclined),
            BookingState::Cancelled => Some(NoticeKind::BookingCancelled),
            BookingState::Attended | BookingState::PartlyAttended | BookingState::NoShow => None,
        }
    }
}

/// What a notice is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct About {
    /// The learner.
    pub learner: UserId,
    /// The course.
    pub course: CourseId,
    /// The event, for booking notices.
    pub event: Option<EventId>,
    /// The booking, enrolment request, competency check or invitation.
    pub object: Uuid,
    /// When it happened, Unix seconds.
    pub at: i64,
}

/// A notice queued to reach the learner's named managers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct QueuedNotice {
    /// Its id in the queue.
    pub id: Uuid,
    /// Rounds that could not ask identity for it so far.
    pub attempts: u32,
    /// The tenant.
    pub tenant: TenantId,
    /// What happened.
    pub kind: NoticeKind,
    /// About whom and what.
    pub about: About,
}

/// The people with a duty on the course and event, in effect when it happened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DutyHolders {
    /// The Course Tutor (at most one in effect).
    pub tutors: Vec<UserId>,
    /// The event's Event Administrators.
    pub event_administrators: Vec<UserId>,
}

/// Who hears of `kind` about `learner`, each once.
pub fn recipients(kind: NoticeKind, learner: UserId, duties: &DutyHolders) -> Vec<UserId> {
    let learner = std::slice::from_ref(&learner);
    let groups: [&[UserId]; 2] = match kind {
        NoticeKind::BookingRequested => [&duties.event_administrators, &duties.tutors],
        NoticeKind::BookingMade | NoticeKind::BookingWaitlisted | NoticeKind::BookingCancelled => {
            [learner, &duties.event_administrators]
        }
        NoticeKind::BookingDeclined | NoticeKind::EventCancelled => [learner, &[]],
        NoticeKind::CompetencySignedOff | NoticeKind::InvitationReceived => [learner, &[]],
        NoticeKind::EnrolmentRequested => [&duties.tutors, &[]],
    };
    let mut seen = std::collections::HashSet::new();
    groups
        .into_iter()
        .flatten()
        .copied()
        .filter(|user| seen.insert(*user))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for kind in NoticeKind::ALL {
            assert_eq!(NoticeKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(NoticeKind::from_code(0), None);
    }

    #[test]
    fn approvers_hear_of_requests_and_learners_of_what_happens_to_them() {
        let (learner, tutor, steward) =
            (UserId::generate(), UserId::generate(), UserId::generate());
        let duties = DutyHolders {
            tutors: vec![tutor],
            event_administrators: vec![steward],
        };
        let to = |kind| recipients(kind, learner, &duties);
        assert_eq!(to(NoticeKind::BookingRequested), [steward, tutor]);
        assert_eq!(to(NoticeKind::BookingMade), [learner, steward]);
        assert_eq!(to(NoticeKind::BookingCancelled), [learner, steward]);
        assert_eq!(to(NoticeKind::BookingDeclined), [learner]);
        assert_eq!(to(NoticeKind::EventCancelled), [learner]);
        assert_eq!(to(NoticeKind::CompetencySignedOff), [learner]);
        assert_eq!(to(NoticeKind::EnrolmentRequested), [tutor]);
        let own_event = DutyHolders {
            tutors: vec![learner],
            event_administrators: vec![learner],
        };
        assert_eq!(
            recipients(NoticeKind::BookingMade, learner, &own_event),
            [learner],
            "each person once"
        );
        assert_eq!(
            NoticeKind::of_booking(BookingState::Waitlisted),
            Some(NoticeKind::BookingWaitlisted),
            "a wait is told apart from a place"
        );
        assert_eq!(
            NoticeKind::of_booking(BookingState::Booked),
            Some(NoticeKind::BookingMade)
        );
        assert_eq!(NoticeKind::of_booking(BookingState::Attended), None);
        for kind in NoticeKind::ALL {
            let learner_only = recipients(kind, learner, &duties) == [learner];
            assert_eq!(kind.reaches_duty_holders(), !learner_only, "{kind:?}");
        }
    }
}
