//! Passwords: argon2id hashes in PHC form, verified in constant time. Hashing is deliberately
//! slow, so it runs on the blocking pool, never on the async workers.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use lms_runtime::config::SignInConfig;

/// The shortest password accepted (NIST SP 800-63B).
pub const MIN_LENGTH: usize = 12;
/// The longest, so hashing cost stays bounded.
pub const MAX_LENGTH: usize = 256;

/// Hashes and verifies passwords with one set of argon2id parameters.
#[derive(Clone)]
pub struct Passwords {
    argon2: Arc<Argon2<'static>>,
    /// A hash of nothing, verified when the user is unknown so that the answer takes as long.
    decoy: Arc<str>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", self.argon2.params())
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
        }
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

    /// The PHC string of `password` with a fresh salt.
    pub async fn hash(&self, password: &str) -> String {
        let argon2 = self.argon2.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            argon2
                .hash_password(password.as_bytes())
                .expect("hashing with valid parameters cannot fail")
                .to_string()
        })
        .await
        .expect("the hashing task does not panic")
    }

    /// Whether `password` matches `hash`; with no hash, a decoy is verified and the answer is no.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let argon2 = self.argon2.clone();
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.decoy.to_string(), str::to_owned);
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| argon2.verify_password(password.as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
                && known
        })
        .await
        .unwrap_or(false)
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
        let hash = passwords.hash("correct horse battery").await;
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(passwords.verify("correct horse battery", Some(&hash)).await);
        assert!(!passwords.verify("correct horse batterz", Some(&hash)).await);
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        assert!(
            !passwords()
                .verify("decoy password for unknown users", None)
                .await
        );
    }

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(Passwords::validate("short"), Err(PasswordError::Length));
        assert_eq!(Passwords::validate("twelve chars"), Ok(()));
    }
}
