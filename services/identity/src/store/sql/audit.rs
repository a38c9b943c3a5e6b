//! The audit trail: the one insert every audited write runs in its transaction, and the read.

use lms_kernel::{TenantId, UserId};

use super::Db;
use lms_runtime::outbox;
use lms_runtime::transaction::begin_write;

use crate::audit::{Audit, AuditEntry, AuditFilter, on_behalf};
use crate::store::sql::SqlStore;
use crate::store::{AuditStore, NewEvent, StoreError};

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

    async fn record_audit(&self, tenant: TenantId, audit: &Audit) -> Result<(), StoreError> {
        append_audit(&self.pool, tenant, audit).await
    }

    async fn audit_records(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let (object_type, object_id) = filter.object.clone().unzip();
        let rows = sqlx::query(
            "SELECT * FROM audit_records WHERE tenant_id = $1 \
             AND ($2 IS NULL OR (object_type = $2 AND object_id = $3)) \
             AND ($4 IS NULL OR actor_user_id = $4) \
             AND ($5 IS NULL OR sequence < $5) \
             ORDER BY sequence DESC LIMIT $6",
        )
        .bind(tenant.as_uuid())
        .bind(object_type)
        .bind(object_id)
        .bind(filter.actor.map(|u| u.as_uuid()))
        .bind(filter.before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
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
