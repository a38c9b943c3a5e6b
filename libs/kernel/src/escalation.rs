//! The escalation rule: nobody assigns, creates, edits or deletes a role that grants more than
//! they hold, and nobody administers a person who holds more than they do.
//!
//! For every grant of the role, the actor must hold the same permission at a reach at least as
//! wide, at the place where the role is assigned. A role's allowed responsibilities must be among
//! those the actor's roles allow. Violations name what is missing.

use std::fmt;

use crate::facts::{HeldRole, Place};
use crate::ids::UnitId;
use crate::reach::Reach;
use crate::responsibility::{Responsibility, ResponsibilitySet};
use crate::role::{Grant, Grants, Role};
use crate::template::STUDENT;
use crate::tenant::TenantSettings;

/// Where a role is being assigned, with what the rule needs to know about the place.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// At the tenant.
    Tenant,
    /// At a unit.
    Unit {
        /// The unit.
        unit: UnitId,
        /// The unit and every unit above it.
        ancestors: &'a [UnitId],
    },
}

/// Why an assignment or definition was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EscalationError {
    /// The actor lacks these grants (at the place, for assignments).
    #[error("grants more than you hold: {}", list(.0))]
    MissingGrants(Vec<Grant>),
    /// The tenant lacks the settings the role needs.
    #[error("the tenant needs {} for this role", .0.join(" and "))]
    TenantPrecondition(Vec<&'static str>),
    /// A role with unit reaches must be assigned at a unit.
    #[error("a role with unit reach must be assigned at a unit")]
    NeedsUnit,
    /// The role allows responsibilities none of the actor's roles allows.
    #[error("allows responsibilities you may not hold: {}", names(.0))]
    MissingResponsibilities(Vec<Responsibility>),
}

fn names(responsibilities: &[Responsibility]) -> String {
    responsibilities
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn list(grants: &[Grant]) -> String {
    grants
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a held grant at `held_reach` of a role at `held_place` covers `wanted` assigned at `target`.
fn covers_at(
    held_reach: Reach,
    held_place: Place,
    wanted: Reach,
    target: Option<Target<'_>>,
) -> bool {
    if !held_reach.covers(wanted) {
        return false;
    }
    match (held_reach, target) {
        // Defining a role compares reaches only; so do tenant-wide and relational reaches.
        (_, None) => true,
        (Reach::Unit, Some(Target::Unit { unit, .. })) => held_place == Place::Unit(unit),
        (Reach::UnitSubtree, Some(Target::Unit { ancestors, .. })) => {
            matches!(held_place, Place::Unit(top) if ancestors.contains(&top))
        }
        (Reach::Unit | Reach::UnitSubtree, Some(Target::Tenant)) => false,
        _ => true,
    }
}

fn missing(
    actor: &[HeldRole],
    role: &Grants,
    target: Option<Target<'_>>,
    settings: &TenantSettings,
) -> Vec<Grant> {
    let implicit = (&STUDENT, Place::Tenant);
    let held: Vec<_> = std::iter::once(implicit)
        .chain(actor.iter().map(|h| (&h.grants, h.place)))
        .collect();
    role.iter()
        .filter(|wanted| {
            !held.iter().any(|(grants, place)| {
                Reach::ALL.into_iter().any(|reach| {
                    // A dormant grant (its tenant setting off) cannot be handed on.
                    reach.in_effect(settings)
                        && grants.at(reach).contains(wanted.permission)
                        && covers_at(reach, *place, wanted.reach, target)
                })
            })
        })
        .collect()
}

/// May an actor holding `actor`, in a tenant with `settings`, create a role with `grants` or
/// change a role to them?
pub fn check_definition(
    actor: &[HeldRole],
    grants: &Grants,
    settings: &TenantSettings,
) -> Result<(), EscalationError> {
    let missing = missing(actor, grants, None, settings);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(EscalationError::MissingGrants(missing))
    }
}

/// May an actor holding `actor` define a role like `role`: create it, or edit or delete one that
/// is (or becomes) like it? Its grants must be within the actor's ([`check_definition`]) and the
/// responsibilities it allows within those the actor's roles allow, so a copy of a higher role
/// with narrower grants does not keep duties the actor could never take on.
pub fn check_role(
    actor: &[HeldRole],
    role: &Role,
    settings: &TenantSettings,
) -> Result<(), EscalationError> {
    check_definition(actor, role.grants(), settings)?;
    check_responsibilities(actor, role.responsibilities())
}

/// May an actor holding `actor` hand out (or take back) a role allowing `responsibilities`?
/// Only if their own roles allow every one of them, so no one makes others eligible for duties
/// they could never take on.
pub fn check_responsibilities(
    actor: &[HeldRole],
    responsibilities: ResponsibilitySet,
) -> Result<(), EscalationError> {
    let allowed = actor.iter().fold(ResponsibilitySet::NONE, |all, held| {
        all.union(held.responsibilities)
    });
    let missing: Vec<_> = Responsibility::ALL
        .into_iter()
        .filter(|r| responsibilities.contains(*r) && !allowed.contains(*r))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(EscalationError::MissingResponsibilities(missing))
    }
}

/// May an actor holding `actor` administer (suspend, edit, anonymise, move) a person who holds
/// `held`, each role's grants with the place it is held at? Only if the actor could have
/// assigned every one of them there: nobody acts on someone above them. The person's roles are
/// held already, so the tenant's preconditions for them do not count here.
pub fn check_dominance(
    actor: &[HeldRole],
    held: &[(Grants, Target<'_>)],
    settings: &TenantSettings,
) -> Result<(), EscalationError> {
    let mut lacking: Vec<Grant> = Vec::new();
    for (grants, target) in held {
        for grant in missing(actor, grants, Some(*target), settings) {
            if !lacking.contains(&grant) {
                lacking.push(grant);
            }
        }
    }
    if lacking.is_empty() {
        Ok(())
    } else {
        Err(EscalationError::MissingGrants(lacking))
    }
}

/// May an actor holding `actor` assign a role with `grants` at `target`, in a tenant with `settings`?
pub fn check_assignment(
    actor: &[HeldRole],
    grants: &Grants,
    target: Target<'_>,
    settings: &TenantSettings,
) -> Result<(), EscalationError> {
    let lacking = settings.missing(&grants.required_settings());
    if !lacking.is_empty() {
        return Err(EscalationError::TenantPrecondition(lacking));
    }
    if matches!(target, Target::Tenant)
        && Reach::ALL
            .into_iter()
            .any(|r| r.is_unit_scoped() && !grants.at(r).is_empty())
    {
        return Err(EscalationError::NeedsUnit);
    }
    let missing = missing(actor, grants, Some(target), settings);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(EscalationError::MissingGrants(missing))
    }
}

impl fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Tenant => f.write_str("tenant"),
            Target::Unit { unit, .. } => write!(f, "unit {unit}"),
        }
    }
}
