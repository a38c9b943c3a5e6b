//! `UnitService`: the tenant's tree of locations, accounts and account groups. Each unit's
//! parent reaches authorization as a `PARENT_UNIT` fact, which the subtree reaches of the
//! location administrators follow.

use std::sync::Arc;

use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::identity::v1::unit_service_server::UnitService;
use lms_api::identity::v1::{
    CreateUnitRequest, CreateUnitResponse, DeleteUnitRequest, DeleteUnitResponse, GetUnitRequest,
    GetUnitResponse, ListUnitsRequest, ListUnitsResponse, MoveUnitRequest, MoveUnitResponse,
    RenameUnitRequest, RenameUnitResponse,
};
use lms_kernel::unit::{check_delete, check_new, check_placement};
use lms_kernel::{Permission, TenantId, UnitError, UnitId, UnitKind};
use lms_runtime::ApiError;
use lms_runtime::auth::acting;
use lms_runtime::clock::now;
use lms_runtime::paging::{page, page_size};
use tonic::{Request, Response, Status};

use crate::audit::{Actor, Object};
use crate::convert::{
    display_name, kind_name, optional_id, reference, required_id, unit, unit_kind,
};
use crate::core::Core;
use crate::error::unit_refusal;
use crate::relationships;
use crate::store::{Deleted, Moved, Store, UnitFilter, UnitRecord};

pub struct Units<S>(pub Arc<Core<S>>);

impl<S: Store + Clone> Units<S> {
    /// Where a permission over the tree below `parent` is decided: the parent unit, or the
    /// tenant for roots.
    fn place(tenant: TenantId, parent: Option<UnitId>) -> ObjectReference {
        match parent {
            Some(parent) => reference(ObjectType::Unit, parent),
            None => reference(ObjectType::Tenant, tenant),
        }
    }

    async fn existing(&self, tenant: TenantId, unit: UnitId) -> Result<UnitRecord, ApiError> {
        self.0
            .store
            .unit(tenant, unit)
            .await?
            .ok_or_else(|| ApiError::not_found("unit", unit.to_string()))
    }

    /// Refuses a parent of the wrong kind, naming both kinds.
    async fn check_parent(
        &self,
        tenant: TenantId,
        kind: UnitKind,
        parent: Option<UnitId>,
        field: &str,
    ) -> Result<(), ApiError> {
        let parent_kind = match parent {
            Some(parent) => Some(
                self.0
                    .store
                    .unit(tenant, parent)
                    .await?
                    .ok_or_else(|| ApiError::not_found("unit", parent.to_string()))?
                    .kind,
            ),
            None => None,
        };
        check_placement(kind, parent_kind).map_err(|error| unit_refusal(error, field))
    }
}

#[tonic::async_trait]
impl<S: Store + Clone> UnitService for Units<S> {
    async fn create_unit(
        &self,
        request: Request<CreateUnitRequest>,
    ) -> Result<Response<CreateUnitResponse>, Status> {
        let by = Actor::of(&request)?;
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let r = request.into_inner();
        let kind = unit_kind(r.kind)
            .ok_or_else(|| ApiError::invalid_field("kind", "must be a unit kind"))?;
        check_new(kind).map_err(|_| {
            ApiError::invalid_field("kind", "the Guest account is created with the tenant")
        })?;
        let name = display_name("name", &r.name)?;
        let parent = optional_id("parent_unit_id", &r.parent_unit_id, UnitId::parse)?;
        let external_id = (!r.external_id.trim().is_empty()).then(|| r.external_id.trim().into());
        if kind == UnitKind::Location {
            let settings = self
                .0
                .store
                .tenant(tenant)
                .await?
                .map(|t| t.settings)
                .unwrap_or_default();
            if !settings.locations_enabled {
                return Err(ApiError::FailedPrecondition {
                    reason: "LOCATIONS_DISABLED",
                    message: "the tenant has locations switched off".into(),
                }
                .into());
            }
        }
        self.check_parent(tenant, kind, parent, "parent_unit_id")
            .await?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::UnitsCreate,
                Self::place(tenant, parent),
            )
            .await?;
        let record = UnitRecord {
            id: UnitId::generate(),
            kind,
            name,
            parent,
            external_id,
        };
        let events = relationships::unit_created(tenant, &record);
        self.0
            .store
            .create_unit(
                tenant,
                &record,
                &events,
                &by.did("unit.created", Object::unit(record.id)),
            )
            .await?;
        tracing::info!(%tenant, unit = %record.id, kind = kind_name(kind), "unit created");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(CreateUnitResponse {
            unit: Some(unit(&record)),
            written_at,
        }))
    }

    async fn get_unit(
        &self,
        request: Request<GetUnitRequest>,
    ) -> Result<Response<GetUnitResponse>, Status> {
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let id = required_id("unit_id", &request.get_ref().unit_id, UnitId::parse)?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::UnitsRead,
                reference(ObjectType::Unit, id),
            )
            .await?;
        let record = self.existing(tenant, id).await?;
        Ok(Response::new(GetUnitResponse {
            unit: Some(unit(&record)),
        }))
    }

    async fn list_units(
        &self,
        request: Request<ListUnitsRequest>,
    ) -> Result<Response<ListUnitsResponse>, Status> {
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let r = request.into_inner();
        let parent = optional_id("parent_unit_id", &r.parent_unit_id, UnitId::parse)?;
        let kind = match r.kind {
            0 => None,
            code => Some(
                unit_kind(code)
                    .ok_or_else(|| ApiError::invalid_field("kind", "must be a unit kind"))?,
            ),
        };
        let after = optional_id("page_token", &r.page_token, UnitId::parse)?;
        let limit = page_size(r.page_size, 100, 1000);
        self.0
            .authorization
            .require(&acting, Permission::UnitsRead, Self::place(tenant, parent))
            .await?;
        let units = self
            .0
            .store
            .units(
                tenant,
                UnitFilter {
                    parent,
                    kind,
                    after,
                },
                limit + 1,
            )
            .await?;
        let (units, next_page_token) = page(units, limit, |u| u.id.to_string());
        Ok(Response::new(ListUnitsResponse {
            units: units.iter().map(unit).collect(),
            next_page_token,
        }))
    }

    async fn rename_unit(
        &self,
        request: Request<RenameUnitRequest>,
    ) -> Result<Response<RenameUnitResponse>, Status> {
        let by = Actor::of(&request)?;
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let r = request.into_inner();
        let id = required_id("unit_id", &r.unit_id, UnitId::parse)?;
        let name = display_name("name", &r.name)?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::UnitsUpdate,
                reference(ObjectType::Unit, id),
            )
            .await?;
        let record = self
            .0
            .store
            .rename_unit(tenant, id, &name, &by.did("unit.renamed", Object::unit(id)))
            .await?
            .ok_or_else(|| ApiError::not_found("unit", id.to_string()))?;
        Ok(Response::new(RenameUnitResponse {
            unit: Some(unit(&record)),
        }))
    }

    async fn move_unit(
        &self,
        request: Request<MoveUnitRequest>,
    ) -> Result<Response<MoveUnitResponse>, Status> {
        let by = Actor::of(&request)?;
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let r = request.into_inner();
        let id = required_id("unit_id", &r.unit_id, UnitId::parse)?;
        let parent = optional_id("new_parent_unit_id", &r.new_parent_unit_id, UnitId::parse)?;
        let current = self.existing(tenant, id).await?;
        self.check_parent(tenant, current.kind, parent, "new_parent_unit_id")
            .await?;
        // Moving takes the unit from one place and puts it in another: both must be the
        // caller's to change.
        self.0
            .authorization
            .require(
                &acting,
                Permission::UnitsUpdate,
                reference(ObjectType::Unit, id),
            )
            .await?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::UnitsCreate,
                Self::place(tenant, parent),
            )
            .await?;
        let audit = by.did("unit.moved", Object::unit(id));
        let moved = self
            .0
            .store
            .move_unit(tenant, id, parent, &audit, |before| {
                relationships::unit_moved(id, before.parent, parent)
            })
            .await?;
        let before = match moved {
            Moved::Moved(before) => before,
            Moved::NotFound(missing) => {
                return Err(ApiError::not_found("unit", missing.to_string()).into());
            }
            Moved::Cycle => {
                return Err(unit_refusal(UnitError::Cycle, "new_parent_unit_id").into());
            }
            Moved::Refused(error) => {
                return Err(unit_refusal(error, "new_parent_unit_id").into());
            }
        };
        tracing::info!(%tenant, unit = %id, "unit moved");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(MoveUnitResponse {
            unit: Some(unit(&UnitRecord { parent, ..before })),
            written_at,
        }))
    }

    async fn delete_unit(
        &self,
        request: Request<DeleteUnitRequest>,
    ) -> Result<Response<DeleteUnitResponse>, Status> {
        let by = Actor::of(&request)?;
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let id = required_id("unit_id", &request.get_ref().unit_id, UnitId::parse)?;
        let current = self.existing(tenant, id).await?;
        // The kind alone refuses the Guest account, before the caller's permission is asked;
        // children and employees are counted in the store's transaction.
        if let Err(error @ UnitError::GuestAccount) = check_delete(current.kind, 0, 0) {
            return Err(unit_refusal(error, "unit_id").into());
        }
        self.0
            .authorization
            .require(
                &acting,
                Permission::UnitsDelete,
                reference(ObjectType::Unit, id),
            )
            .await?;
        let audit = by.did("unit.deleted", Object::unit(id));
        let deleted = self
            .0
            .store
            .delete_unit(tenant, id, now(), &audit, |unit| {
                relationships::unit_deleted(tenant, unit)
            })
            .await?;
        let refused = match deleted {
            Deleted::Deleted(_) => None,
            Deleted::NotFound => return Err(ApiError::not_found("unit", id.to_string()).into()),
            Deleted::HasChildren => Some(UnitError::HasChildren),
            Deleted::HasEmployees => Some(UnitError::HasEmployees),
            Deleted::Refused(error) => Some(error),
        };
        if let Some(error) = refused {
            return Err(unit_refusal(error, "unit_id").into());
        }
        tracing::info!(%tenant, unit = %id, "unit deleted");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(DeleteUnitResponse { written_at }))
    }
}
