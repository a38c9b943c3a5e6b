//! Values that must never reach logs or error messages.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string secret: a password, a connection URL with credentials, a key. `Debug` and `Display`
/// print a placeholder; only [`SecretString::expose`] gives the value.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself: call only where it is used, never where it could be logged.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no value is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

/// Serialises the value itself: figment layers defaults through serde. Never serialise a
/// config for display; print its `Debug` instead.
impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A fresh random secret: `bytes` bytes from the operating system's generator, in URL-safe
/// base64 without padding.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    use rand_core::RngCore;
    let mut buffer = vec![0u8; bytes];
    rand_core::OsRng.fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = SecretString::new("postgres://app:hunter2@db/lms");
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert!(!format!("{secret}").contains("hunter2"));
        assert_eq!(secret.expose(), "postgres://app:hunter2@db/lms");
    }
}
