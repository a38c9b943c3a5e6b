//! Users: status, email, employments, and the purchase and default-role rules.

use std::fmt;

use crate::ids::UnitId;
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
}

/// A user's employments, with exactly one active main account.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Employments(Vec<Employment>);

impl Employments {
    /// Validates `employments` as of `at`.
    pub fn new(employments: Vec<Employment>, at: i64) -> Result<Employments, EmploymentError> {
        if employments
            .iter()
            .any(|e| e.ends.is_some_and(|end| end <= e.starts))
        {
            return Err(EmploymentError::EndsBeforeStart);
        }
        let mains = employments
            .iter()
            .filter(|e| e.main && e.is_active(at))
            .count();
        if mains != 1 {
            return Err(EmploymentError::MainAccount);
        }
        Ok(Employments(employments))
    }

    /// The main account.
    pub fn main_account(&self, at: i64) -> Option<UnitId> {
        self.0
            .iter()
            .find(|e| e.main && e.is_active(at))
            .map(|e| e.unit)
    }

    /// Accounts in effect at `at`.
    pub fn active_units(&self, at: i64) -> impl Iterator<Item = UnitId> + '_ {
        self.0
            .iter()
            .filter(move |e| e.is_active(at))
            .map(|e| e.unit)
    }
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
