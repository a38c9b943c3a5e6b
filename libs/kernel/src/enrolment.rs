//! Enrolments and enrolment requests as state machines (DESIGN.md §6): which transitions exist,
//! the time of each, how progress from a content player moves an enrolment without ever moving
//! a completed one back, and how a learner's own ask to join a course is answered.

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

    /// Whether the learner counts as enrolled on the course (authorization's `enrolled` fact,
    /// through which they read it as their own learning): while open, and after completing, so
    /// a learner keeps reading what they finished; not once withdrawn.
    pub const fn counts_as_enrolled(self) -> bool {
        !matches!(self, EnrolmentState::Withdrawn)
    }

    /// The reason code a refusal names when the enrolment's state forbids a change.
    pub const fn reason(self) -> &'static str {
        match self {
            EnrolmentState::Enrolled => "ENROLMENT_ENROLLED",
            EnrolmentState::InProgress => "ENROLMENT_IN_PROGRESS",
            EnrolmentState::Completed => "ENROLMENT_COMPLETED",
            EnrolmentState::Withdrawn => "ENROLMENT_WITHDRAWN",
        }
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
    /// The stable reason code naming the state it is in (`ENROLMENT_WITHDRAWN`,
    /// `REQUEST_REJECTED`), so clients tell refusals apart without reading the message.
    pub reason: &'static str,
}

impl TransitionError {
    fn of_enrolment(from: EnrolmentState, to: EnrolmentState) -> TransitionError {
        TransitionError {
            what: "enrolment",
            from: from.name(),
            to: to.name(),
            reason: from.reason(),
        }
    }
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
        Err(TransitionError::of_enrolment(from, to))
    }
}

/// What a content player reports about an attempt.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Progress {
    /// The learner is working on it.
    Started,
    /// The learner finished, with a score when the content scores.
    Completed {
        /// The score.
        score: Option<Score>,
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
        (E::Withdrawn, _) => Err(TransitionError::of_enrolment(
            state,
            match progress {
                Progress::Started => E::InProgress,
                Progress::Completed { .. } => E::Completed,
            },
        )),
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

/// A score: a percentage from 0 to 100.
#[derive(Clone, Copy, PartialEq, PartialOrd, Debug)]
pub struct Score(f32);

impl Score {
    /// A score, checked.
    pub fn parse(value: f32) -> Result<Score, ScoreError> {
        check_score(value).map(|()| Score(value))
    }

    /// The percentage.
    pub const fn value(self) -> f32 {
        self.0
    }
}

/// An enrolment's state with the time of each transition (Unix seconds) and the score of its
/// completion: what a record keeps. Changed only through its transitions, which stamp them.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Enrolment {
    /// Where it is.
    pub state: EnrolmentState,
    /// When the learner was enrolled.
    pub enrolled_at: i64,
    /// When they started, if a start was reported (a completion may come without one).
    pub started_at: Option<i64>,
    /// When they completed.
    pub completed_at: Option<i64>,
    /// When they were withdrawn.
    pub withdrawn_at: Option<i64>,
    /// The completion's score, when the content scores.
    pub score: Option<Score>,
}

impl Enrolment {
    /// A new enrolment at `at`.
    pub const fn new(at: i64) -> Enrolment {
        Enrolment {
            state: EnrolmentState::Enrolled,
            enrolled_at: at,
            started_at: None,
            completed_at: None,
            withdrawn_at: None,
            score: None,
        }
    }

    /// Takes the learner off the course at `at`; refused once completed or withdrawn.
    pub fn withdraw(&mut self, at: i64) -> Result<(), TransitionError> {
        transition(self.state, EnrolmentState::Withdrawn)?;
        self.state = EnrolmentState::Withdrawn;
        self.withdrawn_at = Some(at);
        Ok(())
    }

    /// Applies a content player's report received at `at` ([`apply_progress`]), stamping the
    /// transition it makes; a report that changes nothing leaves every time as it was.
    pub fn record(
        &mut self,
        progress: Progress,
        at: i64,
    ) -> Result<ProgressEffect, TransitionError> {
        let effect = apply_progress(self.state, progress)?;
        if let ProgressEffect::Moves(state) = effect {
            self.state = state;
            match (state, progress) {
                (EnrolmentState::Completed, Progress::Completed { score }) => {
                    self.completed_at = Some(at);
                    self.score = score;
                }
                _ => self.started_at = Some(at),
            }
        }
        Ok(effect)
    }
}

/// Which of a learner's enrolments on one course a report or a withdrawal is about: the open
/// one (there is at most one), else the latest. `enrolments` are in the order they were made;
/// answers an index into them, `None` when there are none.
pub fn current(enrolments: &[Enrolment]) -> Option<usize> {
    enrolments
        .iter()
        .position(|e| e.state.is_open())
        .or_else(|| {
            enrolments
                .iter()
                .enumerate()
                .max_by_key(|(i, e)| (e.enrolled_at, *i))
                .map(|(i, _)| i)
        })
}

/// Why a learner's ask to join a course is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnrolmentError {
    /// They are enrolled already (an open enrolment).
    #[error("the learner is already enrolled on the course ({0})")]
    AlreadyEnrolled(EnrolmentState),
}

impl EnrolmentError {
    /// The stable reason code.
    pub const fn code(self) -> &'static str {
        match self {
            EnrolmentError::AlreadyEnrolled(_) => "ALREADY_ENROLLED",
        }
    }
}

/// How a learner's own ask to join a course is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Enrolled at once: the course needs no approval.
    Enrolled,
    /// A request waits for the Course Tutor.
    Requested,
}

/// Answers a learner's own ask to join a course (`current`: the state of their open enrolment
/// on it, if any): a course that needs approval makes a request for the Course Tutor, one that
/// does not enrols at once; someone already enrolled is told so rather than asked twice.
pub fn admit(
    requires_approval: bool,
    current: Option<EnrolmentState>,
) -> Result<Admission, EnrolmentError> {
    if let Some(state) = current.filter(|state| state.is_open()) {
        return Err(EnrolmentError::AlreadyEnrolled(state));
    }
    Ok(if requires_approval {
        Admission::Requested
    } else {
        Admission::Enrolled
    })
}

/// Whether enrolling someone directly (Enrol, DeployCourse) also needs the right to approve
/// enrolments on the course: enrolling oneself on a course that needs approval would be
/// approving one's own request, so a learner asks instead (RequestEnrolment) unless they may
/// approve there anyway. Enrolling others is what the decision on each of them allows.
pub const fn direct_enrolment_needs_approval(requires_approval: bool, enrols_self: bool) -> bool {
    requires_approval && enrols_self
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

    /// The reason code a refusal names when the request's state forbids a decision.
    pub const fn reason(self) -> &'static str {
        match self {
            RequestState::Requested => "REQUEST_WAITING",
            RequestState::Approved => "REQUEST_APPROVED",
            RequestState::Rejected => "REQUEST_REJECTED",
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
            reason: from.reason(),
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
        let done = Progress::Completed {
            score: Some(Score::parse(80.0).unwrap()),
        };
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
        assert_eq!(Score::parse(72.5).map(Score::value), Ok(72.5));
        assert_eq!(Score::parse(f32::INFINITY), Err(ScoreError));
    }

    #[test]
    fn refusals_name_the_state_the_record_is_in() {
        let refused = transition(EnrolmentState::Withdrawn, EnrolmentState::Completed).unwrap_err();
        assert_eq!(refused.reason, "ENROLMENT_WITHDRAWN");
        let refused = decide_request(RequestState::Rejected, true).unwrap_err();
        assert_eq!(refused.reason, "REQUEST_REJECTED");
        let refused = decide_request(RequestState::Approved, true).unwrap_err();
        assert_eq!(refused.reason, "REQUEST_APPROVED");
        let refused = apply_progress(EnrolmentState::Withdrawn, Progress::Started).unwrap_err();
        assert_eq!(
            (refused.reason, refused.to),
            ("ENROLMENT_WITHDRAWN", "in_progress")
        );
    }

    #[test]
    fn every_transition_is_stamped_and_a_completion_keeps_its_score() {
        let score = Score::parse(91.0).unwrap();
        let mut enrolment = Enrolment::new(10);
        assert_eq!(
            enrolment.record(Progress::Started, 20),
            Ok(ProgressEffect::Moves(EnrolmentState::InProgress))
        );
        assert_eq!(
            enrolment.record(Progress::Completed { score: Some(score) }, 30),
            Ok(ProgressEffect::Moves(EnrolmentState::Completed))
        );
        let done = enrolment;
        assert_eq!(
            (
                done.enrolled_at,
                done.started_at,
                done.completed_at,
                done.score
            ),
            (10, Some(20), Some(30), Some(score))
        );
        // A late start, a repeated completion with another score: nothing moves or restamps.
        assert_eq!(
            enrolment.record(Progress::Started, 40),
            Ok(ProgressEffect::Ignored)
        );
        let other = Score::parse(10.0).unwrap();
        assert_eq!(
            enrolment.record(Progress::Completed { score: Some(other) }, 50),
            Ok(ProgressEffect::Ignored)
        );
        assert_eq!(enrolment, done);
        assert!(enrolment.withdraw(60).is_err(), "a completion is final");
        assert_eq!(enrolment, done);
    }

    #[test]
    fn a_withdrawn_enrolment_takes_no_progress_and_keeps_its_times() {
        let mut enrolment = Enrolment::new(10);
        enrolment.withdraw(15).unwrap();
        let withdrawn = enrolment;
        assert_eq!(
            (withdrawn.state, withdrawn.withdrawn_at),
            (EnrolmentState::Withdrawn, Some(15))
        );
        let completion = Progress::Completed { score: None };
        let refused = enrolment.record(completion, 20).unwrap_err();
        assert_eq!(refused.reason, "ENROLMENT_WITHDRAWN");
        assert!(enrolment.withdraw(25).is_err());
        assert_eq!(enrolment, withdrawn);
    }

    #[test]
    fn a_completion_may_come_without_a_start() {
        let mut enrolment = Enrolment::new(10);
        enrolment
            .record(Progress::Completed { score: None }, 12)
            .unwrap();
        assert_eq!(
            (
                enrolment.state,
                enrolment.started_at,
                enrolment.completed_at
            ),
            (EnrolmentState::Completed, None, Some(12))
        );
    }

    #[test]
    fn the_current_enrolment_is_the_open_one_else_the_latest() {
        let closed = |at, state| Enrolment {
            state,
            ..Enrolment::new(at)
        };
        assert_eq!(current(&[]), None);
        let history = [
            closed(10, EnrolmentState::Completed),
            Enrolment::new(20),
            closed(30, EnrolmentState::Withdrawn),
        ];
        assert_eq!(current(&history), Some(1), "the open one, whenever made");
        let history = [
            closed(10, EnrolmentState::Withdrawn),
            closed(30, EnrolmentState::Completed),
            closed(20, EnrolmentState::Withdrawn),
        ];
        assert_eq!(current(&history), Some(1));
        let same_second = [
            closed(10, EnrolmentState::Completed),
            closed(10, EnrolmentState::Withdrawn),
        ];
        assert_eq!(current(&same_second), Some(1), "the later made wins a tie");
    }

    #[test]
    fn only_withdrawn_enrolments_stop_counting_as_enrolled() {
        let counted: Vec<_> = ALL.into_iter().filter(|s| s.counts_as_enrolled()).collect();
        assert_eq!(
            counted,
            [
                EnrolmentState::Enrolled,
                EnrolmentState::InProgress,
                EnrolmentState::Completed
            ]
        );
    }

    #[test]
    fn a_learner_s_ask_enrols_at_once_or_waits_for_approval() {
        assert_eq!(admit(false, None), Ok(Admission::Enrolled));
        assert_eq!(admit(true, None), Ok(Admission::Requested));
        // A finished or withdrawn enrolment does not stand in the way of a new one.
        assert_eq!(
            admit(true, Some(EnrolmentState::Completed)),
            Ok(Admission::Requested)
        );
        let refused = admit(false, Some(EnrolmentState::InProgress)).unwrap_err();
        assert_eq!(
            refused,
            EnrolmentError::AlreadyEnrolled(EnrolmentState::InProgress)
        );
        assert_eq!(refused.code(), "ALREADY_ENROLLED");
        assert!(refused.to_string().contains("in_progress"));
    }

    #[test]
    fn only_enrolling_oneself_on_a_course_needing_approval_needs_the_right_to_approve() {
        assert!(direct_enrolment_needs_approval(true, true));
        assert!(!direct_enrolment_needs_approval(true, false));
        assert!(!direct_enrolment_needs_approval(false, true));
        assert!(!direct_enrolment_needs_approval(false, false));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn report() -> impl Strategy<Value = Progress> {
        prop_oneof![
            Just(Progress::Started),
            (0u8..=100).prop_map(|s| Progress::Completed {
                score: Some(Score::parse(f32::from(s)).unwrap())
            }),
            Just(Progress::Completed { score: None }),
        ]
    }

    proptest! {
        /// Reports arriving in any order and repeated any number of times: the first completion
        /// decides the completion time and score, and nothing after it changes the enrolment.
        #[test]
        fn the_first_completion_stands_whatever_arrives_after_it(
            reports in proptest::collection::vec(report(), 1..16),
        ) {
            let mut enrolment = Enrolment::new(0);
            let mut completed: Option<Enrolment> = None;
            for (at, report) in (1..).zip(reports) {
                let effect = enrolment.record(report, at);
                prop_assert!(effect.is_ok(), "an open or completed enrolment takes any report");
                match completed {
                    Some(done) => prop_assert_eq!(enrolment, done),
                    None if enrolment.state == EnrolmentState::Completed => {
                        prop_assert_eq!(enrolment.completed_at, Some(at));
                        completed = Some(enrolment);
                    }
                    None => prop_assert!(enrolment.state.is_open()),
                }
            }
        }
    }
}
