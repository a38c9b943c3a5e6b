//! Compiles stored rows into the kernel's decision facts, with when those facts next change on
//! their own (a validity window opening or closing).

use lms_api::authorization::v1::Relation;
use lms_api::common::v1::ObjectType;
use lms_kernel::{
    CourseId, EventId, GrantedCourse, GroupId, HeldRole, Object, Place, ResourceFacts, RoleId,
    SubjectFacts, TenantId, UnitId, UserId,
};
use lms_runtime::ApiError;

use crate::decisions::Resource;
use crate::store::{Relationship, ResourceRows, Revision, Store, SubjectRows};

/// Facts compiled from one read.
#[derive(Clone, Debug)]
pub struct Compiled<T> {
    /// The facts, as in effect at the instant they were compiled for.
    pub facts: T,
    /// The revision of the facts' owner tenant the rows were read at.
    pub revision: Revision,
    /// The earliest instant (seconds since the epoch, as validity windows are) after the one
    /// compiled for at which a row read starts or stops being in effect: from then on the same rows compile to other facts. `None` when
    /// no row has a window boundary ahead.
    pub changes_at: Option<i64>,
}

fn relation(r: Relation) -> i16 {
    r as i16
}

/// Whether `r` is in effect at `now` (inside its validity window, if it has one).
pub(crate) fn active(r: &Relationship, now: i64) -> bool {
    r.valid_from.is_none_or(|from| from <= now) && r.valid_until.is_none_or(|until| now < until)
}

/// The earliest window boundary after `now`: a row starts being in effect at its `valid_from`
/// and stops at its `valid_until` (exclusive), so a boundary at or before `now` is behind us.
fn next_boundary(
    windows: impl IntoIterator<Item = (Option<i64>, Option<i64>)>,
    now: i64,
) -> Option<i64> {
    windows
        .into_iter()
        .flat_map(|(from, until)| [from, until])
        .flatten()
        .filter(|at| *at > now)
        .min()
}

/// Resources related by `wanted` in `relationships`, in effect at `now`.
fn related<T>(
    relationships: &[Relationship],
    wanted: Relation,
    now: i64,
    make: fn(uuid::Uuid) -> T,
) -> Vec<T> {
    relationships
        .iter()
        .filter(|r| r.relation == relation(wanted) && active(r, now))
        .map(|r| make(r.resource_id))
        .collect()
}

/// The subject facts of `user`, read at `revision`: roles in effect at `now`, responsibilities
/// and own learning.
pub fn subject_facts(
    tenant: TenantId,
    user: UserId,
    rows: &SubjectRows,
    revision: Revision,
    now: i64,
) -> Compiled<SubjectFacts> {
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
    let held = &rows.relationships;
    facts.managed_groups = related(held, Relation::Manager, now, GroupId::from_uuid);
    facts.administered_groups = related(held, Relation::Administrator, now, GroupId::from_uuid);
    facts.tutored_courses = related(held, Relation::CourseTutor, now, CourseId::from_uuid);
    facts.administered_courses = related(
        held,
        Relation::CourseAdministrator,
        now,
        CourseId::from_uuid,
    );
    facts.administered_events =
        related(held, Relation::EventAdministrator, now, EventId::from_uuid);
    facts.enrolled_courses = related(held, Relation::Enrolled, now, CourseId::from_uuid);
    facts.offered_courses = related(held, Relation::Offered, now, CourseId::from_uuid);
    facts.booked_events = related(held, Relation::Booked, now, EventId::from_uuid);
    // Ended grants too (a revoke ends the window): what the tenant was granted stays known to
    // be the master's. A grant is in effect inside its window while its master has the tenant
    // as a client, with clients switched on: an ended link ends every grant with it.
    facts.granted_courses = held
        .iter()
        .filter(|r| {
            r.relation == relation(Relation::GrantedBy)
                && r.subject_type == ObjectType::Tenant as i16
                && r.resource_type == ObjectType::Course as i16
        })
        .map(|r| {
            let owner = TenantId::from_uuid(r.subject_id);
            GrantedCourse {
                owner,
                course: CourseId::from_uuid(r.resource_id),
                in_effect: active(r, now) && rows.linked_masters.contains(&owner),
            }
        })
        .collect();
    facts.access_coordinator = rows.relationships.iter().any(|r| {
        r.relation == relation(Relation::AccessCoordinator)
            && r.resource_type == ObjectType::Tenant as i16
            && r.resource_id == tenant.as_uuid()
            && active(r, now)
    });
    let windows = rows
        .assignments
        .iter()
        .map(|a| (a.valid_from, a.valid_until))
        .chain(held.iter().map(|r| (r.valid_from, r.valid_until)));
    Compiled {
        facts,
        revision,
        changes_at: next_boundary(windows, now),
    }
}

/// The first relationship of `wanted` (in key order), whatever its window: the structure a
/// course or a lesson hangs from (owning unit, parent course) is never windowed.
fn parent(rows: &ResourceRows, wanted: Relation) -> Option<uuid::Uuid> {
    rows.relationships
        .iter()
        .find(|r| r.relation == relation(wanted))
        .map(|r| r.subject_id)
}

/// The facts of `resource` compiled from its rows, read at `revision`, as in effect at `now`.
pub fn compile_resource(
    resource: &Resource,
    rows: &ResourceRows,
    revision: Revision,
    now: i64,
) -> Compiled<ResourceFacts> {
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
            let now_rows = |wanted| related(&rows.relationships, wanted, now, |u| u);
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
            let mut facts = ResourceFacts::new(tenant, Object::Course(CourseId::from_uuid(id)));
            facts.units = parent(rows, Relation::OwningUnit)
                .map(UnitId::from_uuid)
                .into_iter()
                .collect();
            facts
        }
        ObjectType::Lesson | ObjectType::Event => match parent(rows, Relation::ParentCourse) {
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
        },
        ObjectType::Role
        | ObjectType::Catalogue
        | ObjectType::CpdProgramme
        | ObjectType::Report
        | ObjectType::ContentItem => ResourceFacts::new(tenant, Object::TenantWide),
    };
    for unit in facts.units.clone() {
        // The store reads a chain for every unit the resource involves; were one missing, the
        // unit alone is the safe side (fewer facts never allow more).
        let chain = rows
            .unit_chains
            .get(&unit)
            .map_or(std::slice::from_ref(&unit), Vec::as_slice);
        for ancestor in chain {
            if !facts.unit_ancestors.contains(ancestor) {
                facts.unit_ancestors.push(*ancestor);
            }
        }
    }
    let windows = rows
        .relationships
        .iter()
        .map(|r| (r.valid_from, r.valid_until));
    Compiled {
        facts,
        revision,
        changes_at: next_boundary(windows, now),
    }
}

/// The facts of `resource`, read from the store in one statement with the revision of the
/// tenant that owns it.
pub async fn resource_facts<S: Store>(
    store: &S,
    resource: &Resource,
    now: i64,
) -> Result<Compiled<ResourceFacts>, ApiError> {
    let (rows, revision) = store
        .resource_rows(resource.tenant, resource.kind as i16, resource.id)
        .await?;
    Ok(compile_resource(resource, &rows, revision, now))
}

#[cfg(test)]
mod tests {
    use lms_kernel::{AssignmentId, Template};

    use super::*;
    use crate::store::{AssignmentRecord, Stamp, SubjectStatus};

    const NOW: i64 = 1_700_000_000_000;

    fn tutor_from(user: UserId, valid_from: Option<i64>) -> AssignmentRecord {
        AssignmentRecord {
            id: AssignmentId::generate(),
            user,
            role: RoleId::BuiltIn(Template::Tutor),
            unit: None,
            valid_from,
            valid_until: None,
            source: 1,
            main_role: false,
            assigned: Stamp {
                actor: "tester".into(),
                at: 0,
            },
        }
    }

    fn employment(unit: UnitId, user: UserId, window: (Option<i64>, Option<i64>)) -> Relationship {
        Relationship {
            resource_type: ObjectType::Unit as i16,
            resource_id: unit.as_uuid(),
            relation: relation(Relation::Employee),
            subject_type: ObjectType::User as i16,
            subject_id: user.as_uuid(),
            valid_from: window.0,
            valid_until: window.1,
        }
    }

    /// A known user's rows as a resource.
    fn person(user: UserId, relationships: Vec<Relationship>) -> ResourceRows {
        ResourceRows {
            status: Some(SubjectStatus {
                user,
                status: lms_kernel::UserStatus::Active,
                restrict_bookings: false,
            }),
            relationships,
            ..ResourceRows::default()
        }
    }

    #[test]
    fn a_future_assignment_changes_the_facts_when_it_starts() {
        let (tenant, user) = (TenantId::generate(), UserId::generate());
        let starts = NOW + 60_000;
        let rows = SubjectRows {
            assignments: vec![tutor_from(user, Some(starts))],
            ..SubjectRows::default()
        };
        let now = subject_facts(tenant, user, &rows, Revision(7), NOW);
        assert!(now.facts.roles.is_empty(), "not held before it starts");
        assert_eq!(now.changes_at, Some(starts));
        assert_eq!(now.revision, Revision(7));
        let then = subject_facts(tenant, user, &rows, Revision(7), starts);
        assert_eq!(then.facts.roles.len(), 1, "held from the instant it starts");
        assert_eq!(then.changes_at, None, "nothing changes after that");
    }

    #[test]
    fn an_ending_relationship_changes_the_facts_when_it_ends() {
        let (tenant, user, unit) = (TenantId::generate(), UserId::generate(), UnitId::generate());
        let ends = NOW + 1_000;
        let rows = person(
            user,
            vec![employment(unit, user, (Some(NOW - 1_000), Some(ends)))],
        );
        let resource = Resource::user(tenant, user);
        let now = compile_resource(&resource, &rows, Revision(3), NOW);
        assert_eq!(now.facts.units, [unit]);
        assert_eq!(now.facts.unit_ancestors, [unit]);
        assert_eq!(now.changes_at, Some(ends));
        let then = compile_resource(&resource, &rows, Revision(3), ends);
        assert!(then.facts.units.is_empty(), "the window's end is exclusive");
        assert!(then.facts.unit_ancestors.is_empty());
        assert_eq!(then.changes_at, None);
    }

    #[test]
    fn rows_without_a_boundary_ahead_never_change_on_their_own() {
        let (tenant, user, unit) = (TenantId::generate(), UserId::generate(), UnitId::generate());
        // Windows that opened or closed already, at `NOW` exactly too, and rows without any.
        let subject = SubjectRows {
            assignments: vec![tutor_from(user, Some(NOW)), tutor_from(user, None)],
            relationships: vec![employment(unit, user, (None, Some(NOW)))],
            ..SubjectRows::default()
        };
        assert_eq!(
            subject_facts(tenant, user, &subject, Revision(1), NOW).changes_at,
            None
        );
        let rows = person(
            user,
            vec![
                employment(unit, user, (Some(NOW - 5), Some(NOW - 1))),
                employment(UnitId::generate(), user, (None, None)),
            ],
        );
        let compiled = compile_resource(&Resource::user(tenant, user), &rows, Revision(1), NOW);
        assert_eq!(compiled.facts.units.len(), 1);
        assert_eq!(compiled.changes_at, None);
    }
}
