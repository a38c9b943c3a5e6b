//! The audit trail's one insert, run by every audited write in its transaction.

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
