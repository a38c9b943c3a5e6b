//! Rows into records, for one backend's row type.

use lms_kernel::enrolment::Score;
use lms_kernel::{
    CourseId, Enrolment, EnrolmentId, EnrolmentRequestId, LessonId, UnitId, UserId, Window,
};
use sqlx::Row as _;
use uuid::Uuid;

use super::Db;
use crate::store::enrolments::{enrolment_state, request_state};
use crate::store::sql::{course_status, responsibility};
use crate::store::{
    CourseRecord, EnrolmentRecord, LessonRecord, RequestRecord, ResponsibilityRecord, StoreError,
};

type Row = <Db as sqlx::Database>::Row;

pub(super) fn course_from_row(row: &Row) -> Result<CourseRecord, StoreError> {
    Ok(CourseRecord {
        id: CourseId::from_uuid(row.try_get("course_id")?),
        unit: row
            .try_get::<Option<Uuid>, _>("unit_id")?
            .map(UnitId::from_uuid),
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        requires_approval: row.try_get("requires_approval")?,
        status: course_status(row.try_get("status")?)?,
        ever_enrolled: row.try_get("ever_enrolled")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn lesson_from_row(row: &Row) -> Result<LessonRecord, StoreError> {
    let position: i32 = row.try_get("position")?;
    Ok(LessonRecord {
        id: LessonId::from_uuid(row.try_get("lesson_id")?),
        course: CourseId::from_uuid(row.try_get("course_id")?),
        title: row.try_get("title")?,
        position: u32::try_from(position)
            .map_err(|_| StoreError::Corrupt(format!("lesson position {position}")))?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn responsibility_from_row(row: &Row) -> Result<ResponsibilityRecord, StoreError> {
    Ok(ResponsibilityRecord {
        kind: responsibility(row.try_get("kind")?)?,
        object: row.try_get("object_id")?,
        user: UserId::from_uuid(row.try_get("user_id")?),
        window: Window {
            from: row.try_get("valid_from")?,
            until: row.try_get("valid_until")?,
        },
        assigned_by: row.try_get("assigned_by")?,
        assigned_at: row.try_get("assigned_at")?,
    })
}

pub(super) fn enrolment_from_row(row: &Row) -> Result<EnrolmentRecord, StoreError> {
    let score = row
        .try_get::<Option<f64>, _>("score")?
        .map(|score| {
            // Stored from an f32 percentage, so the narrowing gives it back exactly.
            Score::parse(score as f32)
                .map_err(|_| StoreError::Corrupt(format!("enrolment score {score}")))
        })
        .transpose()?;
    Ok(EnrolmentRecord {
        id: EnrolmentId::from_uuid(row.try_get("enrolment_id")?),
        course: CourseId::from_uuid(row.try_get("course_id")?),
        user: UserId::from_uuid(row.try_get("user_id")?),
        enrolment: Enrolment {
            state: enrolment_state(row.try_get("state")?)?,
            enrolled_at: row.try_get("enrolled_at")?,
            started_at: row.try_get("started_at")?,
            completed_at: row.try_get("completed_at")?,
            withdrawn_at: row.try_get("withdrawn_at")?,
            score,
        },
        enrolled_by: row.try_get("enrolled_by")?,
    })
}

pub(super) fn request_from_row(row: &Row) -> Result<RequestRecord, StoreError> {
    Ok(RequestRecord {
        id: EnrolmentRequestId::from_uuid(row.try_get("request_id")?),
        course: CourseId::from_uuid(row.try_get("course_id")?),
        user: UserId::from_uuid(row.try_get("user_id")?),
        state: request_state(row.try_get("state")?)?,
        requested_at: row.try_get("requested_at")?,
        decided_at: row.try_get("decided_at")?,
        decided_by: row.try_get("decided_by")?,
    })
}
