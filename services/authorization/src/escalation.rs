//! The kernel's escalation refusals as API errors.

use std::collections::HashMap;

use lms_kernel::EscalationError;
use lms_runtime::ApiError;

/// The API error for a refusal of the escalation rule: PERMISSION_DENIED naming the missing
/// grants, FAILED_PRECONDITION naming missing tenant settings, or INVALID_ARGUMENT for a unit role
/// assigned at the tenant.
pub fn refusal(error: EscalationError) -> ApiError {
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
    }
}
