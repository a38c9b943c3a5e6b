//! Bearer-token authentication: who is calling.
//!
//! Identity signs short-lived Ed25519 JWTs and publishes the public keys as a JWKS; every service
//! verifies tokens against those keys in a tower layer ([`AuthLayer`]) and hands handlers a
//! verified [`Caller`]. Tenant and user come only from the token, never from request fields.

mod acting;
mod claims;
mod keys;
mod layer;
mod published;
mod revocations;
mod scope;
mod verifier;

pub use acting::{
    Acting, Agent, Asker, Principal, acting, principal, tenant, tenant_service, user, verified,
};
pub use claims::{Caller, Claims, SubjectKind};
pub use keys::{KeyError, SigningKey, TokenIssuer, jwks_json};
pub use layer::{
    AuthLayer, AuthService, PUBLIC_INFRASTRUCTURE_PREFIXES, caller, caller_and_message,
};
pub use published::follow_identity_keys;
pub use revocations::{RevocationFeed, Revocations};
pub use scope::{Scope, Scopes, operator, require_scope, scoped_tenant};
pub use verifier::{PublishedRetention, TokenError, TokenVerifier};
