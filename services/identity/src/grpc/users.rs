//! `UserService`: users and their employments.

use std::sync::Arc;

use lms_api::common::v1::ObjectType;
use lms_api::common::v1::UserStatus as PbStatus;
use lms_api::identity::v1::user_service_server::UserService;
use lms_api::identity::v1::{
    AddEmploymentRequest, AddEmploymentResponse, AddNamedManagerRequest, AddNamedManagerResponse,
    AnonymiseUserRequest, AnonymiseUserResponse, CreateUserRequest, CreateUserResponse,
    DefineCustomFieldRequest, DefineCustomFieldResponse, EndEmploymentRequest,
    EndEmploymentResponse, FindUserByEmailRequest, FindUserByEmailResponse, GetUserRequest,
    GetUserResponse, ListCustomFieldsRequest, ListCustomFieldsResponse, ListNamedManagersRequest,
    ListNamedManagersResponse, ListUsersRequest, ListUsersResponse, ReactivateUserRequest,
    ReactivateUserResponse, RemoveNamedManagerRequest, RemoveNamedManagerResponse,
    SetMainAccountRequest, SetMainAccountResponse, SuspendUserRequest, SuspendUserResponse,
    UpdateUserRequest, UpdateUserResponse,
};
use lms_kernel::{Email, GroupId, Permission, TenantId, UnitId, UserId, UserStatus};
use lms_runtime::ApiError;
use lms_runtime::auth::{Scope, acting, scoped_tenant, verified};
use lms_runtime::clock::now;
use lms_runtime::paging::page_size;
use lms_runtime::peers::Listing;
use tonic::{Request, Response, Status};

use super::profile_fields::check_custom_fields;
use crate::audit::{Actor, Object};
use crate::convert::{self, display_name, optional_id, reference, required_id};
use crate::core::Core;
use crate::error::status_refused;
use crate::relationships;
use crate::store::{Store, StoreError, UserChange, UserFilter, UserRecord};

pub struct Users<S>(pub Arc<Core<S>>);

/// The fields UpdateUser may change, as `update_mask` names them.
const UPDATABLE: &[&str] = &[
    "email",
    "given_name",
    "family_name",
    "custom_fields",
    "restrict_bookings",
    "external_id",
];

/// Fields only an administrator changes, never the person about themselves.
const ADMINISTERED: &[&str] = &["restrict_bookings", "external_id"];

fn refuse_self(actor: UserId, user: UserId, what: &str) -> Result<(), ApiError> {
    if actor != user {
        return Ok(());
    }
    Err(ApiError::PermissionDenied {
        reason: "SELF_ADMINISTRATION",
        message: format!("nobody may {what} their own account"),
        metadata: Default::default(),
    })
}

impl<S: Store + Clone> Users<S> {
    async fn get(&self, tenant: TenantId, user: UserId) -> Result<GetUserResponse, ApiError> {
        let record = self
            .0
            .store
            .user(tenant, user)
            .await?
            .ok_or_else(|| ApiError::not_found("user", user.to_string()))?;
        Ok(GetUserResponse {
            user: Some(self.0.user_view(tenant, &record).await?),
        })
    }
}

#[tonic::async_trait]
impl<S: Store + Clone> UserService for Users<S> {
    async fn create_user(
        &self,
        request: Request<CreateUserRequest>,
    ) -> Result<Response<CreateUserResponse>, Status> {
        let acting = acting(&request)?;
        let by = Actor::of(&request)?;
        let (tenant, actor) = (acting.tenant, acting.user);
        let valid = convert::new_user("user", request.get_ref().user.as_ref())?;
        let defined = self.0.store.custom_fields(tenant).await?;
        let values = request
            .get_ref()
            .user
            .as_ref()
            .map(|u| &u.custom_fields)
            .cloned()
            .unwrap_or_default();
        check_custom_fields(&defined, &values, "user.custom_fields", true)?;
        let unit = match valid.main_unit {
            Some(unit) => self
                .0
                .store
                .unit(tenant, unit)
                .await?
                .ok_or_else(|| ApiError::not_found("unit", unit.to_string()))?,
            None => self
                .0
                .store
                .guest_account(tenant)
                .await?
                .ok_or_else(|| ApiError::not_found("unit", "the Guest account"))?,
        };
        self.0
            .authorization
            .require(
                &acting,
                Permission::UsersCreate,
                reference(ObjectType::Unit, unit.id),
            )
            .await?;
        if self
            .0
            .store
            .user_by_email(tenant, &valid.email)
            .await?
            .is_some()
        {
            return Err(ApiError::AlreadyExists {
                resource_type: "user",
                resource_name: valid.email.to_string(),
            }
            .into());
        }
        let (user, employment) = self
            .0
            .new_user_records(valid, unit.id, actor.to_string())
            .await?;
        let event = relationships::user_created(&user, &employment);
        self.0
            .store
            .create_user(
                tenant,
                &user,
                &employment,
                &[event],
                &by.did("user.created", Object::user(user.id)),
            )
            .await?;
        tracing::info!(%tenant, user = %user.id, "user created");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(CreateUserResponse {
            user: Some(convert::user(&user, &[employment])),
            written_at,
        }))
    }

    async fn update_user(
        &self,
        request: Request<UpdateUserRequest>,
    ) -> Result<Response<UpdateUserResponse>, Status> {
        let acting = acting(&request)?;
        let by = Actor::of(&request)?;
        let (tenant, actor) = (acting.tenant, acting.user);
        let r = request.into_inner();
        let id = required_id("user_id", &r.user_id, UserId::parse)?;
        let paths = r.update_mask.map(|mask| mask.paths).unwrap_or_default();
        if paths.is_empty() {
            return Err(
                ApiError::invalid_field("update_mask", "must name a field to change").into(),
            );
        }
        if let Some(unknown) = paths.iter().find(|p| !UPDATABLE.contains(&p.as_str())) {
            return Err(ApiError::invalid_field(
                "update_mask",
                format!("{unknown} is not one of {}", UPDATABLE.join(", ")),
            )
            .into());
        }
        let changes = |field: &str| paths.iter().any(|p| p == field);
        let new = r.user.unwrap_or_default();
        let email = changes("email")
            .then(|| Email::parse(&new.email))
            .transpose()
            .map_err(|e| ApiError::invalid_field("user.email", e.to_string()))?;
        let given_name = changes("given_name")
            .then(|| display_name("user.given_name", &new.given_name))
            .transpose()?;
        let family_name = changes("family_name")
            .then(|| display_name("user.family_name", &new.family_name))
            .transpose()?;
        let custom_fields = changes("custom_fields")
            .then(|| convert::custom_fields("user.custom_fields", &new.custom_fields))
            .transpose()?;
        if custom_fields.is_some() {
            let defined = self.0.store.custom_fields(tenant).await?;
            check_custom_fields(&defined, &new.custom_fields, "user.custom_fields", true)?;
        }
        if ADMINISTERED.iter().any(|field| changes(field)) {
            refuse_self(
                actor,
                id,
                "change the booking restriction or external id of",
            )?;
        }
        self.0
            .authorization
            .require(
                &acting,
                Permission::UsersUpdate,
                reference(ObjectType::User, id),
            )
            .await?;
        if actor != id {
            // Changing someone's e-mail takes their sign-in: only those above them may.
            self.0.authorization.require_outranks(&acting, id).await?;
        }
        let audit = by
            .did("user.updated", Object::user(id))
            .noting("fields", paths.clone());
        let record = self
            .0
            .store
            .update_user(tenant, id, &audit, |record| {
                record
                    .status
                    .check_editable()
                    .map_err(|_| StoreError::Refused {
                        reason: "ANONYMISED",
                        message: "an anonymised account keeps no personal data".into(),
                    })?;
                let restricted = record.restrict_bookings;
                if let Some(email) = email {
                    record.email = Some(email);
                }
                if let Some(given_name) = given_name {
                    record.given_name = given_name;
                }
                if let Some(family_name) = family_name {
                    record.family_name = family_name;
                }
                if let Some(custom_fields) = custom_fields {
                    record.custom_fields = custom_fields;
                }
                if changes("restrict_bookings") {
                    record.restrict_bookings = new.restrict_bookings;
                }
                if changes("external_id") {
                    let external = new.external_id.trim();
                    record.external_id = (!external.is_empty()).then(|| external.to_owned());
                }
                let mut change = UserChange::default();
                if record.restrict_bookings != restricted {
                    change.events.push(relationships::status_changed(record));
                }
                Ok(change)
            })
            .await?;
        tracing::info!(%tenant, user = %id, fields = ?paths, "user updated");
        self.0.deliver(tenant).await;
        Ok(Response::new(UpdateUserResponse {
            user: Some(self.0.user_view(tenant, &record).await?),
        }))
    }

    async fn suspend_user(
        &self,
        request: Request<SuspendUserRequest>,
    ) -> Result<Response<SuspendUserResponse>, Status> {
        let acting = acting(&request)?;
        let by = Actor::of(&request)?;
        let (tenant, actor) = (acting.tenant, acting.user);
        let r = request.into_inner();
        let id = required_id("user_id", &r.user_id, UserId::parse)?;
        let reason = convert::free_text("reason", &r.reason)?;
        refuse_self(actor, id, "suspend")?;
        self.0.not_the_access_coordinator(tenant, id).await?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::UsersSuspend,
                reference(ObjectType::User, id),
            )
            .await?;
        self.0.authorization.require_outranks(&acting, id).await?;
        let audit = by.did("user.suspended", Object::user(id));
        let record = self
            .0
            .store
            .update_user(tenant, id, &audit, |record| {
                record.status = record.status.suspend().map_err(status_refused)?;
                Ok(UserChange {
                    events: vec![relationships::status_changed(record)],
                    end_sessions: Some("suspended"),
                    ..Default::default()
                })
            })
            .await?;
        tracing::info!(%tenant, user = %id, by = %actor, %reason, "user suspended");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(SuspendUserResponse {
            user: Some(self.0.user_view(tenant, &record).await?),
            written_at,
        }))
    }

    async fn reactivate_user(
        &self,
        request: Request<ReactivateUserRequest>,
    ) -> Result<Response<ReactivateUserResponse>, Status> {
        let acting = acting(&request)?;
        let by = Actor::of(&request)?;
        let (tenant, actor) = (acting.tenant, acting.user);
        let id = required_id("user_id", &request.get_ref().user_id, UserId::parse)?;
        refuse_self(actor, id, "reactivate")?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::UsersSuspend,
                reference(ObjectType::User, id),
            )
            .await?;
        self.0.authorization.require_outranks(&acting, id).await?;
        let audit = by.did("user.reactivated", Object::user(id));
        let record = self
            .0
            .store
            .update_user(tenant, id, &audit, |record| {
                record.status = record.status.reactivate().map_err(status_refused)?;
                Ok(UserChange {
                    events: vec![relationships::status_changed(record)],
                    end_sessions: None,
                    ..Default::default()
                })
            })
            .await?;
        tracing::info!(%tenant, user = %id, by = %actor, "user reactivated");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(ReactivateUserResponse {
            user: Some(self.0.user_view(tenant, &record).await?),
            written_at,
        }))
    }

    async fn anonymise_user(
        &self,
        request: Request<AnonymiseUserRequest>,
    ) -> Result<Response<AnonymiseUserResponse>, Status> {
        let acting = acting(&request)?;
        let by = Actor::of(&request)?;
        let (tenant, actor) = (acting.tenant, acting.user);
        let id = required_id("user_id", &request.get_ref().user_id, UserId::parse)?;
        refuse_self(actor, id, "anonymise")?;
        self.0.not_the_access_coordinator(tenant, id).await?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::UsersAnonymise,
                reference(ObjectType::User, id),
            )
            .await?;
        self.0.authorization.require_outranks(&acting, id).await?;
        // Personal data goes; the id, employments, memberships and status history stay, so
        // reports still count what the person did.
        let audit = by.did("user.anonymised", Object::user(id));
        let record = self
            .0
            .store
            .update_user(tenant, id, &audit, |record| {
                record.status = record.status.anonymise().map_err(status_refused)?;
                record.email = None;
                record.given_name = String::new();
                record.family_name = String::new();
                record.custom_fields = "{}".into();
                record.external_id = None;
                record.password_hash = None;
                record.restrict_bookings = false;
                Ok(UserChange {
                    events: vec![relationships::status_changed(record)],
                    end_sessions: Some("anonymised"),
                    erase_second_factor: true,
                })
            })
            .await?;
        tracing::info!(%tenant, user = %id, by = %actor, "user anonymised");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(AnonymiseUserResponse {
            user: Some(self.0.user_view(tenant, &record).await?),
            written_at,
        }))
    }

    async fn add_employment(
        &self,
        request: Request<AddEmploymentRequest>,
    ) -> Result<Response<AddEmploymentResponse>, Status> {
        Ok(Response::new(self.add(request).await?))
    }

    async fn end_employment(
        &self,
        request: Request<EndEmploymentRequest>,
    ) -> Result<Response<EndEmploymentResponse>, Status> {
        Ok(Response::new(self.end(request).await?))
    }

    async fn set_main_account(
        &self,
        request: Request<SetMainAccountRequest>,
    ) -> Result<Response<SetMainAccountResponse>, Status> {
        Ok(Response::new(self.make_main(request).await?))
    }

    async fn add_named_manager(
        &self,
        request: Request<AddNamedManagerRequest>,
    ) -> Result<Response<AddNamedManagerResponse>, Status> {
        Ok(Response::new(self.add_named(request).await?))
    }

    async fn remove_named_manager(
        &self,
        request: Request<RemoveNamedManagerRequest>,
    ) -> Result<Response<RemoveNamedManagerResponse>, Status> {
        Ok(Response::new(self.remove_named(request).await?))
    }

    async fn define_custom_field(
        &self,
        request: Request<DefineCustomFieldRequest>,
    ) -> Result<Response<DefineCustomFieldResponse>, Status> {
        Ok(Response::new(self.define_field(request).await?))
    }

    async fn list_custom_fields(
        &self,
        request: Request<ListCustomFieldsRequest>,
    ) -> Result<Response<ListCustomFieldsResponse>, Status> {
        let tenant = acting(&request)?.tenant;
        Ok(Response::new(self.list_fields(tenant).await?))
    }

    async fn list_users(
        &self,
        request: Request<ListUsersRequest>,
    ) -> Result<Response<ListUsersResponse>, Status> {
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let r = request.into_inner();
        let status = match PbStatus::try_from(r.status) {
            Ok(PbStatus::Unspecified) => None,
            Ok(status) => UserStatus::from_code(status as i16),
            Err(_) => None,
        };
        if r.status != 0 && status.is_none() {
            return Err(ApiError::invalid_field("status", "must be a user status").into());
        }
        let query = r.query.trim().to_lowercase();
        if query.chars().count() > 200 {
            return Err(ApiError::invalid_field("query", "must be at most 200 characters").into());
        }
        let limit = page_size(r.page_size, 100, 1000);
        let mut filter = UserFilter {
            status,
            unit: optional_id("unit_id", &r.unit_id, UnitId::parse)?,
            group: optional_id("group_id", &r.group_id, GroupId::parse)?,
            query: (!query.is_empty()).then_some(query),
            only: None,
            after: optional_id("page_token", &r.page_token, UserId::parse)?,
            now: now(),
        };
        let listing = Listing {
            permission: Permission::UsersRead,
            kind: ObjectType::User,
            after: filter.after.map(|user| user.as_uuid()),
            limit,
        };
        let (users, next_page_token) = self
            .0
            .authorization
            .visible_page(
                &acting,
                listing,
                |user: &UserRecord| user.id.as_uuid(),
                |only, wanted| {
                    filter.only = only.map(|ids| ids.into_iter().map(UserId::from_uuid).collect());
                    let filter = filter.clone();
                    async move { Ok(self.0.store.users(tenant, &filter, wanted).await?) }
                },
            )
            .await?;
        Ok(Response::new(ListUsersResponse {
            users: self.0.user_views(tenant, &users).await?,
            next_page_token,
        }))
    }

    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<GetUserResponse>, Status> {
        let acting = acting(&request)?;
        let (tenant, actor) = (acting.tenant, acting.user);
        let user = match request.get_ref().user_id.as_str() {
            "" => actor,
            id => {
                UserId::parse(id).map_err(|e| ApiError::invalid_field("user_id", e.to_string()))?
            }
        };
        if user != actor {
            self.0
                .authorization
                .require(
                    &acting,
                    Permission::UsersRead,
                    reference(ObjectType::User, user),
                )
                .await?;
        }
        Ok(Response::new(self.get(tenant, user).await?))
    }

    async fn find_user_by_email(
        &self,
        request: Request<FindUserByEmailRequest>,
    ) -> Result<Response<FindUserByEmailResponse>, Status> {
        let tenant = scoped_tenant(verified(&request)?, Scope::PeopleLookup)?;
        let email = Email::parse(&request.get_ref().email)
            .map_err(|e| ApiError::invalid_field("email", e.to_string()))?;
        // The address is not named back: it is a person's, and errors reach logs.
        let found = self
            .0
            .store
            .user_by_email(tenant, &email)
            .await?
            .ok_or_else(|| ApiError::not_found("user", "with that e-mail address"))?;
        Ok(Response::new(FindUserByEmailResponse {
            user_id: found.id.to_string(),
            status: found.status.code().into(),
        }))
    }

    async fn list_named_managers(
        &self,
        request: Request<ListNamedManagersRequest>,
    ) -> Result<Response<ListNamedManagersResponse>, Status> {
        let tenant = scoped_tenant(verified(&request)?, Scope::PeopleLookup)?;
        let user = required_id("user_id", &request.get_ref().user_id, UserId::parse)?;
        let named = self.0.store.named_managers_of(tenant, user, now()).await?;
        Ok(Response::new(ListNamedManagersResponse {
            user_ids: named.iter().map(UserId::to_string).collect(),
        }))
    }
}
