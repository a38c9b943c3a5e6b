//! The employment half of `UserService`: memberships of accounts with start and end dates,
//! exactly one of them the main account. Each change reaches authorization as EMPLOYEE and
//! MAIN_ACCOUNT facts carrying the same validity window, so reaches over a unit follow the
//! dates.

use lms_api::common::v1::ObjectType;
use lms_api::identity::v1::{
    AddEmploymentRequest, AddEmploymentResponse, EndEmploymentRequest, EndEmploymentResponse,
    SetMainAccountRequest, SetMainAccountResponse,
};
use lms_kernel::user::Employment;
use lms_kernel::{EmploymentError, Permission, UnitId, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Acting, acting};
use lms_runtime::clock::now;
use tonic::Request;
use uuid::Uuid;

use super::users::Users;
use crate::audit::{Actor, Object};
use crate::convert::{self, kernel_employment, reference, required_id, seconds};
use crate::relationships;
use crate::store::{EmploymentRecord, Store, StoreError};

impl<S: Store + Clone> Users<S> {
    /// May `acting` change `user`'s employment at `unit`? Never their own (an administrator
    /// decides where people work); someone else's needs the right over the person (their
    /// profile, and outranking them) and over the unit (putting people there).
    async fn may_employ(
        &self,
        acting: &Acting,
        user: UserId,
        unit: UnitId,
    ) -> Result<(), ApiError> {
        Employment::check_changed_by(acting.user, user).map_err(|error| {
            ApiError::PermissionDenied {
                reason: "ADMINISTRATOR_REQUIRED",
                message: error.to_string(),
                metadata: Default::default(),
            }
        })?;
        let authorization = &self.0.authorization;
        authorization
            .require(
                acting,
                Permission::UsersUpdate,
                reference(ObjectType::User, user),
            )
            .await?;
        authorization
            .require(
                acting,
                Permission::UsersCreate,
                reference(ObjectType::Unit, unit),
            )
            .await?;
        authorization.require_outranks(acting, user).await
    }

    async fn existing_employment(
        &self,
        tenant: lms_kernel::TenantId,
        field: &str,
        id: &str,
    ) -> Result<EmploymentRecord, ApiError> {
        let id = required_id(field, id, Uuid::try_parse)?;
        self.0
            .store
            .employment(tenant, id)
            .await?
            .ok_or_else(|| ApiError::not_found("employment", id.to_string()))
    }

    pub(super) async fn add(
        &self,
        request: Request<AddEmploymentRequest>,
    ) -> Result<AddEmploymentResponse, ApiError> {
        let by = Actor::of(&request)?;
        let r = request.get_ref();
        let user = required_id("user_id", &r.user_id, UserId::parse)?;
        let unit = required_id("unit_id", &r.unit_id, UnitId::parse)?;
        let starts_at = seconds("starts_at", r.starts_at.as_ref())?.unwrap_or_else(now);
        let ends_at = seconds("ends_at", r.ends_at.as_ref())?;
        if Employment::check_new(starts_at, ends_at).is_err() {
            return Err(ApiError::invalid_field(
                "ends_at",
                "must be after starts_at",
            ));
        }
        let acting = acting(&request)?;
        self.may_employ(&acting, user, unit).await?;
        let tenant = acting.tenant;
        let target = self
            .0
            .store
            .unit(tenant, unit)
            .await?
            .ok_or_else(|| ApiError::not_found("unit", unit.to_string()))?;
        if !target.kind.employs() {
            return Err(ApiError::invalid_field(
                "unit_id",
                "people are employed at accounts and locations, not account groups",
            ));
        }
        let employment = EmploymentRecord {
            id: Uuid::now_v7(),
            user,
            unit,
            starts_at,
            ends_at,
            main_account: request.get_ref().main_account,
        };
        let audit = by.did("employment.added", Object::employment(employment.id));
        self.0
            .store
            .add_employment(tenant, &employment, &audit, |change| {
                relationships::employment_added(change, &employment, now())
            })
            .await?;
        tracing::info!(%tenant, %user, %unit, "employment added");
        let written_at = self.0.deliver(tenant).await;
        Ok(AddEmploymentResponse {
            employment: Some(convert::employment(&employment)),
            written_at,
        })
    }

    pub(super) async fn end(
        &self,
        request: Request<EndEmploymentRequest>,
    ) -> Result<EndEmploymentResponse, ApiError> {
        let by = Actor::of(&request)?;
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let r = request.get_ref();
        let current = self
            .existing_employment(tenant, "employment_id", &r.employment_id)
            .await?;
        let ends_at = seconds("ends_at", r.ends_at.as_ref())?.unwrap_or_else(now);
        // Only the dates here; which employment may end is checked against the user's others
        // in the store's transaction.
        if let Err(EmploymentError::EndsBeforeStart) =
            kernel_employment(&current).check_end(ends_at, 0)
        {
            return Err(ApiError::invalid_field(
                "ends_at",
                "must not be before the start",
            ));
        }
        self.may_employ(&acting, current.user, current.unit).await?;
        let audit = by.did("employment.ended", Object::employment(current.id));
        let ended = self
            .0
            .store
            .end_employment(tenant, current.id, ends_at, &audit, |before, all| {
                let others = all.iter().filter(|e| e.id != before.id).count();
                if kernel_employment(before)
                    .check_end(ends_at, others)
                    .is_err()
                {
                    return Err(StoreError::Refused {
                        reason: "MAIN_ACCOUNT",
                        message: "make another employment the main account first".into(),
                    });
                }
                let ended = EmploymentRecord {
                    ends_at: Some(ends_at),
                    ..before.clone()
                };
                Ok(vec![relationships::employment_ended(&ended, all, now())])
            })
            .await?;
        tracing::info!(%tenant, user = %ended.user, unit = %ended.unit, "employment ended");
        let written_at = self.0.deliver(tenant).await;
        Ok(EndEmploymentResponse {
            employment: Some(convert::employment(&ended)),
            written_at,
        })
    }

    pub(super) async fn make_main(
        &self,
        request: Request<SetMainAccountRequest>,
    ) -> Result<SetMainAccountResponse, ApiError> {
        let by = Actor::of(&request)?;
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let current = self
            .existing_employment(tenant, "employment_id", &request.get_ref().employment_id)
            .await?;
        if kernel_employment(&current).check_main(now()).is_err() {
            return Err(ApiError::FailedPrecondition {
                reason: "EMPLOYMENT_ENDED",
                message: "an ended employment cannot be the main account".into(),
            });
        }
        self.may_employ(&acting, current.user, current.unit).await?;
        let audit = by.did("employment.made_main", Object::employment(current.id));
        let main = self
            .0
            .store
            .set_main_employment(tenant, current.id, &audit, |change| {
                let now_main = EmploymentRecord {
                    main_account: true,
                    ..change.before.clone()
                };
                relationships::main_account_set(change, &now_main, now())
            })
            .await?;
        tracing::info!(%tenant, user = %main.user, unit = %main.unit, "main account set");
        let written_at = self.0.deliver(tenant).await;
        Ok(SetMainAccountResponse {
            employment: Some(convert::employment(&main)),
            written_at,
        })
    }
}
