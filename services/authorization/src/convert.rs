//! Conversions between the `lms.authorization.v1` messages and kernel and store types. Every
//! parse names the request field it read, for INVALID_ARGUMENT.

use lms_api::authorization::v1 as pb;
use lms_api::common::v1 as common;
use lms_kernel::scope::{self, Relation};
use lms_kernel::{Grant, Grants, Permission, Reach, Responsibility, RoleId, TenantId, UserStatus};
use lms_runtime::ApiError;
use prost_types::Timestamp;

use uuid::Uuid;

use crate::store::{AssignmentRecord, Relationship, Revision, RoleRecord, Stamp};

/// Parses an id of type `T` from `field`.
pub fn id<T>(
    field: &str,
    text: &str,
    parse: impl Fn(&str) -> Result<T, lms_kernel::IdError>,
) -> Result<T, ApiError> {
    if text.is_empty() {
        return Err(ApiError::invalid_field(field, "is required"));
    }
    parse(text).map_err(|error| ApiError::invalid_field(field, error.to_string()))
}

/// Parses a permission name from `field`.
pub fn permission(field: &str, name: &str) -> Result<Permission, ApiError> {
    if name.is_empty() {
        return Err(ApiError::invalid_field(field, "is required"));
    }
    Permission::parse(name).ok_or_else(|| {
        ApiError::invalid_field(
            field,
            format!("{name:?} is not a permission; see ListPermissions"),
        )
    })
}

/// Parses a role id (`builtin:<key>` or a UUID) from `field`.
pub fn role_id(field: &str, text: &str) -> Result<RoleId, ApiError> {
    if text.is_empty() {
        return Err(ApiError::invalid_field(field, "is required"));
    }
    RoleId::parse(text)
        .ok_or_else(|| ApiError::invalid_field(field, "must be builtin:<key> or a role UUID"))
}

/// The kernel reach of a proto reach.
pub fn reach(field: &str, value: i32) -> Result<Reach, ApiError> {
    usize::try_from(value)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|index| Reach::ALL.get(index).copied())
        .ok_or_else(|| ApiError::invalid_field(field, "must be a reach"))
}

/// The proto number of a reach (same order as `Reach::ALL`, from 1).
pub fn reach_to_proto(reach: Reach) -> i32 {
    reach as i32 + 1
}

/// Parses grants from `field`, naming the index of a bad one.
pub fn grants(field: &str, grants: &[pb::Grant]) -> Result<Grants, ApiError> {
    grants
        .iter()
        .enumerate()
        .map(|(i, grant)| {
            Ok(Grant {
                permission: permission(&format!("{field}[{i}].permission"), &grant.permission)?,
                reach: reach(&format!("{field}[{i}].reach"), grant.reach)?,
            })
        })
        .collect()
}

/// Grants as proto messages.
pub fn grants_to_proto(grants: &Grants) -> Vec<pb::Grant> {
    grants
        .iter()
        .map(|grant| pb::Grant {
            permission: grant.permission.name().into(),
            reach: reach_to_proto(grant.reach),
        })
        .collect()
}

/// A permission of the vocabulary, explained, as a proto message.
pub fn permission_info(permission: Permission) -> pb::PermissionInfo {
    let area = permission.area();
    pb::PermissionInfo {
        name: permission.name().into(),
        description: permission.description().into(),
        risky: permission.is_risky(),
        area: area.key().into(),
        area_title: area.title().into(),
    }
}

/// Seconds since the Unix epoch as a timestamp.
pub fn timestamp(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 0 }
}

/// An optional timestamp as seconds.
pub fn seconds(timestamp: &Option<Timestamp>) -> Option<i64> {
    timestamp.as_ref().map(|t| t.seconds)
}

fn stamp(stamp: &Stamp) -> common::AuditStamp {
    common::AuditStamp {
        actor_id: stamp.actor.clone(),
        at: Some(timestamp(stamp.at)),
    }
}

/// A custom role as a proto message.
pub fn custom_role(role: &RoleRecord) -> pb::Role {
    let required = role.grants.required_settings();
    pb::Role {
        role_id: RoleId::Custom(role.id).to_string(),
        name: role.name.clone(),
        description: role.description.clone(),
        built_in: false,
        grants: grants_to_proto(&role.grants),
        copied_from_role_id: role
            .copied_from
            .map(|id| id.to_string())
            .unwrap_or_default(),
        required_settings: required_settings(&required),
        version: role.version,
        created: Some(stamp(&role.created)),
        updated: Some(stamp(&role.updated)),
    }
}

/// A built-in template as a proto message.
pub fn template_role(template: lms_kernel::Template) -> pb::Role {
    let grants = template.grants();
    pb::Role {
        role_id: RoleId::BuiltIn(template).to_string(),
        name: template.display_name().into(),
        description: format!("Built-in template: {}", template.display_name()),
        built_in: true,
        grants: grants_to_proto(&grants),
        copied_from_role_id: String::new(),
        required_settings: required_settings(&grants.required_settings()),
        version: 0,
        created: None,
        updated: None,
    }
}

fn required_settings(settings: &lms_kernel::TenantSettings) -> Vec<String> {
    lms_kernel::TenantSettings::default()
        .missing(settings)
        .into_iter()
        .map(String::from)
        .collect()
}

/// An assignment as a proto message.
pub fn assignment(record: &AssignmentRecord) -> pb::RoleAssignment {
    pb::RoleAssignment {
        assignment_id: record.id.to_string(),
        user_id: record.user.to_string(),
        role_id: record.role.to_string(),
        unit_id: record.unit.map(|u| u.to_string()).unwrap_or_default(),
        valid_from: record.valid_from.map(timestamp),
        valid_until: record.valid_until.map(timestamp),
        source: i32::from(record.source),
        main_role: record.main_role,
        assigned: Some(stamp(&record.assigned)),
    }
}

/// The audit trail's JSON of a custom role.
pub fn role_json(role: &RoleRecord) -> String {
    serde_json::json!({
        "role_id": role.id.to_string(),
        "name": role.name,
        "grants": crate::store::grants_text(&role.grants),
        "version": role.version,
    })
    .to_string()
}

/// The audit trail's JSON of a role assignment.
pub fn assignment_json(a: &AssignmentRecord) -> String {
    serde_json::json!({
        "assignment_id": a.id.to_string(),
        "user_id": a.user.to_string(),
        "role_id": a.role.to_string(),
        "unit_id": a.unit.map(|unit| unit.to_string()),
        "valid_from": a.valid_from,
        "valid_until": a.valid_until,
        "source": a.source,
        "main_role": a.main_role,
    })
    .to_string()
}

/// The consistency token naming `revision` of `tenant`.
pub fn token(tenant: TenantId, revision: Revision) -> common::ConsistencyToken {
    use std::fmt::Write as _;
    // Written piecewise: every decision answers one, and `format!` of the UUID cost more than
    // the decision itself.
    let mut token = String::with_capacity(54);
    let _ = write!(token, "r{}.", revision.0);
    token.push_str(
        tenant
            .as_uuid()
            .simple()
            .encode_lower(&mut uuid::Uuid::encode_buffer()),
    );
    common::ConsistencyToken { token }
}

/// The revision a token names, checked to belong to `tenant`.
pub fn revision_of(
    field: &str,
    token: &common::ConsistencyToken,
    tenant: TenantId,
) -> Result<Revision, ApiError> {
    let invalid =
        || ApiError::invalid_field(field, "is not a consistency token this service issued");
    let (revision, owner) = token
        .token
        .strip_prefix('r')
        .and_then(|rest| rest.split_once('.'))
        .ok_or_else(invalid)?;
    let revision: i64 = revision.parse().map_err(|_| invalid())?;
    let owner = uuid::Uuid::try_parse(owner).map_err(|_| invalid())?;
    if owner != tenant.as_uuid() {
        return Err(ApiError::invalid_field(field, "belongs to another tenant"));
    }
    Ok(Revision(revision))
}

pub fn object(
    field: &str,
    reference: Option<&common::ObjectReference>,
) -> Result<(i16, Uuid), ApiError> {
    let reference = reference.ok_or_else(|| ApiError::invalid_field(field, "is required"))?;
    let kind =
        common::ObjectType::try_from(reference.r#type).unwrap_or(common::ObjectType::Unspecified);
    if kind == common::ObjectType::Unspecified {
        return Err(ApiError::invalid_field(
            format!("{field}.type"),
            "is required",
        ));
    }
    let id = Uuid::try_parse(&reference.id)
        .ok()
        .filter(|id| !id.is_nil())
        .ok_or_else(|| ApiError::invalid_field(format!("{field}.id"), "must be a UUID"))?;
    Ok((kind as i16, id))
}

pub fn relation(field: &str, value: i32) -> Result<i16, ApiError> {
    match pb::Relation::try_from(value) {
        Ok(pb::Relation::Unspecified) | Err(_) => {
            Err(ApiError::invalid_field(field, "must be a relation"))
        }
        Ok(relation) => Ok(relation as i16),
    }
}

/// An object of `tenant` in request field `field`: a reference whose `tenant_id` names another
/// tenant is refused, never stored as this tenant's.
fn own_object(
    field: &str,
    reference: Option<&common::ObjectReference>,
    tenant: TenantId,
) -> Result<(i16, Uuid), ApiError> {
    let (kind, id) = object(field, reference)?;
    let named = reference.map_or("", |r| r.tenant_id.as_str());
    if !named.is_empty() && Uuid::try_parse(named).ok() != Some(tenant.as_uuid()) {
        return Err(ApiError::invalid_field(
            format!("{field}.tenant_id"),
            "names another tenant: facts are written by the tenant that owns them",
        ));
    }
    // A tenant object that is another tenant stays allowed: the CLIENT fact names the client.
    Ok((kind, id))
}

/// A relationship of `tenant` in request field `field` (both its ends are the tenant's).
pub fn relationship(
    field: &str,
    r: Option<&pb::Relationship>,
    tenant: TenantId,
) -> Result<Relationship, ApiError> {
    let r = r.ok_or_else(|| ApiError::invalid_field(field, "is required"))?;
    let (resource_type, resource_id) =
        own_object(&format!("{field}.resource"), r.resource.as_ref(), tenant)?;
    let (subject_type, subject_id) =
        own_object(&format!("{field}.subject"), r.subject.as_ref(), tenant)?;
    Ok(Relationship {
        resource_type,
        resource_id,
        relation: relation(&format!("{field}.relation"), r.relation)?,
        subject_type,
        subject_id,
        valid_from: seconds(&r.valid_from),
        valid_until: seconds(&r.valid_until),
    })
}

/// Most characters a role description holds (the bound of identity's free-text fields).
pub const MAX_DESCRIPTION: usize = 1000;

/// A role description in request field `field`, refused past [`MAX_DESCRIPTION`] characters.
pub fn description(field: &str, value: &str) -> Result<String, ApiError> {
    if value.chars().count() > MAX_DESCRIPTION {
        return Err(ApiError::invalid_field(
            field,
            format!("is at most {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok(value.to_owned())
}

pub fn user_status(field: &str, value: i32) -> Result<UserStatus, ApiError> {
    match common::UserStatus::try_from(value) {
        Ok(common::UserStatus::PendingApproval) => Ok(UserStatus::PendingApproval),
        Ok(common::UserStatus::Active) => Ok(UserStatus::Active),
        Ok(common::UserStatus::Suspended) => Ok(UserStatus::Suspended),
        Ok(common::UserStatus::Anonymised) => Ok(UserStatus::Anonymised),
        _ => Err(ApiError::invalid_field(field, "must be a user status")),
    }
}

pub fn relationship_to_proto(r: &Relationship) -> pb::Relationship {
    let reference = |kind: i16, id: Uuid| common::ObjectReference {
        r#type: i32::from(kind),
        id: id.to_string(),
        tenant_id: String::new(),
    };
    pb::Relationship {
        resource: Some(reference(r.resource_type, r.resource_id)),
        relation: i32::from(r.relation),
        subject: Some(reference(r.subject_type, r.subject_id)),
        valid_from: r.valid_from.map(timestamp),
        valid_until: r.valid_until.map(timestamp),
    }
}

/// ReadRelationships page tokens name the last relationship shown: `type.id.relation.type.id`.
pub fn relationship_token(r: &Relationship) -> String {
    format!(
        "{}.{}.{}.{}.{}",
        r.resource_type,
        r.resource_id.simple(),
        r.relation,
        r.subject_type,
        r.subject_id.simple()
    )
}

pub fn after_relationship_token(token: &str) -> Result<Option<Relationship>, ApiError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || ApiError::invalid_field("page_token", "is not a token from ReadRelationships");
    let parts: Vec<_> = token.split('.').collect();
    let [rt, rid, rel, st, sid] = parts.as_slice() else {
        return Err(bad());
    };
    Ok(Some(Relationship {
        resource_type: rt.parse().map_err(|_| bad())?,
        resource_id: Uuid::try_parse(rid).map_err(|_| bad())?,
        relation: rel.parse().map_err(|_| bad())?,
        subject_type: st.parse().map_err(|_| bad())?,
        subject_id: Uuid::try_parse(sid).map_err(|_| bad())?,
        valid_from: None,
        valid_until: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_tenant() {
        let tenant = TenantId::generate();
        let issued = token(tenant, Revision(42));
        assert_eq!(revision_of("t", &issued, tenant).unwrap(), Revision(42));
        assert!(revision_of("t", &issued, TenantId::generate()).is_err());
        let forged = common::ConsistencyToken { token: "r9".into() };
        assert!(revision_of("t", &forged, tenant).is_err());
    }

    #[test]
    fn reaches_map_to_the_proto_numbers() {
        assert_eq!(reach("r", 1).unwrap(), Reach::Own);
        assert_eq!(reach("r", 11).unwrap(), Reach::TenantAndClients);
        assert!(reach("r", 0).is_err() && reach("r", 12).is_err());
        for r in Reach::ALL {
            assert_eq!(reach("r", reach_to_proto(r)).unwrap(), r);
        }
        assert_eq!(pb::Reach::Tenant as i32, reach_to_proto(Reach::Tenant));
    }

    fn stamp() -> Stamp {
        Stamp {
            actor: "someone".into(),
            at: 1,
        }
    }

    #[test]
    fn audit_json_of_a_role_is_json_whatever_its_name() {
        let name = "a \"quoted\" back\\slash and a zero\u{200b}width space";
        let role = RoleRecord {
            id: lms_kernel::CustomRoleId::generate(),
            name: name.into(),
            description: String::new(),
            grants: Grants::EMPTY,
            responsibilities: lms_kernel::ResponsibilitySet::NONE,
            copied_from: None,
            version: 3,
            created: stamp(),
            updated: stamp(),
        };
        let json: serde_json::Value = serde_json::from_str(&role_json(&role)).unwrap();
        assert_eq!(json["name"], name);
        assert_eq!(json["role_id"], role.id.to_string());
        assert_eq!(json["grants"], "");
        assert_eq!(json["version"], 3);
    }

    #[test]
    fn audit_json_of_an_assignment_has_every_key() {
        let assignment = AssignmentRecord {
            id: lms_kernel::AssignmentId::generate(),
            user: lms_kernel::UserId::generate(),
            role: RoleId::parse("builtin:tutor").unwrap(),
            unit: None,
            valid_from: Some(10),
            valid_until: None,
            source: 2,
            main_role: true,
            assigned: stamp(),
        };
        let json: serde_json::Value = serde_json::from_str(&assignment_json(&assignment)).unwrap();
        assert_eq!(json["assignment_id"], assignment.id.to_string());
        assert_eq!(json["user_id"], assignment.user.to_string());
        assert_eq!(json["role_id"], "builtin:tutor");
        assert!(json["unit_id"].is_null() && json["valid_until"].is_null());
        assert_eq!(json["valid_from"], 10);
        assert_eq!(json["source"], 2);
        assert_eq!(json["main_role"], true);
    }
}

/// The proto's number for a relation of the kernel's scope table.
pub fn relation_to_proto(relation: Relation) -> pb::Relation {
    match relation {
        Relation::ParentUnit => pb::Relation::ParentUnit,
        Relation::Employee => pb::Relation::Employee,
        Relation::MainAccount => pb::Relation::MainAccount,
        Relation::Manager => pb::Relation::Manager,
        Relation::Administrator => pb::Relation::Administrator,
        Relation::PrimaryMember => pb::Relation::PrimaryMember,
        Relation::Member => pb::Relation::Member,
        Relation::Invitee => pb::Relation::Invitee,
        Relation::CourseTutor => pb::Relation::CourseTutor,
        Relation::CourseAdministrator => pb::Relation::CourseAdministrator,
        Relation::Enrolled => pb::Relation::Enrolled,
        Relation::Offered => pb::Relation::Offered,
        Relation::OwningUnit => pb::Relation::OwningUnit,
        Relation::ParentCourse => pb::Relation::ParentCourse,
        Relation::EventAdministrator => pb::Relation::EventAdministrator,
        Relation::Booked => pb::Relation::Booked,
        Relation::Client => pb::Relation::Client,
    }
}

/// The proto's object type of a kind the scope table lists.
pub fn kind_to_proto(kind: scope::Kind) -> common::ObjectType {
    match kind {
        scope::Kind::User => common::ObjectType::User,
        scope::Kind::Group => common::ObjectType::Group,
        scope::Kind::Unit => common::ObjectType::Unit,
        scope::Kind::Course => common::ObjectType::Course,
        scope::Kind::Lesson => common::ObjectType::Lesson,
        scope::Kind::Event => common::ObjectType::Event,
    }
}

/// The scope table's kind of an object type, if relations list objects of it.
pub fn kind_of(object_type: common::ObjectType) -> Option<scope::Kind> {
    scope::Kind::ALL
        .into_iter()
        .find(|kind| kind_to_proto(*kind) == object_type)
}

/// Parses the question of a CheckEscalation request, naming the field on error.
pub fn escalation_question(
    question: Option<&pb::check_escalation_request::Question>,
) -> Result<crate::escalation::Question, ApiError> {
    use crate::escalation::Question;
    use lms_kernel::{UnitId, UserId};
    use pb::check_escalation_request::Question as Pb;
    match question {
        None => Err(ApiError::invalid_field(
            "question",
            "name a user to administer, a role to assign or a responsibility to give",
        )),
        Some(Pb::AdministeredUserId(user)) => Ok(Question::Administer(id(
            "administered_user_id",
            user,
            UserId::parse,
        )?)),
        Some(Pb::AssignedRole(placement)) => {
            let role = role_id("assigned_role.role_id", &placement.role_id)?;
            let unit = match placement.unit_id.as_str() {
                "" => None,
                text => Some(id("assigned_role.unit_id", text, UnitId::parse)?),
            };
            Ok(Question::Assign(role, unit))
        }
        Some(Pb::GivenResponsibility(given)) => {
            let user = id(
                "given_responsibility.user_id",
                &given.user_id,
                UserId::parse,
            )?;
            let responsibility = Responsibility::ALL
                .into_iter()
                .find(|r| r.name() == given.responsibility)
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        "given_responsibility.responsibility",
                        "is not a responsibility",
                    )
                })?;
            Ok(Question::Give(user, responsibility))
        }
    }
}

/// The responsibility a stored fact gives its subject, if any: a course's tutor or
/// administrator, an event's administrator, a group's manager or administrator.
pub fn responsibility_of_fact(resource_type: i16, relation: i16) -> Option<Responsibility> {
    let object = |kind: common::ObjectType| kind as i16;
    Responsibility::ALL.into_iter().find(|responsibility| {
        let on = match responsibility {
            Responsibility::CourseTutor | Responsibility::CourseAdministrator => {
                common::ObjectType::Course
            }
            Responsibility::EventAdministrator => common::ObjectType::Event,
            Responsibility::GroupAdministrator | Responsibility::GroupManager => {
                common::ObjectType::Group
            }
        };
        resource_type == object(on)
            && relation == relation_to_proto(scope::relation_of(*responsibility)) as i16
    })
}

#[cfg(test)]
mod responsibility_facts {
    use super::*;

    #[test]
    fn only_the_five_responsibility_facts_give_a_responsibility() {
        let (course, event, group, unit) = (
            common::ObjectType::Course as i16,
            common::ObjectType::Event as i16,
            common::ObjectType::Group as i16,
            common::ObjectType::Unit as i16,
        );
        let r = |relation: pb::Relation| relation as i16;
        assert_eq!(
            responsibility_of_fact(course, r(pb::Relation::CourseTutor)),
            Some(Responsibility::CourseTutor)
        );
        assert_eq!(
            responsibility_of_fact(course, r(pb::Relation::CourseAdministrator)),
            Some(Responsibility::CourseAdministrator)
        );
        assert_eq!(
            responsibility_of_fact(event, r(pb::Relation::EventAdministrator)),
            Some(Responsibility::EventAdministrator)
        );
        assert_eq!(
            responsibility_of_fact(group, r(pb::Relation::Manager)),
            Some(Responsibility::GroupManager)
        );
        assert_eq!(
            responsibility_of_fact(group, r(pb::Relation::Administrator)),
            Some(Responsibility::GroupAdministrator)
        );
        assert_eq!(
            responsibility_of_fact(unit, r(pb::Relation::Administrator)),
            None
        );
        assert_eq!(
            responsibility_of_fact(course, r(pb::Relation::Enrolled)),
            None
        );
        assert_eq!(
            responsibility_of_fact(group, r(pb::Relation::PrimaryMember)),
            None
        );
    }
}
