//! What every identity handler shares: the store, the keys, password hashing, the connection to
//! authorization and the outbox relay.

use lms_kernel::{TenantId, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::Caller;
use lms_runtime::config::SignInConfig;

use crate::authz::Authorization;
use crate::keys::KeyRing;
use crate::outbox::Relay;
use crate::password::Passwords;
use crate::store::{Store, StoreError, UserRecord};

/// The shared state of the identity handlers.
#[derive(Debug)]
pub struct Core<S> {
    /// The identity store.
    pub store: S,
    /// Signing keys.
    pub keys: KeyRing,
    /// Password hashing.
    pub passwords: Passwords,
    /// Decisions and fact delivery.
    pub authorization: Authorization,
    /// The outbox relay.
    pub relay: std::sync::Arc<Relay<S>>,
    /// Token lifetimes and lockout.
    pub sign_in: SignInConfig,
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Duplicate { resource, field } => ApiError::AlreadyExists {
                resource_type: resource,
                resource_name: format!("with that {field}"),
            },
            StoreError::Missing { what, id } => ApiError::not_found(what, id),
            StoreError::Refused { reason, message } => {
                ApiError::FailedPrecondition { reason, message }
            }
            StoreError::NotEmpty(message) => ApiError::FailedPrecondition {
                reason: "NOT_EMPTY",
                message: message.into(),
            },
            StoreError::Database(error) => {
                tracing::warn!(%error, "identity store failed");
                ApiError::Unavailable {
                    dependency: "store",
                }
            }
            error @ StoreError::Corrupt(_) => ApiError::internal(error),
        }
    }
}

/// Store failures answered straight from handlers, as [`ApiError`] maps them.
impl From<StoreError> for tonic::Status {
    fn from(error: StoreError) -> Self {
        ApiError::from(error).into()
    }
}

/// A signed-in person acting through identity: their tenant and id, and the bearer token they
/// called with. Identity forwards that token when it asks authorization about the person's own
/// actions, so the decision sees their session (a password-only session of an administrator
/// does nothing risky when the tenant requires MFA).
#[derive(Clone)]
pub struct Acting {
    /// Their tenant.
    pub tenant: TenantId,
    /// Who they are.
    pub user: UserId,
    token: String,
}

impl std::fmt::Debug for Acting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acting")
            .field("tenant", &self.tenant)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Acting {
    /// The bearer token the person called with.
    pub fn token(&self) -> &str {
        &self.token
    }
}

/// The caller the token layer verified for `request`.
pub fn verified<T>(request: &tonic::Request<T>) -> Result<&Caller, ApiError> {
    lms_runtime::auth::caller(request).map_err(|_| ApiError::Unauthenticated {
        reason: "TOKEN_MISSING",
        message: "a bearer token is required".into(),
    })
}

/// The signed-in person behind `request`; PERMISSION_DENIED for services.
pub fn acting<T>(request: &tonic::Request<T>) -> Result<Acting, ApiError> {
    let (tenant, user) = user_caller(verified(request)?)?;
    // The auth layer verified this header before the handler ran.
    let token = request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::Unauthenticated {
            reason: "TOKEN_MISSING",
            message: "a bearer token is required".into(),
        })?
        .to_owned();
    Ok(Acting {
        tenant,
        user,
        token,
    })
}

/// The tenant and user of a user caller; PERMISSION_DENIED for services.
pub fn user_caller(caller: &Caller) -> Result<(TenantId, UserId), ApiError> {
    match caller {
        Caller::User { tenant, user, .. } => Ok((*tenant, *user)),
        Caller::Service { .. } => Err(ApiError::PermissionDenied {
            reason: "USER_REQUIRED",
            message: "this call is made by a signed-in user".into(),
            metadata: Default::default(),
        }),
    }
}

impl<S: Store + Clone> Core<S> {
    /// Refuses to act on the tenant's Access Coordinator (suspend, anonymise, delete): the
    /// duty is handed over first, so the tenant always has exactly one.
    pub async fn not_the_access_coordinator(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<(), ApiError> {
        let coordinator = self
            .store
            .tenant(tenant)
            .await?
            .and_then(|t| t.access_coordinator);
        if coordinator == Some(user) {
            return Err(ApiError::FailedPrecondition {
                reason: "ACCESS_COORDINATOR",
                message: "hand the Access Coordinator duty to someone else first".into(),
            });
        }
        Ok(())
    }

    /// A user as the API shows it, with their employments.
    pub async fn user_view(
        &self,
        tenant: TenantId,
        user: &UserRecord,
    ) -> Result<lms_api::identity::v1::User, ApiError> {
        let employments = self.store.employments(tenant, user.id).await?;
        Ok(crate::grpc::convert::user(user, &employments))
    }

    /// Users as the API shows them, with their employments read in one query.
    pub async fn user_views(
        &self,
        tenant: TenantId,
        users: &[UserRecord],
    ) -> Result<Vec<lms_api::identity::v1::User>, ApiError> {
        let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
        let employments = self.store.employments_of(tenant, &ids).await?;
        Ok(users
            .iter()
            .map(|user| {
                let own: Vec<_> = employments
                    .iter()
                    .filter(|e| e.user == user.id)
                    .cloned()
                    .collect();
                crate::grpc::convert::user(user, &own)
            })
            .collect())
    }

    /// Delivers the tenant's pending events; a failure leaves them to the retry loop and the
    /// answer without a token (the change is saved; decisions see it once delivered).
    pub async fn deliver(&self, tenant: TenantId) -> Option<lms_api::common::v1::ConsistencyToken> {
        match self.relay.deliver(tenant).await {
            Ok(token) => token,
            Err(error) => {
                tracing::warn!(%tenant, %error, "change saved; delivery to authorization will be retried");
                None
            }
        }
    }
}
