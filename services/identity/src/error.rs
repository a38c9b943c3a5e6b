//! The only place identity's errors convert: store failures (UNAVAILABLE only for an outage,
//! so clients retry what can succeed and nothing else) become API errors with their reasons.

use lms_runtime::ApiError;
use lms_runtime::store::is_outage;

use crate::store::StoreError;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Duplicate { resource, field } => ApiError::AlreadyExists {
                resource_type: resource,
                resource_name: format!("with that {field}"),
            },
            StoreError::Missing { what, id } => ApiError::not_found(what, id),
            StoreError::Refused { reason, message } => {
                ApiError::FailedPrecondition { reason, message }
            }
            StoreError::NotEmpty(message) => ApiError::FailedPrecondition {
                reason: "NOT_EMPTY",
                message: message.into(),
            },
            StoreError::Database(error) if is_outage(&error) => {
                tracing::warn!(%error, "identity store unavailable");
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
}
