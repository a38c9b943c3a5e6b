use lms_kernel::{TenantId, UserId};
use serde::{Deserialize, Serialize};

use super::scope::Scopes;

/// Who a token was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    /// A person signed in to one tenant.
    User,
    /// Another service of the platform (service-to-service calls).
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
    /// Authentication methods used (`pwd`, `otp`), per RFC 8176.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The session a token belongs to: a user's sign-in (refresh-token family), which sign-out
    /// ends, or a service account's current secret, which rotation and disabling end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// What a service token may do: scope names, space-separated (see [`super::Scopes`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The holder of a tenant integration's account: the user id of the person of `tid` who
    /// created it. Services bound by it act within what that person holds (assigning roles is
    /// checked as if they assigned). Only on service tokens naming a tenant; absent on the
    /// platform's own service tokens and on accounts an operator made for a tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hld: Option<String>,
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
    /// A platform service, acting for one tenant when its token names one.
    Service {
        /// The service account's name.
        name: String,
        /// The tenant the token was issued for; `None` for platform-wide calls.
        tenant: Option<TenantId>,
        /// The token's id.
        token_id: String,
        /// The account secret the token was issued against; rotating or disabling the account
        /// revokes it. `None` for operator tokens signed with a configured key.
        session: Option<String>,
        /// What the token may do.
        scopes: Scopes,
        /// The person whose rights bound a tenant integration (its account's holder); `None`
        /// for the platform's own services, which are trusted within their scopes.
        holder: Option<UserId>,
    },
}

impl Caller {
    /// The session the token belongs to (a person's sign-in, a service account's secret).
    pub fn session(&self) -> Option<&str> {
        match self {
            Caller::User { session, .. } | Caller::Service { session, .. } => session.as_deref(),
        }
    }

    /// The tenant the caller acts in: a user's, or the one a service token was issued for.
    pub fn tenant(&self) -> Option<TenantId> {
        match self {
            Caller::User { tenant, .. } => Some(*tenant),
            Caller::Service { tenant, .. } => *tenant,
        }
    }

    /// The holder whose rights bound a tenant integration's service token.
    pub fn holder(&self) -> Option<UserId> {
        match self {
            Caller::Service { holder, .. } => *holder,
            Caller::User { .. } => None,
        }
    }

    /// The person whose rights bound what the caller may ask or change: a user themselves, a
    /// tenant integration's holder; `None` for the platform's own services.
    pub fn person(&self) -> Option<UserId> {
        self.user().or_else(|| self.holder())
    }

    /// The user id of a user caller.
    pub fn user(&self) -> Option<UserId> {
        match self {
            Caller::User { user, .. } => Some(*user),
            Caller::Service { .. } => None,
        }
    }
}
