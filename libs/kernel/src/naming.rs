//! Named managers (DESIGN.md §1): a person named over a user, an account or an account group,
//! either to manage it (a relation decisions read) or only to receive updates about it (a
//! notification preference, not the Manager role).

use crate::unit::UnitKind;

/// Why a person is named.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum NamingPurpose {
    /// Manages the target: decisions read it.
    Manages,
    /// Receives updates about the target: notifications only.
    ReceivesUpdates,
}

impl NamingPurpose {
    /// The stored number (the API's `NamedManagerPurpose`).
    pub fn code(self) -> i16 {
        match self {
            NamingPurpose::Manages => 1,
            NamingPurpose::ReceivesUpdates => 2,
        }
    }

    /// The purpose a stored number names.
    pub fn from_code(code: i16) -> Option<NamingPurpose> {
        match code {
            1 => Some(NamingPurpose::Manages),
            2 => Some(NamingPurpose::ReceivesUpdates),
            _ => None,
        }
    }

    /// Whether authorization must know of the naming: only managing grants anything.
    pub fn is_relation(self) -> bool {
        self == NamingPurpose::Manages
    }
}

/// What a person is named over.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum NamedTarget {
    /// A user.
    User,
    /// An account or an account group.
    Unit,
}

impl NamedTarget {
    /// The stored number (the API's `ObjectType`).
    pub fn code(self) -> i16 {
        match self {
            NamedTarget::Unit => 2,
            NamedTarget::User => 3,
        }
    }

    /// The target a stored number names.
    pub fn from_code(code: i16) -> Option<NamedTarget> {
        match code {
            2 => Some(NamedTarget::Unit),
            3 => Some(NamedTarget::User),
            _ => None,
        }
    }
}

/// Why a unit cannot have a named manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NamingError {
    /// Locations are administered through roles at the location, not named managers.
    #[error("a named manager is named over an account or an account group, not a location")]
    Location,
}

/// Checks that a unit of `kind` may have a named manager.
pub fn check_named_unit(kind: UnitKind) -> Result<(), NamingError> {
    match kind {
        UnitKind::Location => Err(NamingError::Location),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_only_managing_is_a_relation() {
        for purpose in [NamingPurpose::Manages, NamingPurpose::ReceivesUpdates] {
            assert_eq!(NamingPurpose::from_code(purpose.code()), Some(purpose));
        }
        for target in [NamedTarget::User, NamedTarget::Unit] {
            assert_eq!(NamedTarget::from_code(target.code()), Some(target));
        }
        assert_eq!(NamingPurpose::from_code(0), None);
        assert!(NamingPurpose::Manages.is_relation());
        assert!(!NamingPurpose::ReceivesUpdates.is_relation());
    }

    #[test]
    fn accounts_and_account_groups_have_named_managers_locations_do_not() {
        assert_eq!(
            check_named_unit(UnitKind::Location),
            Err(NamingError::Location)
        );
        for kind in [
            UnitKind::CustomerAccount,
            UnitKind::ProviderAccount,
            UnitKind::GuestAccount,
            UnitKind::AccountGroup,
        ] {
            assert_eq!(check_named_unit(kind), Ok(()));
        }
    }
}
