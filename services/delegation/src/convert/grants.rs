//! Content grants: records into the API's messages, and the window a request asks for.

use lms_api::delegation::v1::{ContentGrant, GrantedCourse};
use lms_kernel::Window;
use lms_runtime::ApiError;
use lms_runtime::request::{seconds, timestamp};

use super::course;
use crate::store::{CourseRecord, GrantRecord};

/// A grant as the API shows it.
pub fn content_grant(record: &GrantRecord) -> ContentGrant {
    ContentGrant {
        grant_id: record.id.to_string(),
        client_tenant_id: record.client.to_string(),
        course_id: record.course.to_string(),
        valid_from: record.window.from.map(timestamp),
        valid_until: record.window.until.map(timestamp),
        granted_by: record.granted_by.clone(),
        granted_at: Some(timestamp(record.granted_at)),
        updated_at: Some(timestamp(record.updated_at)),
    }
}

/// A granted course as the client's people see it: the course without the master's people
/// (its tutor and administrators are none of the client's business).
pub fn granted_course(grant: &GrantRecord, record: &CourseRecord, now: i64) -> GrantedCourse {
    GrantedCourse {
        course: Some(granted_view(record, now)),
        owner_tenant_id: grant.master.to_string(),
        valid_until: grant.window.until.map(timestamp),
    }
}

/// A course of `owner` as another tenant's people name it to authorization (the caller's own
/// when `owner` is `None`).
pub fn course_of(
    owner: Option<lms_kernel::TenantId>,
    course: lms_kernel::CourseId,
) -> lms_api::common::v1::ObjectReference {
    lms_api::common::v1::ObjectReference {
        tenant_id: owner.map(|owner| owner.to_string()).unwrap_or_default(),
        ..super::reference(lms_api::common::v1::ObjectType::Course, course)
    }
}

/// A granted course as the client's people see it: nothing of the master's people or units
/// (its tutor, administrators and owning unit are none of the client's business).
pub fn granted_view(record: &CourseRecord, now: i64) -> lms_api::delegation::v1::Course {
    lms_api::delegation::v1::Course {
        unit_id: String::new(),
        ..course(record, &[], now)
    }
}

/// The window `valid_from`..`valid_until` a request asks for, checked at `now`: it must end
/// after it starts and after `now` (INVALID_ARGUMENT naming `valid_until`).
pub fn grant_window(
    valid_from: Option<&prost_types::Timestamp>,
    valid_until: Option<&prost_types::Timestamp>,
    now: i64,
) -> Result<Window, ApiError> {
    Window::new(seconds(valid_from), seconds(valid_until), now)
        .map_err(|error| ApiError::invalid_field("valid_until", error.to_string()))
}
