//! UnlockSignIn, the `AuthenticationService` RPC that lifts a lockout early. A lockout stops
//! guessing, but an attacker who keeps failing could keep an administrator out for as long as
//! they keep trying; the tenant's Access Coordinator (or a platform operator, for a tenant whose
//! coordinator is the one locked out) lets the person back in.

use lms_api::identity::v1::{UnlockSignInRequest, UnlockSignInResponse};
use lms_kernel::{TenantId, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Caller, verified};
use tonic::Request;

use super::authentication::Authentication;
use crate::audit::{Actor, Object};
use crate::convert::required_id;
use crate::lockout;
use crate::store::Store;

impl<S: Store + Clone> Authentication<S> {
    pub(super) async fn unlock(
        &self,
        request: Request<UnlockSignInRequest>,
    ) -> Result<UnlockSignInResponse, ApiError> {
        let caller = verified(&request)?.clone();
        let r = request.into_inner();
        let user = required_id("user_id", &r.user_id, UserId::parse)?;
        let (tenant, actor) = match &caller {
            Caller::User { tenant, user, .. } => {
                if !r.tenant_id.is_empty() && r.tenant_id != tenant.to_string() {
                    return Err(ApiError::invalid_field(
                        "tenant_id",
                        "people unlock in their own tenant; leave it empty",
                    ));
                }
                let coordinator = self
                    .0
                    .store
                    .tenant(*tenant)
                    .await?
                    .and_then(|t| t.access_coordinator);
                if coordinator != Some(*user) {
                    return Err(ApiError::PermissionDenied {
                        reason: "NOT_ACCESS_COORDINATOR",
                        message: "only the tenant's Access Coordinator lifts a sign-in lockout"
                            .into(),
                        metadata: Default::default(),
                    });
                }
                (*tenant, format!("user:{user}"))
            }
            Caller::Service {
                tenant: None, name, ..
            } => (
                required_id("tenant_id", &r.tenant_id, TenantId::parse)?,
                format!("operator:{name}"),
            ),
            Caller::Service { .. } => {
                return Err(ApiError::PermissionDenied {
                    reason: "OPERATORS_ONLY",
                    message: "a tenant's service cannot lift sign-in lockouts".into(),
                    metadata: Default::default(),
                });
            }
        };
        let record = self
            .0
            .store
            .user(tenant, user)
            .await?
            .ok_or_else(|| ApiError::not_found("user", user.to_string()))?;
        let mut keys = vec![lockout::second_factor_key(tenant, user)];
        keys.extend(
            record
                .email
                .as_ref()
                .map(|e| lockout::password_key(tenant, e)),
        );
        let audit = Actor::from_caller(&caller).did("user.sign_in_unlocked", Object::user(user));
        self.0.store.lift_lockout(tenant, &keys, &audit).await?;
        tracing::info!(%tenant, %user, by = %actor, "sign-in lockout lifted");
        Ok(UnlockSignInResponse {})
    }
}
