//! `RoleService`: the permission vocabulary, built-in templates and custom roles. Defining a
//! role obeys the escalation rule.

use std::sync::Arc;

use lms_api::authorization::v1::role_service_server::RoleService;
use lms_api::authorization::v1::{
    CreateRoleRequest, CreateRoleResponse, DeleteRoleRequest, DeleteRoleResponse, GetRoleRequest,
    GetRoleResponse, ListPermissionsRequest, ListPermissionsResponse, ListRolesRequest,
    ListRolesResponse, Role as PbRole, UpdateRoleRequest, UpdateRoleResponse,
};
use lms_kernel::role::check_name;
use lms_kernel::{Area, CustomRoleId, Grants, Permission, Role, RoleId, Template, check_role};
use lms_runtime::ApiError;
use lms_runtime::clock::now;
use tonic::{Request, Response, Status};

use lms_runtime::paging::page_size;

use super::caller;
use crate::convert;
use crate::core::{Actor, Core};
use crate::error::{refusal, role_refusal};
use crate::store::{AuditEntry, RoleRecord, Stamp, Store};

pub struct Roles<S>(pub Arc<Core<S>>);

const ROLE_OBJECT: i16 = lms_api::common::v1::ObjectType::Role as i16;

/// A role as the caller named it: a built-in template or one of the tenant's custom roles.
enum Named {
    BuiltIn(Template),
    Custom(Box<RoleRecord>),
}

impl Named {
    /// The role as the kernel's role rules read it.
    fn role(&self) -> Result<Role, ApiError> {
        match self {
            Named::BuiltIn(template) => Ok(template.role()),
            Named::Custom(role) => stored(role),
        }
    }

    fn to_proto(&self) -> PbRole {
        match self {
            Named::BuiltIn(template) => convert::template_role(*template),
            Named::Custom(role) => convert::custom_role(role),
        }
    }
}

/// A stored custom role as the kernel's role; a stored role breaking the rules is a bug.
fn stored(record: &RoleRecord) -> Result<Role, ApiError> {
    Role::stored(
        record.id,
        &record.name,
        record.grants,
        record.responsibilities,
        record.copied_from,
    )
    .map_err(ApiError::internal)
}

impl<S: Store> Roles<S> {
    async fn named(&self, actor: &Actor, field: &str, text: &str) -> Result<Named, ApiError> {
        match convert::role_id(field, text)? {
            RoleId::BuiltIn(template) => Ok(Named::BuiltIn(template)),
            RoleId::Custom(id) => self
                .0
                .store
                .role(actor.tenant, id)
                .await?
                .map(|role| Named::Custom(Box::new(role)))
                .ok_or_else(|| ApiError::not_found("role", text)),
        }
    }

    /// Reading roles is for those who read or make assignments.
    fn may_read(&self, actor: &Actor) -> Result<(), ApiError> {
        self.0
            .require_tenant_wide(actor, Permission::RolesRead)
            .or_else(|_| {
                self.0
                    .require_tenant_wide(actor, Permission::RoleAssignmentsRead)
            })
    }

    /// Defining, editing or deleting roles needs `roles.define`, and every role touched (as it
    /// was and as it becomes) must be within what the actor holds: grants and responsibilities.
    fn may_define(&self, actor: &Actor, roles: &[&Role]) -> Result<(), ApiError> {
        self.0.require_tenant_wide(actor, Permission::RolesDefine)?;
        roles.iter().try_for_each(|role| {
            check_role(&actor.facts.roles, role, &actor.facts.settings).map_err(refusal)
        })
    }
}

#[tonic::async_trait]
impl<S: Store> RoleService for Roles<S> {
    async fn list_permissions(
        &self,
        _: Request<ListPermissionsRequest>,
    ) -> Result<Response<ListPermissionsResponse>, Status> {
        // Area by area, so a client can show the vocabulary grouped without sorting it again.
        let permissions = Area::ALL
            .iter()
            .flat_map(|area| area.permissions())
            .map(convert::permission_info)
            .collect();
        Ok(Response::new(ListPermissionsResponse { permissions }))
    }

    async fn list_roles(
        &self,
        request: Request<ListRolesRequest>,
    ) -> Result<Response<ListRolesResponse>, Status> {
        let actor = self.0.actor(&caller(&request)?).await?;
        self.may_read(&actor)?;
        let r = request.into_inner();
        let limit = page_size(r.page_size, 100, 500);
        // Pages run through the templates (`t:<index>`), then custom roles by name (`c:<name>`).
        let mut roles: Vec<PbRole> = Vec::new();
        let mut after_name: Option<String> = None;
        let template_start = match r.page_token.as_str() {
            "" => Some(0),
            token => match token.split_once(':') {
                Some(("t", index)) => Some(index.parse::<usize>().map_err(|_| {
                    ApiError::invalid_field("page_token", "is not a token from ListRoles")
                })?),
                Some(("c", name)) => {
                    after_name = Some(name.to_owned());
                    None
                }
                _ => {
                    return Err(ApiError::invalid_field(
                        "page_token",
                        "is not a token from ListRoles",
                    )
                    .into());
                }
            },
        };
        if let (Some(start), false) = (template_start, r.custom_only) {
            let end = (start + limit as usize).min(Template::ALL.len());
            roles.extend(
                Template::ALL[start.min(end)..end]
                    .iter()
                    .map(|t| convert::template_role(*t)),
            );
            if end < Template::ALL.len() {
                return Ok(Response::new(ListRolesResponse {
                    roles,
                    next_page_token: format!("t:{end}"),
                }));
            }
        }
        let room = limit - roles.len() as i64;
        let custom = self
            .0
            .store
            .roles(actor.tenant, after_name.as_deref(), room + 1)
            .await
            .map_err(ApiError::from)?;
        let more = custom.len() as i64 > room;
        let shown: Vec<_> = custom.into_iter().take(room.max(0) as usize).collect();
        let next_page_token = match (more, shown.last()) {
            (true, Some(last)) => format!("c:{}", last.name.to_lowercase()),
            (true, None) => format!("c:{}", after_name.unwrap_or_default()),
            (false, _) => String::new(),
        };
        roles.extend(shown.iter().map(convert::custom_role));
        Ok(Response::new(ListRolesResponse {
            roles,
            next_page_token,
        }))
    }

    async fn get_role(
        &self,
        request: Request<GetRoleRequest>,
    ) -> Result<Response<GetRoleResponse>, Status> {
        let actor = self.0.actor(&caller(&request)?).await?;
        self.may_read(&actor)?;
        let role = self
            .named(&actor, "role_id", &request.get_ref().role_id)
            .await?;
        Ok(Response::new(GetRoleResponse {
            role: Some(role.to_proto()),
        }))
    }

    async fn create_role(
        &self,
        request: Request<CreateRoleRequest>,
    ) -> Result<Response<CreateRoleResponse>, Status> {
        let actor = self.0.actor(&caller(&request)?).await?;
        let r = request.into_inner();
        let refused = |error| role_refusal(error, "name", "grants");
        // The name first, so a bad one is reported before the source is looked up.
        check_name(&r.name).map_err(refused)?;
        let description = convert::description("description", &r.description)?;
        let source = match r.copy_from_role_id.as_str() {
            "" => None,
            id => Some(self.named(&actor, "copy_from_role_id", id).await?.role()?),
        };
        let grants = match r.grants.is_empty() {
            true => None,
            false => Some(convert::grants("grants", &r.grants)?),
        };
        let id = CustomRoleId::generate();
        // A copy keeps the responsibilities its source allows; a role from scratch allows none.
        let defined = match &source {
            Some(source) => Role::copy_of(source, id, &r.name, grants),
            None => Role::custom(id, &r.name, grants.unwrap_or(Grants::EMPTY)),
        }
        .map_err(refused)?;
        self.may_define(&actor, &[&defined])?;
        let stamp = Stamp {
            actor: actor.id(),
            at: now(),
        };
        let role = RoleRecord {
            id,
            name: defined.name().to_owned(),
            description,
            grants: *defined.grants(),
            responsibilities: defined.responsibilities(),
            copied_from: defined.copied_from(),
            version: 1,
            created: stamp.clone(),
            updated: stamp.clone(),
        };
        let audit = AuditEntry {
            stamp,
            action: "role.created",
            object_type: ROLE_OBJECT,
            object_id: role.id.to_string(),
            before: None,
            after: Some(convert::role_json(&role)),
        };
        let revision = self
            .0
            .store
            .insert_role(actor.tenant, &role, audit)
            .await
            .map_err(ApiError::from)?;
        // A new role is held by nobody: no cached facts change.
        self.0.written(actor.tenant, revision);
        tracing::info!(tenant = %actor.tenant, role = %role.id, "role created");
        Ok(Response::new(CreateRoleResponse {
            role: Some(convert::custom_role(&role)),
            written_at: Some(convert::token(actor.tenant, revision)),
        }))
    }

    async fn update_role(
        &self,
        request: Request<UpdateRoleRequest>,
    ) -> Result<Response<UpdateRoleResponse>, Status> {
        let actor = self.0.actor(&caller(&request)?).await?;
        let r = request.into_inner();
        let Named::Custom(before) = self.named(&actor, "role_id", &r.role_id).await? else {
            return Err(ApiError::FailedPrecondition {
                reason: "BUILT_IN_ROLE",
                message: "built-in templates cannot be edited; copy one instead".into(),
            }
            .into());
        };
        let paths = r.update_mask.map(|mask| mask.paths).unwrap_or_default();
        if paths.is_empty() {
            return Err(ApiError::invalid_field("update_mask", "name the fields to change").into());
        }
        let changes = r.role.unwrap_or_default();
        let mut after = before.clone();
        let was = stored(&before)?;
        let mut role = was.clone();
        let refused = |error| role_refusal(error, "role.name", "role.grants");
        for path in &paths {
            match path.as_str() {
                "name" => role.rename(&changes.name).map_err(refused)?,
                "description" => {
                    after.description =
                        convert::description("role.description", &changes.description)?;
                }
                "grants" => role
                    .set_grants(convert::grants("role.grants", &changes.grants)?)
                    .map_err(refused)?,
                other => {
                    return Err(ApiError::invalid_field(
                        "update_mask",
                        format!("{other:?} cannot be changed"),
                    )
                    .into());
                }
            }
        }
        after.name = role.name().to_owned();
        after.grants = *role.grants();
        // Nobody edits a role they could not have defined, even into one they could: that
        // would strip the holders of what the editor never held.
        self.may_define(&actor, &[&was, &role])?;
        after.updated = Stamp {
            actor: actor.id(),
            at: now(),
        };
        let audit = AuditEntry {
            stamp: after.updated.clone(),
            action: "role.updated",
            object_type: ROLE_OBJECT,
            object_id: after.id.to_string(),
            before: Some(convert::role_json(&before)),
            after: Some(convert::role_json(&after)),
        };
        let expected = (r.expected_version != 0).then_some(r.expected_version);
        let revision = self
            .0
            .store
            .update_role(actor.tenant, &after, expected, audit)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("role", &r.role_id))?;
        // Every holder's compiled facts change: drop the tenant's.
        self.0.invalidate(actor.tenant, Vec::new(), true, revision);
        let stored = self
            .0
            .store
            .role(actor.tenant, after.id)
            .await
            .map_err(ApiError::from)?
            .unwrap_or(*after);
        Ok(Response::new(UpdateRoleResponse {
            role: Some(convert::custom_role(&stored)),
            written_at: Some(convert::token(actor.tenant, revision)),
        }))
    }

    async fn delete_role(
        &self,
        request: Request<DeleteRoleRequest>,
    ) -> Result<Response<DeleteRoleResponse>, Status> {
        let actor = self.0.actor(&caller(&request)?).await?;
        let role_id = &request.get_ref().role_id;
        let Named::Custom(role) = self.named(&actor, "role_id", role_id).await? else {
            return Err(ApiError::FailedPrecondition {
                reason: "BUILT_IN_ROLE",
                message: "built-in templates cannot be deleted".into(),
            }
            .into());
        };
        // Nobody takes away a role they could not have defined.
        self.may_define(&actor, &[&stored(&role)?])?;
        let audit = AuditEntry {
            stamp: Stamp {
                actor: actor.id(),
                at: now(),
            },
            action: "role.deleted",
            object_type: ROLE_OBJECT,
            object_id: role.id.to_string(),
            before: Some(convert::role_json(&role)),
            after: None,
        };
        let revision = self
            .0
            .store
            .delete_role(actor.tenant, role.id, audit)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("role", role_id))?;
        self.0.invalidate(actor.tenant, Vec::new(), true, revision);
        Ok(Response::new(DeleteRoleResponse {
            written_at: Some(convert::token(actor.tenant, revision)),
        }))
    }
}
