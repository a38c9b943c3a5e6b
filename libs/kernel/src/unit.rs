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

impl UnitKind {
    /// Every kind, in code order.
    pub const ALL: [UnitKind; 5] = [
        UnitKind::Location,
        UnitKind::CustomerAccount,
        UnitKind::ProviderAccount,
        UnitKind::GuestAccount,
        UnitKind::AccountGroup,
    ];

    /// The kind's number, as the API (`lms.identity.v1.UnitKind`) and the stores write it.
    pub const fn code(self) -> i16 {
        match self {
            UnitKind::Location => 1,
            UnitKind::CustomerAccount => 2,
            UnitKind::ProviderAccount => 3,
            UnitKind::GuestAccount => 4,
            UnitKind::AccountGroup => 5,
        }
    }

    /// The kind a number names, if any.
    pub const fn from_code(code: i16) -> Option<UnitKind> {
        match code {
            1 => Some(UnitKind::Location),
            2 => Some(UnitKind::CustomerAccount),
            3 => Some(UnitKind::ProviderAccount),
            4 => Some(UnitKind::GuestAccount),
            5 => Some(UnitKind::AccountGroup),
            _ => None,
        }
    }

    /// Whether people may be employed here: accounts and locations, not account groups.
    pub const fn employs(self) -> bool {
        !matches!(self, UnitKind::AccountGroup)
    }
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
    /// The Guest account is created with the tenant, stays at the root and lives as long as it.
    #[error("the Guest account is created with the tenant and cannot be deleted")]
    GuestAccount,
    /// A unit with child units cannot be deleted.
    #[error("the unit has child units")]
    HasChildren,
    /// A unit where people are employed cannot be deleted.
    #[error("people are employed at the unit")]
    HasEmployees,
}

/// Checks that a new unit of `kind` may be created: the Guest account comes with its tenant.
pub fn check_new(kind: UnitKind) -> Result<(), UnitError> {
    match kind {
        UnitKind::GuestAccount => Err(UnitError::GuestAccount),
        _ => Ok(()),
    }
}

/// Checks that `child` may sit under a unit of kind `parent`, or at the root when `None`: any
/// kind may be a root; locations nest under locations; accounts and account groups sit under
/// locations or account groups; nothing sits under an account, and the Guest account under
/// nothing.
pub fn check_placement(child: UnitKind, parent: Option<UnitKind>) -> Result<(), UnitError> {
    use UnitKind::*;
    let Some(parent) = parent else {
        return Ok(());
    };
    match (child, parent) {
        (Location, Location)
        | (CustomerAccount | ProviderAccount | AccountGroup, Location | AccountGroup) => Ok(()),
        (child, parent) => Err(UnitError::Placement { child, parent }),
    }
}

/// Checks that `unit` of `kind` may move under a parent of kind `new_parent`, whose ancestors
/// (inclusive) are `new_parent_ancestors`, or to the root when `new_parent` is `None`: the
/// placement rule holds and the move makes no cycle. The Guest account may only stay at the
/// root.
pub fn check_move(
    unit: UnitId,
    kind: UnitKind,
    new_parent: Option<UnitKind>,
    new_parent_ancestors: &[UnitId],
) -> Result<(), UnitError> {
    check_placement(kind, new_parent)?;
    if new_parent_ancestors.contains(&unit) {
        return Err(UnitError::Cycle);
    }
    Ok(())
}

/// Checks that giving `unit` the parent `parent` makes no cycle, in a tree where every unit's
/// parent (after all the other changes being made with this one) is `parent_of`: walking up
/// from the new parent never comes back to `unit`. A loop above that does not pass through
/// `unit` is left to the check of a unit on it, so each unit on a cycle is refused once.
pub fn check_acyclic(
    unit: UnitId,
    parent: Option<UnitId>,
    parent_of: impl Fn(UnitId) -> Option<UnitId>,
) -> Result<(), UnitError> {
    let mut seen = std::collections::HashSet::new();
    let mut next = parent;
    while let Some(current) = next {
        if current == unit {
            return Err(UnitError::Cycle);
        }
        if !seen.insert(current) {
            return Ok(());
        }
        next = parent_of(current);
    }
    Ok(())
}

/// Checks that a unit may be deleted: no child units, nobody employed there now, and not the
/// Guest account. (Emptiness is named first: a Guest account with people reads as not empty,
/// the reason that stays true whoever asks.)
pub fn check_delete(kind: UnitKind, children: usize, employees: usize) -> Result<(), UnitError> {
    if children > 0 {
        return Err(UnitError::HasChildren);
    }
    if employees > 0 {
        return Err(UnitError::HasEmployees);
    }
    if kind == UnitKind::GuestAccount {
        return Err(UnitError::GuestAccount);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_given_itself_or_a_descendant_as_parent_makes_a_cycle() {
        let (a, b, c, d) = (
            UnitId::generate(),
            UnitId::generate(),
            UnitId::generate(),
            UnitId::generate(),
        );
        // c under b under a; d is a root.
        let tree = |unit| match unit {
            u if u == b => Some(a),
            u if u == c => Some(b),
            _ => None,
        };
        assert_eq!(check_acyclic(a, Some(a), tree), Err(UnitError::Cycle));
        assert_eq!(check_acyclic(a, Some(c), tree), Err(UnitError::Cycle));
        assert_eq!(check_acyclic(c, Some(d), tree), Ok(()));
        assert_eq!(check_acyclic(d, None, tree), Ok(()));
        // A loop above (c <-> b) that d only hangs from is reported by c's and b's checks.
        let looped = |unit| match unit {
            u if u == b => Some(c),
            u if u == c => Some(b),
            _ => None,
        };
        assert_eq!(check_acyclic(d, Some(c), looped), Ok(()));
        assert_eq!(check_acyclic(b, Some(c), looped), Err(UnitError::Cycle));
    }

    #[test]
    fn a_unit_cannot_move_under_itself_or_its_descendants() {
        let (root, child, grandchild) =
            (UnitId::generate(), UnitId::generate(), UnitId::generate());
        let location = Some(UnitKind::Location);
        assert_eq!(
            check_move(
                root,
                UnitKind::Location,
                location,
                &[grandchild, child, root]
            ),
            Err(UnitError::Cycle)
        );
        assert_eq!(
            check_move(root, UnitKind::Location, location, &[root]),
            Err(UnitError::Cycle)
        );
        assert_eq!(
            check_move(grandchild, UnitKind::Location, location, &[root]),
            Ok(())
        );
        assert_eq!(check_move(root, UnitKind::Location, None, &[]), Ok(()));
    }

    #[test]
    fn the_guest_account_stays_at_the_root_and_only_empty_units_go() {
        let guest = UnitId::generate();
        assert_eq!(
            check_new(UnitKind::GuestAccount),
            Err(UnitError::GuestAccount)
        );
        assert_eq!(check_new(UnitKind::Location), Ok(()));
        assert_eq!(
            check_move(guest, UnitKind::GuestAccount, Some(UnitKind::Location), &[]),
            Err(UnitError::Placement {
                child: UnitKind::GuestAccount,
                parent: UnitKind::Location
            })
        );
        assert_eq!(check_move(guest, UnitKind::GuestAccount, None, &[]), Ok(()));
        assert_eq!(
            check_delete(UnitKind::GuestAccount, 0, 0),
            Err(UnitError::GuestAccount)
        );
        assert_eq!(
            check_delete(UnitKind::Location, 1, 0),
            Err(UnitError::HasChildren)
        );
        assert_eq!(
            check_delete(UnitKind::CustomerAccount, 0, 2),
            Err(UnitError::HasEmployees)
        );
        assert_eq!(check_delete(UnitKind::CustomerAccount, 0, 0), Ok(()));
        assert_eq!(
            check_delete(UnitKind::GuestAccount, 0, 1),
            Err(UnitError::HasEmployees)
        );
    }

    #[test]
    fn locations_nest_and_accounts_are_leaves() {
        use UnitKind::*;
        let ok = |child, parent| check_placement(child, parent).is_ok();
        for kind in UnitKind::ALL {
            assert!(ok(kind, None), "{kind:?} may be a root");
        }
        assert!(ok(Location, Some(Location)));
        assert!(!ok(Location, Some(AccountGroup)));
        assert!(ok(CustomerAccount, Some(AccountGroup)));
        assert!(ok(ProviderAccount, Some(Location)));
        assert!(ok(AccountGroup, Some(AccountGroup)));
        assert!(!ok(CustomerAccount, Some(CustomerAccount)));
        assert!(!ok(AccountGroup, Some(GuestAccount)));
        assert!(!ok(GuestAccount, Some(Location)));
        for parent in [CustomerAccount, ProviderAccount, GuestAccount] {
            for child in UnitKind::ALL {
                assert!(!ok(child, Some(parent)), "nothing sits under an account");
            }
        }
    }

    #[test]
    fn codes_round_trip() {
        for kind in UnitKind::ALL {
            assert_eq!(UnitKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(UnitKind::from_code(0), None);
        assert_eq!(UnitKind::from_code(6), None);
        assert!(!UnitKind::AccountGroup.employs());
        assert!(UnitKind::Location.employs());
    }
}
