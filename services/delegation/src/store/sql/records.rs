//! Re-sending records to reporting.

use lms_kernel::TenantId;
use lms_runtime::outbox::{self, AppendEvents};
use lms_runtime::transaction::begin_write;
use sqlx::Row as _;
use uuid::Uuid;

use super::Db;
use super::rows::{
    booking_from_row, competency_from_row, course_from_row, enrolment_from_row, event_from_row,
    request_from_row,
};
use crate::records;
use crate::store::sql::SqlStore;
use crate::store::{RecordKind, RecordStore, StoreError};

/// The table of a kind of record and its key.
fn table(kind: RecordKind) -> (&'static str, &'static str) {
    match kind {
        RecordKind::Courses => ("courses", "course_id"),
        RecordKind::Enrolments => ("enrolments", "enrolment_id"),
        RecordKind::Events => ("events", "event_id"),
        RecordKind::Bookings => ("bookings", "booking_id"),
        RecordKind::Competencies => ("competency_checks", "check_id"),
        RecordKind::Requests => ("enrolment_requests", "request_id"),
    }
}

/// Decodes every row with `decode`.
fn all<T>(
    rows: &[<Db as sqlx::Database>::Row],
    decode: fn(&<Db as sqlx::Database>::Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(decode).collect()
}

impl RecordStore for SqlStore<Db> {
    async fn republish(
        &self,
        tenant: TenantId,
        kind: RecordKind,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<(usize, Option<Uuid>), StoreError> {
        let (table, key) = table(kind);
        let mut tx = begin_write(&self.pool).await?;
        // Taken before reading: every change committed before is read, every later one is
        // appended after this chunk.
        tx.hold_order(tenant).await?;
        // Two statements rather than `$2 IS NULL OR key > $2`, which a generic plan would read
        // from the table's start for every chunk.
        let rows = match after {
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT * FROM {table} WHERE tenant_id = $1 ORDER BY {key} LIMIT $2"
                )))
                .bind(tenant.as_uuid())
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?
            }
            Some(after) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT * FROM {table} WHERE tenant_id = $1 AND {key} > $2 \
                     ORDER BY {key} LIMIT $3"
                )))
                .bind(tenant.as_uuid())
                .bind(after)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?
            }
        };
        let last: Option<Uuid> = rows.last().map(|row| row.try_get(key)).transpose()?;
        let events = match kind {
            RecordKind::Courses => all(&rows, course_from_row)?
                .iter()
                .map(|course| records::course_record(course, false))
                .collect(),
            RecordKind::Enrolments => records::enrolment_records(&all(&rows, enrolment_from_row)?),
            RecordKind::Events => all(&rows, event_from_row)?
                .iter()
                .map(records::event_record)
                .collect(),
            RecordKind::Bookings => records::booking_records(&all(&rows, booking_from_row)?),
            RecordKind::Competencies => all(&rows, competency_from_row)?
                .iter()
                .map(records::competency_record)
                .collect(),
            RecordKind::Requests => all(&rows, request_from_row)?
                .iter()
                .map(records::request_record)
                .collect(),
        };
        outbox::append(&mut *tx, tenant, &events).await?;
        tx.commit().await?;
        Ok((rows.len(), last))
    }
}
