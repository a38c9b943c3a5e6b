//! The audit trail's inserts, run by every audited write in its transaction: one record, or
//! many in few statements (a deployment enrols thousands at once).

use lms_kernel::TenantId;

use super::Db;
use crate::audit::Audit;
use crate::store::StoreError;

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

/// Rows per multi-row insert: far below either backend's limit on bound values.
const ROWS_PER_INSERT: usize = 500;

/// Writes every record of `audits` of `tenant` in the caller's transaction, stamped now.
pub(super) async fn append_audits(
    connection: &mut <Db as sqlx::Database>::Connection,
    tenant: TenantId,
    audits: &[Audit],
) -> Result<(), StoreError> {
    let json = |value: &Option<serde_json::Value>| value.as_ref().map(|v| v.to_string());
    let at = lms_runtime::clock::now();
    for chunk in audits.chunks(ROWS_PER_INSERT) {
        let mut query = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO audit_records (tenant_id, at, actor_user_id, actor_session_id, \
             actor_service, action, object_type, object_id, before_json, after_json) ",
        );
        query.push_values(chunk, |mut row, audit| {
            row.push_bind(tenant.as_uuid())
                .push_bind(at)
                .push_bind(audit.actor_user().map(|u| u.as_uuid()))
                .push_bind(audit.actor_session().map(str::to_owned))
                .push_bind(audit.actor_service().map(str::to_owned))
                .push_bind(audit.action)
                .push_bind(audit.object_type)
                .push_bind(audit.object_id.clone())
                .push_bind(json(&audit.before))
                .push_bind(json(&audit.after));
        });
        query.build().execute(&mut *connection).await?;
    }
    Ok(())
}
