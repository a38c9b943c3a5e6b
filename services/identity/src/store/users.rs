//! Users and their employments.

use crate::audit::Audit;
use std::future::Future;

use lms_kernel::{AccountKind, Email, GroupId, TenantId, UnitId, UserId, UserStatus};
use uuid::Uuid;

use super::{NewEvent, StoreError};

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
    /// Last successful sign-in.
    pub last_sign_in_at: Option<i64>,
    /// Who created it.
    pub created_by: String,
    /// When.
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

/// What an employment change found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EmploymentChange {
    /// The employment as it was (for a new one, as it is).
    pub before: EmploymentRecord,
    /// The user's main employment before the change, when another one was main.
    pub previous_main: Option<EmploymentRecord>,
    /// The user's employments (this one among them as it was, unless new).
    pub theirs: Vec<EmploymentRecord>,
}

/// Users and their employments.
pub trait UserStore: Send + Sync + 'static {
    /// Creates a user with their first employment.
    fn create_user(
        &self,
        tenant: TenantId,
        user: &UserRecord,
        employment: &EmploymentRecord,
        events: &[NewEvent],
        audit: &Audit,
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
        audit: &Audit,
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
        audit: &Audit,
        check: F,
    ) -> impl Future<Output = Result<UserRecord, StoreError>> + Send
    where
        F: FnOnce(&UserRecord, &[EmploymentRecord]) -> Result<Vec<NewEvent>, StoreError> + Send;

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
        audit: &Audit,
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
        audit: &Audit,
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
        audit: &Audit,
        events: F,
    ) -> impl Future<Output = Result<EmploymentRecord, StoreError>> + Send
    where
        F: FnOnce(&EmploymentChange) -> Vec<NewEvent> + Send;
}
