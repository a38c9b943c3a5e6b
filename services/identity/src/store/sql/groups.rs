//! Groups with their members, managers and administrators; named managers and custom fields.

use crate::audit::Audit;
use crate::directory_record;
use lms_kernel::{GroupId, TenantId, UserId};
use lms_runtime::outbox;
use lms_runtime::transaction::begin_write;
use sqlx::Row as _;
use uuid::Uuid;

use super::Db;
use super::audit::append_audit;
use super::rows::group_from_row;
use super::users::existing_user;
use crate::audit::ids;
use crate::store::sql::{SqlStore, duplicate, lock_tenant};
use crate::store::{CustomField, GroupRecord, GroupStore, NamedManager, NewEvent, StoreError};

impl GroupStore for SqlStore<Db> {
    async fn create_group(
        &self,
        tenant: TenantId,
        group: &GroupRecord,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO user_groups (tenant_id, group_id, name, manager_user_id, external_id, \
             created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant.as_uuid())
        .bind(group.id.as_uuid())
        .bind(&group.name)
        .bind(group.manager.map(|u| u.as_uuid()))
        .bind(&group.external_id)
        .bind(group.created_at)
        .execute(&mut *tx)
        .await
        .map_err(duplicate)?;
        append_audit(&mut *tx, tenant, &audit.clone().after(group)).await?;
        record_groups(&mut tx, tenant, &[group.id]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn group(
        &self,
        tenant: TenantId,
        group: GroupId,
    ) -> Result<Option<GroupRecord>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let record = group_in(&mut tx, tenant, group).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn groups(
        &self,
        tenant: TenantId,
        after: Option<GroupId>,
        limit: i64,
    ) -> Result<Vec<GroupRecord>, StoreError> {
        let mut groups: Vec<GroupRecord> = sqlx::query(
            "SELECT * FROM user_groups WHERE tenant_id = $1 AND ($2 IS NULL OR group_id > $2) \
             ORDER BY group_id LIMIT $3",
        )
        .bind(tenant.as_uuid())
        .bind(after.map(|g| g.as_uuid()))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(group_from_row)
        .collect::<Result<_, _>>()?;
        if let (Some(first), Some(last)) = (groups.first(), groups.last()) {
            let rows = sqlx::query(
                "SELECT group_id, user_id FROM group_administrators WHERE tenant_id = $1 \
                 AND group_id >= $2 AND group_id <= $3 ORDER BY group_id, user_id",
            )
            .bind(tenant.as_uuid())
            .bind(first.id.as_uuid())
            .bind(last.id.as_uuid())
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                let group = GroupId::from_uuid(row.try_get("group_id")?);
                if let Some(record) = groups.iter_mut().find(|g| g.id == group) {
                    record
                        .administrators
                        .push(UserId::from_uuid(row.try_get("user_id")?));
                }
            }
        }
        Ok(groups)
    }

    async fn rename_group(
        &self,
        tenant: TenantId,
        group: GroupId,
        name: &str,
        audit: &Audit,
    ) -> Result<Option<GroupRecord>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query("UPDATE user_groups SET name = $3 WHERE tenant_id = $1 AND group_id = $2")
            .bind(tenant.as_uuid())
            .bind(group.as_uuid())
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let record = group_in(&mut tx, tenant, group).await?;
        if let Some(record) = &record {
            // The name is free text, so the record says only that it changed.
            append_audit(&mut *tx, tenant, &audit.clone().after(record)).await?;
            record_groups(&mut tx, tenant, &[group]).await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    async fn delete_group<F>(
        &self,
        tenant: TenantId,
        group: GroupId,
        audit: &Audit,
        events: F,
    ) -> Result<(), StoreError>
    where
        F: FnOnce(&GroupRecord) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        lock_tenant(&mut *tx, tenant).await?;
        let before = existing_group(&mut tx, tenant, group).await?;
        let members: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM group_members WHERE tenant_id = $1 AND group_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(group.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
        if members > 0 {
            return Err(StoreError::NotEmpty("the group has members"));
        }
        for table in ["group_administrators", "user_groups"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE tenant_id = $1 AND group_id = $2"
            )))
            .bind(tenant.as_uuid())
            .bind(group.as_uuid())
            .execute(&mut *tx)
            .await?;
        }
        outbox::append(&mut *tx, tenant, &events(&before)).await?;
        record_groups(&mut tx, tenant, &[group]).await?;
        append_audit(&mut *tx, tenant, &audit.clone().before(&before)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_group_members(
        &self,
        tenant: TenantId,
        group: GroupId,
        users: &[UserId],
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        lock_tenant(&mut *tx, tenant).await?;
        existing_group(&mut tx, tenant, group).await?;
        for user in users {
            existing_user(&mut tx, tenant, *user).await?;
            sqlx::query(
                "INSERT INTO group_members (tenant_id, group_id, user_id) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(tenant.as_uuid())
            .bind(group.as_uuid())
            .bind(user.as_uuid())
            .execute(&mut *tx)
            .await?;
        }
        outbox::append(&mut *tx, tenant, events).await?;
        append_audit(&mut *tx, tenant, &audit.clone().noting("users", ids(users))).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_group_members<F>(
        &self,
        tenant: TenantId,
        group: GroupId,
        users: &[UserId],
        audit: &Audit,
        events: F,
    ) -> Result<(), StoreError>
    where
        F: FnOnce(&[UserId]) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        lock_tenant(&mut *tx, tenant).await?;
        existing_group(&mut tx, tenant, group).await?;
        let mut lost_primary = Vec::new();
        for user in users {
            sqlx::query(
                "DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND user_id = $3",
            )
            .bind(tenant.as_uuid())
            .bind(group.as_uuid())
            .bind(user.as_uuid())
            .execute(&mut *tx)
            .await?;
            let cleared = sqlx::query(
                "UPDATE users SET primary_group_id = NULL \
                 WHERE tenant_id = $1 AND user_id = $2 AND primary_group_id = $3",
            )
            .bind(tenant.as_uuid())
            .bind(user.as_uuid())
            .bind(group.as_uuid())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if cleared > 0 {
                lost_primary.push(*user);
            }
        }
        outbox::append(&mut *tx, tenant, &events(&lost_primary)).await?;
        super::users::record_people(&mut tx, tenant, &lost_primary).await?;
        let audit = audit
            .clone()
            .noting("users", ids(users))
            .noting("lost_primary_group", ids(&lost_primary));
        append_audit(&mut *tx, tenant, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn group_members(
        &self,
        tenant: TenantId,
        group: GroupId,
        after: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<UserId>, StoreError> {
        Ok(sqlx::query_scalar::<_, Uuid>(
            "SELECT user_id FROM group_members WHERE tenant_id = $1 AND group_id = $2 \
             AND ($3 IS NULL OR user_id > $3) ORDER BY user_id LIMIT $4",
        )
        .bind(tenant.as_uuid())
        .bind(group.as_uuid())
        .bind(after.map(|u| u.as_uuid()))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(UserId::from_uuid)
        .collect())
    }

    async fn set_primary_group<F>(
        &self,
        tenant: TenantId,
        user: UserId,
        group: GroupId,
        audit: &Audit,
        events: F,
    ) -> Result<(), StoreError>
    where
        F: FnOnce(Option<GroupId>) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        lock_tenant(&mut *tx, tenant).await?;
        existing_group(&mut tx, tenant, group).await?;
        let before = existing_user(&mut tx, tenant, user).await?.primary_group;
        sqlx::query("UPDATE users SET primary_group_id = $3 WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant.as_uuid())
            .bind(user.as_uuid())
            .bind(group.as_uuid())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO group_members (tenant_id, group_id, user_id) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(tenant.as_uuid())
        .bind(group.as_uuid())
        .bind(user.as_uuid())
        .execute(&mut *tx)
        .await?;
        outbox::append(&mut *tx, tenant, &events(before)).await?;
        super::users::record_people(&mut tx, tenant, &[user]).await?;
        let audit = audit
            .clone()
            .noting("before", before.map(|g| g.to_string()))
            .noting("primary_group", group.to_string());
        append_audit(&mut *tx, tenant, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_group_manager<F>(
        &self,
        tenant: TenantId,
        group: GroupId,
        manager: Option<UserId>,
        audit: &Audit,
        events: F,
    ) -> Result<(), StoreError>
    where
        F: FnOnce(Option<UserId>) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        lock_tenant(&mut *tx, tenant).await?;
        let before = existing_group(&mut tx, tenant, group).await?.manager;
        if let Some(manager) = manager {
            existing_user(&mut tx, tenant, manager).await?;
        }
        sqlx::query(
            "UPDATE user_groups SET manager_user_id = $3 WHERE tenant_id = $1 AND group_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(group.as_uuid())
        .bind(manager.map(|m| m.as_uuid()))
        .execute(&mut *tx)
        .await?;
        outbox::append(&mut *tx, tenant, &events(before)).await?;
        let audit = audit
            .clone()
            .noting("before", before.map(|m| m.to_string()))
            .noting("manager", manager.map(|m| m.to_string()));
        append_audit(&mut *tx, tenant, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_group_administrator(
        &self,
        tenant: TenantId,
        group: GroupId,
        user: UserId,
        administrator: bool,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        lock_tenant(&mut *tx, tenant).await?;
        existing_group(&mut tx, tenant, group).await?;
        existing_user(&mut tx, tenant, user).await?;
        let statement = if administrator {
            "INSERT INTO group_administrators (tenant_id, group_id, user_id) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM group_administrators \
             WHERE tenant_id = $1 AND group_id = $2 AND user_id = $3"
        };
        sqlx::query(statement)
            .bind(tenant.as_uuid())
            .bind(group.as_uuid())
            .bind(user.as_uuid())
            .execute(&mut *tx)
            .await?;
        outbox::append(&mut *tx, tenant, events).await?;
        let audit = audit
            .clone()
            .noting("user", user.to_string())
            .noting("administrator", administrator);
        append_audit(&mut *tx, tenant, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn define_custom_field(
        &self,
        tenant: TenantId,
        field: &CustomField,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO custom_fields (tenant_id, key, label, mandatory) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, key) DO UPDATE SET label = excluded.label, \
             mandatory = excluded.mandatory",
        )
        .bind(tenant.as_uuid())
        .bind(&field.key)
        .bind(&field.label)
        .bind(field.mandatory)
        .execute(&mut *tx)
        .await?;
        // The key names the field; the label is free text and stays out.
        let audit = audit.clone().noting("mandatory", field.mandatory);
        append_audit(&mut *tx, tenant, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn custom_fields(&self, tenant: TenantId) -> Result<Vec<CustomField>, StoreError> {
        let rows = sqlx::query(
            "SELECT key, label, mandatory FROM custom_fields WHERE tenant_id = $1 ORDER BY key",
        )
        .bind(tenant.as_uuid())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CustomField {
                    key: row.try_get("key")?,
                    label: row.try_get("label")?,
                    mandatory: row.try_get("mandatory")?,
                })
            })
            .collect()
    }

    async fn named_managers_of(
        &self,
        tenant: TenantId,
        user: UserId,
        at: i64,
    ) -> Result<Vec<UserId>, StoreError> {
        let rows: Vec<(Uuid,)> = sqlx::query_as(
            "WITH RECURSIVE reached (unit_id) AS ( \
                 SELECT unit_id FROM employments WHERE tenant_id = $1 AND user_id = $2 \
                 AND starts_at <= $3 AND (ends_at IS NULL OR ends_at > $3) \
               UNION \
                 SELECT u.parent_unit_id FROM units u JOIN reached r ON u.unit_id = r.unit_id \
                 WHERE u.tenant_id = $1 AND u.parent_unit_id IS NOT NULL) \
             SELECT DISTINCT n.user_id FROM named_managers n \
             JOIN users u ON u.tenant_id = n.tenant_id AND u.user_id = n.user_id \
             WHERE n.tenant_id = $1 AND u.status = $6 AND ( \
               (n.target_type = $4 AND n.target_id = $2) \
               OR (n.target_type = $5 AND n.target_id IN (SELECT unit_id FROM reached))) \
             ORDER BY n.user_id",
        )
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(at)
        .bind(lms_kernel::NamedTarget::User.code())
        .bind(lms_kernel::NamedTarget::Unit.code())
        .bind(lms_kernel::UserStatus::Active.code())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id,)| UserId::from_uuid(id))
            .collect())
    }

    async fn set_named_manager(
        &self,
        tenant: TenantId,
        naming: &NamedManager,
        named: bool,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        existing_user(&mut tx, tenant, naming.user).await?;
        let statement = if named {
            "INSERT INTO named_managers (tenant_id, user_id, target_type, target_id, purpose) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM named_managers WHERE tenant_id = $1 AND user_id = $2 \
             AND target_type = $3 AND target_id = $4 AND purpose = $5"
        };
        sqlx::query(statement)
            .bind(tenant.as_uuid())
            .bind(naming.user.as_uuid())
            .bind(naming.target_type.code())
            .bind(naming.target)
            .bind(naming.purpose.code())
            .execute(&mut *tx)
            .await?;
        outbox::append(&mut *tx, tenant, events).await?;
        let audit = audit
            .clone()
            .noting("target_type", naming.target_type.code())
            .noting("target", naming.target.to_string())
            .noting("purpose", naming.purpose.code())
            .noting("named", named);
        append_audit(&mut *tx, tenant, &audit).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The group with its administrators, read through `tx`.
pub(super) async fn group_in(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
    group: GroupId,
) -> Result<Option<GroupRecord>, StoreError> {
    let Some(mut record) =
        sqlx::query("SELECT * FROM user_groups WHERE tenant_id = $1 AND group_id = $2")
            .bind(tenant.as_uuid())
            .bind(group.as_uuid())
            .fetch_optional(&mut **tx)
            .await?
            .as_ref()
            .map(group_from_row)
            .transpose()?
    else {
        return Ok(None);
    };
    record.administrators = sqlx::query_scalar::<_, Uuid>(
        "SELECT user_id FROM group_administrators WHERE tenant_id = $1 AND group_id = $2 \
         ORDER BY user_id",
    )
    .bind(tenant.as_uuid())
    .bind(group.as_uuid())
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(UserId::from_uuid)
    .collect();
    Ok(Some(record))
}

pub(super) async fn existing_group(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
    group: GroupId,
) -> Result<GroupRecord, StoreError> {
    group_in(tx, tenant, group)
        .await?
        .ok_or_else(|| StoreError::Missing {
            what: "group",
            id: group.to_string(),
        })
}

/// Tells reporting what `groups` now are: each one's name as this transaction holds it, a
/// removed one for each no longer there (see [`crate::directory_record`]).
pub(super) async fn record_groups(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
    groups: &[GroupId],
) -> Result<(), StoreError> {
    let mut records = Vec::with_capacity(groups.len());
    for group in groups {
        let name: Option<String> = sqlx::query_scalar(
            "SELECT name FROM user_groups WHERE tenant_id = $1 AND group_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(group.as_uuid())
        .fetch_optional(&mut **tx)
        .await?;
        records.push(match name {
            Some(name) => directory_record::group(*group, &name),
            None => directory_record::group_removed(*group),
        });
    }
    let events = directory_record::directory_records(Vec::new(), records);
    outbox::append(&mut **tx, tenant, &events).await?;
    Ok(())
}
