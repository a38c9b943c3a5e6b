//! Every proto ⇄ record conversion and request parse of delegation, each refusal naming its
//! field. The generic parts (ids, references, timestamps) come from `lms_runtime::request`.

use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::delegation::v1::{
    Course, CourseStatus as PbCourseStatus, Lesson, Responsibility as PbResponsibility,
    ResponsibilityKind,
};
use lms_kernel::{CourseId, CourseStatus, EventId, Responsibility, Title, UserId, Window};
use lms_runtime::ApiError;
pub use lms_runtime::request::{ids, optional_id, reference, required_id, seconds, timestamp};
use uuid::Uuid;

use crate::error::{text_refused, window_refused};
use crate::store::{CourseRecord, LessonRecord, ResponsibilityRecord};

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
