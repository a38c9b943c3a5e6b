use lms_kernel::{TenantId, UserId};
use serde::{Deserialize, Serialize};

use super::scope::Scopes;

/// Who a token was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    /// A person signed in to one tenant.
    User,
    /// A service account: the platform's own services and operators, or a tenant's integration
    /// (see [`Claims::sid`] for how the two are told apart).
    Service,
}

/// The claims of an LMS Access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Subject: a user id, or a service account name.
    pub sub: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Not before, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Token id, for revocation and audit.
    pub jti: String,
    /// The tenant a user token is for, or a service token acts for; absent on platform-wide
    /// service tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// User or service.
    pub kind: SubjectKind,
    /// Authentication methods used (`pwd`, `otp`), per RFC 8176. On a tenant integration's
    /// token, `otp` says its holder set the account's current secret in a session that proved a
    /// second factor, so the integration may do what such a session of theirs may.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The session a token belongs to: a user's sign-in (refresh-token family), which sign-out
    /// ends, or a service account's current secret, which rotation and disabling end.
    ///
    /// A service token naming a tenant and a secret was issued to one tenant's service account:
    /// it is a tenant's integration ([`Caller::Integration`]), unless [`Claims::plt`] says a
    /// platform account's token was narrowed to that tenant. Identity acts for a tenant with
    /// tokens it signs for itself, from no account and so with no secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// What a service token may do: scope names, space-separated (see [`super::Scopes`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The holder of a tenant integration's account: the user id of the person of `tid` who
    /// created it. Integrations bound by it act within what that person holds (assigning roles
    /// is checked as if they assigned). Only on integrations' tokens (a tenant and a secret);
    /// absent on the platform's own service tokens and on accounts an operator made for a
    /// tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hld: Option<String>,
    /// Set on a platform service account's token narrowed to one tenant (`IssueServiceToken`
    /// with `tenant_id`): the platform's own service (delegation, reporting) acting for that
    /// tenant, never the tenant's integration. Only identity signs it, and only for platform
    /// accounts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plt: bool,
}

impl Claims {
    /// Claims valid from now for `ttl`, with a fresh token id and no authentication methods.
    pub fn new(
        issuer: &str,
        audience: &str,
        kind: SubjectKind,
        subject: String,
        tenant: Option<String>,
        ttl: std::time::Duration,
    ) -> Claims {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        Claims {
            iss: issuer.to_owned(),
            aud: audience.to_owned(),
            sub: subject,
            exp: now + ttl.as_secs(),
            iat: now,
            nbf: None,
            jti: uuid::Uuid::new_v4().to_string(),
            tid: tenant,
            kind,
            amr: Vec::new(),
            sid: None,
            scope: None,
            hld: None,
            plt: false,
        }
    }
}

/// The verified caller of a request, put into request extensions by the auth layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A person acting in their tenant.
    User {
        /// Their tenant.
        tenant: TenantId,
        /// Who they are.
        user: UserId,
        /// Whether they proved a second factor at sign-in.
        mfa: bool,
        /// The token's id.
        token_id: String,
        /// The sign-in session the token belongs to, when it came from a sign-in.
        session: Option<String>,
    },
    /// A platform service or operator, acting for one tenant when its token names one. Trusted
    /// within its scopes.
    Service {
        /// The service account's name.
        name: String,
        /// The tenant the token was issued for; `None` for platform-wide calls.
        tenant: Option<TenantId>,
        /// The token's id.
        token_id: String,
        /// The account secret the token was issued against; rotating or disabling the account
        /// revokes it. `None` for identity's own tokens and operator tokens signed with a
        /// configured key.
        session: Option<String>,
        /// What the token may do.
        scopes: Scopes,
    },
    /// A tenant's integration (a people-data feed, a shop, a content player): a service account
    /// of one tenant. Never a platform service: it acts only for its tenant, holds only the
    /// scopes tenant accounts may hold, and the audit names it as an integration.
    Integration {
        /// The account's name (unique within its tenant only).
        name: String,
        /// Its tenant.
        tenant: TenantId,
        /// The token's id.
        token_id: String,
        /// The account secret the token was issued against; rotating or disabling the account
        /// revokes it.
        session: String,
        /// What the token may do.
        scopes: Scopes,
        /// The person whose rights bound it (the account's holder, who made it); `None` when a
        /// platform operator made it for the tenant, trusted within its scopes.
        holder: Option<UserId>,
        /// Whether the holder set the account's current secret in a session that proved a
        /// second factor: the integration then acts as such a session of theirs would.
        mfa: bool,
    },
}

impl Caller {
    /// The session the token belongs to (a person's sign-in, a service account's secret).
    pub fn session(&self) -> Option<&str> {
        match self {
            Caller::User { session, .. } | Caller::Service { session, .. } => session.as_deref(),
            Caller::Integration { session, .. } => Some(session),
        }
    }

    /// The tenant the caller acts in: a user's or an integration's, or the one a service token
    /// was issued for.
    pub fn tenant(&self) -> Option<TenantId> {
        match self {
            Caller::User { tenant, .. } | Caller::Integration { tenant, .. } => Some(*tenant),
            Caller::Service { tenant, .. } => *tenant,
        }
    }

    /// The holder whose rights bound a tenant integration.
    pub fn holder(&self) -> Option<UserId> {
        match self {
            Caller::Integration { holder, .. } => *holder,
            Caller::User { .. } | Caller::Service { .. } => None,
        }
    }

    /// The person whose rights bound what the caller may ask or change: a user themselves, a
    /// tenant integration's holder; `None` for the platform's own services and for integrations
    /// an operator made, which are trusted within their scopes.
    pub fn person(&self) -> Option<UserId> {
        self.user().or_else(|| self.holder())
    }

    /// The user id of a user caller.
    pub fn user(&self) -> Option<UserId> {
        match self {
            Caller::User { user, .. } => Some(*user),
            Caller::Service { .. } | Caller::Integration { .. } => None,
        }
    }

    /// Whether the caller's facts are those of a session that proved a second factor: a person
    /// who signed in with one, an integration whose holder set its secret in such a session.
    /// Services are bound by no person's facts.
    pub fn second_factor(&self) -> bool {
        match self {
            Caller::User { mfa, .. } | Caller::Integration { mfa, .. } => *mfa,
            Caller::Service { .. } => false,
        }
    }
}
