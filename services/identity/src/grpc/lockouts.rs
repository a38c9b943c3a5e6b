//! UnlockSignIn, the `AuthenticationService` RPC that lifts a lockout early. A lockout stops
//! guessing, but an attacker who keeps failing could keep an administrator out for as long as
//! they keep trying; the tenant's Access Coordinator (or a platform operator, for a tenant whose
//! coordinator is the one locked out) lets the person back in.

use lms_api::identity::v1::{UnlockSignInRequest, UnlockSignInResponse};
use lms_kernel::UserId;
use lms_runtime::ApiError;
use lms_runtime::auth::verified;
use tonic::Request;

use super::authentication::Authentication;
use super::coordinator_duty::{Duty, coordinator_or_operator};
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
        let Duty { tenant, actor, .. } =
            coordinator_or_operator(&self.0.store, &caller, &r.tenant_id, "lift a lockout").await?;
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
