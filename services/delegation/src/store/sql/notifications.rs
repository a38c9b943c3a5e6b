//! Notifications: written in the transaction of the change they report, read and acknowledged
//! here.

use lms_kernel::{CourseId, EventId, Responsibility, TenantId, UserId};
use lms_runtime::transaction::begin_write;
use sqlx::Row as _;
use uuid::Uuid;

use super::Db;
use crate::notices::{About, DutyHolders, NoticeKind, QueuedNotice, recipients};
use crate::store::sql::{SqlStore, responsibility_code};
use crate::store::{NotificationFilter, NotificationRecord, NotificationStore, StoreError};

type Connection = <Db as sqlx::Database>::Connection;
type Row = <Db as sqlx::Database>::Row;

/// The Course Tutor of `course` and the Event Administrators of `event` in effect at `now`,
/// read in the change's transaction.
pub(super) async fn duty_holders(
    connection: &mut Connection,
    tenant: TenantId,
    course: CourseId,
    event: Option<EventId>,
    now: i64,
) -> Result<DutyHolders, StoreError> {
    let rows: Vec<(Uuid, i16)> = sqlx::query_as(
        "SELECT user_id, kind FROM responsibilities WHERE tenant_id = $1 \
         AND ((object_id = $2 AND kind = $3) OR (object_id = $4 AND kind = $5)) \
         AND (valid_from IS NULL OR valid_from <= $6) \
         AND (valid_until IS NULL OR valid_until > $6) ORDER BY user_id",
    )
    .bind(tenant.as_uuid())
    .bind(course.as_uuid())
    .bind(responsibility_code(Responsibility::CourseTutor))
    .bind(event.map(|e| e.as_uuid()))
    .bind(responsibility_code(Responsibility::EventAdministrator))
    .bind(now)
    .fetch_all(&mut *connection)
    .await?;
    let mut holders = DutyHolders::default();
    for (user, kind) in rows {
        let user = UserId::from_uuid(user);
        if kind == responsibility_code(Responsibility::CourseTutor) {
            holders.tutors.push(user);
        } else {
            holders.event_administrators.push(user);
        }
    }
    Ok(holders)
}

/// Writes `kind` about `about` for each person it concerns, in the caller's transaction.
pub(super) async fn notify(
    connection: &mut Connection,
    tenant: TenantId,
    kind: NoticeKind,
    about: About,
) -> Result<(), StoreError> {
    let duties = match kind.reaches_duty_holders() {
        true => duty_holders(connection, tenant, about.course, about.event, about.at).await?,
        false => DutyHolders::default(),
    };
    for recipient in recipients(kind, about.learner, &duties) {
        sqlx::query(
            "INSERT INTO notifications (tenant_id, notification_id, recipient_id, kind, \
             learner_id, course_id, event_id, object_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tenant.as_uuid())
        .bind(Uuid::now_v7())
        .bind(recipient.as_uuid())
        .bind(kind.code())
        .bind(about.learner.as_uuid())
        .bind(about.course.as_uuid())
        .bind(about.event.map(|e| e.as_uuid()))
        .bind(about.object)
        .bind(about.at)
        .execute(&mut *connection)
        .await?;
    }
    if kind.reaches_named_managers() {
        sqlx::query(
            "INSERT INTO notice_fan_out (tenant_id, fan_out_id, kind, learner_id, course_id, \
             event_id, object_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant.as_uuid())
        .bind(Uuid::now_v7())
        .bind(kind.code())
        .bind(about.learner.as_uuid())
        .bind(about.course.as_uuid())
        .bind(about.event.map(|e| e.as_uuid()))
        .bind(about.object)
        .bind(about.at)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// Writes one notification of `kind` about `about` for `recipient`, unless the same notice
/// reached them already.
async fn notify_one(
    connection: &mut Connection,
    tenant: TenantId,
    kind: NoticeKind,
    about: &About,
    recipient: UserId,
) -> Result<u64, StoreError> {
    let written = sqlx::query(
        "INSERT INTO notifications (tenant_id, notification_id, recipient_id, kind, \
         learner_id, course_id, event_id, object_id, created_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE NOT EXISTS ( \
           SELECT 1 FROM notifications WHERE tenant_id = $1 AND recipient_id = $3 \
           AND kind = $4 AND object_id = $8 AND created_at = $9)",
    )
    .bind(tenant.as_uuid())
    .bind(Uuid::now_v7())
    .bind(recipient.as_uuid())
    .bind(kind.code())
    .bind(about.learner.as_uuid())
    .bind(about.course.as_uuid())
    .bind(about.event.map(|e| e.as_uuid()))
    .bind(about.object)
    .bind(about.at)
    .execute(&mut *connection)
    .await?
    .rows_affected();
    Ok(written)
}

fn fan_out_from_row(row: &Row) -> Result<QueuedNotice, StoreError> {
    let kind: i16 = row.try_get("kind")?;
    let attempts: i32 = row.try_get("attempts")?;
    Ok(QueuedNotice {
        id: row.try_get("fan_out_id")?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        tenant: TenantId::from_uuid(row.try_get("tenant_id")?),
        kind: NoticeKind::from_code(kind)
            .ok_or_else(|| StoreError::Corrupt(format!("notification kind {kind}")))?,
        about: About {
            learner: UserId::from_uuid(row.try_get("learner_id")?),
            course: CourseId::from_uuid(row.try_get("course_id")?),
            event: row
                .try_get::<Option<Uuid>, _>("event_id")?
                .map(EventId::from_uuid),
            object: row.try_get("object_id")?,
            at: row.try_get("created_at")?,
        },
    })
}

fn notification_from_row(row: &Row) -> Result<NotificationRecord, StoreError> {
    let kind: i16 = row.try_get("kind")?;
    Ok(NotificationRecord {
        id: row.try_get("notification_id")?,
        recipient: UserId::from_uuid(row.try_get("recipient_id")?),
        kind: NoticeKind::from_code(kind)
            .ok_or_else(|| StoreError::Corrupt(format!("notification kind {kind}")))?,
        learner: UserId::from_uuid(row.try_get("learner_id")?),
        course: CourseId::from_uuid(row.try_get("course_id")?),
        event: row
            .try_get::<Option<Uuid>, _>("event_id")?
            .map(EventId::from_uuid),
        object: row.try_get("object_id")?,
        created_at: row.try_get("created_at")?,
    })
}

impl NotificationStore for SqlStore<Db> {
    async fn notifications(
        &self,
        tenant: TenantId,
        filter: NotificationFilter,
        limit: i64,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        sqlx::query(
            "SELECT * FROM notifications WHERE tenant_id = $1 AND acknowledged_at IS NULL \
             AND ($2 IS NULL OR recipient_id = $2) AND ($3 IS NULL OR notification_id > $3) \
             ORDER BY notification_id LIMIT $4",
        )
        .bind(tenant.as_uuid())
        .bind(filter.recipient.map(|u| u.as_uuid()))
        .bind(filter.after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(notification_from_row)
        .collect()
    }

    async fn acknowledge(
        &self,
        tenant: TenantId,
        recipient: Option<UserId>,
        ids: &[Uuid],
        at: i64,
    ) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut query =
            sqlx::QueryBuilder::<Db>::new("UPDATE notifications SET acknowledged_at = ");
        query
            .push_bind(at)
            .push(" WHERE tenant_id = ")
            .push_bind(tenant.as_uuid())
            .push(" AND acknowledged_at IS NULL");
        if let Some(recipient) = recipient {
            query
                .push(" AND recipient_id = ")
                .push_bind(recipient.as_uuid());
        }
        query.push(" AND notification_id IN (");
        let mut list = query.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        query.push(")");
        Ok(query.build().execute(&self.pool).await?.rows_affected())
    }

    async fn fan_out_queue(&self, limit: i64, now: i64) -> Result<Vec<QueuedNotice>, StoreError> {
        sqlx::query(
            "SELECT * FROM notice_fan_out WHERE not_before <= $1 ORDER BY fan_out_id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(fan_out_from_row)
        .collect()
    }

    async fn postpone(&self, notices: &[(QueuedNotice, i64)]) -> Result<(), StoreError> {
        if notices.is_empty() {
            return Ok(());
        }
        let mut tx = begin_write(&self.pool).await?;
        for (notice, not_before) in notices {
            sqlx::query(
                "UPDATE notice_fan_out SET attempts = attempts + 1, not_before = $3 \
                 WHERE tenant_id = $1 AND fan_out_id = $2",
            )
            .bind(notice.tenant.as_uuid())
            .bind(notice.id)
            .bind(not_before)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn fan_out(&self, taken: &[(QueuedNotice, Vec<UserId>)]) -> Result<u64, StoreError> {
        // Nothing to write takes no write lock (SQLite's is the whole database).
        if taken.is_empty() {
            return Ok(0);
        }
        let mut tx = begin_write(&self.pool).await?;
        let mut written = 0;
        for (notice, managers) in taken {
            // Whoever deletes the row copies the notice: two replicas never both do.
            let claimed =
                sqlx::query("DELETE FROM notice_fan_out WHERE tenant_id = $1 AND fan_out_id = $2")
                    .bind(notice.tenant.as_uuid())
                    .bind(notice.id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            if claimed == 0 {
                continue;
            }
            for manager in managers.iter().filter(|m| **m != notice.about.learner) {
                written += notify_one(&mut tx, notice.tenant, notice.kind, &notice.about, *manager)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(written)
    }
}
