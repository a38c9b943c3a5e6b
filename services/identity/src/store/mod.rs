//! The identity store: tenants, units, users with their credentials, employments, signing keys,
//! sign-in sessions and the outbox. One port ([`Store`]), one SQL body compiled for PostgreSQL
//! and SQLite ([`sql`]).
//!
//! Every write that decisions depend on commits its outbox row in the same transaction, so a
//! change is either saved with the event that tells authorization, or not at all.

mod sql;

use std::future::Future;

use lms_kernel::{
    AccountKind, Email, GroupId, TenantId, TenantSettings, UnitError, UnitId, UnitKind, UserId,
    UserStatus,
};
pub use sql::{PgStore, SqliteStore};
use uuid::Uuid;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A record with that value exists in the tenant (a user's email, a unit's external id).
    #[error("a {resource} with that {field} exists")]
    Duplicate {
        /// What kind of record, for example `user`.
        resource: &'static str,
        /// The field whose value is taken.
        field: &'static str,
    },
    /// Something the change refers to does not exist (or was deleted concurrently).
    #[error("{what} {id} not found")]
    Missing {
        /// What kind of record, for example `group`.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The record's state forbids the change (FAILED_PRECONDITION with this reason).
    #[error("{message}")]
    Refused {
        /// Stable reason code, for example `NOT_SUSPENDED`.
        reason: &'static str,
        /// Explanation for people.
        message: String,
    },
    /// The record still holds something, so the change is refused (a group with members).
    #[error("{0}")]
    NotEmpty(&'static str),
    /// Stored data does not parse (a bug or a manual edit).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The database failed or is unreachable.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// A tenant as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TenantRecord {
    /// Its id.
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// Feature switches.
    pub settings: TenantSettings,
    /// The master, when a client.
    pub master: Option<TenantId>,
    /// The Access Coordinator.
    pub access_coordinator: Option<UserId>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: i64,
}

/// A unit as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UnitRecord {
    /// Its id.
    pub id: UnitId,
    /// Its kind.
    pub kind: UnitKind,
    /// Display name.
    pub name: String,
    /// Parent, when not a root.
    pub parent: Option<UnitId>,
    /// External id.
    pub external_id: Option<String>,
}

/// A user as stored, with credentials.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UserRecord {
    /// Its id.
    pub id: UserId,
    /// Sign-in address; `None` once anonymised.
    pub email: Option<Email>,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Lifecycle.
    pub status: UserStatus,
    /// What the account is for.
    pub account_kind: AccountKind,
    /// May not book.
    pub restrict_bookings: bool,
    /// Their team.
    pub primary_group: Option<GroupId>,
    /// Tenant-defined fields, as a JSON object.
    pub custom_fields: String,
    /// External id.
    pub external_id: Option<String>,
    /// argon2id PHC string; `None` until a password is set.
    pub password_hash: Option<String>,
    /// Failed sign-ins in a row.
    pub failed_sign_ins: i32,
    /// Sign-in refused until then.
    pub locked_until: Option<i64>,
    /// Last successful sign-in.
    pub last_sign_in_at: Option<i64>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: i64,
}

/// An employment as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EmploymentRecord {
    /// Its id.
    pub id: Uuid,
    /// The employee.
    pub user: UserId,
    /// The account.
    pub unit: UnitId,
    /// First moment.
    pub starts_at: i64,
    /// End, exclusive.
    pub ends_at: Option<i64>,
    /// The user's main account.
    pub main_account: bool,
}

pub use lms_runtime::outbox::NewEvent;

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

/// A group as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GroupRecord {
    /// Its id.
    pub id: GroupId,
    /// Display name.
    pub name: String,
    /// The group manager.
    pub manager: Option<UserId>,
    /// Group Administrators, in id order.
    pub administrators: Vec<UserId>,
    /// External id.
    pub external_id: Option<String>,
    /// When it was created.
    pub created_at: i64,
}

/// What a user change commits beside the new record.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct UserChange {
    /// Events for authorization.
    pub events: Vec<NewEvent>,
    /// Revoke every session of the user, for this reason (suspension, anonymisation).
    pub end_sessions: Option<&'static str>,
    /// Erase the second factor and pending sign-ins too (anonymisation).
    pub erase_second_factor: bool,
}

/// What an employment change found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EmploymentChange {
    /// The employment as it was (for a new one, as it is).
    pub before: EmploymentRecord,
    /// The user's main employment before the change, when another one was main.
    pub previous_main: Option<EmploymentRecord>,
}

/// Which users a listing keeps, and where its page starts.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct UserFilter {
    /// Only this status.
    pub status: Option<UserStatus>,
    /// Only people employed at this unit now.
    pub unit: Option<UnitId>,
    /// Only members of this group.
    pub group: Option<GroupId>,
    /// Lower-case text found in the name or email.
    pub query: Option<String>,
    /// Only these users (what the caller may see), when the caller does not see everyone.
    pub only: Option<Vec<UserId>>,
    /// Only users after this id (the previous page's last).
    pub after: Option<UserId>,
    /// The moment "employed now" means.
    pub now: i64,
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

/// A tenant-defined user field.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CustomField {
    /// Key, lower_snake_case.
    pub key: String,
    /// Label shown to people.
    pub label: String,
    /// Every user must have a value.
    pub mandatory: bool,
}

/// A naming of `user` to manage, or receive updates about, a target.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NamedManager {
    /// The person named.
    pub user: UserId,
    /// The target's `ObjectType` number (user or unit).
    pub target_type: i16,
    /// The target's id.
    pub target: Uuid,
    /// The proto's `NamedManagerPurpose` number.
    pub purpose: i16,
}

/// A user as an import sees them: matched by external id.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ImportedUser {
    /// Their id.
    pub id: UserId,
    /// Sign-in address, when not anonymised.
    pub email: Option<String>,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Custom field values, as stored (JSON).
    pub custom_fields: String,
    /// Their main employment and its unit.
    pub main: Option<(Uuid, UnitId)>,
    /// Their team.
    pub primary_group: Option<GroupId>,
    /// The role the people-data feed last gave them.
    pub feed_role: Option<String>,
    /// Lifecycle.
    pub status: UserStatus,
}

/// What an import needs to know of the tenant, read once before it starts.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ImportSnapshot {
    /// Users with an external id, by it.
    pub users: std::collections::HashMap<String, ImportedUser>,
    /// Every sign-in address in use, with the external id of its user (if any).
    pub emails: std::collections::HashMap<String, Option<String>>,
    /// Units with an external id, by it.
    pub units: std::collections::HashMap<String, UnitRecord>,
    /// Groups with an external id, by it.
    pub groups: std::collections::HashMap<String, GroupId>,
}

/// A change an import makes to an existing user.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ImportedChange {
    /// The user.
    pub user: UserId,
    /// New profile values.
    pub email: Email,
    /// New given name.
    pub given_name: String,
    /// New family name.
    pub family_name: String,
    /// New custom field values (JSON).
    pub custom_fields: String,
    /// A new main employment, replacing (ending) the current main one.
    pub new_main: Option<EmploymentRecord>,
    /// The main employment to end at the new one's start.
    pub end_main: Option<Uuid>,
    /// A new primary group.
    pub primary_group: Option<GroupId>,
    /// The feed's role now.
    pub feed_role: Option<String>,
}

/// One transaction of an import.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ImportBatch {
    /// New users, each with their main employment, their team and the feed's role.
    pub created: Vec<(UserRecord, EmploymentRecord, Option<String>)>,
    /// Changed users.
    pub changed: Vec<ImportedChange>,
    /// New units (accounts, account groups).
    pub units: Vec<UnitRecord>,
    /// Renamed or moved units: id, name, parent.
    pub units_changed: Vec<(UnitId, String, Option<UnitId>)>,
    /// Events for authorization.
    pub events: Vec<NewEvent>,
}

/// What moving a unit found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Moved {
    /// Moved; the unit as it was before.
    Moved(UnitRecord),
    /// No such unit, or no such new parent.
    NotFound(UnitId),
    /// The new parent is the unit or lies below it.
    Cycle,
    /// The unit rules refuse the move for another reason (its kind under the new parent's).
    Refused(UnitError),
}

/// What deleting a unit found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Deleted {
    /// Deleted; the unit as it was.
    Deleted(UnitRecord),
    /// No such unit.
    NotFound,
    /// It has child units.
    HasChildren,
    /// People are employed there now.
    HasEmployees,
    /// The unit rules refuse it for another reason (the Guest account).
    Refused(UnitError),
}

/// Which units a listing keeps, and where its page starts.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct UnitFilter {
    /// Only children of this unit.
    pub parent: Option<UnitId>,
    /// Only this kind.
    pub kind: Option<UnitKind>,
    /// Only units after this id (the previous page's last).
    pub after: Option<UnitId>,
}

/// The identity store.
pub trait Store: Send + Sync + 'static {
    /// Creates a tenant, its Guest account and its first user (with a Guest employment).
    fn create_tenant(
        &self,
        tenant: &TenantRecord,
        guest: &UnitRecord,
        first_user: &UserRecord,
        employment: &EmploymentRecord,
        events: &[NewEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A tenant.
    fn tenant(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Option<TenantRecord>, StoreError>> + Send;

    /// A unit.
    fn unit(
        &self,
        tenant: TenantId,
        unit: UnitId,
    ) -> impl Future<Output = Result<Option<UnitRecord>, StoreError>> + Send;

    /// Creates a unit under its parent (which must exist).
    fn create_unit(
        &self,
        tenant: TenantId,
        unit: &UnitRecord,
        events: &[NewEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Units in id order.
    fn units(
        &self,
        tenant: TenantId,
        filter: UnitFilter,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<UnitRecord>, StoreError>> + Send;

    /// Renames a unit; `None` when there is no such unit.
    fn rename_unit(
        &self,
        tenant: TenantId,
        unit: UnitId,
        name: &str,
    ) -> impl Future<Output = Result<Option<UnitRecord>, StoreError>> + Send;

    /// Moves a unit under `parent` (a root when `None`) if the unit rules allow it (read in
    /// the transaction: the new parent's kind and ancestors), with
    /// the events `events` builds from the unit as it was, in one transaction that serialises
    /// the tenant's tree changes.
    fn move_unit<F>(
        &self,
        tenant: TenantId,
        unit: UnitId,
        parent: Option<UnitId>,
        events: F,
    ) -> impl Future<Output = Result<Moved, StoreError>> + Send
    where
        F: FnOnce(&UnitRecord) -> Vec<NewEvent> + Send;

    /// Deletes a unit if the unit rules allow it, given its children and the people employed
    /// there at `now` (counted in the transaction).
    fn delete_unit<F>(
        &self,
        tenant: TenantId,
        unit: UnitId,
        now: i64,
        events: F,
    ) -> impl Future<Output = Result<Deleted, StoreError>> + Send
    where
        F: FnOnce(&UnitRecord) -> Vec<NewEvent> + Send;

    /// Creates a group.
    fn create_group(
        &self,
        tenant: TenantId,
        group: &GroupRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A group with its administrators.
    fn group(
        &self,
        tenant: TenantId,
        group: GroupId,
    ) -> impl Future<Output = Result<Option<GroupRecord>, StoreError>> + Send;

    /// Groups in id order, after `after`.
    fn groups(
        &self,
        tenant: TenantId,
        after: Option<GroupId>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<GroupRecord>, StoreError>> + Send;

    /// Renames a group; `None` when there is no such group.
    fn rename_group(
        &self,
        tenant: TenantId,
        group: GroupId,
        name: &str,
    ) -> impl Future<Output = Result<Option<GroupRecord>, StoreError>> + Send;

    /// Deletes a group without members, with the events `events` builds from it as it was;
    /// [`StoreError::NotEmpty`] while it has members.
    fn delete_group<F>(
        &self,
        tenant: TenantId,
        group: GroupId,
        events: F,
    ) -> impl Future<Output = Result<(), StoreError>> + Send
    where
        F: FnOnce(&GroupRecord) -> Vec<NewEvent> + Send;

    /// Adds members (each an existing user) with `events`.
    fn add_group_members(
        &self,
        tenant: TenantId,
        group: GroupId,
        users: &[UserId],
        events: &[NewEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes members; those whose primary group it was lose it. `events` gets those users.
    fn remove_group_members<F>(
        &self,
        tenant: TenantId,
        group: GroupId,
        users: &[UserId],
        events: F,
    ) -> impl Future<Output = Result<(), StoreError>> + Send
    where
        F: FnOnce(&[UserId]) -> Vec<NewEvent> + Send;

    /// Member ids in order, after `after`.
    fn group_members(
        &self,
        tenant: TenantId,
        group: GroupId,
        after: Option<UserId>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<UserId>, StoreError>> + Send;

    /// Makes `group` the user's primary group (and the user a member); `events` gets the
    /// previous primary group.
    fn set_primary_group<F>(
        &self,
        tenant: TenantId,
        user: UserId,
        group: GroupId,
        events: F,
    ) -> impl Future<Output = Result<(), StoreError>> + Send
    where
        F: FnOnce(Option<GroupId>) -> Vec<NewEvent> + Send;

    /// Sets or clears the group manager; `events` gets the previous one.
    fn set_group_manager<F>(
        &self,
        tenant: TenantId,
        group: GroupId,
        manager: Option<UserId>,
        events: F,
    ) -> impl Future<Output = Result<(), StoreError>> + Send
    where
        F: FnOnce(Option<UserId>) -> Vec<NewEvent> + Send;

    /// Adds or removes a Group Administrator.
    fn set_group_administrator(
        &self,
        tenant: TenantId,
        group: GroupId,
        user: UserId,
        administrator: bool,
        events: &[NewEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Defines or redefines a custom field.
    fn define_custom_field(
        &self,
        tenant: TenantId,
        field: &CustomField,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The tenant's custom fields, by key.
    fn custom_fields(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Vec<CustomField>, StoreError>> + Send;

    /// Names (or, with `named` false, un-names) a manager, with `events`.
    fn set_named_manager(
        &self,
        tenant: TenantId,
        naming: &NamedManager,
        named: bool,
        events: &[NewEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces a tenant's settings, with `events`.
    fn update_tenant_settings(
        &self,
        tenant: TenantId,
        settings: TenantSettings,
        events: &[NewEvent],
    ) -> impl Future<Output = Result<TenantRecord, StoreError>> + Send;

    /// Makes `client` a client of `master` (the caller checked `Tenant::can_take_client`; the
    /// write still refuses a client that became a client or a master meanwhile), or with `link`
    /// false ends that link; `events` are committed under `master`.
    fn link_client(
        &self,
        master: TenantId,
        client: TenantId,
        link: bool,
        events: &[NewEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The clients of `master`, in id order after `after`.
    fn client_tenants(
        &self,
        master: TenantId,
        after: Option<TenantId>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<TenantRecord>, StoreError>> + Send;

    /// What an import matches rows against.
    fn import_snapshot(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<ImportSnapshot, StoreError>> + Send;

    /// Applies one batch of an import in one transaction.
    fn apply_import(
        &self,
        tenant: TenantId,
        batch: &ImportBatch,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The tenant's Guest account.
    fn guest_account(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Option<UnitRecord>, StoreError>> + Send;

    /// Creates a user with their first employment.
    fn create_user(
        &self,
        tenant: TenantId,
        user: &UserRecord,
        employment: &EmploymentRecord,
        events: &[NewEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A user by id.
    fn user(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> impl Future<Output = Result<Option<UserRecord>, StoreError>> + Send;

    /// Changes a user under a row lock: `change` edits the record as stored (or refuses with
    /// [`StoreError::Refused`]) and answers what to commit with it.
    fn update_user<F>(
        &self,
        tenant: TenantId,
        user: UserId,
        change: F,
    ) -> impl Future<Output = Result<UserRecord, StoreError>> + Send
    where
        F: FnOnce(&mut UserRecord) -> Result<UserChange, StoreError> + Send;

    /// Users in id order.
    fn users(
        &self,
        tenant: TenantId,
        filter: &UserFilter,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<UserRecord>, StoreError>> + Send;

    /// How many users of the tenant have `status`.
    fn count_users(
        &self,
        tenant: TenantId,
        status: UserStatus,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Deletes a user and what hangs on them (employments, memberships, sessions) if `check`
    /// lets it, committing the events `check` answers.
    fn delete_user<F>(
        &self,
        tenant: TenantId,
        user: UserId,
        check: F,
    ) -> impl Future<Output = Result<UserRecord, StoreError>> + Send
    where
        F: FnOnce(&UserRecord, &[EmploymentRecord]) -> Result<Vec<NewEvent>, StoreError> + Send;

    /// Hands the Access Coordinator duty from `from` to `to` (an active user) if `from` still
    /// holds it, with `events`, in one transaction.
    fn transfer_access_coordinator(
        &self,
        tenant: TenantId,
        from: UserId,
        to: UserId,
        events: &[NewEvent],
    ) -> impl Future<Output = Result<TenantRecord, StoreError>> + Send;

    /// A user by sign-in address.
    fn user_by_email(
        &self,
        tenant: TenantId,
        email: &Email,
    ) -> impl Future<Output = Result<Option<UserRecord>, StoreError>> + Send;

    /// A user's employments.
    fn employments(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<EmploymentRecord>, StoreError>> + Send;

    /// The employments of several users, by user then start.
    fn employments_of(
        &self,
        tenant: TenantId,
        users: &[UserId],
    ) -> impl Future<Output = Result<Vec<EmploymentRecord>, StoreError>> + Send;

    /// One employment.
    fn employment(
        &self,
        tenant: TenantId,
        employment: Uuid,
    ) -> impl Future<Output = Result<Option<EmploymentRecord>, StoreError>> + Send;

    /// Adds an employment; when it is the main account the previous main one stops being
    /// main. `events` sees what changed.
    fn add_employment<F>(
        &self,
        tenant: TenantId,
        employment: &EmploymentRecord,
        events: F,
    ) -> impl Future<Output = Result<(), StoreError>> + Send
    where
        F: FnOnce(&EmploymentChange) -> Vec<NewEvent> + Send;

    /// Sets an employment's end; `check` may refuse after seeing the user's employments.
    fn end_employment<F>(
        &self,
        tenant: TenantId,
        employment: Uuid,
        ends_at: i64,
        check: F,
    ) -> impl Future<Output = Result<EmploymentRecord, StoreError>> + Send
    where
        F: FnOnce(&EmploymentRecord, &[EmploymentRecord]) -> Result<Vec<NewEvent>, StoreError>
            + Send;

    /// Makes an employment the user's main account.
    fn set_main_employment<F>(
        &self,
        tenant: TenantId,
        employment: Uuid,
        events: F,
    ) -> impl Future<Output = Result<EmploymentRecord, StoreError>> + Send
    where
        F: FnOnce(&EmploymentChange) -> Vec<NewEvent> + Send;

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

/// The status a stored number names.
pub fn status_from_number(value: i16) -> Result<UserStatus, StoreError> {
    UserStatus::from_code(value).ok_or_else(|| StoreError::Corrupt(format!("user status {value}")))
}

/// The unit kind a stored number names.
pub fn unit_kind_from_number(value: i16) -> Result<UnitKind, StoreError> {
    UnitKind::from_code(value).ok_or_else(|| StoreError::Corrupt(format!("unit kind {value}")))
}

/// The account kind a stored number names.
pub fn account_kind_from_number(value: i16) -> Result<AccountKind, StoreError> {
    AccountKind::from_code(value)
        .ok_or_else(|| StoreError::Corrupt(format!("account kind {value}")))
}

#[cfg(test)]
mod conformance;
