//! `TenantService`: tenants, created by platform operators with their Guest account and their
//! first user, who is the Access Coordinator and the tenant's LMS Administrator.

use std::sync::Arc;

use lms_api::common::v1::ObjectType;
use lms_api::identity::v1::tenant_service_server::TenantService;
use lms_api::identity::v1::{
    AcceptClientLinkRequest, AcceptClientLinkResponse, AppointMasterAdministratorRequest,
    AppointMasterAdministratorResponse, CreateTenantRequest, CreateTenantResponse,
    GetTenantRequest, GetTenantResponse, LinkClientTenantRequest, LinkClientTenantResponse,
    ListClientInvitationsRequest, ListClientInvitationsResponse, ListClientTenantsRequest,
    ListClientTenantsResponse, TransferAccessCoordinatorRequest, TransferAccessCoordinatorResponse,
    UnlinkClientTenantRequest, UnlinkClientTenantResponse, UpdateTenantSettingsRequest,
    UpdateTenantSettingsResponse,
};
use lms_kernel::{AccountKind, Permission, Template, TenantId, UnitId, UnitKind, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::acting;
use lms_runtime::auth::{caller, operator};
use lms_runtime::clock::now;
use lms_runtime::paging::{page, page_size};
use tonic::{Request, Response, Status};

use super::coordinator_duty::{Duty, coordinator_or_operator};
use crate::audit::{Actor, Object};
use crate::convert::{self, optional_id, reference, required_id};
use crate::core::Core;
use crate::relationships;
use crate::store::{Store, TenantRecord, UnitRecord};

pub struct Tenants<S>(pub Arc<Core<S>>);

#[tonic::async_trait]
impl<S: Store + Clone> TenantService for Tenants<S> {
    async fn create_tenant(
        &self,
        request: Request<CreateTenantRequest>,
    ) -> Result<Response<CreateTenantResponse>, Status> {
        let by = Actor::of(&request)?;
        let actor = operator(caller(&request)?, "create tenants")?;
        let r = request.into_inner();
        let name = r.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::invalid_field("name", "must be 1 to 200 characters").into());
        }
        let coordinator = convert::new_user("access_coordinator", r.access_coordinator.as_ref())?;
        if coordinator.account_kind != AccountKind::Standard {
            return Err(ApiError::invalid_field(
                "access_coordinator.account_kind",
                "the Access Coordinator holds a standard account",
            )
            .into());
        }
        let tenant_id = TenantId::generate();
        let guest = UnitRecord {
            id: UnitId::generate(),
            kind: UnitKind::GuestAccount,
            name: "Guest".into(),
            parent: None,
            external_id: None,
        };
        let (user, employment) = self
            .0
            .new_user_records(coordinator, guest.id, actor.clone())
            .await?;
        let tenant = TenantRecord {
            id: tenant_id,
            name,
            settings: convert::settings(r.settings.as_ref()),
            master: None,
            access_coordinator: Some(user.id),
            created_by: actor,
            created_at: now(),
        };
        let mut events = vec![relationships::tenant_settings_changed(&tenant.settings)];
        events.extend(relationships::unit_created(tenant.id, &guest));
        events.extend([
            relationships::user_created(&user, &employment),
            relationships::main_role_given(user.id, Template::LmsAdministrator),
            relationships::access_coordinator_changed(tenant.id, None, user.id),
        ]);
        self.0
            .store
            .create_tenant(
                &tenant,
                &guest,
                &user,
                &employment,
                &events,
                &by.did("tenant.created", Object::tenant(tenant.id)),
            )
            .await?;
        tracing::info!(tenant = %tenant.id, "tenant created");
        let written_at = self.0.deliver(tenant.id).await;
        Ok(Response::new(CreateTenantResponse {
            tenant: Some(convert::tenant(&tenant)),
            access_coordinator: Some(convert::user(&user, &[employment])),
            written_at,
        }))
    }

    async fn get_tenant(
        &self,
        request: Request<GetTenantRequest>,
    ) -> Result<Response<GetTenantResponse>, Status> {
        let own = caller(&request)?.tenant();
        let asked = match request.get_ref().tenant_id.as_str() {
            "" => own.ok_or_else(|| {
                ApiError::invalid_field("tenant_id", "is required when the caller has no tenant")
            })?,
            id => TenantId::parse(id)
                .map_err(|e| ApiError::invalid_field("tenant_id", e.to_string()))?,
        };
        let tenant = self
            .0
            .store
            .tenant(asked)
            .await?
            .ok_or_else(|| ApiError::not_found("tenant", asked.to_string()))?;
        // Users see their own tenant and its clients; operators any. Others do not exist.
        if own.is_some() && own != Some(asked) && tenant.master != own {
            return Err(ApiError::not_found("tenant", asked.to_string()).into());
        }
        Ok(Response::new(GetTenantResponse {
            tenant: Some(convert::tenant(&tenant)),
        }))
    }

    async fn transfer_access_coordinator(
        &self,
        request: Request<TransferAccessCoordinatorRequest>,
    ) -> Result<Response<TransferAccessCoordinatorResponse>, Status> {
        let by = Actor::of(&request)?;
        let caller = caller(&request)?.clone();
        let r = request.get_ref();
        let successor = required_id("new_user_id", &r.new_user_id, UserId::parse)?;
        let Duty {
            tenant,
            actor,
            coordinator: current,
        } = coordinator_or_operator(&self.0.store, &caller, &r.tenant_id, "hand the duty over")
            .await?;
        let Some(current) = current.filter(|current| *current != successor) else {
            return Err(ApiError::FailedPrecondition {
                reason: "ALREADY_ACCESS_COORDINATOR",
                message: "that user is the Access Coordinator already".into(),
            }
            .into());
        };
        let record = self
            .0
            .store
            .transfer_access_coordinator(
                tenant,
                current,
                successor,
                &[relationships::access_coordinator_changed(
                    tenant,
                    Some(current),
                    successor,
                )],
                &by.did(
                    "tenant.access_coordinator_transferred",
                    Object::tenant(tenant),
                ),
            )
            .await?;
        tracing::info!(%tenant, from = %current, to = %successor, by = %actor, "access coordinator handed over");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(TransferAccessCoordinatorResponse {
            tenant: Some(convert::tenant(&record)),
            written_at,
        }))
    }

    async fn update_tenant_settings(
        &self,
        request: Request<UpdateTenantSettingsRequest>,
    ) -> Result<Response<UpdateTenantSettingsResponse>, Status> {
        let by = Actor::of(&request)?;
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let r = request.into_inner();
        let paths = r.update_mask.map(|mask| mask.paths).unwrap_or_default();
        if paths.is_empty() {
            return Err(ApiError::invalid_field("update_mask", "must name a setting").into());
        }
        let wanted = convert::settings(r.settings.as_ref());
        let mut settings = self
            .0
            .store
            .tenant(tenant)
            .await?
            .ok_or_else(|| ApiError::not_found("tenant", tenant.to_string()))?
            .settings;
        for path in &paths {
            // Feature switches are system configuration; the MFA policy is a security setting.
            let permission = match path.as_str() {
                "locations_enabled" => {
                    settings.locations_enabled = wanted.locations_enabled;
                    Permission::SystemConfigurationUpdate
                }
                "clients_enabled" => {
                    settings.clients_enabled = wanted.clients_enabled;
                    Permission::SystemConfigurationUpdate
                }
                "mfa_required_for_admins" => {
                    settings.mfa_required_for_admins = wanted.mfa_required_for_admins;
                    Permission::SecuritySettingsUpdate
                }
                other => {
                    return Err(ApiError::invalid_field(
                        "update_mask",
                        format!("{other} is not a tenant setting"),
                    )
                    .into());
                }
            };
            self.0
                .authorization
                .require(&acting, permission, reference(ObjectType::Tenant, tenant))
                .await?;
        }
        let record = self
            .0
            .store
            .update_tenant_settings(
                tenant,
                settings,
                &[relationships::tenant_settings_changed(&settings)],
                &by.did("tenant.settings_changed", Object::tenant(tenant)),
            )
            .await?;
        tracing::info!(%tenant, by = %acting.user, changed = ?paths, "tenant settings changed");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(UpdateTenantSettingsResponse {
            tenant: Some(convert::tenant(&record)),
            written_at,
        }))
    }

    async fn link_client_tenant(
        &self,
        request: Request<LinkClientTenantRequest>,
    ) -> Result<Response<LinkClientTenantResponse>, Status> {
        Ok(Response::new(self.invite(&request).await?))
    }

    async fn unlink_client_tenant(
        &self,
        request: Request<UnlinkClientTenantRequest>,
    ) -> Result<Response<UnlinkClientTenantResponse>, Status> {
        let written_at = self.unlink(&request).await?;
        Ok(Response::new(UnlinkClientTenantResponse { written_at }))
    }

    async fn accept_client_link(
        &self,
        request: Request<AcceptClientLinkRequest>,
    ) -> Result<Response<AcceptClientLinkResponse>, Status> {
        Ok(Response::new(self.accept(&request).await?))
    }

    async fn list_client_invitations(
        &self,
        request: Request<ListClientInvitationsRequest>,
    ) -> Result<Response<ListClientInvitationsResponse>, Status> {
        Ok(Response::new(self.invitations(&request).await?))
    }

    async fn appoint_master_administrator(
        &self,
        request: Request<AppointMasterAdministratorRequest>,
    ) -> Result<Response<AppointMasterAdministratorResponse>, Status> {
        Ok(Response::new(self.appoint_master(&request).await?))
    }

    async fn list_client_tenants(
        &self,
        request: Request<ListClientTenantsRequest>,
    ) -> Result<Response<ListClientTenantsResponse>, Status> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let after = optional_id("page_token", &r.page_token, TenantId::parse)?;
        let limit = page_size(r.page_size, 100, 500);
        self.0
            .authorization
            .require(
                &acting,
                Permission::ClientsRead,
                reference(ObjectType::Tenant, acting.tenant),
            )
            .await?;
        let clients = self
            .0
            .store
            .client_tenants(acting.tenant, after, limit + 1)
            .await?;
        let (clients, next_page_token) = page(clients, limit, |t| t.id.to_string());
        Ok(Response::new(ListClientTenantsResponse {
            tenants: clients.iter().map(convert::tenant).collect(),
            next_page_token,
        }))
    }
}
