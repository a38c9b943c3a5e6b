//! Responsibilities on courses and events.

use lms_kernel::course::check_course_tutor;
use lms_kernel::{CourseId, EventId, EventStatus, Responsibility, TenantId, UserId};
use lms_runtime::outbox;
use lms_runtime::transaction::begin_write;
use uuid::Uuid;

use super::audit::append_audit;
use super::rows::{course_from_row, responsibility_from_row};
use super::{Db, LOCK_ROWS};
use crate::audit::Audit;
use crate::store::sql::{SqlStore, responsibility_code};
use crate::store::{
    NewEvent, ResponsibilityFilter, ResponsibilityRecord, ResponsibilityStore, StoreError,
};

impl ResponsibilityStore for SqlStore<Db> {
    async fn give_responsibility(
        &self,
        tenant: TenantId,
        record: &ResponsibilityRecord,
        now: i64,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        // The object's lock serialises every change to its responsibilities, so two replicas
        // giving a course a tutor at once see each other: the second is refused.
        if record.kind == Responsibility::EventAdministrator {
            let event = EventId::from_uuid(record.object);
            let status: Option<i16> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT status FROM events WHERE tenant_id = $1 AND event_id = $2{LOCK_ROWS}"
            )))
            .bind(tenant.as_uuid())
            .bind(record.object)
            .fetch_optional(&mut *tx)
            .await?;
            match status.map(EventStatus::from_code) {
                None => {
                    return Err(StoreError::Missing {
                        what: "event",
                        id: event.to_string(),
                    });
                }
                Some(Some(EventStatus::Cancelled)) => {
                    return Err(StoreError::Refused {
                        reason: "EVENT_CANCELLED",
                        message: "the event is cancelled".into(),
                    });
                }
                Some(Some(EventStatus::Scheduled)) => {}
                Some(None) => return Err(StoreError::Corrupt("event status".into())),
            }
        } else {
            let course = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT * FROM courses WHERE tenant_id = $1 AND course_id = $2{LOCK_ROWS}"
            )))
            .bind(tenant.as_uuid())
            .bind(record.object)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(course_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::Missing {
                what: "course",
                id: CourseId::from_uuid(record.object).to_string(),
            })?;
            lms_kernel::course::check_changeable(course.status).map_err(|error| {
                StoreError::Refused {
                    reason: "ARCHIVED",
                    message: error.to_string(),
                }
            })?;
        }
        if record.kind == Responsibility::CourseTutor {
            let tutors: Vec<(UserId, lms_kernel::Window)> = sqlx::query(
                "SELECT * FROM responsibilities WHERE tenant_id = $1 AND object_id = $2 \
                 AND kind = $3",
            )
            .bind(tenant.as_uuid())
            .bind(record.object)
            .bind(responsibility_code(Responsibility::CourseTutor))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| responsibility_from_row(row).map(|r| (r.user, r.window)))
            .collect::<Result<_, _>>()?;
            check_course_tutor(record.user, record.window, &tutors, now).map_err(|taken| {
                StoreError::Refused {
                    reason: "COURSE_TUTOR_TAKEN",
                    message: taken.to_string(),
                }
            })?;
        }
        let before = sqlx::query(
            "SELECT * FROM responsibilities WHERE object_id = $1 AND kind = $2 AND user_id = $3",
        )
        .bind(record.object)
        .bind(responsibility_code(record.kind))
        .bind(record.user.as_uuid())
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(responsibility_from_row)
        .transpose()?;
        sqlx::query(
            "INSERT INTO responsibilities (tenant_id, object_id, kind, user_id, valid_from, \
             valid_until, assigned_by, assigned_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (object_id, kind, user_id) DO UPDATE SET \
             valid_from = excluded.valid_from, valid_until = excluded.valid_until, \
             assigned_by = excluded.assigned_by, assigned_at = excluded.assigned_at",
        )
        .bind(tenant.as_uuid())
        .bind(record.object)
        .bind(responsibility_code(record.kind))
        .bind(record.user.as_uuid())
        .bind(record.window.from)
        .bind(record.window.until)
        .bind(&record.assigned_by)
        .bind(record.assigned_at)
        .execute(&mut *tx)
        .await?;
        let mut audit = audit.clone().after(record);
        if let Some(before) = &before {
            audit = audit.before(before);
        }
        append_audit(&mut *tx, tenant, &audit).await?;
        outbox::append(&mut *tx, tenant, events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn take_responsibility(
        &self,
        tenant: TenantId,
        kind: Responsibility,
        object: Uuid,
        user: UserId,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<Option<ResponsibilityRecord>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let taken = sqlx::query(
            "DELETE FROM responsibilities WHERE tenant_id = $1 AND object_id = $2 AND kind = $3 \
             AND user_id = $4 RETURNING *",
        )
        .bind(tenant.as_uuid())
        .bind(object)
        .bind(responsibility_code(kind))
        .bind(user.as_uuid())
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(responsibility_from_row)
        .transpose()?;
        let Some(taken) = taken else {
            return Ok(None);
        };
        append_audit(&mut *tx, tenant, &audit.clone().before(&taken)).await?;
        outbox::append(&mut *tx, tenant, events).await?;
        tx.commit().await?;
        Ok(Some(taken))
    }

    async fn responsibilities(
        &self,
        tenant: TenantId,
        filter: ResponsibilityFilter,
    ) -> Result<Vec<ResponsibilityRecord>, StoreError> {
        sqlx::query(
            "SELECT * FROM responsibilities WHERE tenant_id = $1 \
             AND ($2 IS NULL OR object_id = $2) AND ($3 IS NULL OR user_id = $3) \
             ORDER BY object_id, kind, user_id LIMIT 10000",
        )
        .bind(tenant.as_uuid())
        .bind(filter.object)
        .bind(filter.user.map(|u| u.as_uuid()))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(responsibility_from_row)
        .collect()
    }

    async fn responsibilities_on(
        &self,
        tenant: TenantId,
        objects: &[Uuid],
    ) -> Result<Vec<ResponsibilityRecord>, StoreError> {
        if objects.is_empty() {
            return Ok(Vec::new());
        }
        let mut query =
            sqlx::QueryBuilder::<Db>::new("SELECT * FROM responsibilities WHERE tenant_id = ");
        query
            .push_bind(tenant.as_uuid())
            .push(" AND object_id IN (");
        let mut ids = query.separated(", ");
        for id in objects {
            ids.push_bind(*id);
        }
        query.push(") ORDER BY object_id, kind, user_id");
        query
            .build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(responsibility_from_row)
            .collect()
    }
}
