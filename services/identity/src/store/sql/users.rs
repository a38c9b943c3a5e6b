//! Users and their employments.

use crate::audit::Audit;
use lms_kernel::{Email, GroupId, TenantId, UserId};
use lms_runtime::outbox;
use lms_runtime::transaction::begin_write;
use uuid::Uuid;

use super::audit::append_audit;
use super::rows::{employment_from_row, user_from_row};
use super::units::unit_in;
use super::{Db, LOCK_ROWS};
use crate::audit::on_behalf;
use crate::person_record::{people_records, person_removed};
use crate::relationships::{GroupsHeld, groups_left};
use crate::store::sql::{SqlStore, duplicate, lock_tenant};
use crate::store::{
    EmploymentChange, EmploymentRecord, NewEvent, StoreError, UserChange, UserFilter, UserRecord,
    UserStore,
};

/// How a deleted account's groups are told apart in one read (constants of the statement).
const MEMBER: i32 = 1;
const ADMINISTRATOR: i32 = 2;
const MANAGER: i32 = 3;

/// The groups of `held` read as `kind`.
fn groups_held(held: &[(Uuid, i32)], kind: i32) -> Vec<GroupId> {
    held.iter()
        .filter(|(_, k)| *k == kind)
        .map(|(group, _)| GroupId::from_uuid(*group))
        .collect()
}

impl UserStore for SqlStore<Db> {
    async fn create_user(
        &self,
        tenant: TenantId,
        user: &UserRecord,
        employment: &EmploymentRecord,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        insert_user(&mut *tx, tenant, user).await?;
        insert_employment(&mut *tx, tenant, employment).await?;
        outbox::append(&mut *tx, tenant, events).await?;
        outbox::append(&mut *tx, tenant, &people_records([user])).await?;
        append_audit(&mut *tx, tenant, &audit.clone().after(user)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn user(&self, tenant: TenantId, user: UserId) -> Result<Option<UserRecord>, StoreError> {
        sqlx::query("SELECT * FROM users WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant.as_uuid())
            .bind(user.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn update_user<F>(
        &self,
        tenant: TenantId,
        user: UserId,
        audit: &Audit,
        change: F,
    ) -> Result<UserRecord, StoreError>
    where
        F: FnOnce(&mut UserRecord) -> Result<UserChange, StoreError> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        // A no-op write takes the row's lock first, so two changes never interleave.
        sqlx::query("UPDATE users SET status = status WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant.as_uuid())
            .bind(user.as_uuid())
            .execute(&mut *tx)
            .await?;
        let mut record = existing_user(&mut tx, tenant, user).await?;
        let before = record.clone();
        let committed = change(&mut record)?;
        sqlx::query(
            "UPDATE users SET email = $3, given_name = $4, family_name = $5, status = $6, \
             restrict_bookings = $7, custom_fields = $8, external_id = $9, \
             account_kind = $10, password_hash = $11 \
             WHERE tenant_id = $1 AND user_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(record.email.as_ref().map(|e| e.as_str().to_owned()))
        .bind(&record.given_name)
        .bind(&record.family_name)
        .bind(record.status.code())
        .bind(record.restrict_bookings)
        .bind(&record.custom_fields)
        .bind(&record.external_id)
        .bind(record.account_kind.code())
        .bind(&record.password_hash)
        .execute(&mut *tx)
        .await
        .map_err(duplicate)?;
        if committed.erase_second_factor {
            sqlx::query(
                "UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL \
                 WHERE tenant_id = $1 AND user_id = $2",
            )
            .bind(tenant.as_uuid())
            .bind(user.as_uuid())
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM mfa_challenges WHERE tenant_id = $1 AND user_id = $2")
                .bind(tenant.as_uuid())
                .bind(user.as_uuid())
                .execute(&mut *tx)
                .await?;
        }
        if let Some(reason) = committed.end_sessions {
            sqlx::query(
                "INSERT INTO revoked_sessions (family_id, revoked_at, reason) \
                 SELECT DISTINCT family_id, $3, $4 FROM refresh_tokens \
                 WHERE tenant_id = $1 AND user_id = $2 AND expires_at > $3 \
                 ON CONFLICT (family_id) DO NOTHING",
            )
            .bind(tenant.as_uuid())
            .bind(user.as_uuid())
            .bind(lms_runtime::clock::now())
            .bind(reason)
            .execute(&mut *tx)
            .await?;
        }
        outbox::append(
            &mut *tx,
            tenant,
            &on_behalf(&committed.events, &audit.actor),
        )
        .await?;
        outbox::append(&mut *tx, tenant, &people_records([&record])).await?;
        append_audit(&mut *tx, tenant, &audit.clone().changed(&before, &record)).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn users(
        &self,
        tenant: TenantId,
        filter: &UserFilter,
        limit: i64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let mut query =
            sqlx::QueryBuilder::<Db>::new("SELECT u.* FROM users u WHERE u.tenant_id = ");
        query.push_bind(tenant.as_uuid());
        if let Some(status) = filter.status {
            query.push(" AND u.status = ").push_bind(status.code());
        }
        if let Some(unit) = filter.unit {
            query
                .push(
                    " AND EXISTS (SELECT 1 FROM employments e WHERE e.tenant_id = u.tenant_id \
                       AND e.user_id = u.user_id AND e.unit_id = ",
                )
                .push_bind(unit.as_uuid())
                .push(" AND e.starts_at <= ")
                .push_bind(filter.now)
                .push(" AND (e.ends_at IS NULL OR e.ends_at > ")
                .push_bind(filter.now)
                .push("))");
        }
        if let Some(group) = filter.group {
            query
                .push(
                    " AND EXISTS (SELECT 1 FROM group_members m WHERE m.tenant_id = u.tenant_id \
                       AND m.user_id = u.user_id AND m.group_id = ",
                )
                .push_bind(group.as_uuid())
                .push(")");
        }
        if let Some(text) = &filter.query {
            query
                .push(
                    " AND lower(u.given_name || ' ' || u.family_name || ' ' || \
                     COALESCE(u.email, '')) LIKE ",
                )
                .push_bind(format!("%{}%", text.replace(['%', '_'], "")));
        }
        if let Some(only) = &filter.only {
            if only.is_empty() {
                return Ok(Vec::new());
            }
            query.push(" AND u.user_id IN (");
            let mut ids = query.separated(", ");
            for user in only {
                ids.push_bind(user.as_uuid());
            }
            query.push(")");
        }
        if let Some(after) = filter.after {
            query.push(" AND u.user_id > ").push_bind(after.as_uuid());
        }
        query.push(" ORDER BY u.user_id LIMIT ").push_bind(limit);
        query
            .build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(user_from_row)
            .collect()
    }

    async fn count_users(
        &self,
        tenant: TenantId,
        status: lms_kernel::UserStatus,
    ) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND status = $2")
                .bind(tenant.as_uuid())
                .bind(status.code())
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn delete_user<F>(
        &self,
        tenant: TenantId,
        user: UserId,
        audit: &Audit,
        check: F,
    ) -> Result<UserRecord, StoreError>
    where
        F: FnOnce(&UserRecord, &[EmploymentRecord]) -> Result<Vec<NewEvent>, StoreError> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        lock_tenant(&mut *tx, tenant).await?;
        let record = existing_user(&mut tx, tenant, user).await?;
        lock_user(&mut tx, tenant, user).await?;
        let employments: Vec<EmploymentRecord> =
            sqlx::query("SELECT * FROM employments WHERE tenant_id = $1 AND user_id = $2")
                .bind(tenant.as_uuid())
                .bind(user.as_uuid())
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(employment_from_row)
                .collect::<Result<_, _>>()?;
        let events = check(&record, &employments)?;
        // What the account held in groups, which goes with it: its facts go too.
        let held: Vec<(Uuid, i32)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT group_id, {MEMBER} FROM group_members WHERE tenant_id = $1 AND user_id = $2 \
             UNION ALL SELECT group_id, {ADMINISTRATOR} FROM group_administrators \
             WHERE tenant_id = $1 AND user_id = $2 \
             UNION ALL SELECT group_id, {MANAGER} FROM user_groups \
             WHERE tenant_id = $1 AND manager_user_id = $2"
        )))
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .fetch_all(&mut *tx)
        .await?;
        let held = GroupsHeld {
            team: record.primary_group,
            member_of: groups_held(&held, MEMBER),
            administers: groups_held(&held, ADMINISTRATOR),
            manages: groups_held(&held, MANAGER),
        };
        sqlx::query(
            "INSERT INTO revoked_sessions (family_id, revoked_at, reason) \
             SELECT DISTINCT family_id, $3, 'account deleted' FROM refresh_tokens \
             WHERE tenant_id = $1 AND user_id = $2 AND expires_at > $3 \
             ON CONFLICT (family_id) DO NOTHING",
        )
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(lms_runtime::clock::now())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE user_groups SET manager_user_id = NULL \
             WHERE tenant_id = $1 AND manager_user_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .execute(&mut *tx)
        .await?;
        for table in [
            "employments",
            "group_members",
            "group_administrators",
            "users",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE tenant_id = $1 AND user_id = $2"
            )))
            .bind(tenant.as_uuid())
            .bind(user.as_uuid())
            .execute(&mut *tx)
            .await?;
        }
        outbox::append(&mut *tx, tenant, &on_behalf(&events, &audit.actor)).await?;
        outbox::append(&mut *tx, tenant, &groups_left(user, &held)).await?;
        outbox::append(&mut *tx, tenant, &person_removed(user)).await?;
        append_audit(&mut *tx, tenant, &audit.clone().before(&record)).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn user_by_email(
        &self,
        tenant: TenantId,
        email: &Email,
    ) -> Result<Option<UserRecord>, StoreError> {
        sqlx::query("SELECT * FROM users WHERE tenant_id = $1 AND email = $2")
            .bind(tenant.as_uuid())
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn employments(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<EmploymentRecord>, StoreError> {
        sqlx::query(
            "SELECT * FROM employments WHERE tenant_id = $1 AND user_id = $2 \
             ORDER BY starts_at, employment_id",
        )
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(employment_from_row)
        .collect()
    }

    async fn employments_of(
        &self,
        tenant: TenantId,
        users: &[UserId],
    ) -> Result<Vec<EmploymentRecord>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let mut query =
            sqlx::QueryBuilder::<Db>::new("SELECT * FROM employments WHERE tenant_id = ");
        query.push_bind(tenant.as_uuid()).push(" AND user_id IN (");
        let mut ids = query.separated(", ");
        for user in users {
            ids.push_bind(user.as_uuid());
        }
        query.push(") ORDER BY user_id, starts_at, employment_id");
        query
            .build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(employment_from_row)
            .collect()
    }

    async fn employment(
        &self,
        tenant: TenantId,
        employment: Uuid,
    ) -> Result<Option<EmploymentRecord>, StoreError> {
        sqlx::query("SELECT * FROM employments WHERE tenant_id = $1 AND employment_id = $2")
            .bind(tenant.as_uuid())
            .bind(employment)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(employment_from_row)
            .transpose()
    }

    async fn add_employment<F>(
        &self,
        tenant: TenantId,
        employment: &EmploymentRecord,
        audit: &Audit,
        events: F,
    ) -> Result<(), StoreError>
    where
        F: FnOnce(&EmploymentChange) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        existing_user(&mut tx, tenant, employment.user).await?;
        lock_user(&mut tx, tenant, employment.user).await?;
        if unit_in(&mut *tx, tenant, employment.unit).await?.is_none() {
            return Err(StoreError::Missing {
                what: "unit",
                id: employment.unit.to_string(),
            });
        }
        insert_employment(
            &mut *tx,
            tenant,
            &EmploymentRecord {
                main_account: false,
                ..employment.clone()
            },
        )
        .await?;
        let previous_main = if employment.main_account {
            make_main(&mut tx, tenant, employment).await?
        } else {
            None
        };
        let change = EmploymentChange {
            before: employment.clone(),
            previous_main,
            theirs: all_employments(&mut tx, tenant, employment.user).await?,
        };
        outbox::append(&mut *tx, tenant, &events(&change)).await?;
        append_audit(&mut *tx, tenant, &audit.clone().after(employment)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn end_employment<F>(
        &self,
        tenant: TenantId,
        employment: Uuid,
        ends_at: i64,
        audit: &Audit,
        check: F,
    ) -> Result<EmploymentRecord, StoreError>
    where
        F: FnOnce(&EmploymentRecord, &[EmploymentRecord]) -> Result<Vec<NewEvent>, StoreError>
            + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        let holder = employment_in(&mut tx, tenant, employment).await?.user;
        lock_user(&mut tx, tenant, holder).await?;
        // Read again under the lock: what a change committed meanwhile left.
        let before = employment_in(&mut tx, tenant, employment).await?;
        let all = all_employments(&mut tx, tenant, before.user).await?;
        let events = check(&before, &all)?;
        sqlx::query(
            "UPDATE employments SET ends_at = $3 WHERE tenant_id = $1 AND employment_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(employment)
        .bind(ends_at)
        .execute(&mut *tx)
        .await?;
        outbox::append(&mut *tx, tenant, &events).await?;
        let after = EmploymentRecord {
            ends_at: Some(ends_at),
            ..before.clone()
        };
        append_audit(&mut *tx, tenant, &audit.clone().changed(&before, &after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn set_main_employment<F>(
        &self,
        tenant: TenantId,
        employment: Uuid,
        audit: &Audit,
        events: F,
    ) -> Result<EmploymentRecord, StoreError>
    where
        F: FnOnce(&EmploymentChange) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        let holder = employment_in(&mut tx, tenant, employment).await?.user;
        lock_user(&mut tx, tenant, holder).await?;
        let before = employment_in(&mut tx, tenant, employment).await?;
        let theirs = all_employments(&mut tx, tenant, before.user).await?;
        let previous_main = make_main(&mut tx, tenant, &before).await?;
        let change = EmploymentChange {
            before: before.clone(),
            previous_main,
            theirs,
        };
        outbox::append(&mut *tx, tenant, &events(&change)).await?;
        let after = EmploymentRecord {
            main_account: true,
            ..before.clone()
        };
        append_audit(&mut *tx, tenant, &audit.clone().changed(&before, &after)).await?;
        tx.commit().await?;
        Ok(after)
    }
}

/// Tells reporting who `users` now are: each one's record as this transaction holds it, after
/// the write (see [`crate::person_record`]).
pub(super) async fn record_people(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
    users: &[UserId],
) -> Result<(), StoreError> {
    if users.is_empty() {
        return Ok(());
    }
    let mut query = sqlx::QueryBuilder::<Db>::new("SELECT * FROM users WHERE tenant_id = ");
    query.push_bind(tenant.as_uuid()).push(" AND user_id IN (");
    let mut ids = query.separated(", ");
    for user in users {
        ids.push_bind(user.as_uuid());
    }
    query.push(")");
    let records = query
        .build()
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(user_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    outbox::append(&mut **tx, tenant, &people_records(&records)).await?;
    Ok(())
}

pub(super) async fn insert_user<'c, E>(
    executor: E,
    tenant: TenantId,
    user: &UserRecord,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'c, Database = Db>,
{
    sqlx::query(
        "INSERT INTO users (tenant_id, user_id, email, given_name, family_name, status, \
         account_kind, restrict_bookings, custom_fields, external_id, password_hash, \
         created_by, created_at, primary_group_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(tenant.as_uuid())
    .bind(user.id.as_uuid())
    .bind(user.email.as_ref().map(|e| e.as_str().to_owned()))
    .bind(&user.given_name)
    .bind(&user.family_name)
    .bind(user.status.code())
    .bind(user.account_kind.code())
    .bind(user.restrict_bookings)
    .bind(&user.custom_fields)
    .bind(&user.external_id)
    .bind(&user.password_hash)
    .bind(&user.created_by)
    .bind(user.created_at)
    .bind(user.primary_group.map(|g| g.as_uuid()))
    .execute(executor)
    .await
    .map_err(duplicate)?;
    Ok(())
}

pub(super) async fn insert_employment<'c, E>(
    executor: E,
    tenant: TenantId,
    employment: &EmploymentRecord,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'c, Database = Db>,
{
    sqlx::query(
        "INSERT INTO employments (tenant_id, employment_id, user_id, unit_id, starts_at, \
         ends_at, main_account) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tenant.as_uuid())
    .bind(employment.id)
    .bind(employment.user.as_uuid())
    .bind(employment.unit.as_uuid())
    .bind(employment.starts_at)
    .bind(employment.ends_at)
    .bind(employment.main_account)
    .execute(executor)
    .await?;
    Ok(())
}

pub(super) async fn existing_user(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
    user: UserId,
) -> Result<UserRecord, StoreError> {
    sqlx::query("SELECT * FROM users WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(user_from_row)
        .transpose()?
        .ok_or_else(|| StoreError::Missing {
            what: "user",
            id: user.to_string(),
        })
}

/// Locks `user`'s account row until the transaction ends. Every change of a person's
/// employments takes it first, before any employment row: the facts of an employment are read
/// from all of theirs at its unit, so two such changes take turns, and always in one lock order.
async fn lock_user(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
    user: UserId,
) -> Result<(), StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT user_id FROM users WHERE tenant_id = $1 AND user_id = $2{LOCK_ROWS}"
    )))
    .bind(tenant.as_uuid())
    .bind(user.as_uuid())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Every employment of `user` as `tx` sees them.
async fn all_employments(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<EmploymentRecord>, StoreError> {
    sqlx::query("SELECT * FROM employments WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(employment_from_row)
        .collect()
}

pub(super) async fn employment_in(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
    employment: Uuid,
) -> Result<EmploymentRecord, StoreError> {
    sqlx::query("SELECT * FROM employments WHERE tenant_id = $1 AND employment_id = $2")
        .bind(tenant.as_uuid())
        .bind(employment)
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(employment_from_row)
        .transpose()?
        .ok_or_else(|| StoreError::Missing {
            what: "employment",
            id: employment.to_string(),
        })
}

/// Makes `employment` the only main one of its user; answers the previous main one.
pub(super) async fn make_main(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
    employment: &EmploymentRecord,
) -> Result<Option<EmploymentRecord>, StoreError> {
    let previous = sqlx::query(
        "SELECT * FROM employments WHERE tenant_id = $1 AND user_id = $2 AND main_account \
         AND employment_id <> $3",
    )
    .bind(tenant.as_uuid())
    .bind(employment.user.as_uuid())
    .bind(employment.id)
    .fetch_optional(&mut **tx)
    .await?
    .as_ref()
    .map(employment_from_row)
    .transpose()?;
    sqlx::query(
        "UPDATE employments SET main_account = (employment_id = $3) \
         WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(employment.user.as_uuid())
    .bind(employment.id)
    .execute(&mut **tx)
    .await?;
    Ok(previous)
}
