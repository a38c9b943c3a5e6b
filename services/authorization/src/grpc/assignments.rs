//! `RoleAssignmentService`: assigning and revoking roles under the escalation rule and the
//! tenant's preconditions, with an audit record written in the same transaction.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use lms_api::authorization::v1::role_assignment_service_server::RoleAssignmentService;
use lms_api::authorization::v1::{
    AssignRoleRequest, AssignRoleResponse, AssignmentSource, AuditRecord as PbAuditRecord,
    ListAuditRecordsRequest, ListAuditRecordsResponse, ListRoleHoldersRequest,
    ListRoleHoldersResponse, ListUserRolesRequest, ListUserRolesResponse, RevokeRoleRequest,
    RevokeRoleResponse, SetMainRoleRequest, SetMainRoleResponse,
};
use lms_api::common::v1::{AuditStamp, ObjectReference, ObjectType};
use lms_kernel::responsibility::ResponsibilitySet;
use lms_kernel::{
    AssignmentId, Grants, Permission, RoleId, Target, Template, TenantId, UnitId, UserId,
    check_assignment, check_responsibilities,
};
use lms_runtime::ApiError;
use lms_runtime::auth::{Caller, Scope, require_scope};
use lms_runtime::clock::now;
use lms_runtime::paging::page_size;

use super::caller;
use crate::convert;
use crate::core::{Actor, Core};
use crate::error::refusal;
use crate::store::{AssignmentRecord, AuditEntry, Guarded, Revision, Stamp, Store};

pub struct Assignments<S>(pub Arc<Core<S>>);

const ASSIGNMENT_OBJECT: i16 = ObjectType::Role as i16;

/// Who assigns: a person, bound by the escalation rule; a tenant's integration, bound by it as
/// its holder (the person who made the account) would be, or trusted within its scope when an
/// operator made it; or a platform service (identity's defaults and people-data feed) trusted
/// for its token's tenant. Only the platform's services deliver events, claim a source or name
/// whom they act for.
enum Assigner {
    Person(Box<Actor>),
    Integration {
        tenant: TenantId,
        name: String,
        holder: Option<Box<Actor>>,
    },
    Service {
        tenant: TenantId,
        name: String,
    },
}

/// How audit records name a tenant's integration: qualified, so that no account of a tenant is
/// mistaken for a platform service of the same name (review L7), with the holder it acted for.
fn integration_actor(name: &str, holder: Option<String>) -> String {
    match holder {
        Some(holder) => format!("integration:{name} for {holder}"),
        None => format!("integration:{name}"),
    }
}

impl Assigner {
    fn tenant(&self) -> TenantId {
        match self {
            Assigner::Person(actor) => actor.tenant,
            Assigner::Integration { tenant, .. } | Assigner::Service { tenant, .. } => *tenant,
        }
    }

    /// Whose rights bound the assigner: a person's own, an integration's holder's; `None` for
    /// a trusted platform service or an integration an operator made.
    fn bounded_by(&self) -> Option<&Actor> {
        match self {
            Assigner::Person(actor) => Some(actor),
            Assigner::Integration { holder, .. } => holder.as_deref(),
            Assigner::Service { .. } => None,
        }
    }

    /// The assigner as audit records name it: an integration by its name and its holder.
    fn id(&self) -> String {
        match self {
            Assigner::Person(actor) => actor.id(),
            Assigner::Integration { name, holder, .. } => {
                integration_actor(name, holder.as_ref().map(|h| h.id()))
            }
            Assigner::Service { name, .. } => format!("service:{name}"),
        }
    }

    /// Who the audit names: whom a platform service acted for (`on_behalf_of`: an approval, a
    /// promotion, the feed run by someone; with `on_behalf_of_integration`, the feed run by a
    /// tenant's integration for its holder), else the assigner itself. People and integrations
    /// cannot claim to act for someone else (an integration acts for its holder), so the fields
    /// are ignored from them.
    fn audit_actor(&self, on_behalf_of: &str, integration: &str) -> Result<String, ApiError> {
        let Assigner::Service { .. } = self else {
            return Ok(self.id());
        };
        let person = match on_behalf_of {
            "" => None,
            id => Some(convert::id("on_behalf_of", id, UserId::parse)?.to_string()),
        };
        match (integration.trim(), person) {
            ("", None) => Ok(self.id()),
            ("", Some(person)) => Ok(person),
            (name, holder) if valid_account_name(name) => Ok(integration_actor(name, holder)),
            _ => Err(ApiError::invalid_field(
                "on_behalf_of_integration",
                "is a service account's name: at most 64 lower-case letters, digits or dashes",
            )),
        }
    }
}

/// Whether `name` could be a service account's name (identity's rule), so a delivered name
/// never puts arbitrary text into the audit.
fn valid_account_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl<S: Store> Assignments<S> {
    /// Who assigns, for `giving` (`Some(role)`) or taking back (`None`) a role.
    async fn assigner(
        &self,
        caller: &Caller,
        giving: Option<RoleId>,
    ) -> Result<Assigner, ApiError> {
        match caller {
            Caller::User { .. } => Ok(Assigner::Person(Box::new(self.0.actor(caller).await?))),
            Caller::Integration { name, tenant, .. } => {
                require_scope(caller, Scope::AssignRoles)?;
                Ok(Assigner::Integration {
                    tenant: *tenant,
                    name: name.clone(),
                    holder: self.0.bounding_person(caller).await?.map(Box::new),
                })
            }
            Caller::Service { name, scopes, .. } => {
                // Delegation's shop orders give the two roles a purchase gives, and nothing
                // else, with the shop scope; every other role (and every revocation) needs the
                // full one.
                let shop_role = matches!(
                    giving,
                    Some(RoleId::BuiltIn(Template::Student | Template::Purchaser))
                );
                if !(shop_role && scopes.has(Scope::ShopRoles)) {
                    require_scope(caller, Scope::AssignRoles)?;
                }
                Ok(Assigner::Service {
                    tenant: lms_runtime::auth::tenant(caller)?,
                    name: name.clone(),
                })
            }
        }
    }

    /// May the assigner hand out (or take back) a role with `grants` allowing `responsibilities`
    /// at `unit` to `user`? Platform services are trusted; people, and integrations as their
    /// holder, need `role_assignments.create` on the user and must pass the escalation rule,
    /// responsibilities compared like grants.
    async fn may_assign(
        &self,
        assigner: &Assigner,
        user: UserId,
        (grants, responsibilities): (&Grants, ResponsibilitySet),
        unit: Option<UnitId>,
    ) -> Result<(), ApiError> {
        let Some(actor) = assigner.bounded_by() else {
            return Ok(());
        };
        let target_user = self.0.user_resource(actor.tenant, user).await?;
        self.0
            .require(actor, Permission::RoleAssignmentsCreate, &target_user)?;
        let ancestors = match unit {
            Some(unit) => self.0.store.unit_ancestors(actor.tenant, unit).await?,
            None => Vec::new(),
        };
        let target = match unit {
            Some(unit) => Target::Unit {
                unit,
                ancestors: &ancestors,
            },
            None => Target::Tenant,
        };
        check_assignment(&actor.facts.roles, grants, target, &actor.facts.settings)
            .map_err(refusal)?;
        check_responsibilities(&actor.facts.roles, responsibilities).map_err(refusal)
    }

    /// Revokes one assignment under the escalation rule (nobody takes back what they could not
    /// have handed out), audited; `None` when it was gone meanwhile.
    async fn revoke(
        &self,
        assigner: &Assigner,
        record: AssignmentRecord,
    ) -> Result<Option<Revision>, ApiError> {
        let tenant = assigner.tenant();
        let (grants, responsibilities) = self.0.role_definition(tenant, record.role).await?;
        self.may_assign(
            assigner,
            record.user,
            (&grants, responsibilities),
            record.unit,
        )
        .await?;
        let audit = AuditEntry {
            stamp: Stamp {
                actor: assigner.id(),
                at: now(),
            },
            action: "role_assignment.revoked",
            object_type: ASSIGNMENT_OBJECT,
            object_id: record.id.to_string(),
            before: Some(convert::assignment_json(&record)),
            after: None,
        };
        let Some((_, revision)) = self
            .0
            .store
            .delete_assignment(tenant, record.id, audit)
            .await?
        else {
            return Ok(None);
        };
        self.0.invalidate_subject(tenant, record.user, revision);
        tracing::info!(tenant = %tenant, assignment = %record.id, "role revoked");
        Ok(Some(revision))
    }

    /// Users may read their own assignments; others need `role_assignments.read` on the user.
    async fn may_read_user(&self, actor: &Actor, user: UserId) -> Result<(), ApiError> {
        if actor.facts.user == user {
            return Ok(());
        }
        let target = self.0.user_resource(actor.tenant, user).await?;
        self.0
            .require(actor, Permission::RoleAssignmentsRead, &target)
    }
}

#[tonic::async_trait]
impl<S: Store> RoleAssignmentService for Assignments<S> {
    async fn assign_role(
        &self,
        request: Request<AssignRoleRequest>,
    ) -> Result<Response<AssignRoleResponse>, Status> {
        let role = convert::role_id("role_id", &request.get_ref().role_id)?;
        let assigner = self.assigner(&caller(&request)?, Some(role)).await?;
        let tenant = assigner.tenant();
        let r = request.into_inner();
        let user = convert::id("user_id", &r.user_id, UserId::parse)?;
        if let RoleId::BuiltIn(template) = role
            && !template.assignable()
        {
            return Err(ApiError::FailedPrecondition {
                reason: "NOT_ASSIGNABLE",
                message: "the Access Coordinator's duty moves only by the hand-over \
                          (TransferAccessCoordinator), never by a role"
                    .into(),
            }
            .into());
        }
        let unit = match r.unit_id.as_str() {
            "" => None,
            text => Some(convert::id("unit_id", text, UnitId::parse)?),
        };
        let (valid_from, valid_until) = (
            convert::seconds(&r.valid_from),
            convert::seconds(&r.valid_until),
        );
        if let (Some(from), Some(until)) = (valid_from, valid_until)
            && until <= from
        {
            return Err(ApiError::invalid_field("valid_until", "must be after valid_from").into());
        }
        let source = match AssignmentSource::try_from(r.source) {
            // A person, and a tenant's integration acting within its holder's rights, assign by
            // hand whatever they claim: the platform's services revoke by source (the feed, the
            // shop), so nobody else may make an assignment look like theirs.
            Ok(_) if matches!(assigner, Assigner::Person(_) | Assigner::Integration { .. }) => {
                AssignmentSource::Manual
            }
            Ok(AssignmentSource::Unspecified) => AssignmentSource::Manual,
            Ok(source) => source,
            Err(_) => {
                return Err(
                    ApiError::invalid_field("source", "is not an assignment source").into(),
                );
            }
        };
        // A service delivering an event names it: the assignment takes the event's id, and the
        // event is applied once. A redelivery answers before any check (what was checked then
        // may have changed since): the first assignment, or nothing new when it was revoked.
        // Only the platform's own services: a redelivery answers before any check, which must
        // not let an integration read an assignment its holder could not.
        let event = match (&assigner, r.event_id.as_str()) {
            (Assigner::Service { .. }, text) if !text.is_empty() => {
                Some(convert::id("event_id", text, AssignmentId::parse)?)
            }
            _ => None,
        };
        if let Some(id) = event
            && self.0.store.applied(id.as_uuid()).await?
        {
            let existing = self.0.store.assignment(tenant, id).await?;
            let revision = self.0.store.revision(tenant).await?;
            return Ok(Response::new(AssignRoleResponse {
                assignment: existing.as_ref().map(convert::assignment),
                written_at: Some(convert::token(tenant, revision)),
            }));
        }
        // Identity pushes every user it creates; a user it never mentioned does not exist.
        let (rows, _) = self.0.store.subject_rows(tenant, user).await?;
        if rows.status.is_none() {
            return Err(ApiError::not_found("user", &r.user_id).into());
        }
        let (grants, responsibilities) = self.0.role_definition(tenant, role).await?;
        self.may_assign(&assigner, user, (&grants, responsibilities), unit)
            .await?;
        // Likewise a unit: one of another tenant's, or none at all, is refused, not stored.
        // Asked after the escalation rule, so only someone who may assign there learns it.
        if let Some(unit) = unit
            && !self.0.store.unit_known(tenant, unit).await?
        {
            return Err(ApiError::not_found("unit", &r.unit_id).into());
        }
        if assigner.bounded_by().is_none() {
            // Trusted callers skip the escalation rule, never the tenant's preconditions.
            let lacking = rows.settings.missing(&grants.required_settings());
            if !lacking.is_empty() {
                return Err(
                    refusal(lms_kernel::EscalationError::TenantPrecondition(lacking)).into(),
                );
            }
        }
        let id = event.unwrap_or_else(AssignmentId::generate);
        let stamp = Stamp {
            actor: assigner.audit_actor(&r.on_behalf_of, &r.on_behalf_of_integration)?,
            at: now(),
        };
        let record = AssignmentRecord {
            id,
            user,
            role,
            unit,
            valid_from,
            valid_until,
            source: source as i16,
            main_role: r.main_role,
            assigned: stamp.clone(),
        };
        let audit = AuditEntry {
            stamp,
            action: "role_assignment.created",
            object_type: ASSIGNMENT_OBJECT,
            object_id: record.id.to_string(),
            before: None,
            after: Some(convert::assignment_json(&record)),
        };
        let revision = if event.is_some() || r.unless_held {
            let guarded = self
                .0
                .store
                .insert_assignment_guarded(
                    tenant,
                    &record,
                    audit,
                    event.map(|event| event.as_uuid()),
                    r.unless_held,
                )
                .await?;
            match guarded {
                Guarded::Added(revision) => revision,
                // Held already (asked `unless_held`): that assignment, nothing added.
                Guarded::Held(held, recorded) => {
                    let revision = match recorded {
                        Some(revision) => {
                            self.0.written(tenant, revision);
                            revision
                        }
                        None => self.0.store.revision(tenant).await?,
                    };
                    return Ok(Response::new(AssignRoleResponse {
                        assignment: Some(convert::assignment(&held)),
                        written_at: Some(convert::token(tenant, revision)),
                    }));
                }
                // Applied before and revoked since: a redelivery changes nothing.
                Guarded::Replayed => {
                    let revision = self.0.store.revision(tenant).await?;
                    return Ok(Response::new(AssignRoleResponse {
                        assignment: None,
                        written_at: Some(convert::token(tenant, revision)),
                    }));
                }
            }
        } else {
            self.0
                .store
                .insert_assignment(tenant, &record, audit)
                .await?
        };
        self.0.invalidate_subject(tenant, user, revision);
        tracing::info!(tenant = %tenant, assignment = %record.id, role = %role, "role assigned");
        Ok(Response::new(AssignRoleResponse {
            assignment: Some(convert::assignment(&record)),
            written_at: Some(convert::token(tenant, revision)),
        }))
    }

    async fn revoke_role(
        &self,
        request: Request<RevokeRoleRequest>,
    ) -> Result<Response<RevokeRoleResponse>, Status> {
        let assigner = self.assigner(&caller(&request)?, None).await?;
        let tenant = assigner.tenant();
        let r = request.into_inner();
        let revision = if r.assignment_id.is_empty() {
            // What a holder has of a role, taken back by the service that gave it, once per
            // event, in one transaction. Only trusted services: the escalation rule is checked
            // per assignment, so people and integrations revoke one assignment at a time.
            match &assigner {
                Assigner::Service { .. } => {}
                Assigner::Person(_) => {
                    return Err(ApiError::PermissionDenied {
                        reason: "SERVICE_REQUIRED",
                        message: "people revoke an assignment by its id".into(),
                        metadata: Default::default(),
                    }
                    .into());
                }
                Assigner::Integration { .. } => {
                    return Err(ApiError::PermissionDenied {
                        reason: "PLATFORM_SERVICE_REQUIRED",
                        message: "a tenant's integration revokes an assignment by its id, \
                                  within what its holder may revoke"
                            .into(),
                        metadata: Default::default(),
                    }
                    .into());
                }
            }
            let user = convert::id("user_id", &r.user_id, UserId::parse)?;
            // No role: every role the holder has (identity deleting an account).
            let role = match r.role_id.as_str() {
                "" => None,
                role => Some(convert::role_id("role_id", role)?),
            };
            let event = convert::id("event_id", &r.event_id, AssignmentId::parse)?;
            let source = match AssignmentSource::try_from(r.source) {
                Ok(AssignmentSource::Unspecified) => None,
                Ok(source) => Some(source as i16),
                Err(_) => {
                    return Err(
                        ApiError::invalid_field("source", "is not an assignment source").into(),
                    );
                }
            };
            let actor = assigner.audit_actor(&r.on_behalf_of, &r.on_behalf_of_integration)?;
            let revoked = self
                .0
                .store
                .revoke_held(tenant, user, role, source, event.as_uuid(), |record| {
                    AuditEntry {
                        stamp: Stamp {
                            actor: actor.clone(),
                            at: now(),
                        },
                        action: "role_assignment.revoked",
                        object_type: ASSIGNMENT_OBJECT,
                        object_id: record.id.to_string(),
                        before: Some(convert::assignment_json(record)),
                        after: None,
                    }
                })
                .await?;
            match revoked {
                Some((records, revision)) => {
                    if records.is_empty() {
                        self.0.written(tenant, revision);
                    } else {
                        self.0.invalidate_subject(tenant, user, revision);
                        tracing::info!(%tenant, %user, role = ?role, revoked = records.len(), "role taken back");
                    }
                    revision
                }
                None => self.0.store.revision(tenant).await?,
            }
        } else {
            let id = convert::id("assignment_id", &r.assignment_id, AssignmentId::parse)?;
            let record = self
                .0
                .store
                .assignment(tenant, id)
                .await?
                .ok_or_else(|| ApiError::not_found("role assignment", &r.assignment_id))?;
            self.revoke(&assigner, record)
                .await?
                .ok_or_else(|| ApiError::not_found("role assignment", &r.assignment_id))?
        };
        Ok(Response::new(RevokeRoleResponse {
            written_at: Some(convert::token(tenant, revision)),
        }))
    }

    async fn list_user_roles(
        &self,
        request: Request<ListUserRolesRequest>,
    ) -> Result<Response<ListUserRolesResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let user = convert::id("user_id", &r.user_id, UserId::parse)?;
        // Platform services read within the tenant their token names (identity hands roles
        // over); people read whom they may see, and integrations whom their holder may see.
        let tenant = lms_runtime::auth::tenant(&caller)?;
        require_scope(&caller, Scope::AssignRoles)?;
        if let Some(actor) = self.0.bounding_person(&caller).await? {
            self.may_read_user(&actor, user).await?;
        }
        let at = now();
        let assignments = self
            .0
            .store
            .assignments_of(tenant, user)
            .await?
            .iter()
            .filter(|a| r.include_inactive || a.is_active(at))
            .map(convert::assignment)
            .collect();
        // Read after the assignments, so it is at least the revision that wrote each of them.
        let revision = self.0.store.revision(tenant).await?;
        Ok(Response::new(ListUserRolesResponse {
            assignments,
            read_at: Some(convert::token(tenant, revision)),
        }))
    }

    async fn list_role_holders(
        &self,
        request: Request<ListRoleHoldersRequest>,
    ) -> Result<Response<ListRoleHoldersResponse>, Status> {
        let actor = self.0.actor(&caller(&request)?).await?;
        self.0
            .require_tenant_wide(&actor, Permission::RoleAssignmentsRead)?;
        let r = request.into_inner();
        let role = convert::role_id("role_id", &r.role_id)?;
        let after = match r.page_token.as_str() {
            "" => None,
            token => Some(convert::id("page_token", token, AssignmentId::parse)?),
        };
        let limit = page_size(r.page_size, 100, 1000);
        let mut holders = self
            .0
            .store
            .holders_of(actor.tenant, role, after, limit + 1)
            .await?;
        let next_page_token = if holders.len() as i64 > limit {
            holders.truncate(limit as usize);
            holders.last().map(|a| a.id.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(ListRoleHoldersResponse {
            assignments: holders.iter().map(convert::assignment).collect(),
            next_page_token,
        }))
    }

    async fn set_main_role(
        &self,
        request: Request<SetMainRoleRequest>,
    ) -> Result<Response<SetMainRoleResponse>, Status> {
        let actor = self.0.actor(&caller(&request)?).await?;
        let r = request.into_inner();
        let user = convert::id("user_id", &r.user_id, UserId::parse)?;
        let id = convert::id("assignment_id", &r.assignment_id, AssignmentId::parse)?;
        if actor.facts.user != user {
            let target = self.0.user_resource(actor.tenant, user).await?;
            self.0
                .require(&actor, Permission::RoleAssignmentsCreate, &target)?;
        }
        let audit = AuditEntry {
            stamp: Stamp {
                actor: actor.id(),
                at: now(),
            },
            action: "role_assignment.main_role_set",
            object_type: ASSIGNMENT_OBJECT,
            object_id: id.to_string(),
            before: None,
            after: Some(format!("{{\"main_role\":\"{id}\"}}")),
        };
        let record = self
            .0
            .store
            .set_main_role(actor.tenant, user, id, audit)
            .await?
            .ok_or_else(|| ApiError::not_found("role assignment of that user", &r.assignment_id))?;
        // No revision is bumped and nothing cached changes: which role is the main one is not a
        // decision input. (Announcing the current revision as this write's would let it stand in
        // for a lost invalidation of the write that made that revision.)
        Ok(Response::new(SetMainRoleResponse {
            assignment: Some(convert::assignment(&record)),
        }))
    }

    async fn list_audit_records(
        &self,
        request: Request<ListAuditRecordsRequest>,
    ) -> Result<Response<ListAuditRecordsResponse>, Status> {
        let actor = self.0.actor(&caller(&request)?).await?;
        self.0.require_tenant_wide(&actor, Permission::AuditRead)?;
        let r = request.into_inner();
        let object = r
            .object
            .as_ref()
            .filter(|o| o.r#type != 0)
            .map(|o| (o.r#type as i16, o.id.clone()));
        let before = match r.page_token.as_str() {
            "" => None,
            token => Some(token.parse::<i64>().map_err(|_| {
                ApiError::invalid_field("page_token", "is not a token from ListAuditRecords")
            })?),
        };
        let limit = page_size(r.page_size, 100, 1000);
        let mut records = self
            .0
            .store
            .audit_records(actor.tenant, object, before, limit + 1)
            .await?;
        let next_page_token = if records.len() as i64 > limit {
            records.truncate(limit as usize);
            records
                .last()
                .map(|r| r.sequence.to_string())
                .unwrap_or_default()
        } else {
            String::new()
        };
        let records = records
            .into_iter()
            .map(|record| PbAuditRecord {
                sequence: record.sequence,
                stamp: Some(AuditStamp {
                    actor_id: record.entry.stamp.actor,
                    at: Some(convert::timestamp(record.entry.stamp.at)),
                }),
                action: record.entry.action.into(),
                object: Some(ObjectReference {
                    r#type: i32::from(record.entry.object_type),
                    id: record.entry.object_id,
                    tenant_id: String::new(),
                }),
                before_json: record.entry.before.unwrap_or_default(),
                after_json: record.entry.after.unwrap_or_default(),
            })
            .collect();
        Ok(Response::new(ListAuditRecordsResponse {
            records,
            next_page_token,
        }))
    }
}
