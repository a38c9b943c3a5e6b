//! How store failures reach clients.

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
