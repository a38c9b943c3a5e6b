//! The audit trail: the one insert every audited write runs in its transaction, and the read.

use lms_kernel::{TenantId, UserId};

use super::Db;
use super::rows::tenant_from_row;
use super::users::existing_user;
use lms_runtime::outbox;
use lms_runtime::transaction::begin_write;

use crate::audit::{Audit, AuditEntry, AuditFilter, on_behalf};
use crate::store::sql::{SqlStore, lock_tenant};
use crate::store::{AuditStore, NewEvent, StoreError, TenantRecord, UserRecord};

/// Writes `audit` in the caller's transaction, stamped now; `None` for a platform-wide change.
pub(super) async fn append_audit<'c, E>(
    executor: E,
    tenant: impl Into<Option<TenantId>>,
    audit: &Audit,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'c, Database = Db>,
{
    sqlx::query(
        "INSERT INTO audit_records (tenant_id, at, actor_user_id, actor_session_id, \
         actor_service, action, object_type, object_id, before_json, after_json) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tenant.into().map(|t| t.as_uuid()))
    .bind(lms_runtime::clock::now())
    .bind(audit.actor_user().map(|u| u.as_uuid()))
    .bind(audit.actor_session())
    .bind(audit.actor_service())
    .bind(audit.action)
    .bind(audit.object.kind)
    .bind(&audit.object.id)
    .bind(audit.before_json())
    .bind(audit.after_json())
    .execute(executor)
    .await?;
    Ok(())
}

impl AuditStore for SqlStore<Db> {
    async fn commit_audited(
        &self,
        tenant: TenantId,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        outbox::append(&mut *tx, tenant, &on_behalf(events, &audit.actor)).await?;
        append_audit(&mut *tx, tenant, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn commit_audited_if<F>(
        &self,
        tenant: TenantId,
        user: UserId,
        check: F,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<(), StoreError>
    where
        F: FnOnce(&TenantRecord, &UserRecord) -> Result<(), StoreError> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        lock_tenant(&mut *tx, tenant).await?;
        let found = sqlx::query("SELECT * FROM tenants WHERE tenant_id = $1")
            .bind(tenant.as_uuid())
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(tenant_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::Missing {
                what: "tenant",
                id: tenant.to_string(),
            })?;
        // A no-op write takes the user's row lock, as every change of a user does first.
        sqlx::query("UPDATE users SET status = status WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant.as_uuid())
            .bind(user.as_uuid())
            .execute(&mut *tx)
            .await?;
        let person = existing_user(&mut tx, tenant, user).await?;
        check(&found, &person)?;
        outbox::append(&mut *tx, tenant, &on_behalf(events, &audit.actor)).await?;
        append_audit(&mut *tx, tenant, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_audit(&self, tenant: TenantId, audit: &Audit) -> Result<(), StoreError> {
        append_audit(&self.pool, tenant, audit).await
    }

    async fn audit_records(
        &self,
        tenant: Option<TenantId>,
        filter: &AuditFilter,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut query = sqlx::QueryBuilder::<Db>::new("SELECT * FROM audit_records WHERE ");
        match tenant {
            Some(tenant) => query.push("tenant_id = ").push_bind(tenant.as_uuid()),
            None => query.push("tenant_id IS NULL"),
        };
        if let Some((kind, id)) = &filter.object {
            query.push(" AND object_type = ").push_bind(kind.clone());
            query.push(" AND object_id = ").push_bind(id.clone());
        }
        if let Some(actor) = filter.actor {
            query
                .push(" AND actor_user_id = ")
                .push_bind(actor.as_uuid());
        }
        if let Some(action) = &filter.action {
            query.push(" AND action = ").push_bind(action.clone());
        }
        if let Some(before) = filter.before {
            query.push(" AND sequence < ").push_bind(before);
        }
        query
            .push(" ORDER BY sequence DESC LIMIT ")
            .push_bind(limit);
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                use sqlx::Row;
                let actor_user: Option<uuid::Uuid> = row.try_get("actor_user_id")?;
                Ok(AuditEntry {
                    sequence: row.try_get("sequence")?,
                    at: row.try_get("at")?,
                    actor_user: actor_user.map(UserId::from_uuid),
                    actor_session: row.try_get("actor_session_id")?,
                    actor_service: row.try_get("actor_service")?,
                    action: row.try_get("action")?,
                    object_type: row.try_get("object_type")?,
                    object_id: row.try_get("object_id")?,
                    before_json: row.try_get("before_json")?,
                    after_json: row.try_get("after_json")?,
                })
            })
            .collect()
    }
}
