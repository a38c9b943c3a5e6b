//! Credentials: passwords and lockout, TOTP, sign-ins waiting for a second factor, service
//! accounts, signing keys and refresh tokens (sessions).

use crate::audit::Audit;
use std::future::Future;

use lms_kernel::{TenantId, UserId};
use lms_runtime::auth::Scopes;
use uuid::Uuid;

use super::StoreError;
use crate::lockout::{AttemptKey, Lockout};

/// The answer to reserving a credential check.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Attempt {
    /// Go on and check the credential, then [settle](CredentialStore::settle_attempt).
    Allowed,
    /// Refused unchecked until then.
    Locked {
        /// Seconds since the epoch.
        until: i64,
    },
    /// Not locked, but failures and checks in flight already reach the threshold: refused
    /// unchecked for now (a parallel burst gets no more checks than the threshold).
    Busy,
}

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

/// A service account (client credentials): the platform's, or one tenant's integration.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ServiceAccountRecord {
    /// Its id.
    pub id: Uuid,
    /// Its name, the `sub` of its tokens (for example `delegation`); unique within its tenant,
    /// or among platform accounts.
    pub name: String,
    /// Whom it belongs to: the platform, or one tenant (and then perhaps a person of it).
    pub owner: AccountOwner,
    /// What its tokens may do.
    pub scopes: Scopes,
    /// SHA-256 of its client secret.
    pub secret_hash: Vec<u8>,
    /// The id of its current secret; its tokens carry it as `sid`.
    pub secret_id: Uuid,
    /// When the current secret was made.
    pub secret_created_at: i64,
    /// Whether the account's holder set the current secret (made or rotated the account) in a
    /// session that proved a second factor. Its tokens say so, and act as such a session of the
    /// holder's would; otherwise as a password-only one, so an integration is never a way
    /// around the holder's tenant requiring MFA (review L5). False without a holder.
    pub secret_second_factor: bool,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: i64,
    /// When it was disabled; a disabled account gets no tokens.
    pub disabled_at: Option<i64>,
}

impl ServiceAccountRecord {
    /// Whether `name` is a service account name: lower-case letters, digits and dashes,
    /// starting with a letter, at most 64.
    pub fn valid_name(name: &str) -> bool {
        (1..=64).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    }

    /// A new enabled account made `at`, with a fresh secret (`second_factor`: made by its holder
    /// in a session that proved one): the record (holding the secret's hash) and the secret in
    /// clear, to show its maker once.
    pub fn new(
        name: &str,
        owner: AccountOwner,
        scopes: Scopes,
        created_by: String,
        second_factor: bool,
        at: i64,
    ) -> (Self, String) {
        let (secret, secret_hash) = crate::sessions::new_secret(crate::sessions::CLIENT_SECRET);
        let account = ServiceAccountRecord {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            owner,
            scopes,
            secret_hash,
            secret_id: Uuid::now_v7(),
            secret_created_at: at,
            secret_second_factor: second_factor && owner.holder().is_some(),
            created_by,
            created_at: at,
            disabled_at: None,
        };
        (account, secret)
    }
}

/// A service account's new secret as stored.
#[derive(Clone, Copy, Debug)]
pub struct AccountSecret<'a> {
    /// Its id: the `sid` of the tokens issued against it.
    pub id: Uuid,
    /// SHA-256 of the secret.
    pub hash: &'a [u8],
    /// Whether the account's holder set it in a session that proved a second factor (see
    /// [`ServiceAccountRecord::secret_second_factor`]).
    pub second_factor: bool,
}

/// Whom a service account belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AccountOwner {
    /// The platform: its tokens name no tenant (the platform's own services, operators).
    Platform,
    /// One tenant: its tokens act for the tenant (an integration of the tenant).
    Tenant {
        /// The tenant.
        tenant: TenantId,
        /// The person of the tenant who created it, within whose rights its tokens act; `None`
        /// when a platform operator made it for the tenant (trusted, like the platform's own).
        holder: Option<UserId>,
    },
}

impl AccountOwner {
    /// The tenant the account belongs to; `None` for a platform account.
    pub fn tenant(self) -> Option<TenantId> {
        match self {
            AccountOwner::Platform => None,
            AccountOwner::Tenant { tenant, .. } => Some(tenant),
        }
    }

    /// The person holding the account, if a person of its tenant created it.
    pub fn holder(self) -> Option<UserId> {
        match self {
            AccountOwner::Platform => None,
            AccountOwner::Tenant { holder, .. } => holder,
        }
    }
}

/// Which service accounts a call reaches: an operator every account, a person their tenant's
/// (another tenant's and the platform's do not exist for them).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AccountReach {
    /// Every account, the platform's and every tenant's.
    Every,
    /// Only the accounts of this tenant.
    Tenant(TenantId),
}

impl AccountReach {
    /// The tenant the reach is limited to, if any.
    pub fn tenant(self) -> Option<TenantId> {
        match self {
            AccountReach::Every => None,
            AccountReach::Tenant(tenant) => Some(tenant),
        }
    }
}

/// Sign-in credentials and sessions: passwords and lockout, TOTP, sign-ins waiting for a second
/// factor, service accounts, signing keys and refresh tokens.
pub trait CredentialStore: Send + Sync + 'static {
    /// Reserves one check of the credential `key` names, before it runs, as
    /// [`Lockout::reserve`] decides, in one transaction that holds the key's row (so a parallel
    /// burst gets no more checks than the threshold). Every allowed check is
    /// [settled](Self::settle_attempt).
    fn reserve_attempt(
        &self,
        key: &AttemptKey,
        now: i64,
        lockout: &Lockout,
    ) -> impl Future<Output = Result<Attempt, StoreError>> + Send;

    /// Ends a reserved check as [`Lockout::settle`] decides: a failure is counted and may lock
    /// the key (answers whether it did).
    fn settle_attempt(
        &self,
        key: &AttemptKey,
        now: i64,
        failed: bool,
        lockout: &Lockout,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Forgets the failures at `key` (a session issued, or an unlock).
    fn clear_attempts(
        &self,
        key: &AttemptKey,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Lifts a lockout: forgets the failures at every one of `keys` (a person's password and
    /// second factor), audited in the same transaction.
    fn lift_lockout(
        &self,
        tenant: TenantId,
        keys: &[AttemptKey],
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records that a session was issued to the user.
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
        audit: &Audit,
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
        audit: &Audit,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records `step` as used if it is later than the last one used; false for a replay.
    fn use_totp_step(
        &self,
        tenant: TenantId,
        user: UserId,
        step: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores a sign-in waiting for its second factor; the user's earlier challenges are
    /// dropped, so a user has at most one open.
    fn add_mfa_challenge(
        &self,
        hash: &[u8],
        challenge: &MfaChallenge,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Reserves one guess at an open challenge: counts it, in one conditional write, and answers
    /// the challenge as it is now; `None` when it is unknown, expired or has had `max_guesses`.
    fn take_mfa_guess(
        &self,
        hash: &[u8],
        now: i64,
        max_guesses: i32,
    ) -> impl Future<Output = Result<Option<MfaChallenge>, StoreError>> + Send;

    /// Drops a challenge (answered, or expired); false when it was gone already.
    fn delete_mfa_challenge(
        &self,
        hash: &[u8],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Creates a service account, audited under its tenant (none for a platform account); a
    /// name taken within its tenant (or among platform accounts) is [`StoreError::Duplicate`].
    fn create_service_account(
        &self,
        account: &ServiceAccountRecord,
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A service account.
    fn service_account(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<ServiceAccountRecord>, StoreError>> + Send;

    /// The service accounts `reach` reaches, by id, after `after`, at most `limit`.
    fn service_accounts(
        &self,
        reach: AccountReach,
        after: Option<Uuid>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<ServiceAccountRecord>, StoreError>> + Send;

    /// Replaces an account's secret and revokes the old one's tokens, in one transaction:
    /// the account and the id of the secret it replaced; `None` when `reach` reaches no such
    /// account. Audited under the account's tenant.
    fn rotate_service_account_secret(
        &self,
        id: Uuid,
        reach: AccountReach,
        secret: AccountSecret<'_>,
        now: i64,
        audit: &Audit,
    ) -> impl Future<Output = Result<Option<(ServiceAccountRecord, Uuid)>, StoreError>> + Send;

    /// Disables an account (once; again changes nothing) and revokes its current secret's
    /// tokens, in one transaction; `None` when `reach` reaches no such account. Audited under
    /// the account's tenant.
    fn disable_service_account(
        &self,
        id: Uuid,
        reach: AccountReach,
        now: i64,
        audit: &Audit,
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

    /// Trades a refresh token in: retires it and stores `next` in the same session, expiring
    /// when `next_expires_at` says for that session, atomically; a token presented twice revokes
    /// its session.
    fn redeem_refresh_token(
        &self,
        hash: &[u8],
        next_hash: &[u8],
        now: i64,
        next_expires_at: impl FnOnce(Uuid) -> i64 + Send,
    ) -> impl Future<Output = Result<Redeemed, StoreError>> + Send;

    /// Revokes a session (sign-out, reuse, password change).
    fn revoke_session(
        &self,
        family: Uuid,
        now: i64,
        reason: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Revokes every live session of a user but `keep` (the caller's own, on a password
    /// change); answers the sessions revoked.
    fn revoke_user_sessions(
        &self,
        tenant: TenantId,
        user: UserId,
        keep: Option<Uuid>,
        now: i64,
        reason: &str,
    ) -> impl Future<Output = Result<Vec<Uuid>, StoreError>> + Send;

    /// Sessions revoked at or after `since` (seconds), with when: what the revocation feed
    /// republishes.
    fn sessions_revoked_since(
        &self,
        since: i64,
    ) -> impl Future<Output = Result<Vec<(Uuid, i64)>, StoreError>> + Send;

    /// Deletes what can no longer be used: expired challenges, refresh tokens past their expiry
    /// (and the revocations of sessions with none left), and attempt counts idle since `idle_before`
    /// and not locked. Answers how many rows went.
    fn prune_credentials(
        &self,
        now: i64,
        idle_before: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
