//! Rows into records, for one backend's row type.

use lms_kernel::{GroupId, TenantId, TenantSettings, UnitId, UserId};
use lms_runtime::auth::Scopes;
use sqlx::Row as _;
use uuid::Uuid;

use super::Db;
use crate::store::sql::email_from;
use crate::store::{
    AccountOwner, EmploymentRecord, GroupRecord, RefreshRecord, ServiceAccountRecord, StoreError,
    TenantRecord, UnitRecord, UserRecord, account_kind_from_number, status_from_number,
    unit_kind_from_number,
};

type Row = <Db as sqlx::Database>::Row;

pub(super) fn tenant_from_row(row: &Row) -> Result<TenantRecord, StoreError> {
    Ok(TenantRecord {
        id: TenantId::from_uuid(row.try_get("tenant_id")?),
        name: row.try_get("name")?,
        settings: TenantSettings {
            locations_enabled: row.try_get("locations_enabled")?,
            clients_enabled: row.try_get("clients_enabled")?,
            mfa_required_for_admins: row.try_get("mfa_required_for_admins")?,
        },
        master: row
            .try_get::<Option<Uuid>, _>("master_tenant_id")?
            .map(TenantId::from_uuid),
        access_coordinator: row
            .try_get::<Option<Uuid>, _>("access_coordinator_user_id")?
            .map(UserId::from_uuid),
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn unit_from_row(row: &Row) -> Result<UnitRecord, StoreError> {
    Ok(UnitRecord {
        id: UnitId::from_uuid(row.try_get("unit_id")?),
        kind: unit_kind_from_number(row.try_get("kind")?)?,
        name: row.try_get("name")?,
        parent: row
            .try_get::<Option<Uuid>, _>("parent_unit_id")?
            .map(UnitId::from_uuid),
        external_id: row.try_get("external_id")?,
    })
}

pub(super) fn user_from_row(row: &Row) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: UserId::from_uuid(row.try_get("user_id")?),
        email: email_from(row.try_get("email")?)?,
        given_name: row.try_get("given_name")?,
        family_name: row.try_get("family_name")?,
        status: status_from_number(row.try_get("status")?)?,
        account_kind: account_kind_from_number(row.try_get("account_kind")?)?,
        restrict_bookings: row.try_get("restrict_bookings")?,
        primary_group: row
            .try_get::<Option<Uuid>, _>("primary_group_id")?
            .map(GroupId::from_uuid),
        custom_fields: row.try_get("custom_fields")?,
        external_id: row.try_get("external_id")?,
        password_hash: row.try_get("password_hash")?,
        last_sign_in_at: row.try_get("last_sign_in_at")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn employment_from_row(row: &Row) -> Result<EmploymentRecord, StoreError> {
    Ok(EmploymentRecord {
        id: row.try_get("employment_id")?,
        user: UserId::from_uuid(row.try_get("user_id")?),
        unit: UnitId::from_uuid(row.try_get("unit_id")?),
        starts_at: row.try_get("starts_at")?,
        ends_at: row.try_get("ends_at")?,
        main_account: row.try_get("main_account")?,
    })
}

pub(super) fn refresh_from_row(row: &Row) -> Result<RefreshRecord, StoreError> {
    Ok(RefreshRecord {
        family: row.try_get("family_id")?,
        tenant: TenantId::from_uuid(row.try_get("tenant_id")?),
        user: UserId::from_uuid(row.try_get("user_id")?),
        amr: row.try_get("amr")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
        revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
    })
}

pub(super) fn group_from_row(row: &Row) -> Result<GroupRecord, StoreError> {
    Ok(GroupRecord {
        id: GroupId::from_uuid(row.try_get("group_id")?),
        name: row.try_get("name")?,
        manager: row
            .try_get::<Option<Uuid>, _>("manager_user_id")?
            .map(UserId::from_uuid),
        administrators: Vec::new(),
        external_id: row.try_get("external_id")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn service_account_from_row(row: &Row) -> Result<ServiceAccountRecord, StoreError> {
    let id: Uuid = row.try_get("service_account_id")?;
    let created_at = row.try_get("created_at")?;
    Ok(ServiceAccountRecord {
        id,
        name: row.try_get("name")?,
        owner: match (
            row.try_get::<Option<Uuid>, _>("tenant_id")?,
            row.try_get::<Option<Uuid>, _>("holder_user_id")?,
        ) {
            (None, None) => AccountOwner::Platform,
            (Some(tenant), holder) => AccountOwner::Tenant {
                tenant: TenantId::from_uuid(tenant),
                holder: holder.map(UserId::from_uuid),
            },
            // A holder is a person of a tenant: one without a tenant is no account we made.
            (None, Some(_)) => {
                return Err(StoreError::Corrupt(format!(
                    "service account {id} has a holder but no tenant"
                )));
            }
        },
        scopes: Scopes::from_claim(row.try_get("scopes")?),
        secret_hash: row.try_get("secret_hash")?,
        secret_id: row.try_get::<Option<Uuid>, _>("secret_id")?.unwrap_or(id),
        secret_created_at: row
            .try_get::<Option<i64>, _>("secret_created_at")?
            .unwrap_or(created_at),
        secret_second_factor: row.try_get("secret_second_factor")?,
        created_by: row.try_get("created_by")?,
        created_at,
        disabled_at: row.try_get("disabled_at")?,
    })
}
