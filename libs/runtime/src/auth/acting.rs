//! Who is acting in a request, as handlers ask it: the guards every service uses, each refusing
//! with the same reason everywhere, and [`Acting`], the signed-in person with the bearer token
//! they called with (the auth layer keeps the verified header, so nothing re-reads it).

use std::collections::HashMap;

use http::HeaderValue;
use lms_kernel::{TenantId, UserId};

use super::claims::Caller;
use crate::error::ApiError;

/// The `authorization` header the auth layer verified, kept in the request's extensions beside
/// the [`Caller`]. A `HeaderValue` clone shares its bytes, so keeping it costs no copy.
#[derive(Clone)]
pub(crate) struct VerifiedBearer(pub(crate) HeaderValue);

/// A signed-in person acting in a request: their tenant and id, and the bearer token they called
/// with. Services forward that token when they ask authorization about the person's own actions,
/// so the decision sees their session (a password-only session of an administrator does nothing
/// risky when the tenant requires MFA; a suspended person's token is allowed nothing).
#[derive(Clone)]
pub struct Acting {
    /// Their tenant.
    pub tenant: TenantId,
    /// Who they are.
    pub user: UserId,
    bearer: HeaderValue,
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
    /// The bearer token the person called with (without the `Bearer ` scheme).
    pub fn token(&self) -> &str {
        let value = self.bearer.to_str().unwrap_or_default();
        value
            .split_once(' ')
            .map_or(value, |(_, token)| token.trim())
    }

    /// The person acting with `token` (tests and tools that hold a token, not a request).
    pub fn with_token(tenant: TenantId, user: UserId, token: &str) -> Result<Self, ApiError> {
        let mut bearer =
            HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| malformed())?;
        bearer.set_sensitive(true);
        Ok(Self {
            tenant,
            user,
            bearer,
        })
    }
}

fn malformed() -> ApiError {
    ApiError::Unauthenticated {
        reason: "TOKEN_MALFORMED",
        message: "the bearer token is not ASCII".into(),
    }
}

fn token_missing() -> ApiError {
    ApiError::Unauthenticated {
        reason: "TOKEN_MISSING",
        message: "a bearer token is required".into(),
    }
}

/// The caller the auth layer verified for `request`; UNAUTHENTICATED when there is none (a
/// public method, or the layer missing: a wiring bug, never an opening).
pub fn verified<T>(request: &tonic::Request<T>) -> Result<&Caller, ApiError> {
    request
        .extensions()
        .get::<Caller>()
        .ok_or_else(token_missing)
}

/// The signed-in person behind `request`; PERMISSION_DENIED `USER_REQUIRED` for services.
pub fn acting<T>(request: &tonic::Request<T>) -> Result<Acting, ApiError> {
    let (tenant, user) = user(verified(request)?)?;
    let bearer = request
        .extensions()
        .get::<VerifiedBearer>()
        .ok_or_else(token_missing)?
        .0
        .clone();
    Ok(Acting {
        tenant,
        user,
        bearer,
    })
}

/// The tenant and id of a person; PERMISSION_DENIED `USER_REQUIRED` for services.
pub fn user(caller: &Caller) -> Result<(TenantId, UserId), ApiError> {
    match caller {
        Caller::User { tenant, user, .. } => Ok((*tenant, *user)),
        Caller::Service { .. } => Err(ApiError::PermissionDenied {
            reason: "USER_REQUIRED",
            message: "this call is made by a signed-in user".into(),
            metadata: HashMap::new(),
        }),
    }
}

/// The tenant a caller acts in; PERMISSION_DENIED `TENANT_REQUIRED` for a platform-wide token.
pub fn tenant(caller: &Caller) -> Result<TenantId, ApiError> {
    caller.tenant().ok_or_else(|| ApiError::PermissionDenied {
        reason: "TENANT_REQUIRED",
        message: "this call needs a token issued for a tenant".into(),
        metadata: HashMap::new(),
    })
}

/// The tenant of a service acting for one; PERMISSION_DENIED `SERVICE_REQUIRED` for people and
/// `TENANT_REQUIRED` for a platform-wide service token.
pub fn tenant_service(caller: &Caller) -> Result<TenantId, ApiError> {
    if !matches!(caller, Caller::Service { .. }) {
        return Err(ApiError::PermissionDenied {
            reason: "SERVICE_REQUIRED",
            message: "this call is made by the platform's services".into(),
            metadata: HashMap::new(),
        });
    }
    tenant(caller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_the_header_without_its_scheme() {
        let acting =
            Acting::with_token(TenantId::generate(), UserId::generate(), "abc.def").expect("ascii");
        assert_eq!(acting.token(), "abc.def");
        assert!(!format!("{acting:?}").contains("abc"), "tokens never print");
    }

    #[test]
    fn guards_refuse_with_their_reasons() {
        let service = Caller::Service {
            name: "shop".into(),
            tenant: None,
            token_id: "t".into(),
            session: None,
            scopes: crate::auth::Scopes::NONE,
            holder: None,
        };
        let reason = |error: ApiError| match error {
            ApiError::PermissionDenied { reason, .. } => reason,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(reason(user(&service).unwrap_err()), "USER_REQUIRED");
        assert_eq!(reason(tenant(&service).unwrap_err()), "TENANT_REQUIRED");
        assert_eq!(
            reason(tenant_service(&service).unwrap_err()),
            "TENANT_REQUIRED"
        );
        let person = Caller::User {
            tenant: TenantId::generate(),
            user: UserId::generate(),
            mfa: false,
            token_id: "t".into(),
            session: None,
        };
        assert_eq!(
            reason(tenant_service(&person).unwrap_err()),
            "SERVICE_REQUIRED"
        );
        assert!(user(&person).is_ok());
    }
}
