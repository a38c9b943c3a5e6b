//! `UserService`: users and their employments.

use std::sync::Arc;

use lms_api::authorization::v1::{Relation, RelationshipUpdate};
use lms_api::common::v1::ObjectType;
use lms_api::identity::v1::user_service_server::UserService;
use lms_api::identity::v1::{
    CreateUserRequest, CreateUserResponse, GetUserRequest, GetUserResponse,
};
use lms_kernel::{Permission, TenantId, UnitId, UserId, UserStatus};
use lms_runtime::ApiError;
use lms_runtime::auth::caller;
use tonic::{Request, Response, Status};

use super::convert::{self, ValidNewUser};
use crate::clock::now;
use crate::core::{Core, user_caller};
use crate::facts::{self, reference};
use crate::store::{EmploymentRecord, NewEvent, Store, UserRecord};

pub struct Users<S>(pub Arc<Core<S>>);

/// The facts authorization needs about a new user: their status and their main account.
pub fn new_user_facts(user: &UserRecord, employment: &EmploymentRecord) -> NewEvent {
    facts::event(employment_facts(employment), vec![facts::status(user)])
}

/// An employment as facts: the user is employed at the unit, and it may be their main account.
pub fn employment_facts(employment: &EmploymentRecord) -> Vec<RelationshipUpdate> {
    let unit = reference(ObjectType::Unit, employment.unit);
    let user = reference(ObjectType::User, employment.user);
    let mut updates = vec![facts::touch_between(
        unit.clone(),
        Relation::Employee,
        user.clone(),
        employment.starts_at,
        employment.ends_at,
    )];
    if employment.main_account {
        updates.push(facts::touch_between(
            unit,
            Relation::MainAccount,
            user,
            employment.starts_at,
            employment.ends_at,
        ));
    }
    updates
}

/// The records of a new user employed at `unit` from now on. Tutors and teachers wait for the
/// Access Coordinator.
pub async fn new_user_records<S: Store + Clone>(
    core: &Core<S>,
    user: ValidNewUser,
    unit: UnitId,
    created_by: String,
) -> (UserRecord, EmploymentRecord) {
    let password_hash = match &user.password {
        Some(password) => Some(core.passwords.hash(password).await),
        None => None,
    };
    let now = now();
    let status = if user.account_kind == 1 {
        UserStatus::Active
    } else {
        UserStatus::PendingApproval
    };
    let record = UserRecord {
        id: UserId::generate(),
        email: Some(user.email),
        given_name: user.given_name,
        family_name: user.family_name,
        status,
        account_kind: user.account_kind,
        restrict_bookings: false,
        primary_group: None,
        custom_fields: user.custom_fields,
        external_id: user.external_id,
        password_hash,
        failed_sign_ins: 0,
        locked_until: None,
        last_sign_in_at: None,
        created_by,
        created_at: now,
    };
    let employment = EmploymentRecord {
        id: uuid::Uuid::now_v7(),
        user: record.id,
        unit,
        starts_at: now,
        ends_at: None,
        main_account: true,
    };
    (record, employment)
}

impl<S: Store + Clone> Users<S> {
    async fn get(&self, tenant: TenantId, user: UserId) -> Result<GetUserResponse, ApiError> {
        let record = self
            .0
            .store
            .user(tenant, user)
            .await?
            .ok_or_else(|| ApiError::not_found("user", user.to_string()))?;
        let employments = self.0.store.employments(tenant, user).await?;
        Ok(GetUserResponse {
            user: Some(convert::user(&record, &employments)),
        })
    }
}

#[tonic::async_trait]
impl<S: Store + Clone> UserService for Users<S> {
    async fn create_user(
        &self,
        request: Request<CreateUserRequest>,
    ) -> Result<Response<CreateUserResponse>, Status> {
        let (tenant, actor) = user_caller(caller(&request)?)?;
        let valid = convert::new_user("user", request.get_ref().user.as_ref())?;
        let unit = match valid.main_unit {
            Some(unit) => self
                .0
                .store
                .unit(tenant, unit)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(|| ApiError::not_found("unit", unit.to_string()))?,
            None => self
                .0
                .store
                .guest_account(tenant)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(|| ApiError::not_found("unit", "the Guest account"))?,
        };
        self.0
            .authorization
            .require(
                tenant,
                actor,
                Permission::UsersCreate,
                reference(ObjectType::Unit, unit.id),
            )
            .await?;
        if self
            .0
            .store
            .user_by_email(tenant, &valid.email)
            .await
            .map_err(ApiError::from)?
            .is_some()
        {
            return Err(ApiError::AlreadyExists {
                resource_type: "user",
                resource_name: valid.email.to_string(),
            }
            .into());
        }
        let (user, employment) = new_user_records(&self.0, valid, unit.id, actor.to_string()).await;
        let event = new_user_facts(&user, &employment);
        self.0
            .store
            .create_user(tenant, &user, &employment, &[event])
            .await
            .map_err(ApiError::from)?;
        tracing::info!(%tenant, user = %user.id, "user created");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(CreateUserResponse {
            user: Some(convert::user(&user, &[employment])),
            written_at,
        }))
    }

    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<GetUserResponse>, Status> {
        let (tenant, actor) = user_caller(caller(&request)?)?;
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
                    tenant,
                    actor,
                    Permission::UsersRead,
                    reference(ObjectType::User, user),
                )
                .await?;
        }
        Ok(Response::new(self.get(tenant, user).await?))
    }
}
