//! Enrolments and enrolment requests as state machines (DESIGN.md §6): which transitions exist,
//! and how progress from a content player moves an enrolment without ever moving a completed
//! one back.

use std::fmt;

/// Where a learner's enrolment on a course is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum EnrolmentState {
    /// Enrolled, not started.
    Enrolled,
    /// Started.
    InProgress,
    /// Finished, with a score and a time; never moves back.
    Completed,
    /// Taken off the course; a later enrolment makes a new record.
    Withdrawn,
}

impl EnrolmentState {
    /// The state's number, as the API and the stores write it.
    pub const fn code(self) -> i16 {
        match self {
            EnrolmentState::Enrolled => 1,
            EnrolmentState::InProgress => 2,
            EnrolmentState::Completed => 3,
            EnrolmentState::Withdrawn => 4,
        }
    }

    /// The state a number names, if any.
    pub const fn from_code(code: i16) -> Option<EnrolmentState> {
        match code {
            1 => Some(EnrolmentState::Enrolled),
            2 => Some(EnrolmentState::InProgress),
            3 => Some(EnrolmentState::Completed),
            4 => Some(EnrolmentState::Withdrawn),
            _ => None,
        }
    }

    /// The state in words (and as reason codes name it).
    pub const fn name(self) -> &'static str {
        match self {
            EnrolmentState::Enrolled => "enrolled",
            EnrolmentState::InProgress => "in_progress",
            EnrolmentState::Completed => "completed",
            EnrolmentState::Withdrawn => "withdrawn",
        }
    }

    /// Whether the enrolment still counts as current (a new one is not made beside it).
    pub const fn is_open(self) -> bool {
        matches!(self, EnrolmentState::Enrolled | EnrolmentState::InProgress)
    }
}

impl fmt::Display for EnrolmentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A transition that does not exist from the state the record is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the {what} is {from}; it cannot become {to}")]
pub struct TransitionError {
    /// What kind of record (`enrolment`, `enrolment request`).
    pub what: &'static str,
    /// The state it is in.
    pub from: &'static str,
    /// The state asked for.
    pub to: &'static str,
}

/// Checks a transition of an enrolment asked for by a person (start, complete, withdraw).
pub fn transition(from: EnrolmentState, to: EnrolmentState) -> Result<(), TransitionError> {
    use EnrolmentState as E;
    let allowed = matches!(
        (from, to),
        (E::Enrolled, E::InProgress | E::Completed | E::Withdrawn)
            | (E::InProgress, E::Completed | E::Withdrawn)
    );
    if allowed {
        Ok(())
    } else {
        Err(TransitionError {
            what: "enrolment",
            from: from.name(),
            to: to.name(),
        })
    }
}

/// What a content player reports about an attempt.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Progress {
    /// The learner is working on it.
    Started,
    /// The learner finished, with a score (0 to 100) when the content scores.
    Completed {
        /// The score.
        score: Option<f32>,
    },
}

/// What a progress report does to an enrolment.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum ProgressEffect {
    /// The enrolment moves to this state.
    Moves(EnrolmentState),
    /// Nothing changes: the report is older news (a start after a completion, a report
    /// arriving out of order, or the same state again).
    Ignored,
}

/// Applies a content player's report to an enrolment in `state`. Reports may arrive late and
/// out of order, so a completed enrolment never moves back and a repeat changes nothing; a
/// withdrawn enrolment takes no progress (FAILED_PRECONDITION naming the state).
pub fn apply_progress(
    state: EnrolmentState,
    progress: Progress,
) -> Result<ProgressEffect, TransitionError> {
    use EnrolmentState as E;
    match (state, progress) {
        (E::Withdrawn, _) => Err(TransitionError {
            what: "enrolment",
            from: state.name(),
            to: match progress {
                Progress::Started => E::InProgress.name(),
                Progress::Completed { .. } => E::Completed.name(),
            },
        }),
        (E::Completed, _) | (E::InProgress, Progress::Started) => Ok(ProgressEffect::Ignored),
        (E::Enrolled, Progress::Started) => Ok(ProgressEffect::Moves(E::InProgress)),
        (E::Enrolled | E::InProgress, Progress::Completed { .. }) => {
            Ok(ProgressEffect::Moves(E::Completed))
        }
    }
}

/// Why a score is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be between 0 and 100")]
pub struct ScoreError;

/// Checks a score: a percentage.
pub fn check_score(score: f32) -> Result<(), ScoreError> {
    if score.is_finite() && (0.0..=100.0).contains(&score) {
        Ok(())
    } else {
        Err(ScoreError)
    }
}

/// Where a learner's request to join a course that needs approval is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RequestState {
    /// Waiting for the Course Tutor.
    Requested,
    /// Approved: the learner is enrolled.
    Approved,
    /// Rejected.
    Rejected,
}

impl RequestState {
    /// The state's number, as the API and the stores write it.
    pub const fn code(self) -> i16 {
        match self {
            RequestState::Requested => 1,
            RequestState::Approved => 2,
            RequestState::Rejected => 3,
        }
    }

    /// The state a number names, if any.
    pub const fn from_code(code: i16) -> Option<RequestState> {
        match code {
            1 => Some(RequestState::Requested),
            2 => Some(RequestState::Approved),
            3 => Some(RequestState::Rejected),
            _ => None,
        }
    }

    /// The state in words.
    pub const fn name(self) -> &'static str {
        match self {
            RequestState::Requested => "requested",
            RequestState::Approved => "approved",
            RequestState::Rejected => "rejected",
        }
    }
}

/// The Course Tutor's decision on a request in `from`: only a waiting request is decided, once.
pub fn decide_request(from: RequestState, approve: bool) -> Result<RequestState, TransitionError> {
    let to = if approve {
        RequestState::Approved
    } else {
        RequestState::Rejected
    };
    match from {
        RequestState::Requested => Ok(to),
        _ => Err(TransitionError {
            what: "enrolment request",
            from: from.name(),
            to: to.name(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [EnrolmentState; 4] = [
        EnrolmentState::Enrolled,
        EnrolmentState::InProgress,
        EnrolmentState::Completed,
        EnrolmentState::Withdrawn,
    ];

    #[test]
    fn codes_round_trip() {
        for state in ALL {
            assert_eq!(EnrolmentState::from_code(state.code()), Some(state));
        }
        for state in [
            RequestState::Requested,
            RequestState::Approved,
            RequestState::Rejected,
        ] {
            assert_eq!(RequestState::from_code(state.code()), Some(state));
        }
        assert_eq!(EnrolmentState::from_code(0), None);
        assert_eq!(RequestState::from_code(9), None);
    }

    #[test]
    fn completed_and_withdrawn_enrolments_are_final() {
        for to in ALL {
            assert!(transition(EnrolmentState::Completed, to).is_err());
            assert!(transition(EnrolmentState::Withdrawn, to).is_err());
        }
        assert!(transition(EnrolmentState::Enrolled, EnrolmentState::InProgress).is_ok());
        assert!(transition(EnrolmentState::InProgress, EnrolmentState::Enrolled).is_err());
        assert_eq!(
            transition(EnrolmentState::Withdrawn, EnrolmentState::Completed)
                .unwrap_err()
                .to_string(),
            "the enrolment is withdrawn; it cannot become completed"
        );
    }

    #[test]
    fn progress_never_moves_a_completed_enrolment_back() {
        let done = Progress::Completed { score: Some(80.0) };
        assert_eq!(
            apply_progress(EnrolmentState::Enrolled, Progress::Started),
            Ok(ProgressEffect::Moves(EnrolmentState::InProgress))
        );
        assert_eq!(
            apply_progress(EnrolmentState::InProgress, done),
            Ok(ProgressEffect::Moves(EnrolmentState::Completed))
        );
        assert_eq!(
            apply_progress(EnrolmentState::Enrolled, done),
            Ok(ProgressEffect::Moves(EnrolmentState::Completed))
        );
        assert_eq!(
            apply_progress(EnrolmentState::Completed, Progress::Started),
            Ok(ProgressEffect::Ignored)
        );
        assert_eq!(
            apply_progress(EnrolmentState::Completed, done),
            Ok(ProgressEffect::Ignored)
        );
        assert_eq!(
            apply_progress(EnrolmentState::InProgress, Progress::Started),
            Ok(ProgressEffect::Ignored)
        );
        assert!(apply_progress(EnrolmentState::Withdrawn, done).is_err());
    }

    #[test]
    fn a_request_is_decided_once() {
        assert_eq!(
            decide_request(RequestState::Requested, true),
            Ok(RequestState::Approved)
        );
        assert_eq!(
            decide_request(RequestState::Requested, false),
            Ok(RequestState::Rejected)
        );
        assert_eq!(
            decide_request(RequestState::Rejected, true)
                .unwrap_err()
                .to_string(),
            "the enrolment request is rejected; it cannot become approved"
        );
        assert!(decide_request(RequestState::Approved, false).is_err());
    }

    #[test]
    fn scores_are_percentages() {
        assert!(check_score(0.0).is_ok() && check_score(100.0).is_ok());
        assert!(check_score(-0.5).is_err() && check_score(100.5).is_err());
        assert!(check_score(f32::NAN).is_err());
    }
}
