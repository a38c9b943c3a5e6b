//! Re-sending people to reporting.

use lms_kernel::TenantId;
use lms_runtime::outbox::{self, AppendEvents};
use lms_runtime::transaction::begin_write;
use uuid::Uuid;

use super::Db;
use super::rows::user_from_row;
use crate::person_record::people_records;
use crate::store::sql::SqlStore;
use crate::store::{RecordStore, StoreError};

impl RecordStore for SqlStore<Db> {
    async fn tenant_ids(
        &self,
        after: Option<TenantId>,
        limit: i64,
    ) -> Result<Vec<TenantId>, StoreError> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT tenant_id FROM tenants WHERE ($1 IS NULL OR tenant_id > $1) \
             ORDER BY tenant_id LIMIT $2",
        )
        .bind(after.map(|t| t.as_uuid()))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(TenantId::from_uuid).collect())
    }

    async fn republish_people(
        &self,
        tenant: TenantId,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<(usize, Option<Uuid>), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        // Taken before reading: every change committed before is read, every later one is
        // appended after this chunk.
        tx.hold_order(tenant).await?;
        // Two statements rather than `$2 IS NULL OR user_id > $2`, which a generic plan would
        // read from the tenant's first person for every chunk.
        let rows = match after {
            None => {
                sqlx::query("SELECT * FROM users WHERE tenant_id = $1 ORDER BY user_id LIMIT $2")
                    .bind(tenant.as_uuid())
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?
            }
            Some(after) => {
                sqlx::query(
                    "SELECT * FROM users WHERE tenant_id = $1 AND user_id > $2 \
                     ORDER BY user_id LIMIT $3",
                )
                .bind(tenant.as_uuid())
                .bind(after)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?
            }
        };
        let users = rows
            .iter()
            .map(user_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        outbox::append(&mut *tx, tenant, &people_records(&users)).await?;
        tx.commit().await?;
        Ok((users.len(), users.last().map(|user| user.id.as_uuid())))
    }
}
