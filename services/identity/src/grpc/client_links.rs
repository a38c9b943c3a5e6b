//! Client tenants, the `TenantService` RPCs that link a client to a master. A link lets the
//! master's Master Administrators reach the client's people, so it takes both sides (security
//! review H2): the master invites (LinkClientTenant), the client's administrator accepts
//! (AcceptClientLink) within a week, and either side can end it (UnlinkClientTenant).

use lms_api::common::v1::{ConsistencyToken, ObjectType};
use lms_api::identity::v1::{
    AcceptClientLinkRequest, AcceptClientLinkResponse, LinkClientTenantRequest,
    LinkClientTenantResponse, ListClientInvitationsRequest, ListClientInvitationsResponse,
    UnlinkClientTenantRequest,
};
use lms_kernel::{Permission, Tenant, TenantId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Acting, acting};
use lms_runtime::clock::now;
use tonic::Request;

use super::tenants::Tenants;
use crate::audit::{Actor, Audit, Object};
use crate::convert::{kernel_tenant, reference, required_id};
use crate::error::link_refusal;
use crate::relationships;
use crate::store::Store;

/// How long an invitation waits for the client's acceptance.
const INVITATION_SECONDS: i64 = 7 * 24 * 3600;

impl<S: Store + Clone> Tenants<S> {
    pub(super) async fn kernel_tenant(&self, id: TenantId) -> Result<Tenant, ApiError> {
        self.0
            .store
            .tenant(id)
            .await?
            .map(|t| kernel_tenant(&t))
            .ok_or_else(|| ApiError::not_found("tenant", id.to_string()))
    }

    /// Whether `client` may become a client of `master` now (the kernel's rule).
    async fn linkable(&self, master: &Tenant, client: TenantId) -> Result<(), ApiError> {
        let client_tenant = self.kernel_tenant(client).await?;
        let has_clients = !self
            .0
            .store
            .client_tenants(client, None, 1)
            .await?
            .is_empty();
        master
            .can_take_client(&client_tenant, has_clients)
            .map_err(link_refusal)
    }

    /// The acting person must be able to change their own tenant's configuration: the client's
    /// consent is given (or withdrawn) by its administrators.
    async fn require_own_configuration(&self, acting: &Acting) -> Result<(), ApiError> {
        self.0
            .authorization
            .require(
                acting,
                Permission::SystemConfigurationUpdate,
                reference(ObjectType::Tenant, acting.tenant),
            )
            .await
    }

    /// LinkClientTenant: the master invites a tenant to become its client.
    pub(super) async fn invite(
        &self,
        request: &Request<LinkClientTenantRequest>,
    ) -> Result<LinkClientTenantResponse, ApiError> {
        let by = Actor::of(request)?;
        let acting = acting(request)?;
        let master = self.kernel_tenant(acting.tenant).await?;
        let client = required_id(
            "client_tenant_id",
            &request.get_ref().client_tenant_id,
            TenantId::parse,
        )?;
        // The switch is checked before the caller's permission, the rest once they may link.
        master.takes_clients().map_err(link_refusal)?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::ClientsCreate,
                reference(ObjectType::Tenant, master.id),
            )
            .await?;
        self.linkable(&master, client).await?;
        let now = now();
        self.0
            .store
            .invite_client(
                master.id,
                client,
                &format!("user:{}", acting.user),
                now,
                now + INVITATION_SECONDS,
                &by.did("tenant.client_invited", Object::tenant(master.id))
                    .noting("client", client.to_string()),
            )
            .await?;
        tracing::info!(master = %master.id, %client, by = %acting.user, "client invited");
        Ok(LinkClientTenantResponse {
            written_at: None,
            pending: true,
        })
    }

    /// AcceptClientLink: the client's administrator accepts a master's invitation.
    pub(super) async fn accept(
        &self,
        request: &Request<AcceptClientLinkRequest>,
    ) -> Result<AcceptClientLinkResponse, ApiError> {
        let by = Actor::of(request)?;
        let acting = acting(request)?;
        let master = required_id(
            "master_tenant_id",
            &request.get_ref().master_tenant_id,
            TenantId::parse,
        )?;
        self.require_own_configuration(&acting).await?;
        let master = self.kernel_tenant(master).await?;
        // The rule again: either tenant may have changed since the invitation.
        self.linkable(&master, acting.tenant).await?;
        // The store consumes the live invitation in the same transaction (no invitation, no
        // link) and its conditional write refuses a link a concurrent change made invalid.
        let audit = by.did("tenant.client_linked", Object::tenant(master.id));
        self.link(master.id, acting.tenant, true, audit).await?;
        tracing::info!(master = %master.id, client = %acting.tenant, by = %acting.user, "client link accepted");
        Ok(AcceptClientLinkResponse {
            written_at: self.0.deliver(master.id).await,
        })
    }

    /// UnlinkClientTenant: the master lets a client go, or a client leaves its master.
    pub(super) async fn unlink(
        &self,
        request: &Request<UnlinkClientTenantRequest>,
    ) -> Result<Option<ConsistencyToken>, ApiError> {
        let by = Actor::of(request)?;
        let acting = acting(request)?;
        let client = required_id(
            "client_tenant_id",
            &request.get_ref().client_tenant_id,
            TenantId::parse,
        )?;
        let master = if client == acting.tenant {
            self.require_own_configuration(&acting).await?;
            self.kernel_tenant(client).await?.master.ok_or_else(|| {
                ApiError::FailedPrecondition {
                    reason: "NOT_A_CLIENT",
                    message: "this tenant is no client of any master".into(),
                }
            })?
        } else {
            self.0
                .authorization
                .require(
                    &acting,
                    Permission::ClientsManage,
                    reference(ObjectType::Tenant, acting.tenant),
                )
                .await?;
            acting.tenant
        };
        let audit = by.did("tenant.client_unlinked", Object::tenant(master));
        self.link(master, client, false, audit).await?;
        tracing::info!(%master, %client, by = %acting.user, "client link ended");
        Ok(self.0.deliver(master).await)
    }

    /// ListClientInvitations: the masters waiting for the caller's tenant to accept.
    pub(super) async fn invitations(
        &self,
        request: &Request<ListClientInvitationsRequest>,
    ) -> Result<ListClientInvitationsResponse, ApiError> {
        let acting = acting(request)?;
        self.require_own_configuration(&acting).await?;
        let masters = self
            .0
            .store
            .client_invitations(acting.tenant, now())
            .await?;
        Ok(ListClientInvitationsResponse {
            master_tenant_ids: masters.iter().map(ToString::to_string).collect(),
        })
    }

    /// Writes the link (or its end) with the CLIENT fact under the master, whose facts carry it,
    /// and its audit record there too.
    async fn link(
        &self,
        master: TenantId,
        client: TenantId,
        link: bool,
        audit: Audit,
    ) -> Result<(), ApiError> {
        self.0
            .store
            .link_client(
                master,
                client,
                link,
                now(),
                &[relationships::client_link_changed(master, client, link)],
                &audit.noting("client", client.to_string()),
            )
            .await?;
        Ok(())
    }
}
