//! Compiles stored rows into the kernel's decision facts.

use lms_api::authorization::v1::Relation;
use lms_api::common::v1::ObjectType;
use lms_kernel::{
    CourseId, EventId, GroupId, HeldRole, Object, Place, ResourceFacts, RoleId, SubjectFacts,
    TenantId, UnitId, UserId,
};
use lms_runtime::ApiError;

use crate::decisions::Resource;
use crate::store::{Relationship, RelationshipFilter, Store, SubjectRows};

fn relation(r: Relation) -> i16 {
    r as i16
}

/// Whether `r` is in effect at `now` (inside its validity window, if it has one).
pub(crate) fn active(r: &Relationship, now: i64) -> bool {
    r.valid_from.is_none_or(|from| from <= now) && r.valid_until.is_none_or(|until| now < until)
}

/// Resources related to the subject by `wanted`, in effect at `now`.
fn related<T>(rows: &SubjectRows, wanted: Relation, now: i64, make: fn(uuid::Uuid) -> T) -> Vec<T> {
    rows.relationships
        .iter()
        .filter(|r| r.relation == relation(wanted) && active(r, now))
        .map(|r| make(r.resource_id))
        .collect()
}

/// The subject facts of `user`: roles in effect at `now`, responsibilities and own learning.
pub fn subject_facts(tenant: TenantId, user: UserId, rows: &SubjectRows, now: i64) -> SubjectFacts {
    // No status fact: identity never told us about this user (or the event is still on its
    // way), so nothing is decided in their favour.
    let mut facts = match rows.status {
        Some(status) => SubjectFacts {
            status: status.status,
            ..SubjectFacts::new(tenant, user, rows.settings)
        },
        None => SubjectFacts::unknown(tenant, user, rows.settings),
    };
    facts.clients = rows.clients.clone();
    facts.roles = rows
        .assignments
        .iter()
        .filter(|a| a.is_active(now))
        .filter_map(|a| {
            let place = a.unit.map_or(Place::Tenant, Place::Unit);
            let mut held = match a.role {
                RoleId::BuiltIn(template) => HeldRole::new(&template.role(), place),
                RoleId::Custom(id) => {
                    let role = rows.custom_roles.iter().find(|r| r.id == id)?;
                    HeldRole {
                        assignment: None,
                        role: a.role,
                        grants: role.grants,
                        responsibilities: role.responsibilities,
                        place,
                    }
                }
            };
            held.assignment = Some(a.id);
            Some(held)
        })
        .collect();
    facts.managed_groups = related(rows, Relation::Manager, now, GroupId::from_uuid);
    facts.administered_groups = related(rows, Relation::Administrator, now, GroupId::from_uuid);
    facts.tutored_courses = related(rows, Relation::CourseTutor, now, CourseId::from_uuid);
    facts.administered_courses = related(
        rows,
        Relation::CourseAdministrator,
        now,
        CourseId::from_uuid,
    );
    facts.administered_events =
        related(rows, Relation::EventAdministrator, now, EventId::from_uuid);
    facts.enrolled_courses = related(rows, Relation::Enrolled, now, CourseId::from_uuid);
    facts.booked_events = related(rows, Relation::Booked, now, EventId::from_uuid);
    facts.access_coordinator = rows.relationships.iter().any(|r| {
        r.relation == relation(Relation::AccessCoordinator)
            && r.resource_type == ObjectType::Tenant as i16
            && r.resource_id == tenant.as_uuid()
            && active(r, now)
    });
    facts
}

async fn with_ancestors<S: Store>(
    store: &S,
    tenant: TenantId,
    facts: &mut ResourceFacts,
) -> Result<(), ApiError> {
    for unit in facts.units.clone() {
        for ancestor in store.unit_ancestors(tenant, unit).await? {
            if !facts.unit_ancestors.contains(&ancestor) {
                facts.unit_ancestors.push(ancestor);
            }
        }
    }
    Ok(())
}

/// The first resource related to `(kind, id)` by `wanted` (a lesson's course, a course's unit).
async fn parent<S: Store>(
    store: &S,
    tenant: TenantId,
    kind: ObjectType,
    id: uuid::Uuid,
    wanted: Relation,
) -> Result<Option<uuid::Uuid>, ApiError> {
    let filter = RelationshipFilter {
        resource: Some((kind as i16, id)),
        relation: Some(relation(wanted)),
        subject: None,
    };
    Ok(store
        .relationships(tenant, filter, None, 1)
        .await?
        .first()
        .map(|r| r.subject_id))
}

/// The resource facts of `reference`, read from the store. `field` names the reference in errors.
pub async fn resource_facts<S: Store>(
    store: &S,
    resource: &Resource,
    now: i64,
) -> Result<ResourceFacts, ApiError> {
    let (tenant, kind, id) = (resource.tenant, resource.kind, resource.id);
    let mut facts = match kind {
        // Resource::parse refuses an unspecified type.
        ObjectType::Unspecified => ResourceFacts::new(tenant, Object::TenantWide),
        ObjectType::Tenant => ResourceFacts::new(tenant, Object::Tenant(TenantId::from_uuid(id))),
        ObjectType::Unit => {
            let unit = UnitId::from_uuid(id);
            let mut facts = ResourceFacts::new(tenant, Object::Unit(unit));
            facts.units = vec![unit];
            facts
        }
        ObjectType::User => {
            let user = UserId::from_uuid(id);
            let (rows, _) = store.subject_rows(tenant, user).await?;
            let now_rows = |wanted| related(&rows, wanted, now, |u| u);
            // Identity announces every user with their status: without one, nobody is decided
            // about (the relations below are empty anyway).
            let mut facts = match rows.status {
                Some(_) => ResourceFacts::new(tenant, Object::User(user)),
                None => ResourceFacts::unknown(tenant, Object::User(user)),
            };
            facts.units = now_rows(Relation::Employee)
                .into_iter()
                .map(UnitId::from_uuid)
                .collect();
            facts.primary_group = now_rows(Relation::PrimaryMember)
                .first()
                .map(|g| GroupId::from_uuid(*g));
            facts.groups = now_rows(Relation::Member)
                .into_iter()
                .chain(now_rows(Relation::PrimaryMember))
                .map(GroupId::from_uuid)
                .collect();
            facts.invited_by = now_rows(Relation::Invitee)
                .into_iter()
                .map(UserId::from_uuid)
                .collect();
            facts.bookings_restricted = rows.status.is_some_and(|s| s.restrict_bookings);
            facts
        }
        ObjectType::Group => ResourceFacts::new(tenant, Object::Group(GroupId::from_uuid(id))),
        ObjectType::Course => {
            let course = id;
            let mut facts = ResourceFacts::new(tenant, Object::Course(CourseId::from_uuid(course)));
            facts.units = parent(
                store,
                tenant,
                ObjectType::Course,
                course,
                Relation::OwningUnit,
            )
            .await?
            .map(UnitId::from_uuid)
            .into_iter()
            .collect();
            facts
        }
        ObjectType::Lesson | ObjectType::Event => {
            match parent(store, tenant, kind, id, Relation::ParentCourse).await? {
                Some(course) => {
                    let course = CourseId::from_uuid(course);
                    let object = if kind == ObjectType::Lesson {
                        Object::Lesson { course }
                    } else {
                        Object::Event {
                            event: EventId::from_uuid(id),
                            course,
                        }
                    };
                    ResourceFacts::new(tenant, object)
                }
                // Not known to belong to a course: only tenant-wide grants can reach it.
                None => ResourceFacts::new(tenant, Object::TenantWide),
            }
        }
        ObjectType::Role
        | ObjectType::Catalogue
        | ObjectType::CpdProgramme
        | ObjectType::Report
        | ObjectType::ContentItem => ResourceFacts::new(tenant, Object::TenantWide),
    };
    with_ancestors(store, tenant, &mut facts).await?;
    Ok(facts)
}
