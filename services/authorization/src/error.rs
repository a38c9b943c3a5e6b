//! The only place errors convert: store failures (UNAVAILABLE only for an outage) and the
//! kernel's refusals become API errors with their reasons.

use std::collections::HashMap;

use lms_kernel::role::RoleError;
use lms_kernel::{EscalationError, Responsibility, ResponsibilityError};
use lms_runtime::ApiError;
use lms_runtime::store::is_outage;
use tonic::Status;

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

/// Lets handlers answering `Status` use `?` on store calls.
impl From<StoreError> for Status {
    fn from(error: StoreError) -> Status {
        ApiError::from(error).into()
    }
}

/// The API error for a refusal of the escalation rule: PERMISSION_DENIED naming the missing
/// grants, FAILED_PRECONDITION naming missing tenant settings, or INVALID_ARGUMENT for a unit role
/// assigned at the tenant.
pub(crate) fn refusal(error: EscalationError) -> ApiError {
    match error {
        EscalationError::MissingGrants(missing) => {
            let listed = missing
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",");
            ApiError::PermissionDenied {
                reason: "ESCALATION",
                message: format!("the role grants more than you hold; missing: {listed}"),
                metadata: HashMap::from([("missing_grants".to_owned(), listed)]),
            }
        }
        EscalationError::TenantPrecondition(settings) => ApiError::FailedPrecondition {
            reason: "TENANT_PRECONDITION",
            message: format!("the tenant needs {} for this role", settings.join(" and ")),
        },
        EscalationError::NeedsUnit => {
            ApiError::invalid_field("unit_id", "this role reaches a unit, so assign it at one")
        }
        EscalationError::MissingResponsibilities(missing) => {
            let listed = missing
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(",");
            ApiError::PermissionDenied {
                reason: "ESCALATION",
                message: format!(
                    "the role allows responsibilities none of your roles allows: {listed}"
                ),
                metadata: HashMap::from([("missing_responsibilities".to_owned(), listed)]),
            }
        }
    }
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
