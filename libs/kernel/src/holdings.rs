//! What a subject holds a permission through, as reach and place: what reporting turns into
//! conditions over its read models (DESIGN §7), one condition per holding, ORed. `decide`
//! allows the permission on a person only through one of these (the kernel's test
//! `every_decision_on_a_person_goes_through_a_holding` holds the two together).

use crate::facts::{Place, SubjectFacts};
use crate::permission::Permission;
use crate::reach::Reach;
use crate::responsibility::Responsibility;
use crate::role::RoleId;
use crate::template::{ACCESS_COORDINATOR_DUTIES, STUDENT};
use crate::user::{DEFAULT_ROLE, UserStatus};

/// One reach a subject holds a permission at.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct HeldReach {
    /// The reach.
    pub reach: Reach,
    /// Where the role is held (what `unit` and `unit_subtree` are relative to).
    pub place: Place,
    /// The role that grants it; `None` for the tenant's Access Coordinator's duties.
    pub role: Option<RoleId>,
}

/// Everything a subject holds a permission through.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Holdings {
    /// Role grants (the implicit Student's included) at reaches in effect, and the Access
    /// Coordinator's duties at the tenant.
    pub reaches: Vec<HeldReach>,
    /// Responsibilities whose duties hold the permission, which the subject's roles allow
    /// (each reaches the courses, events or groups the subject holds it on).
    pub responsibilities: Vec<Responsibility>,
}

impl Holdings {
    /// Whether nothing is held: a report answers nothing, not everything.
    pub fn is_empty(&self) -> bool {
        self.reaches.is_empty() && self.responsibilities.is_empty()
    }
}

/// What `subject` holds `permission` through. Like `decide`, a subject never heard of or not
/// active holds nothing; a unit reach of a role held tenant-wide reaches no unit and is left
/// out; a reach the tenant's settings switch off (locations, clients) is left out.
pub fn holdings(subject: &SubjectFacts, permission: Permission) -> Holdings {
    let mut held = Holdings::default();
    if !subject.known || subject.status != UserStatus::Active {
        return held;
    }
    if subject.access_coordinator && ACCESS_COORDINATOR_DUTIES.contains(permission) {
        held.reaches.push(HeldReach {
            reach: Reach::Tenant,
            place: Place::Tenant,
            role: None,
        });
    }
    let implicit = std::iter::once((RoleId::BuiltIn(DEFAULT_ROLE), &STUDENT, Place::Tenant));
    let roles = subject
        .roles
        .iter()
        .map(|role| (role.role, &role.grants, role.place));
    for (role, grants, place) in implicit.chain(roles) {
        for reach in Reach::ALL {
            let placed = !matches!(
                (reach, place),
                (Reach::Unit | Reach::UnitSubtree, Place::Tenant)
            );
            let holding = HeldReach {
                reach,
                place,
                role: Some(role),
            };
            if grants.at(reach).contains(permission)
                && reach.in_effect(&subject.settings)
                && placed
                && !held.reaches.contains(&holding)
            {
                held.reaches.push(holding);
            }
        }
    }
    let allowed = subject.allowed_responsibilities();
    held.responsibilities = Responsibility::ALL
        .into_iter()
        .filter(|r| allowed.contains(*r) && r.duties().contains(permission))
        .collect();
    held
}
