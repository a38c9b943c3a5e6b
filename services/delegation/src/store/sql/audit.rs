//! The audit trail: its inserts, run by every audited write in its transaction (one record, or
//! many in few statements: a deployment enrols thousands at once), and its one read.

use lms_kernel::{TenantId, UserId};
use lms_runtime::audit::{AuditEntry, AuditFilter};
use sqlx::Row as _;

use super::Db;
use crate::audit::Audit;
use crate::store::sql::SqlStore;
use crate::store::{AuditStore, StoreError};

/// Writes `audit` of `tenant` in the caller's transaction, stamped now.
pub(super) async fn append_audit<'c, E>(
    executor: E,
    tenant: TenantId,
    audit: &Audit,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'c, Database = Db>,
{
    let json = |value: &Option<serde_json::Value>| value.as_ref().map(|v| v.to_string());
    sqlx::query(
        "INSERT INTO audit_records (tenant_id, at, actor_user_id, actor_session_id, \
         actor_service, action, object_type, object_id, before_json, after_json) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tenant.as_uuid())
    .bind(lms_runtime::clock::now())
    .bind(audit.actor_user().map(|u| u.as_uuid()))
    .bind(audit.actor_session())
    .bind(audit.actor_service())
    .bind(audit.action)
    .bind(audit.object_type)
    .bind(&audit.object_id)
    .bind(json(&audit.before))
    .bind(json(&audit.after))
    .execute(executor)
    .await?;
    Ok(())
}

/// Writes every record of `audits` of `tenant` in the caller's transaction, stamped now (a
/// deployment writes thousands at once: see `bulk`).
pub(super) async fn append_audits(
    connection: &mut <Db as sqlx::Database>::Connection,
    tenant: TenantId,
    audits: &[Audit],
) -> Result<(), StoreError> {
    if audits.is_empty() {
        return Ok(());
    }
    let json = |value: &Option<serde_json::Value>| value.as_ref().map(|v| v.to_string());
    let rows: Vec<AuditRow> = audits
        .iter()
        .map(|audit| AuditRow {
            actor_user: audit.actor_user().map(|u| u.as_uuid()),
            actor_session: audit.actor_session().map(str::to_owned),
            actor_service: audit.actor_service().map(str::to_owned),
            action: audit.action,
            object_type: audit.object_type,
            object_id: audit.object_id.clone(),
            before: json(&audit.before),
            after: json(&audit.after),
        })
        .collect();
    super::bulk::insert_audits(connection, tenant, lms_runtime::clock::now(), &rows).await?;
    Ok(())
}

/// An audit record as its columns store it.
pub(super) struct AuditRow {
    pub actor_user: Option<uuid::Uuid>,
    pub actor_session: Option<String>,
    pub actor_service: Option<String>,
    pub action: &'static str,
    pub object_type: &'static str,
    pub object_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl AuditStore for SqlStore<Db> {
    async fn audit_records(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut query =
            sqlx::QueryBuilder::<Db>::new("SELECT * FROM audit_records WHERE tenant_id = ");
        query.push_bind(tenant.as_uuid());
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
        rows.iter().map(entry_from_row).collect()
    }
}

fn entry_from_row(row: &<Db as sqlx::Database>::Row) -> Result<AuditEntry, StoreError> {
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
}
