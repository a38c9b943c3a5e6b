//! How store failures and kernel refusals reach clients.

use lms_kernel::role::RoleError;
use lms_kernel::{Responsibility, ResponsibilityError};
use lms_runtime::ApiError;

use crate::store::StoreError;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::DuplicateName => ApiError::AlreadyExists {
                resource_type: "role",
                resource_name: "with that name".into(),
            },
            StoreError::VersionMismatch { expected } => ApiError::Aborted(format!(
                "the role changed since version {expected}; read it again"
            )),
            StoreError::RoleHeld { holders } => ApiError::FailedPrecondition {
                reason: "ROLE_HELD",
                message: format!(
                    "the role is still held by {holders} assignment(s); revoke them first"
                ),
            },
            StoreError::CourseTutorTaken => ApiError::FailedPrecondition {
                reason: "COURSE_TUTOR_TAKEN",
                message: "the course already has a Course Tutor".into(),
            },
            StoreError::Database(error) if is_outage(&error) => {
                tracing::warn!(%error, "store unavailable");
                ApiError::Unavailable {
                    dependency: "store",
                }
            }
            other => ApiError::internal(other),
        }
    }
}

/// Errors that mean "the store cannot be reached", as opposed to a failed statement.
fn is_outage(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_)
    )
}

/// A refused role definition: the field that breaks the kernel's role rules.
pub fn role_refusal(error: RoleError, name_field: &str, grants_field: &str) -> ApiError {
    match error {
        RoleError::Name => ApiError::invalid_field(name_field, "must be 1 to 100 characters"),
        RoleError::NoGrants => {
            ApiError::invalid_field(grants_field, "a role needs at least one grant")
        }
    }
}

/// A refused responsibility fact: the subject's roles do not allow it (the matrix), or the
/// course has its one Course Tutor.
pub fn responsibility_refusal(error: ResponsibilityError) -> ApiError {
    match error {
        ResponsibilityError::NotAllowedForRoles(responsibility) => ApiError::FailedPrecondition {
            reason: "RESPONSIBILITY_NOT_ALLOWED",
            message: format!(
                "none of the user's roles allows the {} responsibility ({})",
                responsibility,
                match responsibility {
                    Responsibility::CourseTutor => "COURSE_TUTOR",
                    Responsibility::CourseAdministrator => "COURSE_ADMINISTRATOR",
                    Responsibility::EventAdministrator => "EVENT_ADMINISTRATOR",
                    Responsibility::GroupAdministrator => "group ADMINISTRATOR",
                    Responsibility::GroupManager => "group MANAGER",
                }
            ),
        },
        ResponsibilityError::CourseTutorTaken => StoreError::CourseTutorTaken.into(),
    }
}
