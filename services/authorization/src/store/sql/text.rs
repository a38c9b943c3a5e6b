//! Values the store keeps as text, and the database errors that mean a domain refusal: the same
//! on both backends, so compiled once.

use lms_kernel::{Grant, Grants, Permission, Reach, RoleId, UserStatus};

use crate::store::StoreError;

/// Grants as stored: `permission@reach` names, comma-separated.
pub fn grants_to_text(grants: &Grants) -> String {
    grants
        .iter()
        .map(|g| g.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn grants_from_text(text: &str) -> Result<Grants, StoreError> {
    text.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (permission, reach) = part
                .split_once('@')
                .ok_or_else(|| StoreError::Corrupt(format!("grant {part:?}")))?;
            Ok(Grant {
                permission: Permission::parse(permission)
                    .ok_or_else(|| StoreError::Corrupt(format!("permission {permission:?}")))?,
                reach: Reach::parse(reach)
                    .ok_or_else(|| StoreError::Corrupt(format!("reach {reach:?}")))?,
            })
        })
        .collect()
}

pub(super) fn status_from_i16(value: i16) -> Result<UserStatus, StoreError> {
    UserStatus::from_code(value).ok_or_else(|| StoreError::Corrupt(format!("user status {value}")))
}

pub(super) fn role_id_from_text(text: &str) -> Result<RoleId, StoreError> {
    RoleId::parse(text).ok_or_else(|| StoreError::Corrupt(format!("role id {text:?}")))
}

/// Maps the one-course-tutor unique index to its domain error.
pub(super) fn course_tutor_conflict(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db)
            if db.message().contains("relationships_one_course_tutor")
                || (db.is_unique_violation()
                    && db
                        .message()
                        .contains("relationships.tenant_id, relationships.resource_id")) =>
        {
            StoreError::CourseTutorTaken
        }
        _ => StoreError::Database(error),
    }
}

pub(super) fn name_conflict(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::DuplicateName,
        _ => StoreError::Database(error),
    }
}

/// The audit actions the service writes; stored as text, read back as the same static strings.
const AUDIT_ACTIONS: &[&str] = &[
    "role.created",
    "role.updated",
    "role.deleted",
    "role_assignment.created",
    "role_assignment.revoked",
    "role_assignment.main_role_set",
];

/// The static string of a stored audit action.
pub(super) fn audit_action(text: &str) -> Result<&'static str, StoreError> {
    AUDIT_ACTIONS
        .iter()
        .find(|action| **action == text)
        .copied()
        .ok_or_else(|| StoreError::Corrupt(format!("audit action {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_round_trip_through_their_stored_text() {
        let grants = lms_kernel::Template::ManagerTutor.grants();
        assert_eq!(grants_from_text(&grants_to_text(&grants)).unwrap(), grants);
        assert_eq!(grants_from_text("").unwrap(), Grants::EMPTY);
        assert!(grants_from_text("users.fly@tenant").is_err());
    }
}
