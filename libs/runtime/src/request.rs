//! What every service's `convert.rs` needs the same way: ids a request must or may carry (each
//! refusal naming its field), references to objects of the caller's tenant, and timestamps.
//! Delegation and reporting take these from here; identity and authorization still carry their
//! own copies from before.

use lms_api::common::v1::{ObjectReference, ObjectType};

use crate::error::ApiError;

/// A timestamp from Unix seconds.
pub fn timestamp(seconds: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds, nanos: 0 }
}

/// An optional timestamp as Unix seconds (sub-second parts dropped).
pub fn seconds(timestamp: Option<&prost_types::Timestamp>) -> Option<i64> {
    timestamp.map(|t| t.seconds)
}

/// An id the request must carry in `field`.
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

/// An id the request may leave empty in `field`.
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

/// Every id of a repeated field, each refusal naming its index (`user_ids[2]`).
pub fn ids<T, E: std::fmt::Display>(
    field: &str,
    values: &[String],
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Vec<T>, ApiError> {
    values
        .iter()
        .enumerate()
        .map(|(i, value)| required_id(&format!("{field}[{i}]"), value, &parse))
        .collect()
}

/// The field paths an update's `update_mask` names; INVALID_ARGUMENT when it names none.
pub fn mask_paths(mask: Option<&prost_types::FieldMask>) -> Result<Vec<String>, ApiError> {
    match mask.map(|mask| mask.paths.clone()) {
        Some(paths) if !paths.is_empty() => Ok(paths),
        _ => Err(ApiError::invalid_field(
            "update_mask",
            "must name a field to change",
        )),
    }
}

/// A reference to an object of the caller's tenant.
pub fn reference(kind: ObjectType, id: impl ToString) -> ObjectReference {
    ObjectReference {
        r#type: kind as i32,
        id: id.to_string(),
        tenant_id: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_field_and_the_index() {
        let parse = |s: &str| s.parse::<u8>();
        assert!(
            matches!(required_id("course_id", "", parse), Err(ApiError::InvalidArgument(v)) if v[0].field == "course_id")
        );
        assert_eq!(optional_id("unit_id", "", parse).unwrap(), None);
        assert_eq!(optional_id("unit_id", "7", parse).unwrap(), Some(7));
        let values = ["1".to_owned(), "x".to_owned()];
        assert!(
            matches!(ids("user_ids", &values, parse), Err(ApiError::InvalidArgument(v)) if v[0].field == "user_ids[1]")
        );
    }
}
