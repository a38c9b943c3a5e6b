//! The escalation rule asked as a question (`CheckEscalation`), for services that act on people
//! but cannot see roles: may the caller administer a user, assign a role somewhere, or give a
//! user a responsibility? The kernel's rules answer; this module only gathers their facts.

use lms_kernel::responsibility::ResponsibilitySet;
use lms_kernel::{
    EscalationError, Grants, Responsibility, RoleId, Target, TenantId, UnitId, UserId,
    check_assignment, check_dominance, check_responsibility,
};
use lms_runtime::ApiError;

use crate::core::{Actor, Core};
use crate::store::Store;

/// What the caller would do.
#[derive(Clone, Copy, Debug)]
pub enum Question {
    /// Administer this user.
    Administer(UserId),
    /// Assign this role at this unit (the tenant when `None`).
    Assign(RoleId, Option<UnitId>),
    /// Give this user this responsibility.
    Give(UserId, Responsibility),
}

/// Why the answer is no, as the response states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// A stable reason code.
    pub reason: &'static str,
    /// What is missing, for people.
    pub message: String,
}

fn escalation(error: EscalationError, outranked: bool) -> Refusal {
    let reason = match &error {
        EscalationError::TenantPrecondition(_) => "TENANT_PRECONDITION",
        EscalationError::NeedsUnit => "NEEDS_UNIT",
        _ if outranked => "OUTRANKED",
        _ => "ESCALATION",
    };
    let message = match outranked {
        true => format!("the user holds more than you: {error}"),
        false => error.to_string(),
    };
    Refusal { reason, message }
}

impl<S: Store> Core<S> {
    /// The grants of a role the tenant knows; NOT_FOUND otherwise.
    pub async fn role_grants(&self, tenant: TenantId, role: RoleId) -> Result<Grants, ApiError> {
        Ok(self.role_definition(tenant, role).await?.0)
    }

    /// The grants of a role the tenant knows and the responsibilities it allows; NOT_FOUND
    /// otherwise.
    pub async fn role_definition(
        &self,
        tenant: TenantId,
        role: RoleId,
    ) -> Result<(Grants, ResponsibilitySet), ApiError> {
        match role {
            RoleId::BuiltIn(template) => {
                let role = template.role();
                Ok((*role.grants(), role.responsibilities()))
            }
            RoleId::Custom(id) => self
                .store
                .role(tenant, id)
                .await?
                .map(|stored| (stored.grants, stored.responsibilities))
                .ok_or_else(|| ApiError::not_found("role", role.to_string())),
        }
    }

    /// Answers `question` for `actor`: `Ok(Err(..))` is a refusal, `Err` a request that cannot
    /// be answered (unknown role, outage).
    pub async fn escalation(
        &self,
        actor: &Actor,
        question: Question,
    ) -> Result<Result<(), Refusal>, ApiError> {
        let tenant = actor.tenant;
        let settings = &actor.facts.settings;
        match question {
            Question::Administer(user) => {
                let (held, _) = self.subject(tenant, user).await?;
                let mut ancestors = Vec::with_capacity(held.roles.len());
                for role in &held.roles {
                    ancestors.push(match role.place {
                        lms_kernel::Place::Unit(unit) => {
                            Some((unit, self.store.unit_ancestors(tenant, unit).await?))
                        }
                        lms_kernel::Place::Tenant => None,
                    });
                }
                let held: Vec<_> = held
                    .roles
                    .iter()
                    .zip(&ancestors)
                    .map(|(role, place)| {
                        let target = match place {
                            Some((unit, ancestors)) => Target::Unit {
                                unit: *unit,
                                ancestors,
                            },
                            None => Target::Tenant,
                        };
                        (role.grants, target)
                    })
                    .collect();
                Ok(check_dominance(&actor.facts.roles, &held, settings)
                    .map_err(|e| escalation(e, true)))
            }
            Question::Assign(role, unit) => {
                let grants = self.role_grants(tenant, role).await?;
                let ancestors = match unit {
                    Some(unit) => self.store.unit_ancestors(tenant, unit).await?,
                    None => Vec::new(),
                };
                let target = match unit {
                    Some(unit) => Target::Unit {
                        unit,
                        ancestors: &ancestors,
                    },
                    None => Target::Tenant,
                };
                Ok(
                    check_assignment(&actor.facts.roles, &grants, target, settings)
                        .map_err(|e| escalation(e, false)),
                )
            }
            Question::Give(holder, responsibility) => {
                let (facts, _) = self.subject(tenant, holder).await?;
                let allowed = facts.allowed_responsibilities();
                Ok(
                    check_responsibility(responsibility, allowed, holder, None).map_err(|e| {
                        Refusal {
                            reason: "RESPONSIBILITY_NOT_ALLOWED",
                            message: e.to_string(),
                        }
                    }),
                )
            }
        }
    }
}
