//! Credentials: passwords and lockout, TOTP, sign-ins waiting for a second factor, service
//! accounts, signing keys and refresh tokens (sessions).

use std::future::Future;

use lms_kernel::{TenantId, UserId};
use uuid::Uuid;

use super::StoreError;

/// One refresh token as stored (by hash).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RefreshRecord {
    /// The session.
    pub family: Uuid,
    /// Its tenant.
    pub tenant: TenantId,
    /// Its user.
    pub user: UserId,
    /// Authentication methods of the sign-in, comma-separated.
    pub amr: String,
    /// Expiry.
    pub expires_at: i64,
    /// When it was traded for a new pair.
    pub used_at: Option<i64>,
    /// Whether its session was revoked.
    pub revoked: bool,
}

/// What happened when a refresh token was traded in.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Redeemed {
    /// It was current: retired now, and its successor stored.
    Rotated(RefreshRecord),
    /// Unknown token.
    Unknown,
    /// Retired or revoked before: the session is revoked now (reuse detection).
    Reused(RefreshRecord),
}

/// A user's TOTP second factor.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct TotpState {
    /// The confirmed secret: sign-in asks for a code.
    pub secret: Option<Vec<u8>>,
    /// An enrolment waiting for its first code.
    pub pending: Option<Vec<u8>>,
    /// The last step a code was accepted for.
    pub last_step: Option<i64>,
}

impl std::fmt::Debug for TotpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpState")
            .field("enrolled", &self.secret.is_some())
            .field("enrolling", &self.pending.is_some())
            .field("last_step", &self.last_step)
            .finish()
    }
}

/// A sign-in waiting for its second factor.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MfaChallenge {
    /// The tenant.
    pub tenant: TenantId,
    /// The user who gave the right password.
    pub user: UserId,
    /// When it stops being answerable.
    pub expires_at: i64,
    /// Wrong codes so far.
    pub failures: i32,
}

/// A platform service account (client credentials).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ServiceAccountRecord {
    /// Its id.
    pub id: Uuid,
    /// Its name, the `sub` of its tokens (for example `delegation`).
    pub name: String,
    /// SHA-256 of its client secret.
    pub secret_hash: Vec<u8>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: i64,
}

/// Sign-in credentials and sessions: passwords and lockout, TOTP, sign-ins waiting for a second
/// factor, service accounts, signing keys and refresh tokens.
pub trait CredentialStore: Send + Sync + 'static {
    /// Records a failed sign-in; `locked_until` is set when the count reached the threshold.
    fn record_failed_sign_in(
        &self,
        tenant: TenantId,
        user: UserId,
        locked_until: Option<i64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records a successful sign-in: clears failures and lockout.
    fn record_sign_in(
        &self,
        tenant: TenantId,
        user: UserId,
        at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces a user's password hash.
    fn set_password(
        &self,
        tenant: TenantId,
        user: UserId,
        hash: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A user's TOTP state.
    fn totp(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> impl Future<Output = Result<TotpState, StoreError>> + Send;

    /// Starts (or restarts) TOTP enrolment with `secret`.
    fn begin_totp(
        &self,
        tenant: TenantId,
        user: UserId,
        secret: &[u8],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Makes the pending secret the confirmed one, with `step` used; false when nothing was
    /// pending.
    fn confirm_totp(
        &self,
        tenant: TenantId,
        user: UserId,
        step: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records `step` as used if it is later than the last one used; false for a replay.
    fn use_totp_step(
        &self,
        tenant: TenantId,
        user: UserId,
        step: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores a sign-in waiting for its second factor.
    fn add_mfa_challenge(
        &self,
        hash: &[u8],
        challenge: &MfaChallenge,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A waiting sign-in.
    fn mfa_challenge(
        &self,
        hash: &[u8],
    ) -> impl Future<Output = Result<Option<MfaChallenge>, StoreError>> + Send;

    /// Counts a wrong code; the challenge is dropped at `max_failures`.
    fn fail_mfa_challenge(
        &self,
        hash: &[u8],
        max_failures: i32,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Drops a challenge (answered, or expired); false when it was gone already.
    fn delete_mfa_challenge(
        &self,
        hash: &[u8],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Creates a service account; a taken name is [`StoreError::Duplicate`].
    fn create_service_account(
        &self,
        account: &ServiceAccountRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A service account.
    fn service_account(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<ServiceAccountRecord>, StoreError>> + Send;

    /// Every stored signing key: (kid, PKCS#8 DER, created_at), oldest first.
    fn signing_keys(
        &self,
    ) -> impl Future<Output = Result<Vec<(String, Vec<u8>, i64)>, StoreError>> + Send;

    /// Stores a new signing key and deletes those created before `retire_before`.
    fn add_signing_key(
        &self,
        kid: &str,
        pkcs8: &[u8],
        created_at: i64,
        retire_before: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a new refresh token (by hash).
    fn add_refresh_token(
        &self,
        hash: &[u8],
        record: &RefreshRecord,
        issued_at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Trades a refresh token in: retires it and stores `next` in the same session, atomically;
    /// a token presented twice revokes its session.
    fn redeem_refresh_token(
        &self,
        hash: &[u8],
        next_hash: &[u8],
        now: i64,
        next_expires_at: i64,
    ) -> impl Future<Output = Result<Redeemed, StoreError>> + Send;

    /// Revokes a session (sign-out, reuse, password change).
    fn revoke_session(
        &self,
        family: Uuid,
        now: i64,
        reason: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Revokes every session of a user.
    fn revoke_user_sessions(
        &self,
        tenant: TenantId,
        user: UserId,
        now: i64,
        reason: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
