//! Passwords: argon2id hashes in PHC form, verified in constant time. Hashing is deliberately
//! slow and memory-hungry, so it runs on the blocking pool, never on the async workers, and only
//! as many runs go on at once as `sign_in.password_memory_mib` holds: a check that finds no free
//! slot is refused at once rather than queued, so a flood of sign-ins costs bounded memory.
//!
//! Two bounds, both refusing at once: an *admission* for the whole check (reading the user and
//! the lockout in the store, hashing, settling), so a flood is shed before it reaches the store;
//! and a *slot* for the hashing alone, taken only once the lockout admitted the try, so a guess
//! the lockout refuses never holds argon2's memory.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use lms_runtime::ApiError;
use lms_runtime::config::SignInConfig;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The shortest password accepted (NIST SP 800-63B).
pub const MIN_LENGTH: usize = 12;
/// The longest, so hashing cost stays bounded.
pub const MAX_LENGTH: usize = 256;
/// Checks admitted per hashing slot: room for as many again to be reading the store while the
/// slots hash.
const ADMISSIONS_PER_SLOT: usize = 2;
/// How long setting a password (an administrator's or the user's own write) may wait for a slot;
/// checking one at sign-in never waits.
const HASH_WAIT: Duration = Duration::from_secs(2);

/// The right to run one password check now (see [`Passwords::slot`]).
#[derive(Debug)]
pub struct PasswordSlot(OwnedSemaphorePermit);

/// The right to go through one password check, store included (see [`Passwords::admit`]).
#[derive(Debug)]
pub struct PasswordAdmission {
    _permit: OwnedSemaphorePermit,
}

/// Hashes and verifies passwords with one set of argon2id parameters.
#[derive(Clone)]
pub struct Passwords {
    argon2: Arc<Argon2<'static>>,
    /// A hash of nothing, verified when the user is unknown so that the answer takes as long.
    decoy: Arc<str>,
    /// One permit per argon2 run that may hold its memory at once.
    slots: Arc<Semaphore>,
    /// One permit per password check under way, from its first store read to its settling.
    admissions: Arc<Semaphore>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", self.argon2.params())
            .field("free_slots", &self.slots.available_permits())
            .finish_non_exhaustive()
    }
}

/// Why a password cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Too short or too long.
    #[error("must be between 12 and 256 characters")]
    Length,
}

impl Passwords {
    /// argon2id with the configured memory and iterations, one lane.
    pub fn new(config: &SignInConfig) -> Self {
        let params = Params::new(config.argon2_memory_kib, config.argon2_iterations, 1, None)
            .expect("validated configuration gives valid argon2 parameters");
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let decoy = argon2
            .hash_password(b"decoy password for unknown users")
            .expect("hashing a constant cannot fail")
            .to_string();
        Self {
            argon2: Arc::new(argon2),
            decoy: decoy.into(),
            slots: Arc::new(Semaphore::new(config.password_check_slots())),
            admissions: Arc::new(Semaphore::new(
                config.password_check_slots() * ADMISSIONS_PER_SLOT,
            )),
        }
    }

    fn busy() -> ApiError {
        ApiError::ResourceExhausted {
            reason: "PASSWORD_CHECKS_BUSY",
            message: "too many password checks in progress; retry shortly".into(),
            retry_after: Duration::from_secs(1),
        }
    }

    /// Runs `work` on the blocking pool holding `slot` until it ends: a caller that gives up
    /// (deadline, disconnect) does not free the memory early, so neither does the slot.
    async fn run<T: Send + 'static>(
        slot: OwnedSemaphorePermit,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(ApiError::internal)
    }

    /// The parameters, for benchmarks and the closing note.
    pub fn describe(&self) -> String {
        let params = self.argon2.params();
        format!(
            "argon2id m={} KiB t={} p={}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        )
    }

    /// Checks the policy.
    pub fn validate(password: &str) -> Result<(), PasswordError> {
        let length = password.chars().count();
        if (MIN_LENGTH..=MAX_LENGTH).contains(&length) {
            Ok(())
        } else {
            Err(PasswordError::Length)
        }
    }

    /// The PHC string of `password` with a fresh salt; waits briefly for a slot.
    pub async fn hash(&self, password: &str) -> Result<String, ApiError> {
        let slot = tokio::time::timeout(HASH_WAIT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| Self::busy())?
            .map_err(|_| Self::busy())?;
        let argon2 = self.argon2.clone();
        let password = password.to_owned();
        Self::run(slot, move || {
            argon2
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| ApiError::internal(std::io::Error::other(e.to_string())))
        })
        .await?
    }

    /// Admission for one check, taken before anything else is spent on it (the store's user and
    /// attempt count, say) and held until it ends; RESOURCE_EXHAUSTED at once when as many
    /// checks as the slots can serve, and as many again, are under way.
    pub fn admit(&self) -> Result<PasswordAdmission, ApiError> {
        self.admissions
            .clone()
            .try_acquire_owned()
            .map(|permit| PasswordAdmission { _permit: permit })
            .map_err(|_| Self::busy())
    }

    /// A slot for one check; RESOURCE_EXHAUSTED at once when every slot is taken.
    pub fn slot(&self) -> Result<PasswordSlot, ApiError> {
        self.slots
            .clone()
            .try_acquire_owned()
            .map(PasswordSlot)
            .map_err(|_| Self::busy())
    }

    /// The check of `password` against `hash` (see [`verify`](Self::verify)), taking its slot
    /// only when it starts: handed to the lockout guard, it runs (and holds a slot) only once
    /// the attempt was admitted, so a refused guess never occupies one.
    pub fn check(
        &self,
        password: String,
        hash: Option<String>,
    ) -> impl std::future::Future<Output = Result<bool, ApiError>> + Send + 'static {
        let passwords = self.clone();
        async move {
            let slot = passwords.slot()?;
            passwords.verify(slot, &password, hash.as_deref()).await
        }
    }

    /// Whether `password` matches `hash`, checked in `slot`; with no hash, a decoy is verified
    /// and the answer is no. A password over the maximum length is wrong without hashing it.
    pub async fn verify(
        &self,
        slot: PasswordSlot,
        password: &str,
        hash: Option<&str>,
    ) -> Result<bool, ApiError> {
        if password.len() > MAX_LENGTH * 4 || password.chars().count() > MAX_LENGTH {
            return Ok(false);
        }
        let slot = slot.0;
        let argon2 = self.argon2.clone();
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.decoy.to_string(), str::to_owned);
        let password = password.to_owned();
        Self::run(slot, move || {
            PasswordHash::new(&hash)
                .map(|parsed| argon2.verify_password(password.as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
                && known
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passwords() -> Passwords {
        Passwords::new(&lms_runtime::Config::default().sign_in)
    }

    #[tokio::test]
    async fn a_hash_is_argon2id_and_verifies_only_its_password() {
        let passwords = passwords();
        let hash = passwords.hash("correct horse battery").await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            passwords
                .verify(
                    passwords.slot().unwrap(),
                    "correct horse battery",
                    Some(&hash)
                )
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify(
                    passwords.slot().unwrap(),
                    "correct horse batterz",
                    Some(&hash)
                )
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        let passwords = passwords();
        let slot = passwords.slot().unwrap();
        assert!(
            !passwords
                .verify(slot, "decoy password for unknown users", None)
                .await
                .unwrap()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checks_beyond_the_memory_budget_are_refused_at_once_not_queued() {
        let config = SignInConfig {
            password_memory_mib: 19,
            ..lms_runtime::Config::default().sign_in
        };
        let passwords = Passwords::new(&config);
        assert_eq!(config.password_check_slots(), 1);
        let running = {
            let passwords = passwords.clone();
            let slot = passwords.slot().unwrap();
            tokio::spawn(async move {
                passwords
                    .verify(slot, "a password of some length", None)
                    .await
            })
        };
        let refused = passwords.slot().expect_err("no free slot");
        assert!(matches!(
            refused,
            ApiError::ResourceExhausted {
                reason: "PASSWORD_CHECKS_BUSY",
                ..
            }
        ));
        assert!(!running.await.unwrap().unwrap());
        assert_eq!(passwords.slots.available_permits(), 1);
    }

    #[test]
    fn checks_beyond_twice_the_slots_are_not_admitted_until_one_ends() {
        let config = SignInConfig {
            password_memory_mib: 19,
            ..lms_runtime::Config::default().sign_in
        };
        let passwords = Passwords::new(&config);
        let (first, _second) = (passwords.admit().unwrap(), passwords.admit().unwrap());
        assert!(matches!(
            passwords.admit(),
            Err(ApiError::ResourceExhausted {
                reason: "PASSWORD_CHECKS_BUSY",
                ..
            })
        ));
        drop(first);
        assert!(passwords.admit().is_ok());
    }

    #[tokio::test]
    async fn an_overlong_password_is_wrong_without_spending_a_slot() {
        let passwords = passwords();
        let long = "x".repeat(MAX_LENGTH + 1);
        let slot = passwords.slot().unwrap();
        assert!(!passwords.verify(slot, &long, None).await.unwrap());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(Passwords::validate("short"), Err(PasswordError::Length));
        assert_eq!(Passwords::validate("twelve chars"), Ok(()));
    }
}
