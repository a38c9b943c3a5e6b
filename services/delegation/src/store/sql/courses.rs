//! Courses and their ordered lessons.

use crate::records::course_record;
use lms_kernel::course::{insert_position, move_position, removal};
use lms_kernel::{CourseId, CourseStatus, GroupId, LessonId, Removal, TenantId, UserId};
use lms_runtime::outbox;
use lms_runtime::transaction::begin_write;
use sqlx::Row as _;

use super::audit::append_audit;
use super::catalogues::{lock_catalogues, offered};
use super::rows::{course_from_row, lesson_from_row, responsibility_from_row};
use super::{Db, LOCK_ROWS};
use crate::audit::Audit;
use crate::store::sql::SqlStore;
use crate::store::{
    CourseChange, CourseFilter, CourseRecord, CourseStore, LessonRecord, NewEvent, Removed,
    StoreError,
};

type Connection = <Db as sqlx::Database>::Connection;

/// The course, locked until the transaction ends (lessons are numbered under this lock, and
/// enrolments are made under it).
pub(super) async fn locked_course(
    connection: &mut Connection,
    tenant: TenantId,
    course: CourseId,
) -> Result<Option<CourseRecord>, StoreError> {
    course_in(connection, tenant, course, true).await
}

/// `tenant`'s course `course`, locked until the transaction ends when `lock`.
pub(super) async fn course_in(
    connection: &mut Connection,
    tenant: TenantId,
    course: CourseId,
    lock: bool,
) -> Result<Option<CourseRecord>, StoreError> {
    let lock = if lock { LOCK_ROWS } else { "" };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM courses WHERE tenant_id = $1 AND course_id = $2{lock}"
    )))
    .bind(tenant.as_uuid())
    .bind(course.as_uuid())
    .fetch_optional(&mut *connection)
    .await?
    .as_ref()
    .map(course_from_row)
    .transpose()
}

/// The course of a lesson or enrolment being changed, locked: it must exist and be active.
pub(super) async fn changeable_course(
    connection: &mut Connection,
    tenant: TenantId,
    course: CourseId,
) -> Result<CourseRecord, StoreError> {
    let record = locked_course(connection, tenant, course)
        .await?
        .ok_or_else(|| StoreError::Missing {
            what: "course",
            id: course.to_string(),
        })?;
    lms_kernel::course::check_changeable(record.status).map_err(archived)?;
    Ok(record)
}

pub(super) fn archived(error: lms_kernel::CourseError) -> StoreError {
    StoreError::Refused {
        reason: "ARCHIVED",
        message: error.to_string(),
    }
}

async fn lesson_in(
    connection: &mut Connection,
    tenant: TenantId,
    lesson: LessonId,
) -> Result<Option<LessonRecord>, StoreError> {
    sqlx::query("SELECT * FROM lessons WHERE tenant_id = $1 AND lesson_id = $2")
        .bind(tenant.as_uuid())
        .bind(lesson.as_uuid())
        .fetch_optional(&mut *connection)
        .await?
        .as_ref()
        .map(lesson_from_row)
        .transpose()
}

/// A lesson read under its course's lock (the course must be active), so its position is the
/// one the lessons are numbered by until the transaction ends: the lesson is read once to learn
/// its course, and again once the course is locked.
async fn locked_lesson(
    connection: &mut Connection,
    tenant: TenantId,
    lesson: LessonId,
) -> Result<Option<LessonRecord>, StoreError> {
    let Some(unlocked) = lesson_in(connection, tenant, lesson).await? else {
        return Ok(None);
    };
    changeable_course(connection, tenant, unlocked.course).await?;
    lesson_in(connection, tenant, lesson).await
}

async fn lessons_in(
    connection: &mut Connection,
    tenant: TenantId,
    course: CourseId,
) -> Result<Vec<LessonRecord>, StoreError> {
    sqlx::query(
        "SELECT * FROM lessons WHERE tenant_id = $1 AND course_id = $2 \
         ORDER BY position, lesson_id",
    )
    .bind(tenant.as_uuid())
    .bind(course.as_uuid())
    .fetch_all(&mut *connection)
    .await?
    .iter()
    .map(lesson_from_row)
    .collect()
}

/// Moves the lessons of `course` at positions `from..=to` by `by` (+1 or -1).
async fn shift_lessons(
    connection: &mut Connection,
    course: CourseId,
    from: u32,
    to: u32,
    by: i32,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE lessons SET position = position + $4 \
         WHERE course_id = $1 AND position >= $2 AND position <= $3",
    )
    .bind(course.as_uuid())
    .bind(i64::from(from))
    .bind(i64::from(to))
    .bind(by)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

impl CourseStore for SqlStore<Db> {
    async fn create_course(
        &self,
        tenant: TenantId,
        course: &CourseRecord,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO courses (tenant_id, course_id, unit_id, title, description, \
             requires_approval, status, ever_enrolled, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(tenant.as_uuid())
        .bind(course.id.as_uuid())
        .bind(course.unit.map(|u| u.as_uuid()))
        .bind(&course.title)
        .bind(&course.description)
        .bind(course.requires_approval)
        .bind(course.status.code())
        .bind(course.ever_enrolled)
        .bind(&course.created_by)
        .bind(course.created_at)
        .bind(course.updated_at)
        .execute(&mut *tx)
        .await?;
        append_audit(&mut *tx, tenant, &audit.clone().after(course)).await?;
        outbox::append(&mut *tx, tenant, events).await?;
        outbox::append(&mut *tx, tenant, &[course_record(course, false)]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn course(
        &self,
        tenant: TenantId,
        course: CourseId,
    ) -> Result<Option<CourseRecord>, StoreError> {
        sqlx::query("SELECT * FROM courses WHERE tenant_id = $1 AND course_id = $2")
            .bind(tenant.as_uuid())
            .bind(course.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(course_from_row)
            .transpose()
    }

    async fn courses(
        &self,
        tenant: TenantId,
        filter: &CourseFilter,
        limit: i64,
    ) -> Result<Vec<CourseRecord>, StoreError> {
        if filter.only.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::<Db>::new("SELECT * FROM courses WHERE tenant_id = ");
        query.push_bind(tenant.as_uuid());
        if let Some(after) = filter.after {
            query.push(" AND course_id > ").push_bind(after.as_uuid());
        }
        if !filter.include_archived {
            query
                .push(" AND status = ")
                .push_bind(CourseStatus::Active.code());
        }
        if let Some(only) = &filter.only {
            query.push(" AND course_id IN (");
            let mut ids = query.separated(", ");
            for id in only {
                ids.push_bind(id.as_uuid());
            }
            query.push(")");
            // Ordered and cut here, not by the database: with ORDER BY and LIMIT, PostgreSQL
            // walks the tenant's courses in id order looking for these few (10,000 rows for a
            // tutor's 50) instead of fetching each by its key.
            let mut courses = query
                .build()
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(course_from_row)
                .collect::<Result<Vec<_>, _>>()?;
            courses.sort_by_key(|course| course.id);
            courses.truncate(usize::try_from(limit).unwrap_or(0));
            return Ok(courses);
        }
        query.push(" ORDER BY course_id LIMIT ").push_bind(limit);
        query
            .build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(course_from_row)
            .collect()
    }

    async fn update_course(
        &self,
        tenant: TenantId,
        course: CourseId,
        change: &CourseChange,
        now: i64,
        audit: &Audit,
    ) -> Result<Option<CourseRecord>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let Some(before) = locked_course(&mut tx, tenant, course).await? else {
            return Ok(None);
        };
        lms_kernel::course::check_changeable(before.status).map_err(archived)?;
        let mut after = before.clone();
        if let Some(title) = &change.title {
            after.title.clone_from(title);
        }
        if let Some(description) = &change.description {
            after.description.clone_from(description);
        }
        if let Some(requires_approval) = change.requires_approval {
            after.requires_approval = requires_approval;
        }
        after.updated_at = now;
        sqlx::query(
            "UPDATE courses SET title = $3, description = $4, requires_approval = $5, \
             updated_at = $6 WHERE tenant_id = $1 AND course_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(course.as_uuid())
        .bind(&after.title)
        .bind(&after.description)
        .bind(after.requires_approval)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        append_audit(
            &mut *tx,
            tenant,
            &audit.clone().before(&before).after(&after),
        )
        .await?;
        outbox::append(&mut *tx, tenant, &[course_record(&after, false)]).await?;
        tx.commit().await?;
        Ok(Some(after))
    }

    async fn remove_course<F>(
        &self,
        tenant: TenantId,
        course: CourseId,
        now: i64,
        events: F,
        audit: &Audit,
    ) -> Result<Option<Removed>, StoreError>
    where
        F: FnOnce(&Removed) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        // Only an erasure changes catalogues (an archived course stays in them), and it needs
        // the tenant's catalogue lock before the course's, as every catalogue write takes them.
        // A course someone enrolled on is never erased, so only the others wait for it.
        let ever_enrolled: Option<bool> = sqlx::query_scalar(
            "SELECT ever_enrolled FROM courses WHERE tenant_id = $1 AND course_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(course.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        if ever_enrolled == Some(false) {
            lock_catalogues(&mut tx, tenant).await?;
        }
        let Some(record) = locked_course(&mut tx, tenant, course).await? else {
            return Ok(None);
        };
        let how = removal(record.status, record.ever_enrolled).map_err(archived)?;
        if how == Removal::Erase {
            // A client tenant's people see a granted course: it goes only once nobody does.
            let grants: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM content_grants WHERE course_id = $1")
                    .bind(course.as_uuid())
                    .fetch_one(&mut *tx)
                    .await?;
            if grants > 0 {
                return Err(StoreError::Refused {
                    reason: "COURSE_GRANTED",
                    message: format!(
                        "the course is granted to {grants} client tenant(s): revoke the grants \
                         first"
                    ),
                });
            }
        }
        let mut offered_to = Vec::new();
        let lessons = lessons_in(&mut tx, tenant, course).await?;
        let responsibilities = sqlx::query(
            "SELECT * FROM responsibilities WHERE tenant_id = $1 AND object_id = $2 \
             ORDER BY kind, user_id",
        )
        .bind(tenant.as_uuid())
        .bind(course.as_uuid())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(responsibility_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        let mut audit = audit.clone().before(&record);
        match how {
            Removal::Erase => {
                offered_to = offered(&mut tx, tenant, course)
                    .await?
                    .into_iter()
                    .collect();
                sqlx::query(
                    "DELETE FROM catalogue_courses WHERE tenant_id = $1 AND course_id = $2",
                )
                .bind(tenant.as_uuid())
                .bind(course.as_uuid())
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM responsibilities WHERE tenant_id = $1 AND object_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(course.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                // Lessons and their assignments go with the course (ON DELETE CASCADE).
                sqlx::query("DELETE FROM courses WHERE tenant_id = $1 AND course_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(course.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                outbox::append(&mut *tx, tenant, &[course_record(&record, true)]).await?;
            }
            Removal::Archive => {
                sqlx::query(
                    "UPDATE courses SET status = $3, updated_at = $4 \
                     WHERE tenant_id = $1 AND course_id = $2",
                )
                .bind(tenant.as_uuid())
                .bind(course.as_uuid())
                .bind(CourseStatus::Archived.code())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let archived = CourseRecord {
                    status: CourseStatus::Archived,
                    updated_at: now,
                    ..record.clone()
                };
                outbox::append(&mut *tx, tenant, &[course_record(&archived, false)]).await?;
                audit = audit.after(&archived);
            }
        }
        if how == Removal::Archive {
            audit.action = "course.archived";
        }
        let removed = Removed {
            removal: how,
            course: record,
            lessons,
            responsibilities,
            offered_to,
        };
        append_audit(&mut *tx, tenant, &audit).await?;
        outbox::append(&mut *tx, tenant, &events(&removed)).await?;
        tx.commit().await?;
        Ok(Some(removed))
    }

    async fn create_lesson(
        &self,
        tenant: TenantId,
        lesson: &LessonRecord,
        position: Option<u32>,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<LessonRecord, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        changeable_course(&mut tx, tenant, lesson.course).await?;
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM lessons WHERE course_id = $1")
            .bind(lesson.course.as_uuid())
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let count = u32::try_from(count).unwrap_or(u32::MAX - 1);
        let at = insert_position(position, count).map_err(|error| StoreError::Invalid {
            field: "position",
            message: error.to_string(),
        })?;
        shift_lessons(&mut tx, lesson.course, at, u32::MAX - 1, 1).await?;
        let stored = LessonRecord {
            position: at,
            ..lesson.clone()
        };
        sqlx::query(
            "INSERT INTO lessons (tenant_id, lesson_id, course_id, title, position, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant.as_uuid())
        .bind(stored.id.as_uuid())
        .bind(stored.course.as_uuid())
        .bind(&stored.title)
        .bind(i64::from(stored.position))
        .bind(stored.created_at)
        .execute(&mut *tx)
        .await?;
        append_audit(&mut *tx, tenant, &audit.clone().after(&stored)).await?;
        outbox::append(&mut *tx, tenant, events).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn lesson(
        &self,
        tenant: TenantId,
        lesson: LessonId,
    ) -> Result<Option<LessonRecord>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        lesson_in(&mut connection, tenant, lesson).await
    }

    async fn lessons(
        &self,
        tenant: TenantId,
        course: CourseId,
    ) -> Result<Vec<LessonRecord>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        lessons_in(&mut connection, tenant, course).await
    }

    async fn update_lesson(
        &self,
        tenant: TenantId,
        lesson: LessonId,
        title: Option<&str>,
        position: Option<u32>,
        audit: &Audit,
    ) -> Result<Option<LessonRecord>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let Some(before) = locked_lesson(&mut tx, tenant, lesson).await? else {
            return Ok(None);
        };
        let mut after = before.clone();
        if let Some(title) = title {
            title.clone_into(&mut after.title);
        }
        if let Some(asked) = position {
            let count = u32::try_from(lessons_in(&mut tx, tenant, before.course).await?.len())
                .unwrap_or(u32::MAX);
            let to = move_position(asked, count).map_err(|error| StoreError::Invalid {
                field: "lesson.position",
                message: error.to_string(),
            })?;
            let from = before.position;
            if to < from {
                shift_lessons(&mut tx, before.course, to, from - 1, 1).await?;
            } else if to > from {
                shift_lessons(&mut tx, before.course, from + 1, to, -1).await?;
            }
            after.position = to;
        }
        sqlx::query("UPDATE lessons SET title = $2, position = $3 WHERE lesson_id = $1")
            .bind(lesson.as_uuid())
            .bind(&after.title)
            .bind(i64::from(after.position))
            .execute(&mut *tx)
            .await?;
        append_audit(
            &mut *tx,
            tenant,
            &audit.clone().before(&before).after(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(after))
    }

    async fn delete_lesson(
        &self,
        tenant: TenantId,
        lesson: LessonId,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<Option<LessonRecord>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let Some(record) = locked_lesson(&mut tx, tenant, lesson).await? else {
            return Ok(None);
        };
        sqlx::query("DELETE FROM lessons WHERE lesson_id = $1")
            .bind(lesson.as_uuid())
            .execute(&mut *tx)
            .await?;
        shift_lessons(
            &mut tx,
            record.course,
            record.position + 1,
            u32::MAX - 1,
            -1,
        )
        .await?;
        append_audit(&mut *tx, tenant, &audit.clone().before(&record)).await?;
        outbox::append(&mut *tx, tenant, events).await?;
        tx.commit().await?;
        Ok(Some(record))
    }

    async fn assign_lesson(
        &self,
        tenant: TenantId,
        lesson: LessonId,
        users: &[UserId],
        groups: &[GroupId],
        audit: &Audit,
    ) -> Result<u32, StoreError> {
        const USER: i16 = 3;
        const GROUP: i16 = 4;
        let mut tx = begin_write(&self.pool).await?;
        let record =
            lesson_in(&mut tx, tenant, lesson)
                .await?
                .ok_or_else(|| StoreError::Missing {
                    what: "lesson",
                    id: lesson.to_string(),
                })?;
        changeable_course(&mut tx, tenant, record.course).await?;
        let subjects = users
            .iter()
            .map(|u| (USER, u.as_uuid()))
            .chain(groups.iter().map(|g| (GROUP, g.as_uuid())));
        let now = lms_runtime::clock::now();
        let mut assigned = 0;
        for (kind, id) in subjects {
            let done = sqlx::query(
                "INSERT INTO lesson_assignments (tenant_id, lesson_id, subject_type, subject_id, \
                 assigned_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(tenant.as_uuid())
            .bind(lesson.as_uuid())
            .bind(kind)
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            assigned += u32::try_from(done.rows_affected()).unwrap_or(0);
        }
        if assigned > 0 {
            append_audit(&mut *tx, tenant, audit).await?;
        }
        tx.commit().await?;
        Ok(assigned)
    }
}
