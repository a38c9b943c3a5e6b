//! Re-sending who holds which role to reporting.

use lms_kernel::TenantId;
use lms_runtime::outbox::{self, AppendEvents};
use uuid::Uuid;

use super::rows::assignment_from_row;
use super::{Db, begin_write};
use crate::records;
use crate::store::sql::SqlStore;
use crate::store::{RecordStore, StoreError};

impl RecordStore for SqlStore<Db> {
    async fn republish_roles(
        &self,
        tenant: TenantId,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<(usize, Option<Uuid>), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        // Taken before reading: every change committed before is read, every later one is
        // appended after this chunk.
        tx.hold_order(tenant).await?;
        // Two statements rather than `$2 IS NULL OR user_id > $2` (see identity's).
        let holders: Vec<Uuid> = match after {
            None => {
                sqlx::query_scalar(
                    "SELECT DISTINCT user_id FROM role_assignments WHERE tenant_id = $1 \
                     ORDER BY user_id LIMIT $2",
                )
                .bind(tenant.as_uuid())
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?
            }
            Some(after) => {
                sqlx::query_scalar(
                    "SELECT DISTINCT user_id FROM role_assignments WHERE tenant_id = $1 \
                     AND user_id > $2 ORDER BY user_id LIMIT $3",
                )
                .bind(tenant.as_uuid())
                .bind(after)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?
            }
        };
        let (Some(first), Some(last)) = (holders.first(), holders.last()) else {
            tx.commit().await?;
            return Ok((0, None));
        };
        let assignments = sqlx::query(
            "SELECT * FROM role_assignments WHERE tenant_id = $1 \
             AND user_id >= $2 AND user_id <= $3 ORDER BY user_id, assignment_id",
        )
        .bind(tenant.as_uuid())
        .bind(first)
        .bind(last)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(assignment_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        let held = assignments
            .chunk_by(|a, b| a.user == b.user)
            .map(|theirs| records::holder(theirs[0].user, theirs))
            .collect();
        outbox::append(&mut *tx, tenant, &records::role_records(held)).await?;
        tx.commit().await?;
        Ok((holders.len(), Some(*last)))
    }
}
