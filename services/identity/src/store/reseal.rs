//! Resealing the secrets at rest: after a KEK rotation (a new key-encryption key first in
//! `sign_in.key_encryption_keys`) or an upgrade from plaintext storage, identity seals every
//! stored signing key and TOTP secret again under the current KEK when it starts.

use std::future::Future;

use super::StoreError;

/// What a reseal pass did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Resealed {
    /// Values sealed again under the current KEK (they were under an older one, or plaintext).
    pub resealed: u64,
    /// Values that open under no configured KEK (moved between rows, changed, or sealed under a
    /// KEK dropped too early): left as they are, and refused when read.
    pub unopened: u64,
}

/// Seals stored secrets again under the current KEK.
pub trait ResealStore: Send + Sync + 'static {
    /// Seals again every signing key and TOTP secret not sealed under the current KEK, `batch`
    /// users per transaction, each value only if nobody changed it meanwhile (replicas starting
    /// together, an enrolment racing the pass).
    fn reseal_secrets(
        &self,
        batch: u32,
    ) -> impl Future<Output = Result<Resealed, StoreError>> + Send;
}
