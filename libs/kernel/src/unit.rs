//! Units: the tree of locations, accounts and account groups inside a tenant.

use crate::ids::UnitId;

/// The kind of a unit.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum UnitKind {
    /// A location; locations nest.
    Location,
    /// A customer account that books courses.
    CustomerAccount,
    /// The training provider's own account.
    ProviderAccount,
    /// The one account for people with no employer.
    GuestAccount,
    /// A group of accounts.
    AccountGroup,
}

/// Why a unit cannot be placed or removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    /// The move would put the unit under itself.
    #[error("moving the unit there would make a cycle")]
    Cycle,
    /// Only locations nest under locations; accounts sit under locations or account groups.
    #[error("a {child:?} cannot sit under a {parent:?}")]
    Placement {
        /// The unit's kind.
        child: UnitKind,
        /// The parent's kind.
        parent: UnitKind,
    },
    /// The Guest account is created with the tenant and stays at the root.
    #[error("the Guest account cannot be moved or deleted")]
    GuestAccount,
    /// A unit with children or members cannot be deleted.
    #[error("the unit is not empty")]
    NotEmpty,
}

/// Checks that `child` may sit under a unit of kind `parent`.
pub fn check_placement(child: UnitKind, parent: UnitKind) -> Result<(), UnitError> {
    use UnitKind::*;
    match (child, parent) {
        (GuestAccount, _) => Err(UnitError::GuestAccount),
        (Location, Location)
        | (CustomerAccount | ProviderAccount, Location | AccountGroup)
        | (AccountGroup, Location | AccountGroup) => Ok(()),
        (child, parent) => Err(UnitError::Placement { child, parent }),
    }
}

/// Checks that moving `unit` under the parent whose ancestors (inclusive) are
/// `new_parent_ancestors` makes no cycle.
pub fn check_move(
    unit: UnitId,
    kind: UnitKind,
    new_parent_ancestors: &[UnitId],
) -> Result<(), UnitError> {
    if kind == UnitKind::GuestAccount {
        return Err(UnitError::GuestAccount);
    }
    if new_parent_ancestors.contains(&unit) {
        return Err(UnitError::Cycle);
    }
    Ok(())
}

/// Checks that a unit may be deleted.
pub fn check_delete(kind: UnitKind, children: usize, members: usize) -> Result<(), UnitError> {
    if kind == UnitKind::GuestAccount {
        return Err(UnitError::GuestAccount);
    }
    if children > 0 || members > 0 {
        return Err(UnitError::NotEmpty);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_cannot_move_under_itself_or_its_descendants() {
        let (root, child, grandchild) =
            (UnitId::generate(), UnitId::generate(), UnitId::generate());
        assert_eq!(
            check_move(root, UnitKind::Location, &[grandchild, child, root]),
            Err(UnitError::Cycle)
        );
        assert_eq!(
            check_move(root, UnitKind::Location, &[root]),
            Err(UnitError::Cycle)
        );
        assert_eq!(check_move(grandchild, UnitKind::Location, &[root]), Ok(()));
    }

    #[test]
    fn the_guest_account_stays_put_and_only_empty_units_go() {
        assert_eq!(
            check_move(UnitId::generate(), UnitKind::GuestAccount, &[]),
            Err(UnitError::GuestAccount)
        );
        assert_eq!(
            check_delete(UnitKind::GuestAccount, 0, 0),
            Err(UnitError::GuestAccount)
        );
        assert_eq!(
            check_delete(UnitKind::Location, 1, 0),
            Err(UnitError::NotEmpty)
        );
        assert_eq!(check_delete(UnitKind::CustomerAccount, 0, 0), Ok(()));
        assert!(check_placement(UnitKind::Location, UnitKind::CustomerAccount).is_err());
    }
}
