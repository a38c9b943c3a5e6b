//! Every proto ⇄ record conversion and request parse of delegation, each refusal naming its
//! field. The generic parts (ids, references, timestamps) come from `lms_runtime::request`.

use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::delegation::v1::{
    Course, CourseStatus as PbCourseStatus, Enrolment, EnrolmentRequest, EnrolmentRequestStatus,
    EnrolmentState as PbEnrolmentState, Lesson, Progress as PbProgress,
    Responsibility as PbResponsibility, ResponsibilityKind,
};
use lms_kernel::enrolment::Score;
use lms_kernel::{
    CourseId, CourseStatus, EnrolmentState, EventId, Progress, RequestState, Responsibility, Title,
    UserId, Window,
};
use lms_runtime::ApiError;
pub use lms_runtime::request::{
    ids, mask_paths, optional_id, reference, required_id, seconds, timestamp,
};
use uuid::Uuid;

mod events;
mod grants;
mod purchases;

pub use events::{
    attendance, booking, booking_state, capacity, competency, event, note, place, schedule,
};
pub use grants::{content_grant, course_of, grant_window, granted_course, granted_view};
pub use purchases::{invitation, order};

use crate::error::{text_refused, window_refused};
use crate::store::{
    CatalogueRecord, CourseRecord, EnrolmentRecord, LessonRecord, RequestRecord,
    ResponsibilityRecord,
};

/// A course as the API shows it, with the responsibilities on it in effect at `now`.
pub fn course(record: &CourseRecord, duties: &[ResponsibilityRecord], now: i64) -> Course {
    let in_effect = |kind: Responsibility| {
        duties
            .iter()
            .filter(move |d| d.object == record.id.as_uuid() && d.kind == kind)
            .filter(move |d| d.window.contains(now))
            .map(|d| d.user.to_string())
    };
    Course {
        course_id: record.id.to_string(),
        title: record.title.clone(),
        description: record.description.clone(),
        unit_id: record.unit.map(|u| u.to_string()).unwrap_or_default(),
        enrolment_requires_approval: record.requires_approval,
        tutor_user_id: in_effect(Responsibility::CourseTutor)
            .next()
            .unwrap_or_default(),
        administrator_user_ids: in_effect(Responsibility::CourseAdministrator).collect(),
        status: match record.status {
            CourseStatus::Active => PbCourseStatus::Active,
            CourseStatus::Archived => PbCourseStatus::Archived,
        } as i32,
        created_at: Some(timestamp(record.created_at)),
        updated_at: Some(timestamp(record.updated_at)),
    }
}

/// A count as the API's `int32` fields carry it.
pub fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A catalogue as the API shows it.
pub fn catalogue(record: &CatalogueRecord) -> lms_api::delegation::v1::Catalogue {
    lms_api::delegation::v1::Catalogue {
        catalogue_id: record.id.to_string(),
        name: record.name.clone(),
        course_ids: record.courses.iter().map(ToString::to_string).collect(),
        learner_count: i32::try_from(record.learner_count).unwrap_or(i32::MAX),
        created_by: record.created_by.clone(),
        created_at: Some(timestamp(record.created_at)),
    }
}

/// A lesson as the API shows it.
pub fn lesson(record: &LessonRecord) -> Lesson {
    Lesson {
        lesson_id: record.id.to_string(),
        course_id: record.course.to_string(),
        title: record.title.clone(),
        position: i32::try_from(record.position).unwrap_or(i32::MAX),
    }
}

/// A responsibility as the API shows it.
pub fn responsibility(record: &ResponsibilityRecord) -> PbResponsibility {
    let (kind, object) = match record.kind {
        Responsibility::CourseTutor => (ResponsibilityKind::CourseTutor, ObjectType::Course),
        Responsibility::CourseAdministrator => {
            (ResponsibilityKind::CourseAdministrator, ObjectType::Course)
        }
        Responsibility::EventAdministrator => {
            (ResponsibilityKind::EventAdministrator, ObjectType::Event)
        }
        Responsibility::GroupAdministrator => {
            (ResponsibilityKind::GroupAdministrator, ObjectType::Group)
        }
        Responsibility::GroupManager => (ResponsibilityKind::GroupManager, ObjectType::Group),
    };
    PbResponsibility {
        kind: kind as i32,
        user_id: record.user.to_string(),
        object: Some(reference(object, record.object)),
        valid_from: record.window.from.map(timestamp),
        valid_until: record.window.until.map(timestamp),
    }
}

/// An enrolment as the API shows it.
pub fn enrolment(record: &EnrolmentRecord) -> Enrolment {
    let e = &record.enrolment;
    Enrolment {
        enrolment_id: record.id.to_string(),
        course_id: record.course.to_string(),
        user_id: record.user.to_string(),
        state: match e.state {
            EnrolmentState::Enrolled => PbEnrolmentState::Enrolled,
            EnrolmentState::InProgress => PbEnrolmentState::InProgress,
            EnrolmentState::Completed => PbEnrolmentState::Completed,
            EnrolmentState::Withdrawn => PbEnrolmentState::Withdrawn,
        } as i32,
        enrolled_at: Some(timestamp(e.enrolled_at)),
        started_at: e.started_at.map(timestamp),
        completed_at: e.completed_at.map(timestamp),
        withdrawn_at: e.withdrawn_at.map(timestamp),
        score: e.score.map(Score::value),
        enrolled_by: record.enrolled_by.clone(),
    }
}

fn request_status(state: RequestState) -> EnrolmentRequestStatus {
    match state {
        RequestState::Requested => EnrolmentRequestStatus::Requested,
        RequestState::Approved => EnrolmentRequestStatus::Approved,
        RequestState::Rejected => EnrolmentRequestStatus::Rejected,
    }
}

/// An enrolment request as the API shows it.
pub fn enrolment_request(record: &RequestRecord) -> EnrolmentRequest {
    EnrolmentRequest {
        request_id: record.id.to_string(),
        course_id: record.course.to_string(),
        user_id: record.user.to_string(),
        status: request_status(record.state) as i32,
        requested_at: Some(timestamp(record.requested_at)),
        decided_at: record.decided_at.map(timestamp),
        decided_by: record.decided_by.clone().unwrap_or_default(),
    }
}

/// The request state a listing asks for in `field`; `None` for every state.
pub fn request_state(field: &str, status: i32) -> Result<Option<RequestState>, ApiError> {
    match EnrolmentRequestStatus::try_from(status) {
        Ok(EnrolmentRequestStatus::Unspecified) => Ok(None),
        Ok(EnrolmentRequestStatus::Requested) => Ok(Some(RequestState::Requested)),
        Ok(EnrolmentRequestStatus::Approved) => Ok(Some(RequestState::Approved)),
        Ok(EnrolmentRequestStatus::Rejected) => Ok(Some(RequestState::Rejected)),
        Err(_) => Err(ApiError::invalid_field(field, "is not a request state")),
    }
}

/// A content player's report: `progress` and, for a completion, its `score`.
pub fn progress(progress: i32, score: Option<f32>) -> Result<Progress, ApiError> {
    let score = score
        .map(|s| {
            Score::parse(s).map_err(|error| ApiError::invalid_field("score", error.to_string()))
        })
        .transpose()?;
    match (PbProgress::try_from(progress), score) {
        (Ok(PbProgress::Started), None) => Ok(Progress::Started),
        (Ok(PbProgress::Started), Some(_)) => Err(ApiError::invalid_field(
            "score",
            "only a completion carries a score",
        )),
        (Ok(PbProgress::Completed), score) => Ok(Progress::Completed { score }),
        _ => Err(ApiError::invalid_field(
            "progress",
            "must be PROGRESS_STARTED or PROGRESS_COMPLETED",
        )),
    }
}

/// The longest attempt id a content player may send.
const ATTEMPT_ID_MAX: usize = 200;

/// A content player's attempt id: its own, kept as given, 1 to 200 printable characters.
pub fn attempt_id(text: &str) -> Result<&str, ApiError> {
    const FIELD: &str = "attempt_id";
    if text.is_empty() {
        return Err(ApiError::invalid_field(FIELD, "is required"));
    }
    if text.chars().count() > ATTEMPT_ID_MAX {
        return Err(ApiError::invalid_field(
            FIELD,
            format!("at most {ATTEMPT_ID_MAX} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(FIELD, "must be printable"));
    }
    Ok(text)
}

/// At most `max` ids in the repeated `field`, each parsed, without repeats (first kept).
pub fn distinct_ids<T: Copy + Eq + std::hash::Hash, E: std::fmt::Display>(
    field: &str,
    values: &[String],
    max: usize,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Vec<T>, ApiError> {
    if values.len() > max {
        return Err(ApiError::invalid_field(field, format!("at most {max}")));
    }
    let mut seen = std::collections::HashSet::new();
    Ok(ids(field, values, parse)?
        .into_iter()
        .filter(|id| seen.insert(*id))
        .collect())
}

/// A title in `field`.
pub fn title(field: &str, text: &str) -> Result<Title, ApiError> {
    Title::parse(text).map_err(|error| text_refused(field, error))
}

/// A description in `field`.
pub fn description(field: &str, text: &str) -> Result<String, ApiError> {
    lms_kernel::course::check_description(text).map_err(|error| text_refused(field, error))?;
    Ok(text.to_owned())
}

/// What a responsibility in a request names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duty {
    /// The duty.
    pub kind: Responsibility,
    /// The course or event.
    pub object: DutyObject,
    /// The holder.
    pub user: UserId,
    /// When it is in effect.
    pub window: Window,
}

/// The object of a responsibility.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DutyObject {
    /// A course.
    Course(CourseId),
    /// An event.
    Event(EventId),
}

impl DutyObject {
    /// Its id.
    pub fn id(self) -> Uuid {
        match self {
            DutyObject::Course(course) => course.as_uuid(),
            DutyObject::Event(event) => event.as_uuid(),
        }
    }
}

/// The responsibility of an Assign/RemoveResponsibility request, checked against the kind of
/// object each duty is on; the window is checked at `now` when `with_window`.
pub fn duty(
    given: Option<&PbResponsibility>,
    now: i64,
    with_window: bool,
) -> Result<Duty, ApiError> {
    let given = given.ok_or_else(|| ApiError::invalid_field("responsibility", "is required"))?;
    let kind = match ResponsibilityKind::try_from(given.kind) {
        Ok(ResponsibilityKind::CourseTutor) => Responsibility::CourseTutor,
        Ok(ResponsibilityKind::CourseAdministrator) => Responsibility::CourseAdministrator,
        Ok(ResponsibilityKind::EventAdministrator) => Responsibility::EventAdministrator,
        Ok(ResponsibilityKind::GroupAdministrator | ResponsibilityKind::GroupManager) => {
            return Err(ApiError::invalid_field(
                "responsibility.kind",
                "group responsibilities are identity's: GroupService.SetGroupManager and \
                 SetGroupAdministrator",
            ));
        }
        _ => {
            return Err(ApiError::invalid_field(
                "responsibility.kind",
                "must be a course or event responsibility",
            ));
        }
    };
    let object = object_of(kind, given.object.as_ref())?;
    let user = required_id("responsibility.user_id", &given.user_id, UserId::parse)?;
    let window = if with_window {
        Window::new(
            seconds(given.valid_from.as_ref()),
            seconds(given.valid_until.as_ref()),
            now,
        )
        .map_err(window_refused)?
    } else {
        Window::ALWAYS
    };
    Ok(Duty {
        kind,
        object,
        user,
        window,
    })
}

fn object_of(
    kind: Responsibility,
    object: Option<&ObjectReference>,
) -> Result<DutyObject, ApiError> {
    const FIELD: &str = "responsibility.object";
    let object = object.ok_or_else(|| ApiError::invalid_field(FIELD, "is required"))?;
    if !object.tenant_id.is_empty() {
        return Err(ApiError::invalid_field(
            "responsibility.object.tenant_id",
            "responsibilities are given in the caller's own tenant",
        ));
    }
    let id = "responsibility.object.id";
    match (kind, ObjectType::try_from(object.r#type)) {
        (Responsibility::EventAdministrator, Ok(ObjectType::Event)) => {
            required_id(id, &object.id, EventId::parse).map(DutyObject::Event)
        }
        (
            Responsibility::CourseTutor | Responsibility::CourseAdministrator,
            Ok(ObjectType::Course),
        ) => required_id(id, &object.id, CourseId::parse).map(DutyObject::Course),
        (Responsibility::EventAdministrator, _) => Err(ApiError::invalid_field(
            "responsibility.object.type",
            "an Event Administrator is given on an event",
        )),
        _ => Err(ApiError::invalid_field(
            "responsibility.object.type",
            "a Course Tutor or Course Administrator is given on a course",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(error: ApiError) -> String {
        match error {
            ApiError::InvalidArgument(violations) => violations[0].field.clone(),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    #[test]
    fn a_report_is_a_start_or_a_completion_with_a_percentage() {
        let started = PbProgress::Started as i32;
        let completed = PbProgress::Completed as i32;
        assert_eq!(progress(started, None).unwrap(), Progress::Started);
        assert_eq!(
            progress(completed, Some(64.0)).unwrap(),
            Progress::Completed {
                score: Some(Score::parse(64.0).unwrap())
            }
        );
        assert_eq!(
            progress(completed, None).unwrap(),
            Progress::Completed { score: None }
        );
        assert_eq!(
            field(progress(completed, Some(101.0)).unwrap_err()),
            "score"
        );
        assert_eq!(field(progress(started, Some(5.0)).unwrap_err()), "score");
        assert_eq!(field(progress(0, None).unwrap_err()), "progress");
    }

    #[test]
    fn attempt_ids_are_short_and_printable() {
        assert_eq!(
            attempt_id("scorm-42/attempt 3").unwrap(),
            "scorm-42/attempt 3"
        );
        for bad in [String::new(), "x".repeat(201), "a\nb".into()] {
            assert_eq!(field(attempt_id(&bad).unwrap_err()), "attempt_id");
        }
    }

    #[test]
    fn repeated_ids_are_named_by_index_capped_and_kept_once() {
        let a = UserId::generate().to_string();
        let values = [a.clone(), a.clone(), UserId::generate().to_string()];
        assert_eq!(
            distinct_ids("user_ids", &values, 5, UserId::parse)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            field(distinct_ids("user_ids", &values, 2, UserId::parse).unwrap_err()),
            "user_ids"
        );
        let broken = [a, "nope".into()];
        assert_eq!(
            field(distinct_ids("user_ids", &broken, 5, UserId::parse).unwrap_err()),
            "user_ids[1]"
        );
    }
}
