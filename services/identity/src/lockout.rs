//! Guessing limits for credentials. Every check of a password or a second-factor code is
//! reserved *before* it runs and settled after, both in one transaction on the key's row in the
//! store, so a parallel burst gets exactly as many checks as the threshold and no more, while
//! right answers in parallel never count as failures. The rule itself lives here, in
//! [`Lockout`], as plain state changes; the store only keeps [`AttemptState`] and serialises
//! the changes.
//!
//! Every `threshold`-th failure in a row locks the key, each lock twice as long as the one
//! before, up to a ceiling. When a lock ends the key has a fresh `threshold` of checks: an
//! attacker who sends a guess now and then cannot keep the owner out for good (each lock costs
//! them `threshold` failures), while a sustained attack still meets locks that double. A key
//! left quiet (no check) for as long as the longest lock after its last lock or check starts
//! over. A session issued clears the count, and the Access Coordinator (or an operator) can
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
use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use sha2::{Digest, Sha256};

use crate::store::{Attempt, CredentialStore};

/// Attempts one key may make at once before the per-account rate applies.
const ACCOUNT_BURST: u32 = 10;

/// A check counted in flight this long before anyone settles it or tries again was left by a
/// process that died: it no longer holds a place.
const STALE_IN_FLIGHT_SECONDS: i64 = 30;

/// The lockout rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lockout {
    /// Failures in a row that lock the key (and, after a lock, lock it again).
    pub threshold: u32,
    /// The first lockout, in seconds.
    pub base_seconds: u64,
    /// The longest lockout, in seconds; also how long a key must stay quiet to start over.
    pub max_seconds: u64,
}

/// What the store keeps per key for [`Lockout`] to decide on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttemptState {
    /// Failures in a row (every `threshold`-th one locked the key).
    pub failures: u32,
    /// Checks reserved and not settled yet.
    pub in_flight: u32,
    /// When the latest lock ends (or ended).
    pub locked_until: Option<i64>,
    /// When the latest check was reserved.
    pub last_attempt_at: i64,
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

    fn threshold(&self) -> u32 {
        self.threshold.max(1)
    }

    /// How long the `lock`-th lock in a row lasts (from 1): the base, doubled for every lock
    /// before it, capped.
    fn lock_seconds(&self, lock: u32) -> i64 {
        let doublings = lock.saturating_sub(1).min(63);
        let seconds = self
            .base_seconds
            .saturating_mul(1u64 << doublings)
            .min(self.max_seconds);
        i64::try_from(seconds).unwrap_or(i64::MAX)
    }

    /// Reserves one check at `now`, changing `state` when it is allowed: refused while locked,
    /// and while the failures since the last lock plus the checks in flight reach the
    /// threshold (a parallel burst gets no more checks than that).
    pub fn reserve(&self, state: &mut AttemptState, now: i64) -> Attempt {
        if let Some(until) = state.locked_until.filter(|until| *until > now) {
            return Attempt::Locked { until };
        }
        // Failures decay: a key that stayed quiet for the longest lock starts over, so even a
        // long lock history does not follow an account for ever.
        let quiet_since = state
            .locked_until
            .unwrap_or(i64::MIN)
            .max(state.last_attempt_at);
        let decay = i64::try_from(self.max_seconds).unwrap_or(i64::MAX);
        if now.saturating_sub(quiet_since) >= decay {
            state.failures = 0;
        }
        let in_flight = if state.last_attempt_at < now - STALE_IN_FLIGHT_SECONDS {
            0
        } else {
            state.in_flight
        };
        if state.failures % self.threshold() + in_flight >= self.threshold() {
            return Attempt::Busy;
        }
        state.in_flight = in_flight + 1;
        state.last_attempt_at = now;
        Attempt::Allowed
    }

    /// Settles a reserved check at `now`: a failure is counted, and every `threshold`-th in a
    /// row locks the key for twice as long as the lock before. Answers whether this one
    /// locked it.
    pub fn settle(&self, state: &mut AttemptState, now: i64, failed: bool) -> bool {
        state.in_flight = state.in_flight.saturating_sub(1);
        if !failed {
            return false;
        }
        state.failures = state.failures.saturating_add(1);
        if !state.failures.is_multiple_of(self.threshold()) {
            return false;
        }
        let until = now.saturating_add(self.lock_seconds(state.failures / self.threshold()));
        state.locked_until = Some(state.locked_until.map_or(until, |held| held.max(until)));
        true
    }
}

/// The guard in front of every credential check: a per-account rate limit (in this process),
/// then the lockout reservation (in the store, shared by every replica).
#[derive(Debug)]
pub struct Attempts {
    rule: Lockout,
    per_account: KeyedLimiter<AttemptKey>,
    /// `lms.identity.sign_in.failures` by `reason`: `wrong_credential` (checked and wrong) or
    /// `locked_out` (refused unchecked).
    failures: Counter<u64>,
    /// `lms.identity.sign_in.lockouts`: failures that locked their key.
    lockouts: Counter<u64>,
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
            failures: opentelemetry::global::meter("lms")
                .u64_counter("lms.identity.sign_in.failures")
                .with_description(
                    "Password and second-factor checks that failed, by reason: wrong_credential \
                     (checked, wrong) or locked_out (refused while the key is locked)",
                )
                .build(),
            lockouts: opentelemetry::global::meter("lms")
                .u64_counter("lms.identity.sign_in.lockouts")
                .with_description("Failed checks that locked their account's sign-in")
                .build(),
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
            Attempt::Locked { .. } => {
                self.failures
                    .add(1, &[KeyValue::new("reason", "locked_out")]);
                return Ok(None);
            }
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
        let (failures, lockouts) = (self.failures.clone(), self.lockouts.clone());
        // Its own task: a caller that goes away mid-check still settles its reservation.
        tokio::spawn(async move {
            let outcome = check.await;
            let failed = matches!(outcome, Ok(false));
            let locked = store.settle_attempt(&key, now(), failed, &rule).await?;
            if failed {
                failures.add(1, &[KeyValue::new("reason", "wrong_credential")]);
            }
            if locked {
                lockouts.add(1, &[]);
            }
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

    /// Reserves and settles `n` checks at `now`, all failing; answers the last refusal, if any.
    fn fail(state: &mut AttemptState, n: u32, now: i64) -> Option<Attempt> {
        for _ in 0..n {
            match RULE.reserve(state, now) {
                Attempt::Allowed => {
                    RULE.settle(state, now, true);
                }
                refused => return Some(refused),
            }
        }
        None
    }

    #[test]
    fn every_threshold_th_failure_locks_for_twice_as_long_as_the_lock_before_up_to_the_ceiling() {
        let mut state = AttemptState::default();
        let mut now = 1_000;
        let mut locks = Vec::new();
        for _ in 0..10 {
            assert_eq!(fail(&mut state, 4, now), None);
            assert_eq!(state.locked_until.filter(|until| *until > now), None);
            assert_eq!(fail(&mut state, 1, now), None);
            let until = state.locked_until.unwrap();
            assert_eq!(
                RULE.reserve(&mut state, until - 1),
                Attempt::Locked { until }
            );
            locks.push(until - now);
            // A sustained attack: the next guesses come the moment the lock ends.
            now = until;
        }
        assert_eq!(locks, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    }

    #[test]
    fn settling_says_which_failure_locked_the_key() {
        let mut state = AttemptState::default();
        let mut now = 1_000;
        let mut locked = Vec::new();
        for _ in 0..10 {
            now = state.locked_until.map_or(now, |until| until.max(now));
            assert_eq!(RULE.reserve(&mut state, now), Attempt::Allowed);
            locked.push(RULE.settle(&mut state, now, true));
        }
        let every_fifth = [false, false, false, false, true];
        assert_eq!(locked, [every_fifth, every_fifth].concat());
        // A success locks nothing.
        now = state.locked_until.unwrap();
        assert_eq!(RULE.reserve(&mut state, now), Attempt::Allowed);
        assert!(!RULE.settle(&mut state, now, false));
    }

    #[test]
    fn a_guess_after_each_lock_no_longer_locks_the_owner_out() {
        let mut state = AttemptState::default();
        assert_eq!(fail(&mut state, 5, 1_000), None);
        let mut until = state.locked_until.unwrap();
        // A guess during the lock is refused unchecked and changes nothing.
        let during = state;
        assert_eq!(
            RULE.reserve(&mut state, until - 1),
            Attempt::Locked { until }
        );
        assert_eq!(state, during);
        // A guess whenever the last lock has ended: it is checked and counted, but locks nothing
        // on its own, so the owner's own try right after it is checked too.
        for _ in 0..3 {
            assert_eq!(fail(&mut state, 1, until), None);
            assert_eq!(RULE.reserve(&mut state, until + 1), Attempt::Allowed);
            RULE.settle(&mut state, until + 1, false);
            until += 1_000;
        }
    }

    #[test]
    fn a_quiet_key_starts_over_from_the_first_lock() {
        let mut state = AttemptState::default();
        let mut now = 1_000;
        for _ in 0..4 {
            fail(&mut state, 5, now);
            now = state.locked_until.unwrap();
        }
        assert_eq!(now - 1_000, 30 + 60 + 120 + 240);
        // Quiet for less than the longest lock: the next lock doubles again.
        fail(&mut state, 5, now + 3_599);
        assert_eq!(state.locked_until, Some(now + 3_599 + 480));
        // Quiet for the longest lock: back to the first.
        let ended = state.locked_until.unwrap();
        fail(&mut state, 5, ended + 3_600);
        assert_eq!(state.locked_until, Some(ended + 3_600 + 30));
    }

    #[test]
    fn checks_in_flight_fill_the_threshold_until_settled_or_stale() {
        let mut state = AttemptState::default();
        for _ in 0..5 {
            assert_eq!(RULE.reserve(&mut state, 1_000), Attempt::Allowed);
        }
        assert_eq!(RULE.reserve(&mut state, 1_000), Attempt::Busy);
        RULE.settle(&mut state, 1_001, false);
        assert_eq!(RULE.reserve(&mut state, 1_001), Attempt::Allowed);
        // Checks of a process that died stop holding places once nothing happened for a while.
        assert_eq!(RULE.reserve(&mut state, 1_031), Attempt::Busy);
        assert_eq!(RULE.reserve(&mut state, 1_032), Attempt::Allowed);
        assert_eq!(state.in_flight, 1);
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
