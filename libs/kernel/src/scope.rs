//! Scopes: which resources a reach (or a responsibility) covers, as relation paths over the
//! stored facts. The decision answers "may S do P on R"; a scope answers "which R could that
//! be", so authorization's LookupResources lists candidates by walking it ([`walk`]) and
//! reporting can compile it to SQL. It is data, not code, so both read the same table.
//!
//! A path starts at the subject (or at the unit a role is assigned at) and follows relations.
//! Every resource the decision allows through a reach must lie on one of that reach's paths;
//! the decision still confirms each candidate, so a path may list more than the reach allows but
//! never less. [`coverage`] picks the paths a subject's grants and responsibilities open for one
//! permission. The kernel's property test `the_scope_table_reaches_everything_decide_allows`
//! walks them over generated worlds and checks every object `decide` allows lies on one.

pub mod walk;

use crate::facts::{self, SubjectFacts};
use crate::ids::{UnitId, UserId};
use crate::permission::Permission;
use crate::reach::Reach;
use crate::responsibility::Responsibility;
use crate::template::STUDENT;
use crate::user::UserStatus;

/// A relation between stored facts (`resource RELATION subject`), as the services write them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Relation {
    /// unit PARENT_UNIT unit.
    ParentUnit,
    /// unit EMPLOYEE user.
    Employee,
    /// unit MAIN_ACCOUNT user.
    MainAccount,
    /// group MANAGER user.
    Manager,
    /// group ADMINISTRATOR user.
    Administrator,
    /// group PRIMARY_MEMBER user.
    PrimaryMember,
    /// group MEMBER user.
    Member,
    /// purchaser INVITEE user.
    Invitee,
    /// course COURSE_TUTOR user.
    CourseTutor,
    /// course COURSE_ADMINISTRATOR user.
    CourseAdministrator,
    /// course ENROLLED user.
    Enrolled,
    /// course OFFERED user: a catalogue deployed to the user holds the course.
    Offered,
    /// course OWNING_UNIT unit.
    OwningUnit,
    /// lesson or event PARENT_COURSE course.
    ParentCourse,
    /// event EVENT_ADMINISTRATOR user.
    EventAdministrator,
    /// event BOOKED user.
    Booked,
    /// master tenant CLIENT client tenant.
    Client,
}

impl Relation {
    /// The kind of a fact's subject (`None` for a tenant).
    pub const fn subject_kind(self) -> Option<Kind> {
        match self {
            Relation::ParentUnit | Relation::OwningUnit => Some(Kind::Unit),
            Relation::ParentCourse => Some(Kind::Course),
            Relation::Client => None,
            _ => Some(Kind::User),
        }
    }

    /// The kinds a fact's resource may be (none for a tenant).
    pub const fn resource_kinds(self) -> &'static [Kind] {
        match self {
            Relation::ParentUnit | Relation::Employee | Relation::MainAccount => &[Kind::Unit],
            Relation::Manager
            | Relation::Administrator
            | Relation::PrimaryMember
            | Relation::Member => &[Kind::Group],
            Relation::Invitee => &[Kind::User],
            Relation::CourseTutor
            | Relation::CourseAdministrator
            | Relation::Enrolled
            | Relation::Offered
            | Relation::OwningUnit => &[Kind::Course],
            Relation::ParentCourse => &[Kind::Lesson, Kind::Event],
            Relation::EventAdministrator | Relation::Booked => &[Kind::Event],
            Relation::Client => &[],
        }
    }
}

/// The kinds of object a lookup lists.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Kind {
    /// People.
    User,
    /// Groups of people.
    Group,
    /// Units of the tree.
    Unit,
    /// Courses.
    Course,
    /// Lessons of a course.
    Lesson,
    /// Events of a course.
    Event,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 6] = [
        Kind::User,
        Kind::Group,
        Kind::Unit,
        Kind::Course,
        Kind::Lesson,
        Kind::Event,
    ];
}

/// Where a path starts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Anchor {
    /// The subject (a user).
    Subject,
    /// The unit the role is assigned at.
    Place,
}

impl Anchor {
    /// The kind of object a path starts at.
    pub const fn kind(self) -> Kind {
        match self {
            Anchor::Subject => Kind::User,
            Anchor::Place => Kind::Unit,
        }
    }
}

/// One hop of a path, from the objects reached so far.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Step {
    /// To the subjects of `relation` whose resource is the current object (read forwards:
    /// a group's members).
    Subjects(Relation),
    /// To the resources of `relation` whose subject is the current object (read backwards:
    /// the groups a user manages).
    Resources(Relation),
    /// To the current unit and every unit below it (PARENT_UNIT read backwards, transitively).
    Subtree,
}

/// A path: an anchor and the hops from it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Path {
    /// Where it starts.
    pub anchor: Anchor,
    /// The hops, in order.
    pub steps: &'static [Step],
}

/// The resources of one kind a reach covers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Scope {
    /// Every resource of the kind in the tenant (and, for `tenant_and_clients`, its clients).
    Everything,
    /// The resources at the end of any of these paths.
    Paths(&'static [Path]),
}

impl Scope {
    /// No resource.
    pub const NOTHING: Scope = Scope::Paths(&[]);

    /// The paths, empty for [`Scope::Everything`].
    pub const fn paths(self) -> &'static [Path] {
        match self {
            Scope::Everything => &[],
            Scope::Paths(paths) => paths,
        }
    }
}

use Anchor::{Place, Subject};
use Relation as R;
use Step::{Resources, Subjects, Subtree};

const fn path(anchor: Anchor, steps: &'static [Step]) -> Path {
    Path { anchor, steps }
}

const MYSELF: &[Path] = &[path(Subject, &[])];
const ENROLLED: &[Path] = &[path(Subject, &[Resources(R::Enrolled)])];
const OFFERED: &[Path] = &[path(Subject, &[Resources(R::Offered)])];
const ENROLLED_CHILDREN: &[Path] = &[path(
    Subject,
    &[Resources(R::Enrolled), Resources(R::ParentCourse)],
)];
const ENROLLED_OR_BOOKED_EVENTS: &[Path] = &[
    path(
        Subject,
        &[Resources(R::Enrolled), Resources(R::ParentCourse)],
    ),
    path(Subject, &[Resources(R::Booked)]),
];
const INVITEES: &[Path] = &[path(Subject, &[Subjects(R::Invitee)])];
const TEAM: &[Path] = &[path(
    Subject,
    &[Resources(R::Manager), Subjects(R::PrimaryMember)],
)];
const OVERSEEN_GROUPS: &[Path] = &[
    path(Subject, &[Resources(R::Manager)]),
    path(Subject, &[Resources(R::Administrator)]),
];
const OVERSEEN_PEOPLE: &[Path] = &[
    path(
        Subject,
        &[Resources(R::Manager), Subjects(R::PrimaryMember)],
    ),
    path(Subject, &[Resources(R::Manager), Subjects(R::Member)]),
    path(
        Subject,
        &[Resources(R::Administrator), Subjects(R::PrimaryMember)],
    ),
    path(Subject, &[Resources(R::Administrator), Subjects(R::Member)]),
];
const ADMINISTERED_GROUP_PEOPLE: &[Path] = &[
    path(
        Subject,
        &[Resources(R::Administrator), Subjects(R::PrimaryMember)],
    ),
    path(Subject, &[Resources(R::Administrator), Subjects(R::Member)]),
];
const ADMINISTERED_GROUPS: &[Path] = &[path(Subject, &[Resources(R::Administrator)])];
const MANAGED_GROUPS: &[Path] = &[path(Subject, &[Resources(R::Manager)])];
const TUTORED: &[Path] = &[path(Subject, &[Resources(R::CourseTutor)])];
const TUTORED_CHILDREN: &[Path] = &[path(
    Subject,
    &[Resources(R::CourseTutor), Resources(R::ParentCourse)],
)];
const COURSE_ADMINISTERED: &[Path] = &[path(Subject, &[Resources(R::CourseAdministrator)])];
const COURSE_ADMINISTERED_CHILDREN: &[Path] = &[path(
    Subject,
    &[
        Resources(R::CourseAdministrator),
        Resources(R::ParentCourse),
    ],
)];
const TUTORED_OR_ADMINISTERED: &[Path] = &[
    path(Subject, &[Resources(R::CourseTutor)]),
    path(Subject, &[Resources(R::CourseAdministrator)]),
];
const TUTORED_OR_ADMINISTERED_CHILDREN: &[Path] = &[
    path(
        Subject,
        &[Resources(R::CourseTutor), Resources(R::ParentCourse)],
    ),
    path(
        Subject,
        &[
            Resources(R::CourseAdministrator),
            Resources(R::ParentCourse),
        ],
    ),
];
const ADMINISTERED_EVENTS: &[Path] = &[path(Subject, &[Resources(R::EventAdministrator)])];
const PLACE: &[Path] = &[path(Place, &[])];
const PLACE_EMPLOYEES: &[Path] = &[path(Place, &[Subjects(R::Employee)])];
const PLACE_COURSES: &[Path] = &[path(Place, &[Resources(R::OwningUnit)])];
const PLACE_CHILDREN: &[Path] = &[path(
    Place,
    &[Resources(R::OwningUnit), Resources(R::ParentCourse)],
)];
const SUBTREE: &[Path] = &[path(Place, &[Subtree])];
const SUBTREE_EMPLOYEES: &[Path] = &[path(Place, &[Subtree, Subjects(R::Employee)])];
const SUBTREE_COURSES: &[Path] = &[path(Place, &[Subtree, Resources(R::OwningUnit)])];
const SUBTREE_CHILDREN: &[Path] = &[path(
    Place,
    &[
        Subtree,
        Resources(R::OwningUnit),
        Resources(R::ParentCourse),
    ],
)];

/// The resources of `kind` a grant at `reach` covers.
pub const fn of_reach(reach: Reach, kind: Kind) -> Scope {
    use Kind as K;
    Scope::Paths(match (reach, kind) {
        (Reach::Tenant | Reach::TenantAndClients, _) => return Scope::Everything,
        (Reach::Own, K::User) => MYSELF,
        (Reach::Own, K::Course) => ENROLLED,
        (Reach::Own, K::Lesson) => ENROLLED_CHILDREN,
        (Reach::Own, K::Event) => ENROLLED_OR_BOOKED_EVENTS,
        (Reach::Invitees, K::User) => INVITEES,
        (Reach::Team, K::User) => TEAM,
        (Reach::AdministeredGroups, K::User) => OVERSEEN_PEOPLE,
        (Reach::AdministeredGroups, K::Group) => OVERSEEN_GROUPS,
        (Reach::TutoredCourses, K::Course) => TUTORED,
        (Reach::TutoredCourses, K::Lesson | K::Event) => TUTORED_CHILDREN,
        (Reach::AdministeredCourses, K::Course) => TUTORED_OR_ADMINISTERED,
        (Reach::AdministeredCourses, K::Lesson | K::Event) => TUTORED_OR_ADMINISTERED_CHILDREN,
        (Reach::AdministeredEvents, K::Event) => ADMINISTERED_EVENTS,
        (Reach::Unit, K::Unit) => PLACE,
        (Reach::Unit, K::User) => PLACE_EMPLOYEES,
        (Reach::Unit, K::Course) => PLACE_COURSES,
        (Reach::Unit, K::Lesson | K::Event) => PLACE_CHILDREN,
        (Reach::UnitSubtree, K::Unit) => SUBTREE,
        (Reach::UnitSubtree, K::User) => SUBTREE_EMPLOYEES,
        (Reach::UnitSubtree, K::Course) => SUBTREE_COURSES,
        (Reach::UnitSubtree, K::Lesson | K::Event) => SUBTREE_CHILDREN,
        _ => return Scope::NOTHING,
    })
}

/// The resources of `kind` a responsibility's duties cover.
pub const fn of_responsibility(responsibility: Responsibility, kind: Kind) -> Scope {
    use Kind as K;
    Scope::Paths(match (responsibility, kind) {
        (Responsibility::CourseTutor, K::Course) => TUTORED,
        (Responsibility::CourseTutor, K::Lesson | K::Event) => TUTORED_CHILDREN,
        (Responsibility::CourseAdministrator, K::Course) => COURSE_ADMINISTERED,
        (Responsibility::CourseAdministrator, K::Lesson | K::Event) => COURSE_ADMINISTERED_CHILDREN,
        (Responsibility::EventAdministrator, K::Event) => ADMINISTERED_EVENTS,
        (Responsibility::GroupAdministrator, K::Group) => ADMINISTERED_GROUPS,
        (Responsibility::GroupAdministrator, K::User) => ADMINISTERED_GROUP_PEOPLE,
        (Responsibility::GroupManager, K::Group) => MANAGED_GROUPS,
        (Responsibility::GroupManager, K::User) => TEAM,
        _ => return Scope::NOTHING,
    })
}

/// The object a path starts at: the subject, or the unit a role is assigned at.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Origin {
    /// The subject.
    Subject(UserId),
    /// A unit a role is assigned at.
    Unit(UnitId),
}

impl Origin {
    /// The origin's id.
    pub const fn as_uuid(self) -> uuid::Uuid {
        match self {
            Origin::Subject(user) => user.as_uuid(),
            Origin::Unit(unit) => unit.as_uuid(),
        }
    }
}

/// Where to look for the objects of one kind a subject may act on with one permission.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Coverage {
    /// A tenant-wide grant covers every object of the kind.
    Everything,
    /// The objects at the end of these paths, each walked from its origin (no duplicates).
    Paths(Vec<(Path, Origin)>),
}

/// The paths along which `subject` may reach objects of `kind` (`None`: a kind no relation
/// lists, such as roles or catalogues) with `permission`: for each grant holding the permission
/// at a reach in effect (the implicit Student role's and every held role's, from the place it
/// is assigned at), that reach's scope; and for each responsibility the subject's roles allow
/// whose duties hold it, the responsibility's scope. `decide` allows nothing outside them.
pub fn coverage(subject: &SubjectFacts, permission: Permission, kind: Option<Kind>) -> Coverage {
    let mut paths: Vec<(Path, Origin)> = Vec::new();
    // Like `decide`: a subject authorization never heard of, or not active, covers nothing.
    if !subject.known || subject.status != UserStatus::Active {
        return Coverage::Paths(paths);
    }
    // The Access Coordinator's duties reach the whole tenant.
    if subject.access_coordinator && crate::template::ACCESS_COORDINATOR_DUTIES.contains(permission)
    {
        return Coverage::Everything;
    }
    let mut add = |scope: Scope, place: facts::Place| {
        for path in scope.paths() {
            let origin = match (path.anchor, place) {
                (Anchor::Subject, _) => Origin::Subject(subject.user),
                (Anchor::Place, facts::Place::Unit(unit)) => Origin::Unit(unit),
                // A unit reach of a role held tenant-wide reaches no unit.
                (Anchor::Place, facts::Place::Tenant) => continue,
            };
            if !paths.contains(&(*path, origin)) {
                paths.push((*path, origin));
            }
        }
    };
    let implicit = std::iter::once((&STUDENT, facts::Place::Tenant));
    let held = subject.roles.iter().map(|held| (&held.grants, held.place));
    for (grants, place) in implicit.chain(held) {
        for reach in Reach::ALL {
            if !(grants.at(reach).contains(permission) && reach.in_effect(&subject.settings)) {
                continue;
            }
            let scope = match kind {
                Some(kind) => of_reach(reach, kind),
                // Only a reach covering every kind covers objects no relation lists.
                None if Kind::ALL
                    .into_iter()
                    .all(|kind| of_reach(reach, kind) == Scope::Everything) =>
                {
                    Scope::Everything
                }
                None => Scope::NOTHING,
            };
            match scope {
                Scope::Everything => return Coverage::Everything,
                paths => add(paths, place),
            }
        }
    }
    if kind == Some(Kind::Course) && crate::decision::offers_catalogue_courses(subject, permission)
    {
        add(Scope::Paths(OFFERED), facts::Place::Tenant);
    }
    let allowed = subject.allowed_responsibilities();
    for responsibility in Responsibility::ALL {
        if allowed.contains(responsibility)
            && responsibility.duties().contains(permission)
            && let Some(kind) = kind
        {
            add(
                of_responsibility(responsibility, kind),
                facts::Place::Tenant,
            );
        }
    }
    Coverage::Paths(paths)
}

/// The relation whose facts give `responsibility` (on a course, event or group).
pub const fn relation_of(responsibility: Responsibility) -> Relation {
    match responsibility {
        Responsibility::CourseTutor => Relation::CourseTutor,
        Responsibility::CourseAdministrator => Relation::CourseAdministrator,
        Responsibility::EventAdministrator => Relation::EventAdministrator,
        Responsibility::GroupAdministrator => Relation::Administrator,
        Responsibility::GroupManager => Relation::Manager,
    }
}

/// The responsibility a fact of `relation` gives its subject, if any.
pub fn responsibility_of(relation: Relation) -> Option<Responsibility> {
    Responsibility::ALL
        .into_iter()
        .find(|r| relation_of(*r) == relation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_authorization_never_heard_of_covers_nothing_even_with_tenant_wide_roles() {
        use crate::{TenantId, TenantSettings, UserId};
        let mut unknown = SubjectFacts::unknown(
            TenantId::generate(),
            UserId::generate(),
            TenantSettings::default(),
        );
        unknown.roles.push(crate::facts::HeldRole::new(
            &crate::template::Template::LmsAdministrator.role(),
            facts::Place::Tenant,
        ));
        unknown.access_coordinator = true;
        for kind in Kind::ALL {
            assert_eq!(
                coverage(&unknown, Permission::UsersRead, Some(kind)),
                Coverage::Paths(Vec::new())
            );
        }
    }

    fn relations(scope: Scope) -> Vec<Relation> {
        scope
            .paths()
            .iter()
            .flat_map(|p| p.steps.iter())
            .filter_map(|step| match step {
                Subjects(r) | Resources(r) => Some(*r),
                Subtree => None,
            })
            .collect()
    }

    #[test]
    fn tenant_reaches_cover_everything_and_unit_reaches_start_at_the_place() {
        for kind in Kind::ALL {
            assert_eq!(of_reach(Reach::Tenant, kind), Scope::Everything);
            assert_eq!(of_reach(Reach::TenantAndClients, kind), Scope::Everything);
            for reach in [Reach::Unit, Reach::UnitSubtree] {
                assert!(
                    of_reach(reach, kind)
                        .paths()
                        .iter()
                        .all(|p| p.anchor == Anchor::Place)
                );
            }
        }
        assert!(relations(of_reach(Reach::Unit, Kind::User)).contains(&Relation::Employee));
        assert_eq!(
            of_reach(Reach::UnitSubtree, Kind::Unit).paths()[0].steps,
            &[Subtree]
        );
    }

    /// A reach that covers another lists at least the other's paths, so a wider grant never
    /// lists fewer candidates. (Unit reaches differ by one `Subtree` hop, which includes the
    /// place itself.)
    #[test]
    fn a_covering_reach_lists_every_path_of_the_covered_one() {
        for wide in Reach::ALL {
            for narrow in Reach::ALL {
                if !wide.covers(narrow) || wide.is_unit_scoped() || narrow.is_unit_scoped() {
                    continue;
                }
                for kind in Kind::ALL {
                    let (w, n) = (of_reach(wide, kind), of_reach(narrow, kind));
                    if w == Scope::Everything {
                        continue;
                    }
                    for path in n.paths() {
                        assert!(
                            w.paths().contains(path),
                            "{wide} over {kind:?} misses {path:?} of {narrow}"
                        );
                    }
                }
            }
        }
    }

    /// Each hop of every path reads a relation from the kind of object the walk stands on, and
    /// the path ends at the kind it is listed under (so a walk never reads a fact from the
    /// wrong end).
    #[test]
    fn every_path_follows_the_relations_kinds_to_the_kind_it_lists() {
        let scopes = Kind::ALL.into_iter().flat_map(|kind| {
            let reaches = Reach::ALL.map(|reach| (of_reach(reach, kind), kind));
            let duties = Responsibility::ALL.map(|r| (of_responsibility(r, kind), kind));
            reaches.into_iter().chain(duties)
        });
        for (scope, kind) in scopes {
            for path in scope.paths() {
                let mut at = path.anchor.kind();
                for (i, step) in path.steps.iter().enumerate() {
                    let last = i + 1 == path.steps.len();
                    at = match *step {
                        Subtree => {
                            assert_eq!(at, Kind::Unit, "{path:?}");
                            Kind::Unit
                        }
                        Subjects(r) => {
                            assert!(r.resource_kinds().contains(&at), "{path:?}");
                            r.subject_kind().unwrap()
                        }
                        Resources(r) => {
                            assert_eq!(r.subject_kind(), Some(at), "{path:?}");
                            if last && r.resource_kinds().contains(&kind) {
                                kind
                            } else {
                                r.resource_kinds()[0]
                            }
                        }
                    };
                }
                assert_eq!(at, kind, "{path:?} listed under {kind:?}");
            }
        }
    }

    #[test]
    fn every_responsibility_has_one_relation_and_covers_its_object() {
        for responsibility in Responsibility::ALL {
            assert_eq!(
                responsibility_of(relation_of(responsibility)),
                Some(responsibility)
            );
            let first_hops: Vec<_> = Kind::ALL
                .into_iter()
                .flat_map(|kind| of_responsibility(responsibility, kind).paths())
                .map(|p| p.steps[0])
                .collect();
            assert!(!first_hops.is_empty());
            assert!(
                first_hops
                    .iter()
                    .all(|hop| *hop == Resources(relation_of(responsibility)))
            );
        }
        assert_eq!(responsibility_of(Relation::Employee), None);
    }
}
