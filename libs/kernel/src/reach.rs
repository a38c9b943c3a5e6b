//! Reaches: how a resource must relate to the subject for a grant to apply.

use std::fmt;

use crate::tenant::TenantSettings;

/// How a resource must relate to the subject for a grant to apply.
///
/// Reaches are ordered by inclusion, a partial order: `tenant_and_clients` ⊇ `tenant` ⊇ every
/// other reach; `unit_subtree` ⊇ `unit`; `administered_groups` ⊇ `team`;
/// `administered_courses` ⊇ `tutored_courses`. Relational reaches (team, invitees, courses,
/// events) and unit reaches are otherwise incomparable.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[repr(u8)]
pub enum Reach {
    /// The subject's own record, learning and reports.
    Own,
    /// People a Purchaser bought seats for.
    Invitees,
    /// Primary members of the groups the subject manages.
    Team,
    /// Members of the groups the subject administers or manages.
    AdministeredGroups,
    /// Courses the subject is Course Tutor of, with their lessons and events.
    TutoredCourses,
    /// Courses the subject tutors or administers, with their lessons and events.
    AdministeredCourses,
    /// Events the subject administers.
    AdministeredEvents,
    /// The unit the role is assigned at.
    Unit,
    /// The unit the role is assigned at and every unit below it.
    UnitSubtree,
    /// The whole tenant.
    Tenant,
    /// The tenant and its client tenants.
    TenantAndClients,
}

impl Reach {
    /// Every reach, narrowest first where comparable.
    pub const ALL: [Reach; 11] = [
        Reach::Own,
        Reach::Invitees,
        Reach::Team,
        Reach::AdministeredGroups,
        Reach::TutoredCourses,
        Reach::AdministeredCourses,
        Reach::AdministeredEvents,
        Reach::Unit,
        Reach::UnitSubtree,
        Reach::Tenant,
        Reach::TenantAndClients,
    ];

    /// How many reaches there are.
    pub const COUNT: usize = Reach::ALL.len();

    /// Whether this reach includes `other`: everything `other` reaches, this reaches too.
    pub const fn covers(self, other: Reach) -> bool {
        use Reach::*;
        matches!(
            (self, other),
            (TenantAndClients, _)
                | (
                    Tenant,
                    Own | Invitees | Team | AdministeredGroups | TutoredCourses
                )
                | (
                    Tenant,
                    AdministeredCourses | AdministeredEvents | Unit | UnitSubtree | Tenant
                )
                // Not `own`: the subject need not sit in the unit. (Everyone holds Student's `own`
                // grants anyway, so handing those out needs no unit reach.)
                | (UnitSubtree, Unit | UnitSubtree)
                | (Unit, Unit)
                | (AdministeredGroups, Team | AdministeredGroups)
                | (AdministeredCourses, TutoredCourses | AdministeredCourses)
                | (Own, Own)
                | (Invitees, Invitees)
                | (Team, Team)
                | (TutoredCourses, TutoredCourses)
                | (AdministeredEvents, AdministeredEvents)
        )
    }

    /// The wire name, lower_snake_case.
    pub const fn name(self) -> &'static str {
        match self {
            Reach::Own => "own",
            Reach::Invitees => "invitees",
            Reach::Team => "team",
            Reach::AdministeredGroups => "administered_groups",
            Reach::TutoredCourses => "tutored_courses",
            Reach::AdministeredCourses => "administered_courses",
            Reach::AdministeredEvents => "administered_events",
            Reach::Unit => "unit",
            Reach::UnitSubtree => "unit_subtree",
            Reach::Tenant => "tenant",
            Reach::TenantAndClients => "tenant_and_clients",
        }
    }

    /// The reach named `name`.
    pub fn parse(name: &str) -> Option<Reach> {
        Reach::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Whether grants at this reach take effect in a tenant with `settings`: unit reaches need
    /// `locations_enabled`, the client reach needs `clients_enabled`. A grant that is not in
    /// effect is dormant: it allows nothing, and it cannot be handed on either.
    pub const fn in_effect(self, settings: &TenantSettings) -> bool {
        match self {
            Reach::Unit | Reach::UnitSubtree => settings.locations_enabled,
            Reach::TenantAndClients => settings.clients_enabled,
            _ => true,
        }
    }

    /// Whether the reach is relative to a place in the unit tree (so the role must be assigned at a unit).
    pub const fn is_unit_scoped(self) -> bool {
        matches!(self, Reach::Unit | Reach::UnitSubtree)
    }
}

impl fmt::Display for Reach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inclusion_is_a_partial_order() {
        for a in Reach::ALL {
            assert!(a.covers(a), "{a} is reflexive");
            for b in Reach::ALL {
                if a != b && a.covers(b) {
                    assert!(!b.covers(a), "{a} and {b} are antisymmetric");
                }
                for c in Reach::ALL {
                    if a.covers(b) && b.covers(c) {
                        assert!(a.covers(c), "{a} ⊇ {b} ⊇ {c} is transitive");
                    }
                }
            }
        }
    }

    #[test]
    fn the_documented_inclusions_hold() {
        assert!(Reach::TenantAndClients.covers(Reach::Tenant));
        assert!(!Reach::Tenant.covers(Reach::TenantAndClients));
        assert!(Reach::UnitSubtree.covers(Reach::Unit));
        assert!(Reach::AdministeredGroups.covers(Reach::Team));
        assert!(Reach::AdministeredCourses.covers(Reach::TutoredCourses));
        assert!(!Reach::Unit.covers(Reach::Team));
        assert!(!Reach::TutoredCourses.covers(Reach::AdministeredCourses));
        for reach in Reach::ALL {
            assert_eq!(Reach::parse(reach.name()), Some(reach));
        }
    }
}
