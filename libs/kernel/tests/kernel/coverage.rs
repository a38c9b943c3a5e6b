//! The scope table is complete: over generated worlds of stored facts, every object `decide`
//! allows lies at the end of a path that `scope::coverage` opens for the subject.
//!
//! The world is a list of facts (`resource RELATION subject`) as the services store them. The
//! test compiles decision facts from it the way authorization does, with one difference that
//! makes the property stronger: lessons and events are placed in their course's units too, so
//! a unit reach may reach them. `decide` is monotone in facts, so a table that covers the richer
//! facts covers any compiler that reads fewer.

use std::collections::{HashMap, HashSet};

use lms_kernel::scope::walk::{Request, walk};
use lms_kernel::scope::{self, Coverage, Kind, Relation, Step};
use lms_kernel::{
    CourseId, EventId, GroupId, HeldRole, Object, Permission, PermissionSet, Place, Reach,
    ResourceFacts, ResponsibilitySet, RoleId, SubjectFacts, Template, TenantId, TenantSettings,
    UnitId, UserId, decide,
};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use uuid::Uuid;

const UNITS: usize = 4;
const USERS: usize = 5;
const GROUPS: usize = 2;
const COURSES: usize = 2;
const LESSONS: usize = 2;
const EVENTS: usize = 2;

/// The ids a world's facts point at; the same in every case, so a failure prints readable
/// indices in the generated structure.
struct Ids {
    tenant: TenantId,
    units: Vec<Uuid>,
    users: Vec<Uuid>,
    groups: Vec<Uuid>,
    courses: Vec<Uuid>,
    lessons: Vec<Uuid>,
    events: Vec<Uuid>,
}

fn ids() -> &'static Ids {
    static IDS: std::sync::OnceLock<Ids> = std::sync::OnceLock::new();
    let many = |n| (0..n).map(|_| Uuid::new_v4()).collect();
    IDS.get_or_init(|| Ids {
        tenant: TenantId::generate(),
        units: many(UNITS),
        users: many(USERS),
        groups: many(GROUPS),
        courses: many(COURSES),
        lessons: many(LESSONS),
        events: many(EVENTS),
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Fact {
    resource: (Kind, Uuid),
    relation: Relation,
    subject: (Kind, Uuid),
}

/// The structure of a world, as indices into [`Ids`].
#[derive(Clone, Debug)]
struct Shape {
    /// Unit i's parent, always an earlier unit (a forest).
    parents: Vec<Option<usize>>,
    /// Per user: units employing them, primary group, other groups.
    employments: Vec<Vec<usize>>,
    primary: Vec<Option<usize>>,
    memberships: Vec<Vec<usize>>,
    /// Per group: managers and administrators.
    managers: Vec<Vec<usize>>,
    administrators: Vec<Vec<usize>>,
    /// (purchaser, invitee).
    invitations: Vec<(usize, usize)>,
    /// Per course: owning unit, tutor, administrators, enrolled learners.
    owners: Vec<Option<usize>>,
    tutors: Vec<Option<usize>>,
    course_administrators: Vec<Vec<usize>>,
    enrolled: Vec<Vec<usize>>,
    /// Per course: learners a catalogue offers it to.
    offered: Vec<Vec<usize>>,
    /// Per lesson and event: its course.
    lesson_courses: Vec<Option<usize>>,
    event_courses: Vec<Option<usize>>,
    /// Per event: administrators, bookings.
    event_administrators: Vec<Vec<usize>>,
    booked: Vec<Vec<usize>>,
}

fn some_of(n: usize) -> impl Strategy<Value = Vec<usize>> {
    subsequence((0..n).collect::<Vec<_>>(), 0..=n.min(2))
}

fn per<T: std::fmt::Debug, S: Strategy<Value = T>>(
    n: usize,
    each: S,
) -> impl Strategy<Value = Vec<T>> {
    prop::collection::vec(each, n)
}

fn shape() -> impl Strategy<Value = Shape> {
    let parents = (1..UNITS).fold(Just(vec![None]).boxed(), |acc, i| {
        (acc, prop::option::of(0..i))
            .prop_map(|(mut v, p)| {
                v.push(p);
                v
            })
            .boxed()
    });
    let people = (
        per(USERS, some_of(UNITS)),
        per(USERS, prop::option::of(0..GROUPS)),
        per(USERS, some_of(GROUPS)),
        per(GROUPS, some_of(USERS)),
        per(GROUPS, some_of(USERS)),
        prop::collection::vec((0..USERS, 0..USERS), 0..4),
    );
    let learning = (
        per(COURSES, prop::option::of(0..UNITS)),
        per(COURSES, prop::option::of(0..USERS)),
        per(COURSES, some_of(USERS)),
        per(COURSES, some_of(USERS)),
        per(COURSES, some_of(USERS)),
        per(LESSONS, prop::option::weighted(0.9, 0..COURSES)),
        per(EVENTS, prop::option::weighted(0.9, 0..COURSES)),
        per(EVENTS, some_of(USERS)),
        per(EVENTS, some_of(USERS)),
    );
    (parents, people, learning).prop_map(
        |(
            parents,
            (employments, primary, memberships, managers, administrators, invitations),
            (
                owners,
                tutors,
                course_administrators,
                enrolled,
                offered,
                lesson_courses,
                event_courses,
                event_administrators,
                booked,
            ),
        )| Shape {
            parents,
            employments,
            primary,
            memberships,
            managers,
            administrators,
            invitations,
            owners,
            tutors,
            course_administrators,
            enrolled,
            offered,
            lesson_courses,
            event_courses,
            event_administrators,
            booked,
        },
    )
}

/// The facts a shape stores.
fn facts(shape: &Shape) -> Vec<Fact> {
    let ids = ids();
    let mut facts = Vec::new();
    let mut fact = |resource, relation, subject| {
        facts.push(Fact {
            resource,
            relation,
            subject,
        })
    };
    let unit = |i: usize| (Kind::Unit, ids.units[i]);
    let user = |i: usize| (Kind::User, ids.users[i]);
    let group = |i: usize| (Kind::Group, ids.groups[i]);
    let course = |i: usize| (Kind::Course, ids.courses[i]);
    let event = |i: usize| (Kind::Event, ids.events[i]);
    for (i, parent) in shape.parents.iter().enumerate() {
        if let Some(p) = parent {
            fact(unit(i), Relation::ParentUnit, unit(*p));
        }
    }
    for u in 0..USERS {
        for e in &shape.employments[u] {
            fact(unit(*e), Relation::Employee, user(u));
        }
        if let Some(g) = shape.primary[u] {
            fact(group(g), Relation::PrimaryMember, user(u));
        }
        for g in &shape.memberships[u] {
            fact(group(*g), Relation::Member, user(u));
        }
    }
    for g in 0..GROUPS {
        for m in &shape.managers[g] {
            fact(group(g), Relation::Manager, user(*m));
        }
        for a in &shape.administrators[g] {
            fact(group(g), Relation::Administrator, user(*a));
        }
    }
    for (purchaser, invitee) in &shape.invitations {
        fact(user(*purchaser), Relation::Invitee, user(*invitee));
    }
    for c in 0..COURSES {
        if let Some(u) = shape.owners[c] {
            fact(course(c), Relation::OwningUnit, unit(u));
        }
        if let Some(t) = shape.tutors[c] {
            fact(course(c), Relation::CourseTutor, user(t));
        }
        for a in &shape.course_administrators[c] {
            fact(course(c), Relation::CourseAdministrator, user(*a));
        }
        for l in &shape.enrolled[c] {
            fact(course(c), Relation::Enrolled, user(*l));
        }
        for l in &shape.offered[c] {
            fact(course(c), Relation::Offered, user(*l));
        }
    }
    for (l, c) in shape.lesson_courses.iter().enumerate() {
        if let Some(c) = c {
            fact(
                (Kind::Lesson, ids.lessons[l]),
                Relation::ParentCourse,
                course(*c),
            );
        }
    }
    for e in 0..EVENTS {
        if let Some(c) = shape.event_courses[e] {
            fact(event(e), Relation::ParentCourse, course(c));
        }
        for a in &shape.event_administrators[e] {
            fact(event(e), Relation::EventAdministrator, user(*a));
        }
        for b in &shape.booked[e] {
            fact(event(e), Relation::Booked, user(*b));
        }
    }
    facts
}

/// A world's facts, read the ways decisions and walks read them.
struct World {
    facts: Vec<Fact>,
}

impl World {
    /// Subjects of `relation` on `resource`.
    fn subjects(&self, resource: Uuid, relation: Relation) -> Vec<Uuid> {
        self.facts
            .iter()
            .filter(|f| f.resource.1 == resource && f.relation == relation)
            .map(|f| f.subject.1)
            .collect()
    }

    /// Resources of `relation` whose subject is `subject`.
    fn resources(&self, subject: Uuid, relation: Relation) -> Vec<Uuid> {
        self.facts
            .iter()
            .filter(|f| f.subject.1 == subject && f.relation == relation)
            .map(|f| f.resource.1)
            .collect()
    }

    /// One hop of a walk, answered from the facts.
    fn hop(&self, request: Request<'_, Uuid>) -> Result<Vec<(Uuid, Uuid)>, ()> {
        let matches = |f: &&Fact| f.relation == request.relation;
        Ok(match request.step {
            Step::Subjects(_) => self
                .facts
                .iter()
                .filter(matches)
                .filter(|f| f.resource.0 == request.from_kind && f.subject.0 == request.to_kind)
                .filter(|f| request.from.contains(&f.resource.1))
                .map(|f| (f.resource.1, f.subject.1))
                .collect(),
            Step::Resources(_) => self
                .facts
                .iter()
                .filter(matches)
                .filter(|f| f.subject.0 == request.from_kind && f.resource.0 == request.to_kind)
                .filter(|f| request.from.contains(&f.subject.1))
                .map(|f| (f.subject.1, f.resource.1))
                .collect(),
            Step::Subtree => unreachable!("a walk asks for PARENT_UNIT hops"),
        })
    }

    /// `unit` and every unit above it.
    fn ancestors(&self, unit: Uuid) -> Vec<UnitId> {
        let mut chain = vec![unit];
        while let Some(parent) = self
            .subjects(chain[chain.len() - 1], Relation::ParentUnit)
            .first()
        {
            chain.push(*parent);
        }
        chain.into_iter().map(UnitId::from_uuid).collect()
    }

    fn placed(&self, mut facts: ResourceFacts, units: Vec<Uuid>) -> ResourceFacts {
        facts.unit_ancestors = units.iter().flat_map(|u| self.ancestors(*u)).collect();
        facts.units = units.into_iter().map(UnitId::from_uuid).collect();
        facts
    }

    fn subject(&self, user: Uuid, settings: TenantSettings, roles: Vec<HeldRole>) -> SubjectFacts {
        let mut subject = SubjectFacts::new(ids().tenant, UserId::from_uuid(user), settings);
        subject.roles = roles;
        let of = |relation| self.resources(user, relation);
        subject.managed_groups = of(Relation::Manager)
            .into_iter()
            .map(GroupId::from_uuid)
            .collect();
        subject.administered_groups = of(Relation::Administrator)
            .into_iter()
            .map(GroupId::from_uuid)
            .collect();
        subject.tutored_courses = of(Relation::CourseTutor)
            .into_iter()
            .map(CourseId::from_uuid)
            .collect();
        subject.administered_courses = of(Relation::CourseAdministrator)
            .into_iter()
            .map(CourseId::from_uuid)
            .collect();
        subject.administered_events = of(Relation::EventAdministrator)
            .into_iter()
            .map(EventId::from_uuid)
            .collect();
        subject.enrolled_courses = of(Relation::Enrolled)
            .into_iter()
            .map(CourseId::from_uuid)
            .collect();
        subject.offered_courses = of(Relation::Offered)
            .into_iter()
            .map(CourseId::from_uuid)
            .collect();
        subject.booked_events = of(Relation::Booked)
            .into_iter()
            .map(EventId::from_uuid)
            .collect();
        subject
    }

    /// Every object of the world with its decision facts.
    fn objects(&self) -> Vec<(Kind, Uuid, ResourceFacts)> {
        let ids = ids();
        let new = |object| ResourceFacts::new(ids.tenant, object);
        let mut objects = Vec::new();
        for unit in &ids.units {
            let facts = self.placed(new(Object::Unit(UnitId::from_uuid(*unit))), vec![*unit]);
            objects.push((Kind::Unit, *unit, facts));
        }
        for user in &ids.users {
            let mut facts = new(Object::User(UserId::from_uuid(*user)));
            let primary = self.resources(*user, Relation::PrimaryMember);
            facts.primary_group = primary.first().map(|g| GroupId::from_uuid(*g));
            facts.groups = self
                .resources(*user, Relation::Member)
                .into_iter()
                .chain(primary)
                .map(GroupId::from_uuid)
                .collect();
            facts.invited_by = self
                .resources(*user, Relation::Invitee)
                .into_iter()
                .map(UserId::from_uuid)
                .collect();
            let facts = self.placed(facts, self.resources(*user, Relation::Employee));
            objects.push((Kind::User, *user, facts));
        }
        for group in &ids.groups {
            objects.push((
                Kind::Group,
                *group,
                new(Object::Group(GroupId::from_uuid(*group))),
            ));
        }
        let course_units = |course: Uuid| self.subjects(course, Relation::OwningUnit);
        for course in &ids.courses {
            let facts = self.placed(
                new(Object::Course(CourseId::from_uuid(*course))),
                course_units(*course),
            );
            objects.push((Kind::Course, *course, facts));
        }
        let children = ids
            .lessons
            .iter()
            .map(|l| (Kind::Lesson, *l))
            .chain(ids.events.iter().map(|e| (Kind::Event, *e)));
        for (kind, id) in children {
            let facts = match self.subjects(id, Relation::ParentCourse).first() {
                Some(course) => {
                    let course_id = CourseId::from_uuid(*course);
                    let object = match kind {
                        Kind::Lesson => Object::Lesson { course: course_id },
                        _ => Object::Event {
                            event: EventId::from_uuid(id),
                            course: course_id,
                        },
                    };
                    self.placed(new(object), course_units(*course))
                }
                // Not known to belong to a course, as authorization compiles it.
                None => new(Object::TenantWide),
            };
            objects.push((kind, id, facts));
        }
        objects
    }

    /// The objects of `kind` at the end of the paths `coverage` opens (`None`: every object).
    fn covered(
        &self,
        subject: &SubjectFacts,
        permission: Permission,
        kind: Kind,
    ) -> Option<HashSet<Uuid>> {
        match scope::coverage(subject, permission, Some(kind)) {
            Coverage::Everything => None,
            Coverage::Paths(paths) => {
                let mut reached = HashSet::new();
                for (path, origin) in paths {
                    let found = walk(path, origin.as_uuid(), kind, |r| self.hop(r)).unwrap();
                    reached.extend(found.into_iter().map(|r| r.node));
                }
                Some(reached)
            }
        }
    }
}

fn held_role() -> impl Strategy<Value = HeldRole> {
    let place = prop_oneof![
        1 => Just(Place::Tenant),
        3 => select(ids().units.clone()).prop_map(|u| Place::Unit(UnitId::from_uuid(u))),
    ];
    let grants = prop::collection::vec(
        (
            select(Permission::ALL.to_vec()),
            select(Reach::ALL.to_vec()),
        ),
        0..12,
    )
    .prop_map(|pairs| {
        pairs
            .into_iter()
            .fold(lms_kernel::Grants::EMPTY, |grants, (permission, reach)| {
                grants.with(reach, PermissionSet::of(&[permission]))
            })
    });
    prop_oneof![
        (select(Template::ALL.to_vec()), place.clone())
            .prop_map(|(template, place)| HeldRole::new(&template.role(), place)),
        (grants, place, any::<u8>()).prop_map(|(grants, place, responsibilities)| HeldRole {
            assignment: None,
            role: RoleId::Custom(lms_kernel::CustomRoleId::generate()),
            grants,
            responsibilities: ResponsibilitySet::from_bits(responsibilities),
            place,
        }),
    ]
}

fn settings() -> impl Strategy<Value = TenantSettings> {
    (prop::bool::weighted(0.8), any::<bool>()).prop_map(|(locations_enabled, clients_enabled)| {
        TenantSettings {
            locations_enabled,
            clients_enabled,
            mfa_required_for_admins: false,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// For every subject, permission and object `decide` allows, the object lies on a path of
    /// the scope of a grant or responsibility that allows it (or the scope is everything), so
    /// LookupResources, which walks those paths, misses nothing Check allows.
    #[test]
    fn the_scope_table_reaches_everything_decide_allows(
        shape in shape(),
        settings in settings(),
        holder in 0..USERS,
        roles in prop::collection::vec(held_role(), 0..4),
    ) {
        let world = World { facts: facts(&shape) };
        let objects = world.objects();
        let ids = ids();
        for (user, roles) in ids.users.iter().map(|u| (*u, if *u == ids.users[holder] { roles.clone() } else { Vec::new() })) {
            let subject = world.subject(user, settings, roles);
            let mut covered: HashMap<(Permission, Kind), Option<HashSet<Uuid>>> = HashMap::new();
            for permission in Permission::ALL.iter().copied() {
                for (kind, id, facts) in &objects {
                    let decision = decide(&subject, permission, facts);
                    if !decision.is_allowed() {
                        continue;
                    }
                    let reached = covered
                        .entry((permission, *kind))
                        .or_insert_with(|| world.covered(&subject, permission, *kind));
                    prop_assert!(
                        reached.as_ref().is_none_or(|reached| reached.contains(id)),
                        "{permission} on {kind:?} {id} is {decision:?} but no path of the scope reaches it; facts {facts:?}"
                    );
                }
            }
        }
    }

    /// Where `coverage` answers every object of a kind (a tenant-wide grant, the Access
    /// Coordinator's duties), `decide` allows every object of that kind, whatever the object's
    /// own facts say, unless `object_may_veto` names the pair: so LookupResources' `all_of_type`
    /// never claims an object Check denies.
    #[test]
    fn a_tenant_wide_reach_allows_every_object_unless_vetoed(
        shape in shape(),
        settings in settings(),
        roles in prop::collection::vec(held_role(), 1..4),
        coordinator in any::<bool>(),
    ) {
        let world = World { facts: facts(&shape) };
        let mut subject = world.subject(ids().users[0], settings, roles);
        subject.access_coordinator = coordinator;
        for permission in Permission::ALL.iter().copied() {
            for (kind, id, facts) in world.objects() {
                if scope::coverage(&subject, permission, Some(kind)) != Coverage::Everything
                    || lms_kernel::object_may_veto(permission, kind)
                {
                    continue;
                }
                // Every person barred from booking: the strongest facts a user's can be (only
                // users carry the restriction, as authorization compiles facts).
                let mut barred = facts;
                barred.bookings_restricted = kind == Kind::User;
                let decision = decide(&subject, permission, &barred);
                prop_assert!(
                    decision.is_allowed(),
                    "{permission} on {kind:?} {id}: coverage is everything but {decision:?}"
                );
            }
        }
    }
}
