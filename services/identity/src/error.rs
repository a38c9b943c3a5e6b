//! The only place identity's errors convert: store failures (UNAVAILABLE only for an outage,
//! so clients retry what can succeed and nothing else) become API errors with their reasons,
//! and refusals of the kernel's rules become API errors (or the store's refusal, inside a
//! transaction) with the reason codes clients know.

use lms_kernel::{ClientLinkError, StatusError, UnitError};
use lms_runtime::ApiError;
use lms_runtime::store::is_outage;

use crate::convert::kind_name;
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

/// A refused status change as the store's refusal, with the reason codes clients know.
pub(crate) fn status_refused(error: StatusError) -> StoreError {
    let reason = match error {
        StatusError::NotActive(_) => "NOT_ACTIVE",
        StatusError::NotSuspended(_) => "NOT_SUSPENDED",
        StatusError::NotPending(_) => "NOT_PENDING",
        StatusError::Anonymised => "ANONYMISED",
    };
    StoreError::Refused {
        reason,
        message: error.to_string(),
    }
}

/// A refusal of the kernel's unit rules, with the reason codes and fields clients know.
pub(crate) fn unit_refusal(error: UnitError, field: &str) -> ApiError {
    let refusal = |reason, message: &str| ApiError::FailedPrecondition {
        reason,
        message: message.into(),
    };
    match error {
        UnitError::Placement { child, parent } => ApiError::invalid_field(
            field,
            format!(
                "a {} cannot hang under a {}",
                kind_name(child),
                kind_name(parent)
            ),
        ),
        UnitError::Cycle => refusal(
            "UNIT_CYCLE",
            "the new parent is the unit itself or lies below it",
        ),
        UnitError::GuestAccount => refusal(
            "GUEST_ACCOUNT",
            "the Guest account lives as long as its tenant",
        ),
        UnitError::HasChildren => refusal("UNIT_NOT_EMPTY", "the unit has child units"),
        UnitError::HasEmployees => refusal("UNIT_NOT_EMPTY", "people are employed at the unit"),
    }
}

/// A refusal of the client-linking rule, with the reason codes clients know.
pub(crate) fn link_refusal(error: ClientLinkError) -> ApiError {
    let (reason, message) = link_reason(&error);
    ApiError::FailedPrecondition { reason, message }
}

/// A refusal of the kernel's client-link rules inside a transaction, as the store's refusal
/// with the same reason codes.
pub(crate) fn link_refused(error: ClientLinkError) -> StoreError {
    let (reason, message) = link_reason(&error);
    StoreError::Refused { reason, message }
}

fn link_reason(error: &ClientLinkError) -> (&'static str, String) {
    match error {
        ClientLinkError::ClientsDisabled => (
            "CLIENTS_DISABLED",
            "the tenant has client tenants switched off".into(),
        ),
        ClientLinkError::SelfLink
        | ClientLinkError::AlreadyClient
        | ClientLinkError::ClientAsMaster
        | ClientLinkError::MasterAsClient => ("CLIENT_NOT_LINKABLE", error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use lms_kernel::UnitKind;

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
    fn refusals_keep_their_reason_codes_and_name_both_kinds() {
        let placement = UnitError::Placement {
            child: UnitKind::Location,
            parent: UnitKind::AccountGroup,
        };
        match unit_refusal(placement, "parent_unit_id") {
            ApiError::InvalidArgument(violations) => {
                assert_eq!(violations[0].field, "parent_unit_id");
                assert!(violations[0].description.contains("LOCATION"));
                assert!(violations[0].description.contains("ACCOUNT_GROUP"));
            }
            other => panic!("{other:?}"),
        }
        for (error, reason) in [
            (UnitError::Cycle, "UNIT_CYCLE"),
            (UnitError::GuestAccount, "GUEST_ACCOUNT"),
            (UnitError::HasChildren, "UNIT_NOT_EMPTY"),
            (UnitError::HasEmployees, "UNIT_NOT_EMPTY"),
        ] {
            assert!(matches!(
                unit_refusal(error, "unit_id"),
                ApiError::FailedPrecondition { reason: r, .. } if r == reason
            ));
        }
    }
}
