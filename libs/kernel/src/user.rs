//! Users: status, email, employments, and the purchase and default-role rules.

use std::fmt;

use crate::ids::{UnitId, UserId};
use crate::template::Template;

/// The lifecycle state of a user.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum UserStatus {
    /// Waiting for the Access Coordinator (tutor and teacher accounts).
    PendingApproval,
    /// May sign in and act.
    Active,
    /// May not sign in; roles kept.
    Suspended,
    /// Personal data erased; record and history kept.
    Anonymised,
}

impl UserStatus {
    /// The status's number, as the API (`lms.common.v1.UserStatus`) and the stores write it.
    pub const fn code(self) -> i16 {
        match self {
            UserStatus::PendingApproval => 1,
            UserStatus::Active => 2,
            UserStatus::Suspended => 3,
            UserStatus::Anonymised => 4,
        }
    }

    /// The status in words, as people read it.
    pub const fn name(self) -> &'static str {
        match self {
            UserStatus::PendingApproval => "pending approval",
            UserStatus::Active => "active",
            UserStatus::Suspended => "suspended",
            UserStatus::Anonymised => "anonymised",
        }
    }

    /// The status a number names, if any.
    pub const fn from_code(code: i16) -> Option<UserStatus> {
        match code {
            1 => Some(UserStatus::PendingApproval),
            2 => Some(UserStatus::Active),
            3 => Some(UserStatus::Suspended),
            4 => Some(UserStatus::Anonymised),
            _ => None,
        }
    }
}

/// Why a status change is refused: the account is not in the state the change starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    /// Only an active account is suspended.
    #[error("the account is {}", .0.name())]
    NotActive(UserStatus),
    /// Only a suspended account is reactivated.
    #[error("the account is {}", .0.name())]
    NotSuspended(UserStatus),
    /// Only an account waiting for approval is approved or rejected.
    #[error("the account is {}", .0.name())]
    NotPending(UserStatus),
    /// An anonymised account keeps no personal data: it is not anonymised or edited again.
    #[error("the account is anonymised already")]
    Anonymised,
}

impl UserStatus {
    /// The status after approval by the Access Coordinator.
    pub fn approve(self) -> Result<UserStatus, StatusError> {
        match self {
            UserStatus::PendingApproval => Ok(UserStatus::Active),
            other => Err(StatusError::NotPending(other)),
        }
    }

    /// Checks that an application may be rejected (the account is then deleted, not changed).
    pub fn reject(self) -> Result<(), StatusError> {
        self.approve().map(|_| ())
    }

    /// The status after suspension.
    pub fn suspend(self) -> Result<UserStatus, StatusError> {
        match self {
            UserStatus::Active => Ok(UserStatus::Suspended),
            other => Err(StatusError::NotActive(other)),
        }
    }

    /// The status after reactivation.
    pub fn reactivate(self) -> Result<UserStatus, StatusError> {
        match self {
            UserStatus::Suspended => Ok(UserStatus::Active),
            other => Err(StatusError::NotSuspended(other)),
        }
    }

    /// The status after anonymisation, from any state but anonymised.
    pub fn anonymise(self) -> Result<UserStatus, StatusError> {
        self.check_editable().map(|_| UserStatus::Anonymised)
    }

    /// Checks that personal data may still be edited: not once anonymised.
    pub fn check_editable(self) -> Result<(), StatusError> {
        match self {
            UserStatus::Anonymised => Err(StatusError::Anonymised),
            _ => Ok(()),
        }
    }
}

/// What a user's account is for; it decides whether they wait for approval and which role
/// approval gives them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AccountKind {
    /// A learner's or administrator's account: active at once.
    #[default]
    Standard,
    /// A tutor's account: waits for the Access Coordinator, then holds Tutor.
    Tutor,
    /// A teacher's account: waits for the Access Coordinator, then holds Teacher.
    Teacher,
}

impl AccountKind {
    /// Every kind, in code order.
    pub const ALL: [AccountKind; 3] = [
        AccountKind::Standard,
        AccountKind::Tutor,
        AccountKind::Teacher,
    ];

    /// The kind's number, as the API (`lms.identity.v1.AccountKind`) and the stores write it.
    pub const fn code(self) -> i16 {
        match self {
            AccountKind::Standard => 1,
            AccountKind::Tutor => 2,
            AccountKind::Teacher => 3,
        }
    }

    /// The kind a number names, if any.
    pub const fn from_code(code: i16) -> Option<AccountKind> {
        match code {
            1 => Some(AccountKind::Standard),
            2 => Some(AccountKind::Tutor),
            3 => Some(AccountKind::Teacher),
            _ => None,
        }
    }

    /// The status a new account of this kind starts in: tutors and teachers wait for the
    /// Access Coordinator.
    pub const fn initial_status(self) -> UserStatus {
        match self {
            AccountKind::Standard => UserStatus::Active,
            AccountKind::Tutor | AccountKind::Teacher => UserStatus::PendingApproval,
        }
    }

    /// The role approval gives, beside the implicit default role.
    pub const fn approved_role(self) -> Option<Template> {
        match self {
            AccountKind::Standard => None,
            AccountKind::Tutor => Some(Template::Tutor),
            AccountKind::Teacher => Some(Template::Teacher),
        }
    }
}

/// A syntactically valid email address, lower-cased.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Email(String);

/// A text that is not an email address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be an email address like name@example.org")]
pub struct EmailError;

impl Email {
    /// Parses an address: one `@`, a non-empty local part, a dotted domain, no spaces, ≤ 254 bytes.
    pub fn parse(text: &str) -> Result<Email, EmailError> {
        let text = text.trim();
        let (local, domain) = text.split_once('@').ok_or(EmailError)?;
        let valid = text.len() <= 254
            && !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !text.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid {
            Ok(Email(text.to_lowercase()))
        } else {
            Err(EmailError)
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Membership of one account, with dates (seconds since the Unix epoch; `ends` exclusive).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Employment {
    /// The account.
    pub unit: UnitId,
    /// First moment.
    pub starts: i64,
    /// End, exclusive; `None` while ongoing.
    pub ends: Option<i64>,
    /// Whether it is the main account.
    pub main: bool,
}

impl Employment {
    /// Whether it is in effect at `at`.
    pub fn is_active(&self, at: i64) -> bool {
        self.starts <= at && self.ends.is_none_or(|end| at < end)
    }

    /// Checks a new employment's dates: it lasts, so it ends after it starts.
    pub fn check_new(starts: i64, ends: Option<i64>) -> Result<(), EmploymentError> {
        match ends {
            Some(end) if end <= starts => Err(EmploymentError::EndsBeforeStart),
            _ => Ok(()),
        }
    }

    /// Checks ending this employment at `ends` while the user has `others` other employments:
    /// it may end the moment it starts (it then never counted) but not before, and the main
    /// account ends last, so the user keeps exactly one main account.
    pub fn check_end(&self, ends: i64, others: usize) -> Result<(), EmploymentError> {
        if ends < self.starts {
            return Err(EmploymentError::EndsBeforeStart);
        }
        if self.main && others > 0 {
            return Err(EmploymentError::MainAccount);
        }
        Ok(())
    }

    /// Checks who changes a person's employments: an administrator, never the person. Where
    /// someone is employed decides which Local Administrator reaches them and whose seats and
    /// reports they count in, so moving oneself would leave one's administrators' reach.
    pub fn check_changed_by(actor: UserId, employee: UserId) -> Result<(), EmploymentError> {
        if actor == employee {
            return Err(EmploymentError::OwnEmployment);
        }
        Ok(())
    }

    /// Checks that it may become the main account at `at`: it has not ended (it may not have
    /// started yet).
    pub fn check_main(&self, at: i64) -> Result<(), EmploymentError> {
        if self.ends.is_some_and(|end| end <= at) {
            return Err(EmploymentError::Ended);
        }
        Ok(())
    }
}

/// Why a set of employments is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmploymentError {
    /// An employment ends before it starts.
    #[error("an employment ends before it starts")]
    EndsBeforeStart,
    /// Not exactly one active main account.
    #[error("a user has exactly one main account among active employments")]
    MainAccount,
    /// An ended employment cannot become the main account.
    #[error("an ended employment cannot be the main account")]
    Ended,
    /// People do not change their own employments.
    #[error("an administrator changes employments, not the person employed")]
    OwnEmployment,
}

/// The role a user gets when none is given.
pub const DEFAULT_ROLE: Template = Template::Student;

/// Roles a purchase makes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PurchaseRoles {
    /// The buyer's role.
    pub buyer: Template,
    /// The role each invitee gets, when there are invitees.
    pub invitees: Option<Template>,
}

/// A single seat for oneself makes a Student; several seats or invitees make a Purchaser and
/// the invitees Students.
pub fn purchase_roles(seats: u32, invitees: usize) -> PurchaseRoles {
    if seats <= 1 && invitees == 0 {
        PurchaseRoles {
            buyer: Template::Student,
            invitees: None,
        }
    } else {
        PurchaseRoles {
            buyer: Template::Purchaser,
            invitees: (invitees > 0).then_some(Template::Student),
        }
    }
}

/// Why an order's seat cannot be offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SeatError {
    /// A single seat is the buyer's own (they were enrolled with it).
    #[error("a single seat is its buyer's own; only an order of several seats is shared")]
    NotASeatPurchase,
    /// Every seat is offered.
    #[error("all {seats} seats of the order are offered")]
    NoSeatsLeft {
        /// The order's seats.
        seats: u32,
    },
}

impl SeatError {
    /// The stable reason code.
    pub const fn reason(self) -> &'static str {
        match self {
            SeatError::NotASeatPurchase => "NOT_A_SEAT_PURCHASE",
            SeatError::NoSeatsLeft { .. } => "NO_SEATS_LEFT",
        }
    }
}

/// Whether an order of `seats` that has sent `sent` invitations may send one more: the seats of
/// a Purchaser's order are offered one invitation each; a single seat is the buyer's own.
pub fn check_invitation(seats: u32, sent: u32) -> Result<(), SeatError> {
    if purchase_roles(seats, 0).buyer != Template::Purchaser {
        return Err(SeatError::NotASeatPurchase);
    }
    if sent >= seats {
        return Err(SeatError::NoSeatsLeft { seats });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_purchaser_s_seats_are_offered_one_invitation_each() {
        assert_eq!(check_invitation(1, 0), Err(SeatError::NotASeatPurchase));
        assert_eq!(check_invitation(3, 2), Ok(()));
        assert_eq!(
            check_invitation(3, 3),
            Err(SeatError::NoSeatsLeft { seats: 3 })
        );
        assert_eq!(
            SeatError::NoSeatsLeft { seats: 3 }.reason(),
            "NO_SEATS_LEFT"
        );
    }

    const ALL_STATUSES: [UserStatus; 4] = [
        UserStatus::PendingApproval,
        UserStatus::Active,
        UserStatus::Suspended,
        UserStatus::Anonymised,
    ];

    #[test]
    fn tutors_and_teachers_wait_for_approval_and_get_their_role_with_it() {
        assert_eq!(AccountKind::Standard.initial_status(), UserStatus::Active);
        assert_eq!(
            AccountKind::Tutor.initial_status(),
            UserStatus::PendingApproval
        );
        assert_eq!(
            AccountKind::Teacher.initial_status(),
            UserStatus::PendingApproval
        );
        assert_eq!(AccountKind::Standard.approved_role(), None);
        assert_eq!(AccountKind::Tutor.approved_role(), Some(Template::Tutor));
        assert_eq!(
            AccountKind::Teacher.approved_role(),
            Some(Template::Teacher)
        );
        for kind in AccountKind::ALL {
            assert_eq!(AccountKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(AccountKind::from_code(0), None);
        assert_eq!(AccountKind::from_code(4), None);
    }

    #[test]
    fn each_status_change_starts_from_one_state_only() {
        for status in ALL_STATUSES {
            assert_eq!(
                status.approve().is_ok(),
                status == UserStatus::PendingApproval
            );
            assert_eq!(
                status.reject().is_ok(),
                status == UserStatus::PendingApproval
            );
            assert_eq!(status.suspend().is_ok(), status == UserStatus::Active);
            assert_eq!(status.reactivate().is_ok(), status == UserStatus::Suspended);
            assert_eq!(status.anonymise().is_ok(), status != UserStatus::Anonymised);
        }
        assert_eq!(
            UserStatus::PendingApproval.approve(),
            Ok(UserStatus::Active)
        );
        assert_eq!(UserStatus::Active.suspend(), Ok(UserStatus::Suspended));
        assert_eq!(UserStatus::Suspended.reactivate(), Ok(UserStatus::Active));
        assert_eq!(
            UserStatus::Suspended.anonymise(),
            Ok(UserStatus::Anonymised)
        );
        assert_eq!(
            UserStatus::Suspended.suspend().unwrap_err().to_string(),
            "the account is suspended"
        );
        assert_eq!(
            UserStatus::Anonymised.anonymise(),
            Err(StatusError::Anonymised)
        );
    }

    #[test]
    fn only_someone_else_changes_a_persons_employments() {
        let (me, admin) = (UserId::generate(), UserId::generate());
        assert_eq!(
            Employment::check_changed_by(me, me),
            Err(EmploymentError::OwnEmployment)
        );
        assert_eq!(Employment::check_changed_by(admin, me), Ok(()));
    }

    #[test]
    fn the_main_account_ends_last_and_an_ended_one_is_never_main() {
        let unit = UnitId::generate();
        let main = Employment {
            unit,
            starts: 100,
            ends: None,
            main: true,
        };
        assert_eq!(
            Employment::check_new(100, Some(100)),
            Err(EmploymentError::EndsBeforeStart)
        );
        assert_eq!(Employment::check_new(100, Some(101)), Ok(()));
        assert_eq!(Employment::check_new(100, None), Ok(()));
        assert_eq!(
            main.check_end(100, 0),
            Ok(()),
            "ending the moment it starts"
        );
        assert_eq!(main.check_end(99, 0), Err(EmploymentError::EndsBeforeStart));
        assert_eq!(main.check_end(200, 1), Err(EmploymentError::MainAccount));
        let side = Employment {
            main: false,
            ..main
        };
        assert_eq!(side.check_end(200, 1), Ok(()));
        let ended = Employment {
            ends: Some(150),
            ..side
        };
        assert_eq!(ended.check_main(150), Err(EmploymentError::Ended));
        assert_eq!(ended.check_main(149), Ok(()));
        assert_eq!(
            side.check_main(50),
            Ok(()),
            "a future employment may be main"
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn status() -> impl Strategy<Value = UserStatus> {
        prop_oneof![
            Just(UserStatus::PendingApproval),
            Just(UserStatus::Active),
            Just(UserStatus::Suspended),
            Just(UserStatus::Anonymised),
        ]
    }

    proptest! {
        /// No sequence of transitions leaves the anonymised state or returns to pending.
        #[test]
        fn anonymised_is_final_and_pending_is_never_reentered(
            start in status(),
            steps in proptest::collection::vec(0u8..4, 0..12),
        ) {
            let mut current = start;
            let mut was_anonymised = current == UserStatus::Anonymised;
            for step in steps {
                let next = match step {
                    0 => current.approve(),
                    1 => current.suspend(),
                    2 => current.reactivate(),
                    _ => current.anonymise(),
                };
                if let Ok(next) = next {
                    prop_assert_ne!(next, UserStatus::PendingApproval);
                    prop_assert!(!was_anonymised, "left the anonymised state");
                    current = next;
                }
                was_anonymised |= current == UserStatus::Anonymised;
            }
        }

        /// A successful change always changes the status.
        #[test]
        fn a_transition_never_stands_still(start in status()) {
            for next in [start.approve(), start.suspend(), start.reactivate(), start.anonymise()]
                .into_iter()
                .flatten()
            {
                prop_assert_ne!(next, start);
            }
        }
    }
}
