//! The one mapping from domain errors to `tonic::Status` with google.rpc details.
//!
//! Each service keeps its own error enum and converts it into [`ApiError`]; this type picks the
//! gRPC code and attaches `BadRequest`, `ErrorInfo`, `ResourceInfo` or `PreconditionFailure`
//! details. Internal detail is logged here and never sent.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every error LMS Access sends.
pub const ERROR_DOMAIN: &str = "lms.access";

/// One bad request field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field path, for example `user.email`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// An error as a client sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Bad input: INVALID_ARGUMENT with a `BadRequest` naming each field.
    #[error("invalid argument: {}", describe_violations(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// UNAUTHENTICATED with an `ErrorInfo` reason such as `TOKEN_EXPIRED`.
    #[error("{message}")]
    Unauthenticated {
        /// Stable reason code.
        reason: &'static str,
        /// Explanation for people.
        message: String,
    },
    /// PERMISSION_DENIED with an `ErrorInfo` reason and metadata (for example the missing grants).
    #[error("{message}")]
    PermissionDenied {
        /// Stable reason code, for example `ESCALATION`.
        reason: &'static str,
        /// Explanation for people.
        message: String,
        /// Machine-readable detail.
        metadata: HashMap<String, String>,
    },
    /// NOT_FOUND with a `ResourceInfo`.
    #[error("{resource_type} {resource_name} not found")]
    NotFound {
        /// Kind of object, for example `user`.
        resource_type: &'static str,
        /// Its id or name as the client gave it.
        resource_name: String,
    },
    /// ALREADY_EXISTS with a `ResourceInfo`.
    #[error("{resource_type} {resource_name} already exists")]
    AlreadyExists {
        /// Kind of object.
        resource_type: &'static str,
        /// Its id or name.
        resource_name: String,
    },
    /// FAILED_PRECONDITION with an `ErrorInfo` reason: the request is valid but the state forbids it.
    #[error("{message}")]
    FailedPrecondition {
        /// Stable reason code, for example `UNIT_NOT_EMPTY`.
        reason: &'static str,
        /// Explanation for people.
        message: String,
    },
    /// ABORTED: a concurrent change won; retry with fresh state.
    #[error("{0}")]
    Aborted(String),
    /// UNAVAILABLE: a dependency is down. Decisions deny.
    #[error("{dependency} is unavailable")]
    Unavailable {
        /// What is down, for example `store`.
        dependency: &'static str,
    },
    /// RESOURCE_EXHAUSTED: too many requests (a rate limit) or no capacity left right now (an
    /// admission limit); the client may retry after `retry_after`.
    #[error("{message}")]
    ResourceExhausted {
        /// Machine-readable reason, for example `RATE_LIMITED`.
        reason: &'static str,
        /// For people.
        message: String,
        /// When a retry may succeed.
        retry_after: std::time::Duration,
    },
    /// A peer service's refusal (bad argument, denied, not found), forwarded unchanged.
    #[error("{}", .0.message())]
    Forwarded(Box<Status>),
    /// INTERNAL: logged with its source, sent as a bare message.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn describe_violations(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApiError {
    /// INVALID_ARGUMENT for one field.
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        ApiError::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    /// NOT_FOUND for one object.
    pub fn not_found(resource_type: &'static str, resource_name: impl Into<String>) -> Self {
        ApiError::NotFound {
            resource_type,
            resource_name: resource_name.into(),
        }
    }

    /// INTERNAL wrapping any error; the source is logged, not sent.
    pub fn internal(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(source))
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Status {
        let message = error.to_string();
        match error {
            ApiError::InvalidArgument(violations) => {
                let mut details = ErrorDetails::new();
                for violation in violations {
                    details.add_bad_request_violation(violation.field, violation.description);
                }
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            ApiError::Unauthenticated { reason, .. } => Status::with_error_details(
                Code::Unauthenticated,
                message,
                ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new()),
            ),
            ApiError::PermissionDenied {
                reason, metadata, ..
            } => Status::with_error_details(
                Code::PermissionDenied,
                message,
                ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata),
            ),
            ApiError::NotFound {
                resource_type,
                resource_name,
            } => Status::with_error_details(
                Code::NotFound,
                message,
                ErrorDetails::with_resource_info(resource_type, resource_name, "", "not found"),
            ),
            ApiError::AlreadyExists {
                resource_type,
                resource_name,
            } => Status::with_error_details(
                Code::AlreadyExists,
                message,
                ErrorDetails::with_resource_info(
                    resource_type,
                    resource_name,
                    "",
                    "already exists",
                ),
            ),
            ApiError::FailedPrecondition { reason, .. } => Status::with_error_details(
                Code::FailedPrecondition,
                message,
                ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new()),
            ),
            ApiError::ResourceExhausted {
                reason,
                retry_after,
                ..
            } => {
                let mut details =
                    ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new());
                details.set_retry_info(Some(retry_after));
                Status::with_error_details(Code::ResourceExhausted, message, details)
            }
            ApiError::Aborted(_) => Status::aborted(message),
            ApiError::Forwarded(status) => *status,
            ApiError::Unavailable { dependency } => Status::with_error_details(
                Code::Unavailable,
                message,
                ErrorDetails::with_error_info(
                    "DEPENDENCY_UNAVAILABLE",
                    ERROR_DOMAIN,
                    HashMap::from([("dependency".to_owned(), dependency.to_owned())]),
                ),
            ),
            ApiError::Internal(source) => {
                tracing::error!(error = %source, "internal error");
                Status::internal(message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_names_every_field() {
        let status = Status::from(ApiError::InvalidArgument(vec![
            FieldViolation::new("user.email", "must be an email address"),
            FieldViolation::new("user.given_name", "must not be empty"),
        ]));
        assert_eq!(status.code(), Code::InvalidArgument);
        let bad_request = status.get_details_bad_request().expect("BadRequest detail");
        let fields: Vec<_> = bad_request
            .field_violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, ["user.email", "user.given_name"]);
    }

    #[test]
    fn internal_errors_send_no_detail() {
        let source = std::io::Error::other("connection to postgres://app:hunter2@db failed");
        let status = Status::from(ApiError::internal(source));
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
        assert!(status.details().is_empty());
    }

    #[test]
    fn permission_denied_carries_reason_and_metadata() {
        let status = Status::from(ApiError::PermissionDenied {
            reason: "ESCALATION",
            message: "role grants more than you hold".into(),
            metadata: HashMap::from([("missing".into(), "users.delete@tenant".into())]),
        });
        let info = status.get_details_error_info().expect("ErrorInfo detail");
        assert_eq!(info.reason, "ESCALATION");
        assert_eq!(info.domain, ERROR_DOMAIN);
        assert_eq!(info.metadata["missing"], "users.delete@tenant");
    }
}
