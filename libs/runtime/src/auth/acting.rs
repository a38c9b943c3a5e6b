//! Who is acting in a request, as handlers ask it: the guards every service uses, each refusing
//! with the same reason everywhere; [`Acting`], the signed-in person with the bearer token they
//! called with (the auth layer keeps the verified header, so nothing re-reads it); and
//! [`Principal`], for the few calls a tenant's integration may make as well: a person, or an
//! integration bounded by its holder.

use std::collections::HashMap;

use http::HeaderValue;
use lms_kernel::{TenantId, UserId};

use super::claims::Caller;
use super::scope::{Scope, require_scope};
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
        bearer_token(&self.bearer)
    }

    /// The person acting with `token` (tests and tools that hold a token, not a request).
    pub fn with_token(tenant: TenantId, user: UserId, token: &str) -> Result<Self, ApiError> {
        Ok(Self {
            tenant,
            user,
            bearer: sensitive_bearer(token)?,
        })
    }
}

/// Whose rights a service's question to authorization about the acting party's own rights is
/// decided on (may they do this, assign that, change them).
pub trait Asker {
    /// The bearer token to ask with: a person's own (so the decision sees their session), an
    /// integration's (authorization bounds it by its holder, as their session would be);
    /// `None` for an integration a platform operator made, which no person bounds: it is
    /// trusted within its scopes, so nothing is asked and everything is allowed.
    fn asks_with(&self) -> Option<&str>;

    /// The person whose rights bound the party: the person themselves, an integration's
    /// holder; `None` for a trusted integration.
    fn person(&self) -> Option<UserId>;
}

impl Asker for Acting {
    fn asks_with(&self) -> Option<&str> {
        Some(self.token())
    }

    fn person(&self) -> Option<UserId> {
        Some(self.user)
    }
}

/// Who acts in a call a tenant's integration may make as well as a person (the people-data
/// feed's import): the person, or the integration, with the bearer token they called with.
/// Handlers ask authorization about it like about a person ([`Asker`]): an integration's
/// questions are decided on its holder's rights; one an operator made is trusted.
#[derive(Clone)]
pub struct Principal {
    /// The tenant it acts in (the token's).
    pub tenant: TenantId,
    /// Who it is.
    pub agent: Agent,
    bearer: HeaderValue,
}

/// A person or a tenant's integration, as a [`Principal`] names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Agent {
    /// A signed-in person.
    Person(UserId),
    /// A tenant's integration.
    Integration {
        /// Its account's name.
        name: String,
        /// The person whose rights bound it; `None` when a platform operator made it.
        holder: Option<UserId>,
    },
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("tenant", &self.tenant)
            .field("agent", &self.agent)
            .finish_non_exhaustive()
    }
}

impl Principal {
    /// The principal acting with `token` (tests and tools that hold a token, not a request).
    pub fn with_token(tenant: TenantId, agent: Agent, token: &str) -> Result<Self, ApiError> {
        Ok(Self {
            tenant,
            agent,
            bearer: sensitive_bearer(token)?,
        })
    }
}

impl Asker for Principal {
    fn asks_with(&self) -> Option<&str> {
        self.person().map(|_| bearer_token(&self.bearer))
    }

    fn person(&self) -> Option<UserId> {
        match &self.agent {
            Agent::Person(user) => Some(*user),
            Agent::Integration { holder, .. } => *holder,
        }
    }
}

fn bearer_token(bearer: &HeaderValue) -> &str {
    let value = bearer.to_str().unwrap_or_default();
    value
        .split_once(' ')
        .map_or(value, |(_, token)| token.trim())
}

fn sensitive_bearer(token: &str) -> Result<HeaderValue, ApiError> {
    let mut bearer = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| malformed())?;
    bearer.set_sensitive(true);
    Ok(bearer)
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

fn verified_bearer<T>(request: &tonic::Request<T>) -> Result<HeaderValue, ApiError> {
    Ok(request
        .extensions()
        .get::<VerifiedBearer>()
        .ok_or_else(token_missing)?
        .0
        .clone())
}

/// The signed-in person behind `request`; PERMISSION_DENIED `USER_REQUIRED` for services and
/// integrations.
pub fn acting<T>(request: &tonic::Request<T>) -> Result<Acting, ApiError> {
    let (tenant, user) = user(verified(request)?)?;
    Ok(Acting {
        tenant,
        user,
        bearer: verified_bearer(request)?,
    })
}

/// Who acts in a call a tenant's integration holding `scope` may make as well as a person: the
/// signed-in person, or such an integration. An integration without the scope is refused with
/// `SCOPE_REQUIRED` naming it, a platform service with `USER_REQUIRED` (the platform's services
/// act through their own calls, never as someone of the tenant).
pub fn principal<T>(request: &tonic::Request<T>, scope: Scope) -> Result<Principal, ApiError> {
    let caller = verified(request)?;
    let (tenant, agent) = match caller {
        Caller::Integration {
            name,
            tenant,
            holder,
            ..
        } => {
            require_scope(caller, scope)?;
            let agent = Agent::Integration {
                name: name.clone(),
                holder: *holder,
            };
            (*tenant, agent)
        }
        Caller::User { tenant, user, .. } => (*tenant, Agent::Person(*user)),
        Caller::Service { .. } => {
            return Err(user_required(format!(
                "this call is made by a signed-in user or the tenant's integration with the \
                 scope {scope}"
            )));
        }
    };
    Ok(Principal {
        tenant,
        agent,
        bearer: verified_bearer(request)?,
    })
}

fn user_required(message: String) -> ApiError {
    ApiError::PermissionDenied {
        reason: "USER_REQUIRED",
        message,
        metadata: HashMap::new(),
    }
}

/// The tenant and id of a person; PERMISSION_DENIED `USER_REQUIRED` for services and
/// integrations.
pub fn user(caller: &Caller) -> Result<(TenantId, UserId), ApiError> {
    match caller {
        Caller::User { tenant, user, .. } => Ok((*tenant, *user)),
        Caller::Service { .. } | Caller::Integration { .. } => Err(user_required(
            "this call is made by a signed-in user".into(),
        )),
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

/// The tenant of a platform service acting for one; PERMISSION_DENIED `SERVICE_REQUIRED` for
/// people and tenants' integrations, and `TENANT_REQUIRED` for a platform-wide service token.
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
        let acting = Acting::with_token(TenantId::generate(), UserId::generate(), "sekrit.jwt")
            .expect("ascii");
        assert_eq!(acting.token(), "sekrit.jwt");
        // Not hex, so the ids printed beside it can never contain it by chance.
        assert!(
            !format!("{acting:?}").contains("sekrit"),
            "tokens never print"
        );
    }

    #[test]
    fn guards_refuse_with_their_reasons() {
        let service = Caller::Service {
            name: "shop".into(),
            tenant: None,
            token_id: "t".into(),
            session: None,
            scopes: crate::auth::Scopes::NONE,
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
        let integration = Caller::Integration {
            name: "identity".into(),
            tenant: TenantId::generate(),
            token_id: "t".into(),
            session: "s".into(),
            scopes: crate::auth::Scopes::of([crate::auth::Scope::AssignRoles]),
            holder: None,
            mfa: false,
        };
        assert_eq!(reason(user(&integration).unwrap_err()), "USER_REQUIRED");
        assert_eq!(
            reason(tenant_service(&integration).unwrap_err()),
            "SERVICE_REQUIRED",
            "an integration is no platform service, whatever its name"
        );
    }

    fn request_of(caller: Caller) -> tonic::Request<()> {
        let mut request = tonic::Request::new(());
        request.extensions_mut().insert(caller);
        request
            .extensions_mut()
            .insert(VerifiedBearer(HeaderValue::from_static("Bearer a.b")));
        request
    }

    #[test]
    fn people_and_integrations_with_the_scope_are_principals_and_services_are_not() {
        use crate::auth::{Scope, Scopes};
        let (tenant, holder) = (TenantId::generate(), UserId::generate());
        let integration = |scopes| Caller::Integration {
            name: "hr-feed".into(),
            tenant,
            token_id: "t".into(),
            session: "s".into(),
            scopes,
            holder: Some(holder),
            mfa: false,
        };
        let feed = principal(
            &request_of(integration(Scopes::of([Scope::PeopleImport]))),
            Scope::PeopleImport,
        )
        .unwrap();
        assert_eq!(feed.tenant, tenant);
        assert_eq!(
            feed.agent,
            Agent::Integration {
                name: "hr-feed".into(),
                holder: Some(holder)
            }
        );
        assert_eq!(feed.asks_with(), Some("a.b"));
        let refusal = |caller| match principal(&request_of(caller), Scope::PeopleImport) {
            Err(ApiError::PermissionDenied {
                reason, metadata, ..
            }) => (reason, metadata.get("scope").cloned()),
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(
            refusal(integration(Scopes::of([Scope::AssignRoles]))),
            ("SCOPE_REQUIRED", Some("identity.people.import".into()))
        );
        let service = Caller::Service {
            name: "identity".into(),
            tenant: Some(tenant),
            token_id: "t".into(),
            session: None,
            scopes: Scopes::of(Scope::ALL),
        };
        assert_eq!(refusal(service), ("USER_REQUIRED", None));
        let person = Caller::User {
            tenant,
            user: holder,
            mfa: false,
            token_id: "t".into(),
            session: None,
        };
        let person = principal(&request_of(person), Scope::PeopleImport).unwrap();
        assert_eq!(person.agent, Agent::Person(holder));
    }

    #[test]
    fn a_principal_asks_with_its_token_unless_nobody_bounds_it() {
        let (tenant, holder) = (TenantId::generate(), UserId::generate());
        let person = Principal::with_token(tenant, Agent::Person(holder), "p.t").unwrap();
        assert_eq!(
            (person.asks_with(), person.person()),
            (Some("p.t"), Some(holder))
        );
        let held = Agent::Integration {
            name: "hr-feed".into(),
            holder: Some(holder),
        };
        let held = Principal::with_token(tenant, held, "i.t").unwrap();
        assert_eq!(
            (held.asks_with(), held.person()),
            (Some("i.t"), Some(holder))
        );
        let trusted = Agent::Integration {
            name: "hr-feed".into(),
            holder: None,
        };
        let trusted = Principal::with_token(tenant, trusted, "o.t").unwrap();
        assert_eq!((trusted.asks_with(), trusted.person()), (None, None));
        assert!(!format!("{held:?}").contains("i.t"), "tokens never print");
    }
}
