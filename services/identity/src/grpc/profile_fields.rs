//! Custom fields and named managers, the rest of `UserService`. A tenant defines its fields
//! (a Super Administrator, by `system_configuration.update`) and may make them mandatory;
//! every user's values are checked against the definitions. A person may be named to manage,
//! or to receive updates about, a user, an account or an account group.

use std::collections::HashMap;

use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::identity::v1::{
    AddNamedManagerRequest, AddNamedManagerResponse, DefineCustomFieldRequest,
    DefineCustomFieldResponse, ListCustomFieldsResponse, RemoveNamedManagerRequest,
    RemoveNamedManagerResponse,
};
use lms_kernel::naming::check_named_unit;
use lms_kernel::{NamedTarget, Permission, TenantId, UserId};
use lms_runtime::auth::acting;
use lms_runtime::{ApiError, FieldViolation};
use tonic::Request;
use uuid::Uuid;

use super::users::Users;
use crate::audit::{Actor, Object};
use crate::convert::{definition, display_name, is_field_key, purpose, reference, required_id};
use crate::relationships;
use crate::store::{CustomField, NamedManager, Store};

/// Refuses values for fields the tenant does not define, and, when `complete`, missing
/// mandatory ones; every violation at once, under `prefix`.
pub fn check_custom_fields(
    defined: &[CustomField],
    values: &HashMap<String, String>,
    prefix: &str,
    complete: bool,
) -> Result<(), ApiError> {
    let mut violations: Vec<FieldViolation> = values
        .keys()
        .filter(|key| !defined.iter().any(|d| &d.key == *key))
        .map(|key| {
            FieldViolation::new(
                format!("{prefix}[{key}]"),
                "is not a custom field of this tenant",
            )
        })
        .collect();
    if complete {
        violations.extend(
            defined
                .iter()
                .filter(|d| d.mandatory && values.get(&d.key).is_none_or(|v| v.trim().is_empty()))
                .map(|d| FieldViolation::new(format!("{prefix}[{}]", d.key), "is mandatory")),
        );
    }
    match violations.is_empty() {
        true => Ok(()),
        false => Err(ApiError::InvalidArgument(violations)),
    }
}

impl<S: Store + Clone> Users<S> {
    pub(super) async fn define_field(
        &self,
        request: Request<DefineCustomFieldRequest>,
    ) -> Result<DefineCustomFieldResponse, ApiError> {
        let by = Actor::of(&request)?;
        let acting = acting(&request)?;
        let field = request
            .get_ref()
            .field
            .as_ref()
            .ok_or_else(|| ApiError::invalid_field("field", "is required"))?;
        let key = field.key.trim();
        if !is_field_key(key) {
            return Err(ApiError::invalid_field(
                "field.key",
                "lower_snake_case, at most 64 characters",
            ));
        }
        let record = CustomField {
            key: key.to_owned(),
            label: display_name("field.label", &field.label)?,
            mandatory: field.mandatory,
        };
        self.0
            .authorization
            .require(
                &acting,
                Permission::SystemConfigurationUpdate,
                reference(ObjectType::Tenant, acting.tenant),
            )
            .await?;
        self.0
            .store
            .define_custom_field(
                acting.tenant,
                &record,
                &by.did("custom_field.defined", Object::custom_field(&record.key)),
            )
            .await?;
        tracing::info!(tenant = %acting.tenant, key = %record.key, mandatory = record.mandatory, "custom field defined");
        Ok(DefineCustomFieldResponse {
            field: Some(definition(&record)),
        })
    }

    pub(super) async fn list_fields(
        &self,
        tenant: TenantId,
    ) -> Result<ListCustomFieldsResponse, ApiError> {
        let fields = self.0.store.custom_fields(tenant).await?;
        Ok(ListCustomFieldsResponse {
            fields: fields.iter().map(definition).collect(),
        })
    }

    /// Names or un-names a manager. The naming is over the target, so it is decided there:
    /// `users.update` on a user, `units.update` on an account or account group.
    pub(super) async fn name_manager(
        &self,
        acting_request: &Request<impl Send + Sync>,
        user_id: &str,
        target: Option<&ObjectReference>,
        purpose_value: i32,
        named: bool,
    ) -> Result<Option<lms_api::common::v1::ConsistencyToken>, ApiError> {
        let by = Actor::of(acting_request)?;
        let acting = acting(acting_request)?;
        let tenant = acting.tenant;
        let user = required_id("user_id", user_id, UserId::parse)?;
        let purpose = purpose(purpose_value)?;
        let target = target.ok_or_else(|| ApiError::invalid_field("target", "is required"))?;
        let target_id = required_id("target.id", &target.id, Uuid::try_parse)?;
        let (kind, target_type, permission) = match ObjectType::try_from(target.r#type) {
            Ok(ObjectType::User) => (ObjectType::User, NamedTarget::User, Permission::UsersUpdate),
            Ok(ObjectType::Unit) => {
                let unit = self
                    .0
                    .store
                    .unit(tenant, lms_kernel::UnitId::from_uuid(target_id))
                    .await?
                    .ok_or_else(|| ApiError::not_found("unit", target_id.to_string()))?;
                check_named_unit(unit.kind).map_err(|_| {
                    ApiError::invalid_field(
                        "target",
                        "names an account or an account group, not a location",
                    )
                })?;
                (ObjectType::Unit, NamedTarget::Unit, Permission::UnitsUpdate)
            }
            _ => {
                return Err(ApiError::invalid_field(
                    "target.type",
                    "must be a user or a unit",
                ));
            }
        };
        self.0
            .authorization
            .require(&acting, permission, reference(kind, target_id))
            .await?;
        // Managing is a relation decisions may read; receiving updates is a notification
        // preference only.
        let events = if purpose.is_relation() {
            vec![relationships::named_manager_changed(
                kind, target_id, user, named,
            )]
        } else {
            Vec::new()
        };
        let naming = NamedManager {
            user,
            target_type,
            target: target_id,
            purpose,
        };
        self.0
            .store
            .set_named_manager(
                tenant,
                &naming,
                named,
                &events,
                &by.did("user.named_manager_changed", Object::user(user)),
            )
            .await?;
        tracing::info!(%tenant, %user, target = %target_id, named, "named manager changed");
        Ok(self.0.deliver(tenant).await)
    }

    pub(super) async fn add_named(
        &self,
        request: Request<AddNamedManagerRequest>,
    ) -> Result<AddNamedManagerResponse, ApiError> {
        let r = request.get_ref();
        let written_at = self
            .name_manager(&request, &r.user_id, r.target.as_ref(), r.purpose, true)
            .await?;
        Ok(AddNamedManagerResponse { written_at })
    }

    pub(super) async fn remove_named(
        &self,
        request: Request<RemoveNamedManagerRequest>,
    ) -> Result<RemoveNamedManagerResponse, ApiError> {
        let r = request.get_ref();
        let written_at = self
            .name_manager(&request, &r.user_id, r.target.as_ref(), r.purpose, false)
            .await?;
        Ok(RemoveNamedManagerResponse { written_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_missing_mandatory_ones_are_named() {
        let defined = vec![
            CustomField {
                key: "employee_number".into(),
                label: "Employee number".into(),
                mandatory: true,
            },
            CustomField {
                key: "shoe_size".into(),
                label: "Shoe size".into(),
                mandatory: false,
            },
        ];
        let values = HashMap::from([("favourite_colour".to_owned(), "red".to_owned())]);
        let Err(ApiError::InvalidArgument(violations)) =
            check_custom_fields(&defined, &values, "user.custom_fields", true)
        else {
            panic!("refused");
        };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "user.custom_fields[favourite_colour]",
                "user.custom_fields[employee_number]"
            ]
        );
        let good = HashMap::from([("employee_number".to_owned(), "E1".to_owned())]);
        assert!(check_custom_fields(&defined, &good, "user.custom_fields", true).is_ok());
        assert!(check_custom_fields(&defined, &HashMap::new(), "p", false).is_ok());
    }
}
