//! Groups with their members, managers and administrators; named managers and custom fields.

use crate::audit::Audit;
use std::future::Future;

use lms_kernel::{GroupId, TenantId, UserId};
use uuid::Uuid;

use super::{NewEvent, StoreError};

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
    /// What the target is.
    pub target_type: lms_kernel::NamedTarget,
    /// The target's id.
    pub target: Uuid,
    /// Why the person is named.
    pub purpose: lms_kernel::NamingPurpose,
}

/// Groups with their members, manager and administrators; named managers; custom fields.
pub trait GroupStore: Send + Sync + 'static {
    /// Creates a group.
    fn create_group(
        &self,
        tenant: TenantId,
        group: &GroupRecord,
        audit: &Audit,
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
        audit: &Audit,
    ) -> impl Future<Output = Result<Option<GroupRecord>, StoreError>> + Send;

    /// Deletes a group without members, with the events `events` builds from it as it was;
    /// [`StoreError::NotEmpty`] while it has members.
    fn delete_group<F>(
        &self,
        tenant: TenantId,
        group: GroupId,
        audit: &Audit,
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
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes members; those whose primary group it was lose it. `events` gets those users.
    fn remove_group_members<F>(
        &self,
        tenant: TenantId,
        group: GroupId,
        users: &[UserId],
        audit: &Audit,
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
        audit: &Audit,
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
        audit: &Audit,
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
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Defines or redefines a custom field.
    fn define_custom_field(
        &self,
        tenant: TenantId,
        field: &CustomField,
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The tenant's custom fields, by key.
    fn custom_fields(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Vec<CustomField>, StoreError>> + Send;

    /// Who is named over `user` at `at` (for either purpose) and active, each once in id order:
    /// named over them, or over a unit they are employed at then (an account) or any unit above
    /// it (an account group): the people who hear of what happens to their learning.
    fn named_managers_of(
        &self,
        tenant: TenantId,
        user: UserId,
        at: i64,
    ) -> impl Future<Output = Result<Vec<UserId>, StoreError>> + Send;

    /// Names (or, with `named` false, un-names) a manager, with `events`.
    fn set_named_manager(
        &self,
        tenant: TenantId,
        naming: &NamedManager,
        named: bool,
        events: &[NewEvent],
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
