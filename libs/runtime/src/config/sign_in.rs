//! `[sign_in]`: sign-in, tokens and signing keys (identity).

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};
use crate::secret::SecretString;

/// Sign-in, tokens and the keys that sign them: read by identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInConfig {
    /// Lifetime of access tokens.
    pub access_token_ttl_seconds: u64,
    /// Lifetime of a refresh token: one not traded in for this long is refused (idle timeout).
    pub refresh_token_ttl_seconds: u64,
    /// Absolute lifetime of a sign-in session, counted from the sign-in: refreshing never takes a
    /// session past it.
    pub session_max_seconds: u64,
    /// A new signing key is made when the newest is older than this; old keys stay published
    /// until every token they signed has expired.
    pub signing_key_rotation_hours: u64,
    /// How often identity replicas re-read the stored signing keys. A new key is published at
    /// once but signs only when three of these periods old, so every replica (and every follower
    /// fetching at least as often, `auth.jwks_refresh_seconds`) knows it before a token names it.
    pub signing_key_reload_seconds: u64,
    /// Failed sign-ins in a row that lock the account; when a lock ends, this many more lock it
    /// again.
    pub lockout_threshold: u32,
    /// The first lockout; each further lock in a row doubles it.
    pub lockout_base_seconds: u64,
    /// The longest lockout; an account with no sign-in attempt for this long after its last
    /// lock starts over from the first.
    pub lockout_max_seconds: u64,
    /// argon2id memory cost in KiB (OWASP: at least 19456).
    pub argon2_memory_kib: u32,
    /// Memory the password checks of one process may hold at once, in MiB: it sets how many
    /// argon2 runs go on together (this divided by the memory cost, at least one). A check that
    /// finds every slot taken is refused at once (RESOURCE_EXHAUSTED) instead of queueing, so a
    /// flood of sign-ins cannot take the process past its memory limit: size it with the pod.
    pub password_memory_mib: u32,
    /// Sign-in attempts (SignIn, VerifyMfa, RefreshToken, IssueServiceToken) one peer address
    /// may make per second, on average.
    pub attempts_per_peer_per_second: u32,
    /// Sign-in attempts one account (tenant and e-mail) may make per minute, on average.
    pub attempts_per_account_per_minute: u32,
    /// argon2id iterations.
    pub argon2_iterations: u32,
    /// How long an MFA challenge from SignIn may be answered.
    pub mfa_challenge_ttl_seconds: u64,
    /// An account nobody signed in to (or created) for this many days is "no longer in use"
    /// and the Access Coordinator may delete it.
    pub unused_account_days: u32,
    /// The key-encryption keys that seal signing keys and TOTP secrets in identity's database:
    /// `<id>=<32 bytes, base64>`, comma-separated (`openssl rand -base64 32` makes a key). The
    /// first seals, every one opens; to rotate, put a new one first, restart (identity reseals
    /// at start), then drop the old one. Identity refuses to start without one; `lms dev` makes
    /// one beside its data.
    pub key_encryption_keys: Option<SecretString>,
}

impl Default for SignInConfig {
    fn default() -> Self {
        SignInConfig {
            access_token_ttl_seconds: 900,
            refresh_token_ttl_seconds: 30 * 24 * 3600,
            session_max_seconds: 90 * 24 * 3600,
            signing_key_rotation_hours: 24,
            signing_key_reload_seconds: 60,
            lockout_threshold: 5,
            lockout_base_seconds: 30,
            lockout_max_seconds: 3600,
            argon2_memory_kib: 19_456,
            password_memory_mib: 160,
            attempts_per_peer_per_second: 20,
            attempts_per_account_per_minute: 30,
            argon2_iterations: 2,
            mfa_challenge_ttl_seconds: 300,
            unused_account_days: 180,
            key_encryption_keys: None,
        }
    }
}

impl SignInConfig {
    /// How many password checks may run at once: the memory budget over one run's memory.
    pub fn password_check_slots(&self) -> usize {
        let slots = u64::from(self.password_memory_mib) * 1024 / u64::from(self.argon2_memory_kib);
        slots.max(1) as usize
    }

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
        if self.session_max_seconds < self.access_token_ttl_seconds {
            return Err(invalid(
                "sign_in.session_max_seconds",
                "a session must last at least as long as one access token",
            ));
        }
        if self.attempts_per_peer_per_second == 0 || self.attempts_per_account_per_minute == 0 {
            return Err(invalid(
                "sign_in.attempts_per_peer_per_second",
                "sign-in rate limits must allow at least one attempt",
            ));
        }
        if self.signing_key_rotation_hours == 0 || self.lockout_threshold == 0 {
            return Err(invalid(
                "sign_in.signing_key_rotation_hours",
                "rotation period and lockout threshold must be at least 1",
            ));
        }
        // A key must start signing before the next is made: three reloads within one rotation.
        if self.signing_key_reload_seconds == 0
            || 3 * self.signing_key_reload_seconds >= self.signing_key_rotation_hours * 3600
        {
            return Err(invalid(
                "sign_in.signing_key_reload_seconds",
                "must be at least 1 and less than a third of the rotation period",
            ));
        }
        if self.argon2_memory_kib < 8 * 1024 || self.argon2_iterations == 0 {
            return Err(invalid(
                "sign_in.argon2_memory_kib",
                "argon2id needs at least 8 MiB and one iteration",
            ));
        }
        if u64::from(self.password_memory_mib) * 1024 < u64::from(self.argon2_memory_kib) {
            return Err(invalid(
                "sign_in.password_memory_mib",
                "must hold at least one argon2 run (sign_in.argon2_memory_kib)",
            ));
        }
        Ok(())
    }
}
