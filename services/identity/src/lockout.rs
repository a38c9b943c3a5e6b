//! Guessing limits for credentials. Every check of a password or a second-factor code is
//! reserved *before* it runs (one conditional write in the store keeps failures plus checks in
//! flight under the threshold) and settled after, so a parallel burst gets exactly as many
//! checks as the threshold and no more, while right answers in parallel never count as failures.
//! Past the threshold the key is locked for a time that doubles with each further failure, up to
//! a ceiling; a session issued clears the count, and the Access Coordinator (or an operator) can
//! unlock it.
//!
//! What is counted is what the guesser names, not a stored row: the password of a tenant and
//! e-mail whether or not such a user exists, so a lockout answers the same for an unknown
//! address, and the second factor of a user across all their challenges.

use std::future::Future;
use std::time::Duration;

use lms_kernel::{Email, TenantId, UserId};
use lms_runtime::ApiError;
use lms_runtime::clock::now;
use lms_runtime::config::SignInConfig;
use lms_runtime::rate_limit::KeyedLimiter;
use sha2::{Digest, Sha256};

use crate::store::{Attempt, CredentialStore};

/// Attempts one key may make at once before the per-account rate applies.
const ACCOUNT_BURST: u32 = 10;

/// The lockout rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lockout {
    /// Attempts in a row that lock the key.
    pub threshold: u32,
    /// The first lockout, in seconds.
    pub base_seconds: u64,
    /// The longest lockout, in seconds.
    pub max_seconds: u64,
}

impl Lockout {
    /// The rule `sign_in` configures.
    pub fn from_config(sign_in: &SignInConfig) -> Self {
        Self {
            threshold: sign_in.lockout_threshold,
            base_seconds: sign_in.lockout_base_seconds,
            max_seconds: sign_in.lockout_max_seconds,
        }
    }

    /// Until when a key is locked after its `failures`-th attempt in a row without success:
    /// not below the threshold, then the base doubling per further attempt, capped.
    pub fn locked_until(&self, failures: u32, now: i64) -> Option<i64> {
        let beyond = failures.checked_sub(self.threshold)?;
        let seconds = self
            .base_seconds
            .saturating_mul(1u64.checked_shl(beyond.min(32)).unwrap_or(u64::MAX))
            .min(self.max_seconds);
        Some(now.saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX)))
    }
}

/// The guard in front of every credential check: a per-account rate limit (in this process),
/// then the lockout reservation (in the store, shared by every replica).
#[derive(Debug)]
pub struct Attempts {
    rule: Lockout,
    per_account: KeyedLimiter<AttemptKey>,
}

impl Attempts {
    /// The guard `sign_in` configures.
    pub fn new(sign_in: &SignInConfig) -> Self {
        Self {
            rule: Lockout::from_config(sign_in),
            per_account: KeyedLimiter::new(
                f64::from(sign_in.attempts_per_account_per_minute) / 60.0,
                ACCOUNT_BURST,
                "RATE_LIMITED",
            ),
        }
    }

    /// Runs `check` (does the credential match?) under the guard for `key`: RESOURCE_EXHAUSTED
    /// past the account's rate or while the threshold's worth of checks are in flight; `None`
    /// while the key is locked (the caller answers exactly as for a wrong credential); else
    /// the check's answer, its failure counted.
    pub async fn check<S, F>(
        &self,
        store: &S,
        key: AttemptKey,
        check: F,
    ) -> Result<Option<bool>, ApiError>
    where
        S: CredentialStore + Clone,
        F: Future<Output = Result<bool, ApiError>> + Send + 'static,
    {
        self.per_account.admit(key)?;
        match store.reserve_attempt(&key, now(), &self.rule).await? {
            Attempt::Allowed => {}
            Attempt::Locked { .. } => return Ok(None),
            Attempt::Busy => {
                return Err(ApiError::ResourceExhausted {
                    reason: "SIGN_IN_BUSY",
                    message: "other sign-ins to this account are being checked; retry shortly"
                        .into(),
                    retry_after: Duration::from_secs(1),
                });
            }
        }
        let (store, rule) = (store.clone(), self.rule);
        // Its own task: a caller that goes away mid-check still settles its reservation.
        tokio::spawn(async move {
            let outcome = check.await;
            store
                .settle_attempt(&key, now(), matches!(outcome, Ok(false)), &rule)
                .await?;
            outcome.map(Some)
        })
        .await
        .map_err(ApiError::internal)?
    }
}

/// What counts attempts: a hash, so the table holds no e-mail addresses.
pub type AttemptKey = [u8; 32];

fn key(parts: &[&[u8]]) -> AttemptKey {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u32).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Attempts at the password of `email` in `tenant` (a user or not).
pub fn password_key(tenant: TenantId, email: &Email) -> AttemptKey {
    key(&[
        b"password",
        tenant.as_uuid().as_bytes(),
        email.as_str().to_lowercase().as_bytes(),
    ])
}

/// Attempts at the second factor of `user`, across all their challenges.
pub fn second_factor_key(tenant: TenantId, user: UserId) -> AttemptKey {
    key(&[
        b"second factor",
        tenant.as_uuid().as_bytes(),
        user.as_uuid().as_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: Lockout = Lockout {
        threshold: 5,
        base_seconds: 30,
        max_seconds: 3600,
    };

    #[test]
    fn the_lock_starts_at_the_threshold_and_doubles_up_to_the_ceiling() {
        assert_eq!(RULE.locked_until(4, 1000), None);
        assert_eq!(RULE.locked_until(5, 1000), Some(1030));
        assert_eq!(RULE.locked_until(6, 1000), Some(1060));
        assert_eq!(RULE.locked_until(11, 1000), Some(1000 + 1920));
        assert_eq!(RULE.locked_until(12, 1000), Some(1000 + 3600));
        assert_eq!(RULE.locked_until(u32::MAX, 1000), Some(1000 + 3600));
    }

    #[test]
    fn keys_differ_by_purpose_tenant_and_address_but_not_by_case() {
        let tenant = TenantId::generate();
        let email = Email::parse("Ann@Example.org").unwrap();
        let lower = Email::parse("ann@example.org").unwrap();
        assert_eq!(password_key(tenant, &email), password_key(tenant, &lower));
        assert_ne!(
            password_key(tenant, &email),
            password_key(TenantId::generate(), &email)
        );
        let user = UserId::generate();
        assert_ne!(
            second_factor_key(tenant, user),
            password_key(tenant, &email)
        );
    }
}
