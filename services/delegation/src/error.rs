//! The only place delegation's errors convert: store failures (UNAVAILABLE only for an outage)
//! and refusals of the kernel's rules become API errors with the reason codes clients know.

use lms_kernel::{TextError, WindowError};
use lms_runtime::ApiError;
use lms_runtime::store::is_outage;

use crate::store::StoreError;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Missing { what, id } => ApiError::not_found(what, id),
            StoreError::Refused { reason, message } => {
                ApiError::FailedPrecondition { reason, message }
            }
            StoreError::Invalid { field, message } => ApiError::invalid_field(field, message),
            StoreError::Database(error) if is_outage(&error) => {
                tracing::warn!(%error, "delegation store unavailable");
                ApiError::Unavailable {
                    dependency: "store",
                }
            }
            // A statement that fails for another reason fails again: a bug, never retried.
            error @ (StoreError::Database(_) | StoreError::Corrupt(_)) => ApiError::internal(error),
        }
    }
}

/// Store failures answered straight from handlers, as [`ApiError`] maps them.
impl From<StoreError> for tonic::Status {
    fn from(error: StoreError) -> Self {
        ApiError::from(error).into()
    }
}

/// A change refused because the course is archived (read-only).
pub(crate) fn archived(error: lms_kernel::CourseError) -> ApiError {
    ApiError::FailedPrecondition {
        reason: "ARCHIVED",
        message: error.to_string(),
    }
}

/// A refused title or description, naming the field.
pub(crate) fn text_refused(field: &str, error: TextError) -> ApiError {
    ApiError::invalid_field(field, error.to_string())
}

/// A refused validity window, naming the field that makes it so.
pub(crate) fn window_refused(error: WindowError) -> ApiError {
    let field = match error {
        WindowError::Reversed | WindowError::Over => "responsibility.valid_until",
    };
    ApiError::invalid_field(field, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_statement_is_internal_and_an_unreachable_store_unavailable() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let bug = sqlx::query("SELEC 1").execute(&pool).await.unwrap_err();
        let status = tonic::Status::from(ApiError::from(StoreError::Database(bug)));
        assert_eq!(status.code(), tonic::Code::Internal);
        pool.close().await;
        let gone = sqlx::query("SELECT 1").execute(&pool).await.unwrap_err();
        let status = tonic::Status::from(ApiError::from(StoreError::Database(gone)));
        assert_eq!(status.code(), tonic::Code::Unavailable);
    }

    #[test]
    fn refusals_keep_their_reason_and_invalid_input_names_its_field() {
        let status = tonic::Status::from(ApiError::from(StoreError::Refused {
            reason: "ARCHIVED",
            message: "the course is archived".into(),
        }));
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        let status = tonic::Status::from(ApiError::from(StoreError::Invalid {
            field: "position",
            message: "must be between 1 and 3".into(),
        }));
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(
            status.message().contains("position"),
            "{}",
            status.message()
        );
    }
}
