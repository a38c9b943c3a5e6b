//! Every conversion between proto messages and records or kernel types, and every request
//! parse, naming the field on error. Handlers, the core and the relationship builders read
//! proto values through here.

use lms_api::common::v1::{AuditStamp, ObjectReference, ObjectType};
use lms_api::identity::v1::{
    CustomFieldDefinition, Employment, Group, ImportRowError, NamedManagerPurpose, NewUser, Tenant,
    TenantSettings as PbSettings, Unit, UnitKind as PbUnitKind, User,
};
use lms_kernel::{AccountKind, Email, TenantSettings, UnitKind, UserId};
use lms_runtime::{ApiError, FieldViolation};

use crate::import::RowError;
use crate::password::Passwords;
use crate::password_policy;
use crate::store::{
    CustomField, EmploymentRecord, GroupRecord, TenantRecord, UnitRecord, UserRecord,
};

/// A timestamp from epoch seconds.
pub fn timestamp(seconds: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds, nanos: 0 }
}

/// Proto settings to kernel settings.
pub fn settings(settings: Option<&PbSettings>) -> TenantSettings {
    settings.map_or_else(TenantSettings::default, |s| TenantSettings {
        locations_enabled: s.locations_enabled,
        clients_enabled: s.clients_enabled,
        mfa_required_for_admins: s.mfa_required_for_admins,
    })
}

/// A tenant as the API shows it.
pub fn tenant(record: &TenantRecord) -> Tenant {
    Tenant {
        tenant_id: record.id.to_string(),
        name: record.name.clone(),
        settings: Some(PbSettings {
            locations_enabled: record.settings.locations_enabled,
            clients_enabled: record.settings.clients_enabled,
            mfa_required_for_admins: record.settings.mfa_required_for_admins,
        }),
        master_tenant_id: record.master.map(|t| t.to_string()).unwrap_or_default(),
        access_coordinator_user_id: record
            .access_coordinator
            .map(|u| u.to_string())
            .unwrap_or_default(),
        created: Some(AuditStamp {
            actor_id: record.created_by.clone(),
            at: Some(timestamp(record.created_at)),
        }),
    }
}

/// An employment as the API shows it.
pub fn employment(record: &EmploymentRecord) -> Employment {
    Employment {
        employment_id: record.id.to_string(),
        unit_id: record.unit.to_string(),
        starts_at: Some(timestamp(record.starts_at)),
        ends_at: record.ends_at.map(timestamp),
        main_account: record.main_account,
    }
}

/// A user as the API shows it: never the credentials.
pub fn user(record: &UserRecord, employments: &[EmploymentRecord]) -> User {
    User {
        user_id: record.id.to_string(),
        email: record
            .email
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
        given_name: record.given_name.clone(),
        family_name: record.family_name.clone(),
        status: record.status.code().into(),
        account_kind: record.account_kind.code().into(),
        primary_group_id: record
            .primary_group
            .map(|g| g.to_string())
            .unwrap_or_default(),
        restrict_bookings: record.restrict_bookings,
        custom_fields: serde_json::from_str(&record.custom_fields).unwrap_or_default(),
        external_id: record.external_id.clone().unwrap_or_default(),
        employments: employments.iter().map(employment).collect(),
        last_sign_in_at: record.last_sign_in_at.map(timestamp),
        created: Some(AuditStamp {
            actor_id: record.created_by.clone(),
            at: Some(timestamp(record.created_at)),
        }),
    }
}

/// A validated [`NewUser`].
#[derive(Debug)]
pub struct ValidNewUser {
    pub email: Email,
    pub given_name: String,
    pub family_name: String,
    pub password: Option<String>,
    pub account_kind: AccountKind,
    pub custom_fields: String,
    pub external_id: Option<String>,
    pub main_unit: Option<lms_kernel::UnitId>,
}

fn name(violations: &mut Vec<FieldViolation>, field: String, value: &str) -> String {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 200 {
        violations.push(FieldViolation::new(field, "must be 1 to 200 characters"));
    }
    value.to_owned()
}

/// Validates every field of `user` (under `prefix`), reporting all violations at once.
pub fn new_user(prefix: &str, user: Option<&NewUser>) -> Result<ValidNewUser, ApiError> {
    let Some(user) = user else {
        return Err(ApiError::invalid_field(prefix, "is required"));
    };
    let field = |name: &str| format!("{prefix}.{name}");
    let mut violations = Vec::new();
    let email = Email::parse(&user.email);
    if let Err(error) = &email {
        violations.push(FieldViolation::new(field("email"), error.to_string()));
    }
    let given_name = name(&mut violations, field("given_name"), &user.given_name);
    let family_name = name(&mut violations, field("family_name"), &user.family_name);
    let password = (!user.password.is_empty()).then(|| user.password.clone());
    if let Some(password) = &password
        && let Err(error) = Passwords::validate(password)
    {
        violations.push(FieldViolation::new(field("password"), error.to_string()));
    } else if let Some(password) = &password
        && let Err(error) = password_policy::check(
            password,
            &user.email,
            &[&user.given_name, &user.family_name],
        )
    {
        violations.push(FieldViolation::new(field("password"), error.to_string()));
    }
    // Unspecified (0) reads as the default kind, standard.
    let account_kind = match user.account_kind {
        0 => AccountKind::default(),
        code => match i16::try_from(code).ok().and_then(AccountKind::from_code) {
            Some(kind) => kind,
            None => {
                violations.push(FieldViolation::new(
                    field("account_kind"),
                    "must be STANDARD, TUTOR or TEACHER",
                ));
                AccountKind::default()
            }
        },
    };
    let main_unit = match user.main_unit_id.as_str() {
        "" => None,
        id => match lms_kernel::UnitId::parse(id) {
            Ok(unit) => Some(unit),
            Err(error) => {
                violations.push(FieldViolation::new(
                    field("main_unit_id"),
                    error.to_string(),
                ));
                None
            }
        },
    };
    let external_id =
        (!user.external_id.trim().is_empty()).then(|| user.external_id.trim().to_owned());
    let custom_fields = match custom_fields(&field("custom_fields"), &user.custom_fields) {
        Ok(json) => json,
        Err(ApiError::InvalidArgument(found)) => {
            violations.extend(found);
            String::new()
        }
        Err(other) => return Err(other),
    };
    match email {
        Ok(email) if violations.is_empty() => Ok(ValidNewUser {
            email,
            given_name,
            family_name,
            password,
            account_kind,
            custom_fields,
            external_id,
            main_unit,
        }),
        _ => Err(ApiError::InvalidArgument(violations)),
    }
}

/// A display name: trimmed, 1 to 200 characters.
pub fn display_name(field: &str, value: &str) -> Result<String, ApiError> {
    let mut violations = Vec::new();
    let value = name(&mut violations, field.to_owned(), value);
    match violations.is_empty() {
        true => Ok(value),
        false => Err(ApiError::InvalidArgument(violations)),
    }
}

/// An id the request must carry.
pub fn required_id<T, E: std::fmt::Display>(
    field: &str,
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, ApiError> {
    if value.is_empty() {
        return Err(ApiError::invalid_field(field, "is required"));
    }
    parse(value).map_err(|error| ApiError::invalid_field(field, error.to_string()))
}

/// An id the request may leave empty.
pub fn optional_id<T, E: std::fmt::Display>(
    field: &str,
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, ApiError> {
    match value {
        "" => Ok(None),
        value => required_id(field, value, parse).map(Some),
    }
}

/// Most characters a free-text field holds (custom field values, reasons).
pub const MAX_FREE_TEXT: usize = 1000;

/// A free-text value in request field `field`, refused past [`MAX_FREE_TEXT`] characters (it
/// ends up in logs and audit records).
pub fn free_text<'a>(field: &str, value: &'a str) -> Result<&'a str, ApiError> {
    if value.chars().count() > MAX_FREE_TEXT {
        return Err(ApiError::invalid_field(
            field,
            "is at most 1,000 characters",
        ));
    }
    Ok(value)
}

/// Custom field values as stored (a JSON object): keys lower_snake_case up to 64 characters,
/// values up to 1,000.
pub fn custom_fields(
    field: &str,
    values: &std::collections::HashMap<String, String>,
) -> Result<String, ApiError> {
    let mut violations = Vec::new();
    for (key, value) in values {
        if !is_field_key(key) {
            violations.push(FieldViolation::new(
                format!("{field}[{key}]"),
                "keys are lower_snake_case, at most 64 characters",
            ));
        } else if value.chars().count() > MAX_FREE_TEXT {
            violations.push(FieldViolation::new(
                format!("{field}[{key}]"),
                "values are at most 1,000 characters",
            ));
        }
    }
    if !violations.is_empty() {
        return Err(ApiError::InvalidArgument(violations));
    }
    let sorted: std::collections::BTreeMap<_, _> = values.iter().collect();
    Ok(serde_json::to_string(&sorted).expect("a string map always serialises"))
}

/// A custom field key: lower_snake_case, starting with a letter, at most 64 characters.
pub fn is_field_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

// Requests to authorization.

/// A reference to an object of the caller's tenant.
pub fn reference(kind: ObjectType, id: impl ToString) -> ObjectReference {
    ObjectReference {
        r#type: kind as i32,
        id: id.to_string(),
        tenant_id: String::new(),
    }
}

// Units.

/// A unit as the API shows it.
pub fn unit(record: &UnitRecord) -> Unit {
    Unit {
        unit_id: record.id.to_string(),
        kind: record.kind.code().into(),
        name: record.name.clone(),
        parent_unit_id: record.parent.map(|p| p.to_string()).unwrap_or_default(),
        external_id: record.external_id.clone().unwrap_or_default(),
    }
}

/// The kind as the API names it, for messages.
pub fn kind_name(kind: UnitKind) -> &'static str {
    PbUnitKind::try_from(i32::from(kind.code())).map_or("unknown", |k| k.as_str_name())
}

/// The unit kind a request names; `None` for none (0) or an unknown number.
pub fn unit_kind(code: i32) -> Option<UnitKind> {
    i16::try_from(code).ok().and_then(UnitKind::from_code)
}

// Groups.

/// A group as the API shows it.
pub fn group(record: &GroupRecord) -> Group {
    Group {
        group_id: record.id.to_string(),
        name: record.name.clone(),
        manager_user_id: record.manager.map(|m| m.to_string()).unwrap_or_default(),
        administrator_user_ids: record
            .administrators
            .iter()
            .map(ToString::to_string)
            .collect(),
        external_id: record.external_id.clone().unwrap_or_default(),
    }
}

/// Most users one membership call changes.
const MAX_MEMBERS_PER_CALL: usize = 1000;

/// The users a membership call names: at least one, each a user id.
pub fn user_ids(ids: &[String]) -> Result<Vec<UserId>, ApiError> {
    if ids.is_empty() || ids.len() > MAX_MEMBERS_PER_CALL {
        return Err(ApiError::invalid_field(
            "user_ids",
            format!("must name 1 to {MAX_MEMBERS_PER_CALL} users"),
        ));
    }
    let mut users = ids
        .iter()
        .enumerate()
        .map(|(i, id)| required_id(&format!("user_ids[{i}]"), id, UserId::parse))
        .collect::<Result<Vec<_>, _>>()?;
    users.sort();
    users.dedup();
    Ok(users)
}

// Employments.

/// A time the request may carry, in epoch seconds.
pub fn seconds(field: &str, at: Option<&prost_types::Timestamp>) -> Result<Option<i64>, ApiError> {
    match at {
        None => Ok(None),
        Some(at) if at.seconds >= 0 && (0..1_000_000_000).contains(&at.nanos) => {
            Ok(Some(at.seconds))
        }
        Some(_) => Err(ApiError::invalid_field(field, "must be a time after 1970")),
    }
}

/// A stored employment as the kernel's employment rules read it.
pub fn kernel_employment(record: &EmploymentRecord) -> lms_kernel::user::Employment {
    lms_kernel::user::Employment {
        unit: record.unit,
        starts: record.starts_at,
        ends: record.ends_at,
        main: record.main_account,
    }
}

// Tenants.

/// A stored tenant as the kernel's client-linking rule reads it.
pub fn kernel_tenant(record: &TenantRecord) -> lms_kernel::Tenant {
    lms_kernel::Tenant {
        id: record.id,
        settings: record.settings,
        master: record.master,
    }
}

// Custom fields and named managers.

/// A custom field as the API shows it.
pub fn definition(field: &CustomField) -> CustomFieldDefinition {
    CustomFieldDefinition {
        key: field.key.clone(),
        label: field.label.clone(),
        mandatory: field.mandatory,
    }
}

/// The purpose of a naming: manages or receives updates.
pub fn purpose(value: i32) -> Result<lms_kernel::NamingPurpose, ApiError> {
    match NamedManagerPurpose::try_from(value) {
        Ok(NamedManagerPurpose::Manages) => Ok(lms_kernel::NamingPurpose::Manages),
        Ok(NamedManagerPurpose::ReceivesUpdates) => Ok(lms_kernel::NamingPurpose::ReceivesUpdates),
        Ok(NamedManagerPurpose::Unspecified) | Err(_) => Err(ApiError::invalid_field(
            "purpose",
            "must be MANAGES or RECEIVES_UPDATES",
        )),
    }
}

// Imports.

/// Row errors as the API shows them, in line order.
pub fn row_errors(errors: &[RowError]) -> Vec<ImportRowError> {
    let mut errors: Vec<_> = errors
        .iter()
        .map(|e| ImportRowError {
            line: e.line,
            column: e.column.clone(),
            reason: e.reason.clone(),
        })
        .collect();
    errors.sort_by_key(|e| e.line);
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_kinds_read_back_from_their_codes_and_zero_is_none() {
        for kind in UnitKind::ALL {
            assert_eq!(unit_kind(i32::from(kind.code())), Some(kind));
        }
        assert_eq!(unit_kind(0), None);
    }
}
