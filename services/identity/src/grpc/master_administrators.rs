//! AppointMasterAdministrator: the first Master Administrator of a master tenant. The role
//! reaches the tenant's clients, and nobody inside a tenant holds that reach before one exists
//! (the escalation rule stops an LMS Administrator from handing it out), so a platform operator
//! appoints the first; Master Administrators then appoint others with AssignRole.

use lms_api::identity::v1::{
    AppointMasterAdministratorRequest, AppointMasterAdministratorResponse,
};
use lms_kernel::{AccountKind, Template, TenantId, UserId, UserStatus};
use lms_runtime::ApiError;
use lms_runtime::auth::{operator, verified};
use tonic::Request;

use super::tenants::Tenants;
use crate::audit::{Actor, Object};
use crate::convert::required_id;
use crate::error::link_refusal;
use crate::relationships;
use crate::store::Store;

impl<S: Store + Clone> Tenants<S> {
    pub(super) async fn appoint_master(
        &self,
        request: &Request<AppointMasterAdministratorRequest>,
    ) -> Result<AppointMasterAdministratorResponse, ApiError> {
        let by = Actor::of(request)?;
        let operator = operator(verified(request)?, "appoint Master Administrators")?;
        let r = request.get_ref();
        let tenant = required_id("tenant_id", &r.tenant_id, TenantId::parse)?;
        let user = required_id("user_id", &r.user_id, UserId::parse)?;
        // A tenant that takes no clients has nothing for the role's reach to cover.
        self.kernel_tenant(tenant)
            .await?
            .takes_clients()
            .map_err(link_refusal)?;
        let person = self
            .0
            .store
            .user(tenant, user)
            .await?
            .ok_or_else(|| ApiError::not_found("user", user.to_string()))?;
        if person.status != UserStatus::Active || person.account_kind != AccountKind::Standard {
            return Err(ApiError::FailedPrecondition {
                reason: "NOT_AN_ACTIVE_PERSON",
                message: "a Master Administrator is an active user with a standard account".into(),
            });
        }
        let written_at = self
            .0
            .commit_events(
                tenant,
                &[relationships::role_given(
                    user,
                    Template::MasterAdministrator,
                )],
                &by.did("tenant.master_administrator_appointed", Object::user(user)),
            )
            .await?;
        tracing::info!(%tenant, %user, by = %operator, "master administrator appointed");
        Ok(AppointMasterAdministratorResponse { written_at })
    }
}
