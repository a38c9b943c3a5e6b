//! `[sign_in]`: sign-in, tokens and signing keys (identity).

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// Sign-in, tokens and the keys that sign them: read by identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInConfig {
    /// Lifetime of access tokens.
    pub access_token_ttl_seconds: u64,
    /// Lifetime of a sign-in session: a refresh token older than this is refused.
    pub refresh_token_ttl_seconds: u64,
    /// A new signing key is made when the newest is older than this; old keys stay published
    /// until every token they signed has expired.
    pub signing_key_rotation_hours: u64,
    /// Failed sign-ins in a row before the account is locked.
    pub lockout_threshold: u32,
    /// The first lockout; each further failure doubles it.
    pub lockout_base_seconds: u64,
    /// The longest lockout.
    pub lockout_max_seconds: u64,
    /// argon2id memory cost in KiB (OWASP: at least 19456).
    pub argon2_memory_kib: u32,
    /// argon2id iterations.
    pub argon2_iterations: u32,
    /// How long an MFA challenge from SignIn may be answered.
    pub mfa_challenge_ttl_seconds: u64,
    /// An account nobody signed in to (or created) for this many days is "no longer in use"
    /// and the Access Coordinator may delete it.
    pub unused_account_days: u32,
}

impl Default for SignInConfig {
    fn default() -> Self {
        SignInConfig {
            access_token_ttl_seconds: 900,
            refresh_token_ttl_seconds: 30 * 24 * 3600,
            signing_key_rotation_hours: 24,
            lockout_threshold: 5,
            lockout_base_seconds: 30,
            lockout_max_seconds: 3600,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            mfa_challenge_ttl_seconds: 300,
            unused_account_days: 180,
        }
    }
}

impl SignInConfig {
    /// Checks token lifetimes, rotation, lockout and the argon2id floor.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.access_token_ttl_seconds == 0
            || self.refresh_token_ttl_seconds < self.access_token_ttl_seconds
        {
            return Err(invalid(
                "sign_in.access_token_ttl_seconds",
                "access tokens must live at least a second, and no longer than refresh tokens",
            ));
        }
        if self.signing_key_rotation_hours == 0 || self.lockout_threshold == 0 {
            return Err(invalid(
                "sign_in.signing_key_rotation_hours",
                "rotation period and lockout threshold must be at least 1",
            ));
        }
        if self.argon2_memory_kib < 8 * 1024 || self.argon2_iterations == 0 {
            return Err(invalid(
                "sign_in.argon2_memory_kib",
                "argon2id needs at least 8 MiB and one iteration",
            ));
        }
        Ok(())
    }
}
