//! `GroupService`: groups, their members, each user's primary group (their team), group
//! managers (line managers of primary members) and Group Administrators. Every change that
//! decisions read reaches authorization as facts before the answer.
//!
//! Naming someone manager or administrator is stored as asked; whether it gives them anything
//! is the decision's business: the kernel honours the relation only for holders of a role that
//! allows the Group Manager or Group Administrator responsibility (DESIGN.md §1).

use std::sync::Arc;

use lms_api::common::v1::ObjectType;
use lms_api::identity::v1::group_service_server::GroupService;
use lms_api::identity::v1::{
    AddGroupMembersRequest, AddGroupMembersResponse, CreateGroupRequest, CreateGroupResponse,
    DeleteGroupRequest, DeleteGroupResponse, GetGroupRequest, GetGroupResponse,
    ListGroupMembersRequest, ListGroupMembersResponse, ListGroupsRequest, ListGroupsResponse,
    RemoveGroupMembersRequest, RemoveGroupMembersResponse, RenameGroupRequest, RenameGroupResponse,
    SetGroupAdministratorRequest, SetGroupAdministratorResponse, SetGroupManagerRequest,
    SetGroupManagerResponse, SetPrimaryGroupRequest, SetPrimaryGroupResponse,
};
use lms_kernel::{GroupId, Permission, Responsibility, TenantId, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Acting, acting};
use lms_runtime::clock::now;
use lms_runtime::paging::{page, page_size};
use tonic::{Request, Response, Status};

use crate::audit::{Actor, Object};
use crate::convert::{display_name, group, optional_id, reference, required_id, user_ids};
use crate::core::Core;
use crate::relationships;
use crate::store::{GroupRecord, Store};

pub struct Groups<S>(pub Arc<Core<S>>);

impl<S: Store + Clone> Groups<S> {
    /// The caller, after authorization allowed them `permission` on the group named in `field`.
    async fn on_group<T>(
        &self,
        request: &Request<T>,
        id: &str,
        permission: Permission,
    ) -> Result<(TenantId, GroupId), Status> {
        let acting = acting(request)?;
        let group = required_id("group_id", id, GroupId::parse)?;
        self.0
            .authorization
            .require(&acting, permission, reference(ObjectType::Group, group))
            .await?;
        Ok((acting.tenant, group))
    }

    /// May the caller make `user` the group's manager or administrator? Giving a group
    /// responsibility needs `responsibilities.assign` on the group, and the person's roles must
    /// allow it (the responsibility matrix), checked before anything is saved.
    async fn may_give(
        &self,
        acting: &Acting,
        group: GroupId,
        user: Option<UserId>,
        responsibility: Responsibility,
    ) -> Result<(), ApiError> {
        self.0
            .authorization
            .require(
                acting,
                Permission::ResponsibilitiesAssign,
                reference(ObjectType::Group, group),
            )
            .await?;
        let Some(user) = user else {
            return Ok(());
        };
        // A responsibility changes what its holder may do: like assigning them a role, only
        // those who outrank them may give it.
        refuse_outranked(&self.0.outranked(acting, &[user]).await?)?;
        // And the new overseer gains rights over every member: naming one must not reach
        // people the caller could not administer themselves.
        let mut after = None;
        loop {
            let members = self
                .0
                .store
                .group_members(acting.tenant, group, after, MEMBERS_AT_ONCE)
                .await?;
            refuse_outranked(&self.0.outranked(acting, &members).await?)?;
            match members.last() {
                Some(last) if members.len() as i64 == MEMBERS_AT_ONCE => after = Some(*last),
                _ => break,
            }
        }
        self.0
            .authorization
            .require_eligible(acting, user, responsibility)
            .await
    }
}

/// How many members are read (and checked) at a time when a group gets a new overseer.
const MEMBERS_AT_ONCE: i64 = 500;

/// PERMISSION_DENIED (`OUTRANKED`) naming the people in `outranked`, if any.
fn refuse_outranked(outranked: &[(UserId, String)]) -> Result<(), ApiError> {
    let Some((_, why)) = outranked.first() else {
        return Ok(());
    };
    let ids: Vec<String> = outranked.iter().map(|(user, _)| user.to_string()).collect();
    Err(ApiError::PermissionDenied {
        reason: "OUTRANKED",
        message: format!("you do not outrank user(s) {} ({why})", ids.join(", ")),
        metadata: std::collections::HashMap::from([("denied".to_owned(), ids.join(","))]),
    })
}

#[tonic::async_trait]
impl<S: Store + Clone> GroupService for Groups<S> {
    async fn create_group(
        &self,
        request: Request<CreateGroupRequest>,
    ) -> Result<Response<CreateGroupResponse>, Status> {
        let by = Actor::of(&request)?;
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let r = request.into_inner();
        let name = display_name("name", &r.name)?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::GroupsCreate,
                reference(ObjectType::Tenant, tenant),
            )
            .await?;
        let record = GroupRecord {
            id: GroupId::generate(),
            name,
            manager: None,
            administrators: Vec::new(),
            external_id: (!r.external_id.trim().is_empty()).then(|| r.external_id.trim().into()),
            created_at: now(),
        };
        self.0
            .store
            .create_group(
                tenant,
                &record,
                &by.did("group.created", Object::group(record.id)),
            )
            .await?;
        tracing::info!(%tenant, group = %record.id, "group created");
        Ok(Response::new(CreateGroupResponse {
            group: Some(group(&record)),
        }))
    }

    async fn get_group(
        &self,
        request: Request<GetGroupRequest>,
    ) -> Result<Response<GetGroupResponse>, Status> {
        let (tenant, id) = self
            .on_group(
                &request,
                &request.get_ref().group_id,
                Permission::GroupsRead,
            )
            .await?;
        let record = self
            .0
            .store
            .group(tenant, id)
            .await?
            .ok_or_else(|| ApiError::not_found("group", id.to_string()))?;
        Ok(Response::new(GetGroupResponse {
            group: Some(group(&record)),
        }))
    }

    async fn list_groups(
        &self,
        request: Request<ListGroupsRequest>,
    ) -> Result<Response<ListGroupsResponse>, Status> {
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let r = request.into_inner();
        let after = optional_id("page_token", &r.page_token, GroupId::parse)?;
        let limit = page_size(r.page_size, 100, 1000);
        self.0
            .authorization
            .require(
                &acting,
                Permission::GroupsRead,
                reference(ObjectType::Tenant, tenant),
            )
            .await?;
        let groups = self.0.store.groups(tenant, after, limit + 1).await?;
        let (groups, next_page_token) = page(groups, limit, |g| g.id.to_string());
        Ok(Response::new(ListGroupsResponse {
            groups: groups.iter().map(group).collect(),
            next_page_token,
        }))
    }

    async fn rename_group(
        &self,
        request: Request<RenameGroupRequest>,
    ) -> Result<Response<RenameGroupResponse>, Status> {
        let by = Actor::of(&request)?;
        let name = display_name("name", &request.get_ref().name)?;
        let (tenant, id) = self
            .on_group(
                &request,
                &request.get_ref().group_id,
                Permission::GroupsUpdate,
            )
            .await?;
        let record = self
            .0
            .store
            .rename_group(
                tenant,
                id,
                &name,
                &by.did("group.renamed", Object::group(id)),
            )
            .await?
            .ok_or_else(|| ApiError::not_found("group", id.to_string()))?;
        Ok(Response::new(RenameGroupResponse {
            group: Some(group(&record)),
        }))
    }

    async fn delete_group(
        &self,
        request: Request<DeleteGroupRequest>,
    ) -> Result<Response<DeleteGroupResponse>, Status> {
        let by = Actor::of(&request)?;
        let (tenant, id) = self
            .on_group(
                &request,
                &request.get_ref().group_id,
                Permission::GroupsDelete,
            )
            .await?;
        self.0
            .store
            .delete_group(
                tenant,
                id,
                &by.did("group.deleted", Object::group(id)),
                relationships::group_deleted,
            )
            .await?;
        tracing::info!(%tenant, group = %id, "group deleted");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(DeleteGroupResponse { written_at }))
    }

    async fn add_group_members(
        &self,
        request: Request<AddGroupMembersRequest>,
    ) -> Result<Response<AddGroupMembersResponse>, Status> {
        let by = Actor::of(&request)?;
        let users = user_ids(&request.get_ref().user_ids)?;
        let (tenant, id) = self
            .on_group(
                &request,
                &request.get_ref().group_id,
                Permission::GroupsUpdate,
            )
            .await?;
        // Membership widens what the group's overseers reach (their reports, bookings and
        // profiles), so only people the caller already sees may be added: a group overseer
        // regroups their own people, never pulls in a stranger. One BatchCheck for all.
        let people = users
            .iter()
            .map(|user| reference(ObjectType::User, *user))
            .collect();
        if let Err(denied) = self
            .0
            .authorization
            .require_each(
                &acting(&request)?,
                Permission::UsersRead,
                "user_ids",
                people,
            )
            .await
        {
            // Someone who may change the group learns that an id names nobody (NOT_FOUND)
            // rather than that they may not see them.
            for user in &users {
                if self.0.store.user(tenant, *user).await?.is_none() {
                    return Err(ApiError::not_found("user", user.to_string()).into());
                }
            }
            return Err(denied.into());
        }
        // Whoever oversees the group gains rights over its members: adding someone is
        // administering them, so only those who outrank them may (H3), as for a team change.
        refuse_outranked(&self.0.outranked(&acting(&request)?, &users).await?)?;
        let event = relationships::members_added(id, &users);
        self.0
            .store
            .add_group_members(
                tenant,
                id,
                &users,
                &[event],
                &by.did("group.members_added", Object::group(id)),
            )
            .await?;
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(AddGroupMembersResponse { written_at }))
    }

    async fn remove_group_members(
        &self,
        request: Request<RemoveGroupMembersRequest>,
    ) -> Result<Response<RemoveGroupMembersResponse>, Status> {
        let by = Actor::of(&request)?;
        let users = user_ids(&request.get_ref().user_ids)?;
        let (tenant, id) = self
            .on_group(
                &request,
                &request.get_ref().group_id,
                Permission::GroupsUpdate,
            )
            .await?;
        let audit = by.did("group.members_removed", Object::group(id));
        self.0
            .store
            .remove_group_members(tenant, id, &users, &audit, |lost_primary| {
                relationships::members_removed(id, &users, lost_primary)
            })
            .await?;
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(RemoveGroupMembersResponse { written_at }))
    }

    async fn list_group_members(
        &self,
        request: Request<ListGroupMembersRequest>,
    ) -> Result<Response<ListGroupMembersResponse>, Status> {
        let (tenant, id) = self
            .on_group(
                &request,
                &request.get_ref().group_id,
                Permission::GroupsRead,
            )
            .await?;
        // An empty page must not pass for an empty group: a course deployed to a group id that
        // names none would otherwise enrol nobody and report success.
        if self.0.store.group(tenant, id).await?.is_none() {
            return Err(ApiError::not_found("group", id.to_string()).into());
        }
        let r = request.into_inner();
        let after = optional_id("page_token", &r.page_token, UserId::parse)?;
        let limit = page_size(r.page_size, 100, 1000);
        let members = self
            .0
            .store
            .group_members(tenant, id, after, limit + 1)
            .await?;
        let (members, next_page_token) = page(members, limit, ToString::to_string);
        let user_ids = members.iter().map(ToString::to_string).collect();
        Ok(Response::new(ListGroupMembersResponse {
            user_ids,
            next_page_token,
        }))
    }

    async fn set_primary_group(
        &self,
        request: Request<SetPrimaryGroupRequest>,
    ) -> Result<Response<SetPrimaryGroupResponse>, Status> {
        let by = Actor::of(&request)?;
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let r = request.into_inner();
        let user = required_id("user_id", &r.user_id, UserId::parse)?;
        let id = required_id("group_id", &r.group_id, GroupId::parse)?;
        // A team change moves the person between line managers: both the person's profile and
        // the group must be the caller's to change.
        self.0
            .authorization
            .require(
                &acting,
                Permission::UsersUpdate,
                reference(ObjectType::User, user),
            )
            .await?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::GroupsUpdate,
                reference(ObjectType::Group, id),
            )
            .await?;
        // The new line manager reaches the person's reports and bookings: moving someone under
        // a manager is administering them, so only those who outrank them may.
        if acting.user != user {
            self.0.authorization.require_outranks(&acting, user).await?;
        }
        let audit = by.did("user.primary_group_set", Object::user(user));
        self.0
            .store
            .set_primary_group(tenant, user, id, &audit, |before| {
                relationships::primary_group_changed(user, before, id)
            })
            .await?;
        tracing::info!(%tenant, %user, group = %id, "primary group set");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(SetPrimaryGroupResponse { written_at }))
    }

    async fn set_group_manager(
        &self,
        request: Request<SetGroupManagerRequest>,
    ) -> Result<Response<SetGroupManagerResponse>, Status> {
        let by = Actor::of(&request)?;
        let manager = optional_id(
            "manager_user_id",
            &request.get_ref().manager_user_id,
            UserId::parse,
        )?;
        let (tenant, id) = self
            .on_group(
                &request,
                &request.get_ref().group_id,
                Permission::GroupsUpdate,
            )
            .await?;
        self.may_give(
            &acting(&request)?,
            id,
            manager,
            Responsibility::GroupManager,
        )
        .await?;
        let audit = by.did("group.manager_set", Object::group(id));
        self.0
            .store
            .set_group_manager(tenant, id, manager, &audit, |before| {
                relationships::group_manager_changed(id, before, manager)
            })
            .await?;
        tracing::info!(%tenant, group = %id, "group manager set");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(SetGroupManagerResponse { written_at }))
    }

    async fn set_group_administrator(
        &self,
        request: Request<SetGroupAdministratorRequest>,
    ) -> Result<Response<SetGroupAdministratorResponse>, Status> {
        let by = Actor::of(&request)?;
        let user = required_id("user_id", &request.get_ref().user_id, UserId::parse)?;
        let administrator = request.get_ref().administrator;
        let (tenant, id) = self
            .on_group(
                &request,
                &request.get_ref().group_id,
                Permission::GroupsUpdate,
            )
            .await?;
        self.may_give(
            &acting(&request)?,
            id,
            administrator.then_some(user),
            Responsibility::GroupAdministrator,
        )
        .await?;
        let event = relationships::group_administrator_changed(id, user, administrator);
        self.0
            .store
            .set_group_administrator(
                tenant,
                id,
                user,
                administrator,
                &[event],
                &by.did("group.administrator_set", Object::group(id)),
            )
            .await?;
        tracing::info!(%tenant, group = %id, %user, administrator, "group administrator set");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(SetGroupAdministratorResponse { written_at }))
    }
}
