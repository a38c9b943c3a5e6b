//! Who does the Access Coordinator's own duties (handing the duty over, lifting a sign-in
//! lockout): the tenant's coordinator, in their own tenant, or a platform operator naming the
//! tenant, which is the way back in when the coordinator is gone or locked out. Nobody else may,
//! not even an administrator who held the duty before.

use lms_kernel::{TenantId, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Caller, operator};

use crate::convert::required_id;
use crate::store::Store;

/// The caller allowed to do a coordinator's duty, and where.
pub(super) struct Duty {
    /// The tenant the duty is done in.
    pub tenant: TenantId,
    /// Who does it, as logs name them (`user:<id>` or `operator:<account>`).
    pub actor: String,
    /// The tenant's Access Coordinator now.
    pub coordinator: Option<UserId>,
}

/// Refuses anyone but the tenant's coordinator or a platform operator; `tenant_id` is the
/// request's field, which people leave empty and operators fill in. `duty` completes "only the
/// tenant's Access Coordinator (or a platform operator) may ..." in the refusal.
pub(super) async fn coordinator_or_operator<S: Store>(
    store: &S,
    caller: &Caller,
    tenant_id: &str,
    duty: &str,
) -> Result<Duty, ApiError> {
    let (tenant, by_operator) = match caller {
        Caller::User { tenant, .. } => {
            if !tenant_id.is_empty() && tenant_id != tenant.to_string() {
                return Err(ApiError::invalid_field(
                    "tenant_id",
                    "people act in their own tenant; leave it empty",
                ));
            }
            (*tenant, None)
        }
        Caller::Service { .. } | Caller::Integration { .. } => {
            let by = operator(caller, duty)?;
            (
                required_id("tenant_id", tenant_id, TenantId::parse)?,
                Some(by),
            )
        }
    };
    let coordinator = store
        .tenant(tenant)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant", tenant.to_string()))?
        .access_coordinator;
    let actor = match (caller, by_operator) {
        (_, Some(by)) => by,
        (Caller::User { user, .. }, None) if coordinator == Some(*user) => format!("user:{user}"),
        _ => {
            return Err(ApiError::PermissionDenied {
                reason: "NOT_ACCESS_COORDINATOR",
                message: format!(
                    "only the tenant's Access Coordinator (or a platform operator) may {duty}"
                ),
                metadata: Default::default(),
            });
        }
    };
    Ok(Duty {
        tenant,
        actor,
        coordinator,
    })
}
