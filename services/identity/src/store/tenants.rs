//! Tenants: creation, settings, client tenants and the Access Coordinator duty.

use crate::audit::Audit;
use std::future::Future;

use lms_kernel::{TenantId, TenantSettings, UserId};

use super::units::UnitRecord;
use super::users::{EmploymentRecord, UserRecord};
use super::{NewEvent, StoreError};

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

/// Tenants: creation with the Guest account and first user, settings, client tenants and the
/// Access Coordinator duty.
pub trait TenantStore: Send + Sync + 'static {
    /// Creates a tenant, its Guest account and its first user (with a Guest employment). The
    /// creation is recorded in the tenant's trail and in the platform's.
    fn create_tenant(
        &self,
        tenant: &TenantRecord,
        guest: &UnitRecord,
        first_user: &UserRecord,
        employment: &EmploymentRecord,
        events: &[NewEvent],
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A tenant.
    fn tenant(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Option<TenantRecord>, StoreError>> + Send;

    /// Replaces a tenant's settings, with `events`.
    fn update_tenant_settings(
        &self,
        tenant: TenantId,
        settings: TenantSettings,
        events: &[NewEvent],
        audit: &Audit,
    ) -> impl Future<Output = Result<TenantRecord, StoreError>> + Send;

    /// Invites `client` to become a client of `master` until `expires_at` (a new invitation
    /// replaces an earlier one).
    fn invite_client(
        &self,
        master: TenantId,
        client: TenantId,
        invited_by: &str,
        now: i64,
        expires_at: i64,
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The masters that invited `client` and whose invitations are live at `now`.
    fn client_invitations(
        &self,
        client: TenantId,
        now: i64,
    ) -> impl Future<Output = Result<Vec<TenantId>, StoreError>> + Send;

    /// With `link`, makes `client` a client of `master` by consuming `master`'s live invitation
    /// (none: refused `NO_INVITATION`; the conditional write also refuses a client that became
    /// a client or a master meanwhile), or with `link` false ends that link; `events` are
    /// committed under `master`.
    fn link_client(
        &self,
        master: TenantId,
        client: TenantId,
        link: bool,
        now: i64,
        events: &[NewEvent],
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Tenants whose Access Coordinator was not announced to authorization as a fact yet, with
    /// their coordinator (at most `limit`).
    fn unannounced_coordinators(
        &self,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(TenantId, UserId)>, StoreError>> + Send;

    /// Marks `tenant`'s coordinator announced with `events` (the fact, the old role taken back),
    /// in one transaction; a tenant whose coordinator changed meanwhile is left for next time.
    fn announce_coordinator(
        &self,
        tenant: TenantId,
        coordinator: UserId,
        events: &[NewEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The clients of `master`, in id order after `after`.
    fn client_tenants(
        &self,
        master: TenantId,
        after: Option<TenantId>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<TenantRecord>, StoreError>> + Send;

    /// Hands the Access Coordinator duty from `from` to `to` (an active user) if `from` still
    /// holds it, with `events`, in one transaction.
    fn transfer_access_coordinator(
        &self,
        tenant: TenantId,
        from: UserId,
        to: UserId,
        events: &[NewEvent],
        audit: &Audit,
    ) -> impl Future<Output = Result<TenantRecord, StoreError>> + Send;
}
