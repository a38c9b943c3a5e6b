//! `[auth]`: how bearer tokens are verified.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// How bearer tokens are verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The `iss` claim every token must carry.
    pub issuer: String,
    /// The `aud` claim every token must carry.
    pub audience: String,
    /// A JSON Web Key Set, inline. One of `jwks` and `jwks_file` is required outside `lms dev`.
    pub jwks: Option<String>,
    /// A file holding the JSON Web Key Set.
    pub jwks_file: Option<PathBuf>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_seconds: u64,
    /// Trust the keys identity publishes, fetched from `identity.endpoint` (besides any
    /// configured here). Identity itself always trusts its own.
    pub fetch_identity_keys: bool,
    /// How often the keys identity publishes are fetched (and at once when a token names an
    /// unknown key).
    pub jwks_refresh_seconds: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            issuer: "lms-identity".into(),
            audience: "lms-access".into(),
            jwks: None,
            jwks_file: None,
            leeway_seconds: 30,
            fetch_identity_keys: true,
            jwks_refresh_seconds: 60,
        }
    }
}

impl AuthConfig {
    /// Checks what types cannot: exclusive keys, empty claims, the refresh period.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.jwks.is_some() && self.jwks_file.is_some() {
            return Err(invalid(
                "auth.jwks",
                "set either auth.jwks or auth.jwks_file, not both",
            ));
        }
        if self.issuer.is_empty() || self.audience.is_empty() {
            return Err(invalid(
                "auth.issuer",
                "issuer and audience must not be empty",
            ));
        }
        if self.jwks_refresh_seconds == 0 {
            return Err(invalid("auth.jwks_refresh_seconds", "must be at least 1"));
        }
        Ok(())
    }
}
