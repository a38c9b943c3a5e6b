//! `UnitService`: the tenant's tree of locations, accounts and account groups. Each unit's
//! parent reaches authorization as a `PARENT_UNIT` fact, which the subtree reaches of the
//! location administrators follow.

use std::sync::Arc;

use lms_api::authorization::v1::Relation;
use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::identity::v1::unit_service_server::UnitService;
use lms_api::identity::v1::{
    CreateUnitRequest, CreateUnitResponse, DeleteUnitRequest, DeleteUnitResponse, GetUnitRequest,
    GetUnitResponse, ListUnitsRequest, ListUnitsResponse, MoveUnitRequest, MoveUnitResponse,
    RenameUnitRequest, RenameUnitResponse, Unit, UnitKind,
};
use lms_kernel::{Permission, TenantId, UnitId};
use lms_runtime::ApiError;
use lms_runtime::paging::{page, page_size};
use tonic::{Request, Response, Status};

use super::convert::{display_name, optional_id, required_id};
use crate::clock::now;
use crate::core::{Core, acting};
use crate::facts::{self, reference};
use crate::store::{Deleted, Moved, NewEvent, Store, UnitFilter, UnitRecord, unit_kind};

pub struct Units<S>(pub Arc<Core<S>>);

/// A unit as the API shows it.
pub fn unit(record: &UnitRecord) -> Unit {
    Unit {
        unit_id: record.id.to_string(),
        kind: record.kind.into(),
        name: record.name.clone(),
        parent_unit_id: record.parent.map(|p| p.to_string()).unwrap_or_default(),
        external_id: record.external_id.clone().unwrap_or_default(),
    }
}

/// Where a unit of `kind` may hang: locations under locations; accounts and account groups
/// under locations or account groups; nothing under an account; the Guest account at the root.
fn may_hang_under(kind: i16, parent: Option<i16>) -> bool {
    use unit_kind::*;
    match (kind, parent) {
        (_, None) => true,
        (GUEST_ACCOUNT, Some(_)) => false,
        (LOCATION, Some(parent)) => parent == LOCATION,
        (_, Some(parent)) => parent == LOCATION || parent == ACCOUNT_GROUP,
    }
}

fn kind_name(kind: i16) -> &'static str {
    UnitKind::try_from(i32::from(kind)).map_or("unknown", |k| k.as_str_name())
}

fn parent_fact(unit: UnitId, parent: UnitId) -> (ObjectReference, Relation, ObjectReference) {
    (
        reference(ObjectType::Unit, unit),
        Relation::ParentUnit,
        reference(ObjectType::Unit, parent),
    )
}

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
        kind: i16,
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
        if may_hang_under(kind, parent_kind) {
            return Ok(());
        }
        Err(ApiError::invalid_field(
            field,
            format!(
                "a {} cannot hang under a {}",
                kind_name(kind),
                kind_name(parent_kind.unwrap_or_default())
            ),
        ))
    }
}

#[tonic::async_trait]
impl<S: Store + Clone> UnitService for Units<S> {
    async fn create_unit(
        &self,
        request: Request<CreateUnitRequest>,
    ) -> Result<Response<CreateUnitResponse>, Status> {
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let r = request.into_inner();
        let kind = match UnitKind::try_from(r.kind) {
            Ok(UnitKind::Unspecified) | Err(_) => {
                return Err(ApiError::invalid_field("kind", "must be a unit kind").into());
            }
            Ok(UnitKind::GuestAccount) => {
                return Err(ApiError::invalid_field(
                    "kind",
                    "the Guest account is created with the tenant",
                )
                .into());
            }
            Ok(kind) => kind as i16,
        };
        let name = display_name("name", &r.name)?;
        let parent = optional_id("parent_unit_id", &r.parent_unit_id, UnitId::parse)?;
        let external_id = (!r.external_id.trim().is_empty()).then(|| r.external_id.trim().into());
        if kind == unit_kind::LOCATION {
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
        let events: Vec<NewEvent> = parent
            .map(|parent| {
                let (unit, relation, parent) = parent_fact(record.id, parent);
                facts::event(vec![facts::touch(unit, relation, parent)], vec![])
            })
            .into_iter()
            .collect();
        self.0.store.create_unit(tenant, &record, &events).await?;
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
        let kind = match UnitKind::try_from(r.kind) {
            Ok(UnitKind::Unspecified) => None,
            Ok(kind) => Some(kind as i16),
            Err(_) => return Err(ApiError::invalid_field("kind", "must be a unit kind").into()),
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
            .rename_unit(tenant, id, &name)
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
        let moved = self
            .0
            .store
            .move_unit(tenant, id, parent, |before| {
                let mut updates = Vec::new();
                if let Some(old) = before.parent {
                    let (unit, relation, old) = parent_fact(id, old);
                    updates.push(facts::delete(unit, relation, old));
                }
                if let Some(new) = parent {
                    let (unit, relation, new) = parent_fact(id, new);
                    updates.push(facts::touch(unit, relation, new));
                }
                vec![facts::event(updates, vec![])]
            })
            .await?;
        let before = match moved {
            Moved::Moved(before) => before,
            Moved::NotFound(missing) => {
                return Err(ApiError::not_found("unit", missing.to_string()).into());
            }
            Moved::Cycle => {
                return Err(ApiError::FailedPrecondition {
                    reason: "UNIT_CYCLE",
                    message: "the new parent is the unit itself or lies below it".into(),
                }
                .into());
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
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let id = required_id("unit_id", &request.get_ref().unit_id, UnitId::parse)?;
        let current = self.existing(tenant, id).await?;
        if current.kind == unit_kind::GUEST_ACCOUNT {
            return Err(ApiError::FailedPrecondition {
                reason: "GUEST_ACCOUNT",
                message: "the Guest account lives as long as its tenant".into(),
            }
            .into());
        }
        self.0
            .authorization
            .require(
                &acting,
                Permission::UnitsDelete,
                reference(ObjectType::Unit, id),
            )
            .await?;
        let deleted = self
            .0
            .store
            .delete_unit(tenant, id, now(), |before| {
                before
                    .parent
                    .map(|parent| {
                        let (unit, relation, parent) = parent_fact(id, parent);
                        facts::event(vec![facts::delete(unit, relation, parent)], vec![])
                    })
                    .into_iter()
                    .collect()
            })
            .await?;
        let refusal = |reason, message: &str| ApiError::FailedPrecondition {
            reason,
            message: message.into(),
        };
        match deleted {
            Deleted::Deleted(_) => {}
            Deleted::NotFound => return Err(ApiError::not_found("unit", id.to_string()).into()),
            Deleted::HasChildren => {
                return Err(refusal("UNIT_NOT_EMPTY", "the unit has child units").into());
            }
            Deleted::HasEmployees => {
                return Err(refusal("UNIT_NOT_EMPTY", "people are employed at the unit").into());
            }
        }
        tracing::info!(%tenant, unit = %id, "unit deleted");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(DeleteUnitResponse { written_at }))
    }
}

#[cfg(test)]
mod tests {
    use super::may_hang_under;
    use crate::store::unit_kind::*;

    #[test]
    fn locations_nest_and_accounts_are_leaves() {
        assert!(may_hang_under(LOCATION, None));
        assert!(may_hang_under(LOCATION, Some(LOCATION)));
        assert!(!may_hang_under(LOCATION, Some(ACCOUNT_GROUP)));
        assert!(may_hang_under(CUSTOMER_ACCOUNT, Some(ACCOUNT_GROUP)));
        assert!(may_hang_under(PROVIDER_ACCOUNT, Some(LOCATION)));
        assert!(may_hang_under(ACCOUNT_GROUP, Some(ACCOUNT_GROUP)));
        assert!(!may_hang_under(CUSTOMER_ACCOUNT, Some(CUSTOMER_ACCOUNT)));
        assert!(!may_hang_under(ACCOUNT_GROUP, Some(GUEST_ACCOUNT)));
        assert!(!may_hang_under(GUEST_ACCOUNT, Some(LOCATION)));
    }
}
