//! Bulk inserts on SQLite: multi-row `VALUES` in chunks (SQLite has no arrays, and parses a
//! few hundred rows' parameters cheaply).

use lms_kernel::TenantId;
use uuid::Uuid;

use super::audit::AuditRow;
use crate::store::EnrolmentRecord;

type Connection = sqlx::SqliteConnection;

/// Rows per multi-row insert: far below SQLite's limit on bound values.
const ROWS_PER_INSERT: usize = 500;

/// Inserts `records`, skipping each learner with an open enrolment on the course (the partial
/// unique index decides); answers the ids inserted.
pub(super) async fn insert_enrolments(
    connection: &mut Connection,
    tenant: TenantId,
    records: &[EnrolmentRecord],
) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut inserted = Vec::with_capacity(records.len());
    for chunk in records.chunks(ROWS_PER_INSERT) {
        let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO enrolments (tenant_id, enrolment_id, course_id, user_id, state, \
             enrolled_by, enrolled_at) ",
        );
        query.push_values(chunk, |mut row, record| {
            row.push_bind(tenant.as_uuid())
                .push_bind(record.id.as_uuid())
                .push_bind(record.course.as_uuid())
                .push_bind(record.user.as_uuid())
                .push_bind(record.enrolment.state.code())
                .push_bind(record.enrolled_by.clone())
                .push_bind(record.enrolment.enrolled_at);
        });
        query.push(" ON CONFLICT DO NOTHING RETURNING enrolment_id");
        inserted.extend(
            query
                .build_query_scalar::<Uuid>()
                .fetch_all(&mut *connection)
                .await?,
        );
    }
    Ok(inserted)
}

/// Inserts the audit `rows` of `tenant`, stamped `at`.
pub(super) async fn insert_audits(
    connection: &mut Connection,
    tenant: TenantId,
    at: i64,
    rows: &[AuditRow],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO audit_records (tenant_id, at, actor_user_id, actor_session_id, \
             actor_service, action, object_type, object_id, before_json, after_json) ",
        );
        query.push_values(chunk, |mut row, audit| {
            row.push_bind(tenant.as_uuid())
                .push_bind(at)
                .push_bind(audit.actor_user)
                .push_bind(audit.actor_session.clone())
                .push_bind(audit.actor_service.clone())
                .push_bind(audit.action)
                .push_bind(audit.object_type)
                .push_bind(audit.object_id.clone())
                .push_bind(audit.before.clone())
                .push_bind(audit.after.clone());
        });
        query.build().execute(&mut *connection).await?;
    }
    Ok(())
}
