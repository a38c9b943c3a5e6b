//! Rows into records, for one backend's row type.

use lms_kernel::enrolment::Score;
use lms_kernel::{
    BookingId, BookingState, CompetencyCheckId, CourseId, Enrolment, EnrolmentId,
    EnrolmentRequestId, EventId, EventStatus, LessonId, UnitId, UserId, Window,
};
use sqlx::Row as _;
use uuid::Uuid;

use super::Db;
use crate::store::enrolments::{enrolment_state, request_state};
use crate::store::sql::{course_status, responsibility};
use crate::store::{
    BookingRecord, BookingTimes, CompetencyRecord, CourseRecord, EnrolmentRecord, EventRecord,
    LessonRecord, RequestRecord, ResponsibilityRecord, StoreError,
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

pub(super) fn event_from_row(row: &Row) -> Result<EventRecord, StoreError> {
    let capacity: i32 = row.try_get("capacity")?;
    let status: i16 = row.try_get("status")?;
    Ok(EventRecord {
        id: EventId::from_uuid(row.try_get("event_id")?),
        course: CourseId::from_uuid(row.try_get("course_id")?),
        title: row.try_get("title")?,
        place: row.try_get("place")?,
        starts_at: row.try_get("starts_at")?,
        ends_at: row.try_get("ends_at")?,
        capacity: u32::try_from(capacity)
            .map_err(|_| StoreError::Corrupt(format!("event capacity {capacity}")))?,
        requires_approval: row.try_get("requires_approval")?,
        waitlist: row.try_get("waitlist")?,
        status: EventStatus::from_code(status)
            .ok_or_else(|| StoreError::Corrupt(format!("event status {status}")))?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        cancelled_at: row.try_get("cancelled_at")?,
    })
}

pub(super) fn booking_from_row(row: &Row) -> Result<BookingRecord, StoreError> {
    let state: i16 = row.try_get("state")?;
    Ok(BookingRecord {
        id: BookingId::from_uuid(row.try_get("booking_id")?),
        event: EventId::from_uuid(row.try_get("event_id")?),
        user: UserId::from_uuid(row.try_get("user_id")?),
        state: BookingState::from_code(state)
            .ok_or_else(|| StoreError::Corrupt(format!("booking state {state}")))?,
        booked_by: row.try_get("booked_by")?,
        arrival: row.try_get("arrival")?,
        times: BookingTimes {
            requested: row.try_get("requested_at")?,
            booked: row.try_get("booked_at")?,
            declined: row.try_get("declined_at")?,
            waitlisted: row.try_get("waitlisted_at")?,
            cancelled: row.try_get("cancelled_at")?,
            attendance: row.try_get("attendance_at")?,
        },
    })
}

pub(super) fn competency_from_row(row: &Row) -> Result<CompetencyRecord, StoreError> {
    Ok(CompetencyRecord {
        id: CompetencyCheckId::from_uuid(row.try_get("check_id")?),
        course: CourseId::from_uuid(row.try_get("course_id")?),
        user: UserId::from_uuid(row.try_get("user_id")?),
        note: row.try_get("note")?,
        signed_off_by: row.try_get("signed_off_by")?,
        signed_off_at: row.try_get("signed_off_at")?,
    })
}
