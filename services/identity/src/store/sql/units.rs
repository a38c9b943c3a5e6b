//! The unit tree.

use crate::audit::Audit;
use crate::directory_record;
use lms_kernel::unit::{check_delete, check_move};
use lms_kernel::{TenantId, UnitError, UnitId, UnitKind};
use lms_runtime::outbox;
use lms_runtime::transaction::begin_write;
use uuid::Uuid;

use super::Db;
use super::audit::append_audit;
use super::rows::unit_from_row;
use crate::store::sql::{SqlStore, duplicate, lock_tenant};
use crate::store::{Deleted, Moved, NewEvent, StoreError, UnitFilter, UnitRecord, UnitStore};

impl UnitStore for SqlStore<Db> {
    async fn unit(&self, tenant: TenantId, unit: UnitId) -> Result<Option<UnitRecord>, StoreError> {
        unit_in(&self.pool, tenant, unit).await
    }

    async fn create_unit(
        &self,
        tenant: TenantId,
        unit: &UnitRecord,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        lock_tenant(&mut *tx, tenant).await?;
        if let Some(parent) = unit.parent
            && unit_in(&mut *tx, tenant, parent).await?.is_none()
        {
            return Err(StoreError::Missing {
                what: "unit",
                id: parent.to_string(),
            });
        }
        insert_unit(&mut *tx, tenant, unit).await?;
        outbox::append(&mut *tx, tenant, events).await?;
        record_units(&mut tx, tenant, &[unit.id]).await?;
        append_audit(&mut *tx, tenant, &audit.clone().after(unit)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn units(
        &self,
        tenant: TenantId,
        filter: UnitFilter,
        limit: i64,
    ) -> Result<Vec<UnitRecord>, StoreError> {
        sqlx::query(
            "SELECT * FROM units WHERE tenant_id = $1 \
             AND ($2 IS NULL OR parent_unit_id = $2) AND ($3 IS NULL OR kind = $3) \
             AND ($4 IS NULL OR unit_id > $4) ORDER BY unit_id LIMIT $5",
        )
        .bind(tenant.as_uuid())
        .bind(filter.parent.map(|u| u.as_uuid()))
        .bind(filter.kind.map(UnitKind::code))
        .bind(filter.after.map(|u| u.as_uuid()))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(unit_from_row)
        .collect()
    }

    async fn rename_unit(
        &self,
        tenant: TenantId,
        unit: UnitId,
        name: &str,
        audit: &Audit,
    ) -> Result<Option<UnitRecord>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let renamed = sqlx::query(
            "UPDATE units SET name = $3 WHERE tenant_id = $1 AND unit_id = $2 RETURNING *",
        )
        .bind(tenant.as_uuid())
        .bind(unit.as_uuid())
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(unit_from_row)
        .transpose()?;
        if let Some(record) = &renamed {
            // The name is free text, so the record says only that it changed.
            append_audit(&mut *tx, tenant, &audit.clone().after(record)).await?;
            record_units(&mut tx, tenant, &[unit]).await?;
        }
        tx.commit().await?;
        Ok(renamed)
    }

    async fn move_unit<F>(
        &self,
        tenant: TenantId,
        unit: UnitId,
        parent: Option<UnitId>,
        audit: &Audit,
        events: F,
    ) -> Result<Moved, StoreError>
    where
        F: FnOnce(&UnitRecord) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        lock_tenant(&mut *tx, tenant).await?;
        let Some(before) = unit_in(&mut *tx, tenant, unit).await? else {
            return Ok(Moved::NotFound(unit));
        };
        let (parent_kind, ancestors) = match parent {
            Some(parent) => {
                let Some(record) = unit_in(&mut *tx, tenant, parent).await? else {
                    return Ok(Moved::NotFound(parent));
                };
                // The new parent and its ancestors, the facts the cycle rule reads.
                let ancestors: Vec<Uuid> = sqlx::query_scalar(
                    "WITH RECURSIVE chain (unit_id, depth) AS ( \
                       SELECT unit_id, 0 FROM units WHERE tenant_id = $1 AND unit_id = $2 \
                       UNION ALL \
                       SELECT u.parent_unit_id, c.depth + 1 FROM chain c \
                       JOIN units u ON u.tenant_id = $1 AND u.unit_id = c.unit_id \
                       WHERE u.parent_unit_id IS NOT NULL AND c.depth < 256) \
                     SELECT unit_id FROM chain",
                )
                .bind(tenant.as_uuid())
                .bind(parent.as_uuid())
                .fetch_all(&mut *tx)
                .await?;
                (
                    Some(record.kind),
                    ancestors.into_iter().map(UnitId::from_uuid).collect(),
                )
            }
            None => (None, Vec::new()),
        };
        match check_move(unit, before.kind, parent_kind, &ancestors) {
            Ok(()) => {}
            Err(UnitError::Cycle) => return Ok(Moved::Cycle),
            Err(refused) => return Ok(Moved::Refused(refused)),
        }
        sqlx::query("UPDATE units SET parent_unit_id = $3 WHERE tenant_id = $1 AND unit_id = $2")
            .bind(tenant.as_uuid())
            .bind(unit.as_uuid())
            .bind(parent.map(|u| u.as_uuid()))
            .execute(&mut *tx)
            .await?;
        outbox::append(&mut *tx, tenant, &events(&before)).await?;
        record_units(&mut tx, tenant, &[unit]).await?;
        let after = UnitRecord {
            parent,
            ..before.clone()
        };
        append_audit(&mut *tx, tenant, &audit.clone().changed(&before, &after)).await?;
        tx.commit().await?;
        Ok(Moved::Moved(before))
    }

    async fn delete_unit<F>(
        &self,
        tenant: TenantId,
        unit: UnitId,
        now: i64,
        audit: &Audit,
        events: F,
    ) -> Result<Deleted, StoreError>
    where
        F: FnOnce(&UnitRecord) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        lock_tenant(&mut *tx, tenant).await?;
        let Some(before) = unit_in(&mut *tx, tenant, unit).await? else {
            return Ok(Deleted::NotFound);
        };
        let children: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM units WHERE tenant_id = $1 AND parent_unit_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(unit.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
        let employees: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM employments WHERE tenant_id = $1 AND unit_id = $2 \
             AND (ends_at IS NULL OR ends_at > $3)",
        )
        .bind(tenant.as_uuid())
        .bind(unit.as_uuid())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let count = |n: i64| usize::try_from(n).unwrap_or(usize::MAX);
        match check_delete(before.kind, count(children), count(employees)) {
            Ok(()) => {}
            Err(UnitError::HasChildren) => return Ok(Deleted::HasChildren),
            Err(UnitError::HasEmployees) => return Ok(Deleted::HasEmployees),
            Err(refused) => return Ok(Deleted::Refused(refused)),
        }
        sqlx::query("DELETE FROM units WHERE tenant_id = $1 AND unit_id = $2")
            .bind(tenant.as_uuid())
            .bind(unit.as_uuid())
            .execute(&mut *tx)
            .await?;
        outbox::append(&mut *tx, tenant, &events(&before)).await?;
        record_units(&mut tx, tenant, &[unit]).await?;
        append_audit(&mut *tx, tenant, &audit.clone().before(&before)).await?;
        tx.commit().await?;
        Ok(Deleted::Deleted(before))
    }

    async fn guest_account(&self, tenant: TenantId) -> Result<Option<UnitRecord>, StoreError> {
        sqlx::query("SELECT * FROM units WHERE tenant_id = $1 AND kind = $2")
            .bind(tenant.as_uuid())
            .bind(UnitKind::GuestAccount.code())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(unit_from_row)
            .transpose()
    }
}

pub(super) async fn insert_unit<'c, E>(
    executor: E,
    tenant: TenantId,
    unit: &UnitRecord,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'c, Database = Db>,
{
    sqlx::query(
        "INSERT INTO units (tenant_id, unit_id, kind, name, parent_unit_id, external_id) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant.as_uuid())
    .bind(unit.id.as_uuid())
    .bind(unit.kind.code())
    .bind(&unit.name)
    .bind(unit.parent.map(|u| u.as_uuid()))
    .bind(&unit.external_id)
    .execute(executor)
    .await
    .map_err(duplicate)?;
    Ok(())
}

pub(super) async fn unit_in<'c, E>(
    executor: E,
    tenant: TenantId,
    unit: UnitId,
) -> Result<Option<UnitRecord>, StoreError>
where
    E: sqlx::Executor<'c, Database = Db>,
{
    sqlx::query("SELECT * FROM units WHERE tenant_id = $1 AND unit_id = $2")
        .bind(tenant.as_uuid())
        .bind(unit.as_uuid())
        .fetch_optional(executor)
        .await?
        .as_ref()
        .map(unit_from_row)
        .transpose()
}

/// Tells reporting what `units` now are: each one's record as this transaction holds it, a
/// removed one for each no longer there (see [`crate::directory_record`]).
pub(super) async fn record_units(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
    units: &[UnitId],
) -> Result<(), StoreError> {
    let mut records = Vec::with_capacity(units.len());
    for unit in units {
        records.push(match unit_in(&mut **tx, tenant, *unit).await? {
            Some(record) => directory_record::unit_of(&record),
            None => directory_record::unit_removed(*unit),
        });
    }
    let events = directory_record::directory_records(records, Vec::new());
    outbox::append(&mut **tx, tenant, &events).await?;
    Ok(())
}
