use std::time::Duration;

use lms_kernel::{TenantId, UserId};
use lms_runtime::auth::{Claims, Scope, Scopes, SigningKey, SubjectKind, TokenIssuer, jwks_json};
use lms_runtime::config::AuthConfig;

/// A signing key of this test's own, and tokens signed with it.
#[derive(Debug)]
pub struct TestAuth {
    issuer: TokenIssuer,
}

impl Default for TestAuth {
    fn default() -> Self {
        Self::new()
    }
}

impl TestAuth {
    /// A fresh key, for the default issuer and audience.
    pub fn new() -> Self {
        let defaults = lms_runtime::Config::default().auth;
        Self {
            issuer: TokenIssuer::new(
                SigningKey::generate(format!("test-{}", uuid::Uuid::new_v4().simple())),
                defaults.issuer,
                defaults.audience,
            ),
        }
    }

    /// This key's public half as a JWKS.
    pub fn jwks(&self) -> String {
        jwks_json([self.issuer.key()])
    }

    /// The auth configuration that trusts this key (as the operator's key: operator tokens only).
    pub fn config(&self) -> AuthConfig {
        AuthConfig {
            jwks: Some(self.jwks()),
            ..lms_runtime::Config::default().auth
        }
    }

    /// Claims of a user token valid for an hour, to adjust before [`TestAuth::sign`].
    pub fn user_claims(&self, tenant: TenantId, user: UserId) -> Claims {
        self.issuer.claims(
            SubjectKind::User,
            user.to_string(),
            Some(tenant.to_string()),
            Duration::from_secs(3600),
        )
    }

    /// A valid token of `user` in `tenant`.
    pub fn user_token(&self, tenant: TenantId, user: UserId) -> String {
        self.sign(&self.user_claims(tenant, user))
    }

    /// A token of `user` that expired ten minutes ago (beyond any leeway).
    pub fn expired_user_token(&self, tenant: TenantId, user: UserId) -> String {
        let mut claims = self.user_claims(tenant, user);
        claims.iat -= 7200;
        claims.exp = claims.iat + 3600;
        self.sign(&claims)
    }

    /// A platform operator's token: platform-wide, with every scope.
    pub fn service_token(&self, name: &str) -> String {
        self.scoped_token(name, None, Scopes::of(Scope::ALL))
    }

    /// A token of a service acting for one tenant, with every scope a tenant token may carry.
    pub fn tenant_service_token(&self, name: &str, tenant: TenantId) -> String {
        self.scoped_token(
            name,
            Some(tenant),
            Scopes::of(Scope::ALL).without(Scope::Operator),
        )
    }

    /// A service token for `tenant` (or platform-wide) that may do only `scopes`.
    pub fn scoped_token(&self, name: &str, tenant: Option<TenantId>, scopes: Scopes) -> String {
        let mut claims = self.issuer.claims(
            SubjectKind::Service,
            name,
            tenant.map(|t| t.to_string()),
            Duration::from_secs(3600),
        );
        claims.scope = Some(scopes.to_claim());
        self.sign(&claims)
    }

    /// A tenant integration's token, as identity issues them for a tenant's service accounts:
    /// `name` of `tenant`, doing `scopes`, with the id of the secret it was issued against;
    /// bounded by what `holder` holds (the person who made the account), or trusted within its
    /// scopes with none (an account an operator made). `second_factor`: the holder set the
    /// account's secret in a session that proved one.
    pub fn integration_token(
        &self,
        name: &str,
        tenant: TenantId,
        holder: Option<UserId>,
        scopes: Scopes,
        second_factor: bool,
    ) -> String {
        let mut claims = self.issuer.claims(
            SubjectKind::Service,
            name,
            Some(tenant.to_string()),
            Duration::from_secs(3600),
        );
        claims.scope = Some(scopes.to_claim());
        claims.sid = Some(uuid::Uuid::new_v4().to_string());
        claims.hld = holder.map(|h| h.to_string());
        if second_factor {
            claims.amr = vec!["otp".into()];
        }
        self.sign(&claims)
    }

    /// [`Self::integration_token`] held by `holder`, its secret set without a second factor.
    pub fn held_service_token(
        &self,
        name: &str,
        tenant: TenantId,
        holder: UserId,
        scopes: Scopes,
    ) -> String {
        self.integration_token(name, tenant, Some(holder), scopes, false)
    }

    /// Signs arbitrary claims with this test's key.
    pub fn sign(&self, claims: &Claims) -> String {
        self.issuer.sign(claims)
    }
}
