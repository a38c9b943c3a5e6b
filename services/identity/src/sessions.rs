//! Opaque secrets handed to clients (refresh tokens, MFA challenges, service-account secrets):
//! 256 random bits behind a prefix that says what they are (and lets secret scanners find
//! leaks), shown once, stored only as a SHA-256 hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// The prefix of refresh tokens.
const PREFIX: &str = "lmsrt_";
/// The prefix of MFA challenges.
pub const CHALLENGE: &str = "lmsmfa_";
/// The prefix of service-account client secrets.
pub const CLIENT_SECRET: &str = "lmscs_";

/// A fresh secret with `prefix`, and its hash.
pub fn new_secret(prefix: &str) -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&token);
    (token, hash)
}

/// A fresh refresh token and its hash.
pub fn new_refresh_token() -> (String, Vec<u8>) {
    new_secret(PREFIX)
}

/// The stored form of a token.
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_only_their_hash_matches() {
        let (a, hash_a) = new_refresh_token();
        let (b, hash_b) = new_refresh_token();
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 43);
        assert_eq!(hash(&a), hash_a);
        assert_ne!(hash_a, hash_b);
    }
}
