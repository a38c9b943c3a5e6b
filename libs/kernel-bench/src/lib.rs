//! One LMS workload, the same entities and the same requests, for the kernel's `decide` and for
//! Cedar (`benches/decide.rs`). The workload is deterministic: a fixed seed, no randomness source.

#![forbid(unsafe_code)]

use lms_kernel::{
    CourseId, GroupId, HeldRole, Object, Permission, Place, ResourceFacts, SubjectFacts, Template,
    TenantId, TenantSettings, UnitId, UserId,
};

/// The roles in the workload, with the Cedar name of each.
pub const ROLES: [(Template, &str); 5] = [
    (Template::Student, "student"),
    (Template::Manager, "manager"),
    (Template::Tutor, "tutor"),
    (Template::LocalAdministrator, "local_administrator"),
    (Template::LmsAdministrator, "lms_administrator"),
];

/// The permissions requested.
pub const PERMISSIONS: [Permission; 8] = [
    Permission::UsersRead,
    Permission::UsersUpdate,
    Permission::BookingsCreate,
    Permission::ReportsRead,
    Permission::CoursesRead,
    Permission::CoursesUpdate,
    Permission::EnrolmentsApprove,
    Permission::LearningTake,
];

/// A person: the subject facts when they act, the resource facts when they are acted on.
#[derive(Debug, Clone)]
pub struct Person {
    /// As a subject.
    pub subject: SubjectFacts,
    /// As a resource.
    pub resource: ResourceFacts,
    /// Their role in the workload.
    pub role: Template,
    /// The unit a Local Administrator is assigned at.
    pub admin_unit: Option<UnitId>,
}

/// A course as a resource.
#[derive(Debug, Clone)]
pub struct Course {
    /// Its id.
    pub id: CourseId,
    /// As a resource.
    pub resource: ResourceFacts,
}

/// What a request acts on.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// A person, by index.
    Person(usize),
    /// A course, by index.
    Course(usize),
}

/// One request: subject index, permission, target.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// Index into `people`.
    pub subject: usize,
    /// The permission.
    pub permission: Permission,
    /// The target.
    pub target: Target,
}

/// The workload.
#[derive(Debug)]
pub struct Workload {
    /// The home tenant.
    pub tenant: TenantId,
    /// Everyone, home tenant first; the last few belong to another tenant.
    pub people: Vec<Person>,
    /// Every course; a few belong to another tenant.
    pub courses: Vec<Course>,
    /// The requests, in order.
    pub requests: Vec<Request>,
}

/// A small deterministic generator (SplitMix64), so both engines see identical requests.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

impl Workload {
    /// `people` people, `courses` courses, `requests` requests; 5 % of people and courses in a
    /// second tenant; 20 units and 40 teams.
    pub fn generate(people: usize, courses: usize, requests: usize) -> Workload {
        let mut mix = Mix(0x1A5_ACCE55);
        let (tenant, other) = (TenantId::generate(), TenantId::generate());
        let settings = TenantSettings {
            locations_enabled: true,
            clients_enabled: false,
            mfa_required_for_admins: false,
        };
        let units: Vec<UnitId> = (0..20).map(|_| UnitId::generate()).collect();
        let groups: Vec<GroupId> = (0..40).map(|_| GroupId::generate()).collect();
        let course_list: Vec<Course> = (0..courses)
            .map(|i| {
                let id = CourseId::generate();
                let owner = if i % 20 == 19 { other } else { tenant };
                Course {
                    id,
                    resource: ResourceFacts::new(owner, Object::Course(id)),
                }
            })
            .collect();
        let people = (0..people)
            .map(|i| {
                let user = UserId::generate();
                let home = if i % 20 == 19 { other } else { tenant };
                let (role, _) = ROLES[mix.below(ROLES.len())];
                let unit = units[mix.below(units.len())];
                let team = groups[mix.below(groups.len())];
                let mut subject = SubjectFacts::new(home, user, settings);
                let admin_unit = (role == Template::LocalAdministrator).then_some(unit);
                let place = admin_unit.map_or(Place::Tenant, Place::Unit);
                subject.roles = vec![HeldRole::new(&role.role(), place)];
                if matches!(role, Template::Manager) {
                    subject.managed_groups = vec![groups[mix.below(groups.len())]];
                }
                if matches!(role, Template::Tutor) {
                    subject.tutored_courses = (0..2)
                        .map(|_| course_list[mix.below(course_list.len())].id)
                        .collect();
                }
                subject.enrolled_courses = (0..3)
                    .map(|_| course_list[mix.below(course_list.len())].id)
                    .collect();
                let mut resource = ResourceFacts::new(home, Object::User(user));
                resource.units = vec![unit];
                resource.unit_ancestors = vec![unit];
                resource.primary_group = Some(team);
                resource.groups = vec![team];
                Person {
                    subject,
                    resource,
                    role,
                    admin_unit,
                }
            })
            .collect::<Vec<_>>();
        let requests = (0..requests)
            .map(|_| {
                let subject = mix.below(people.len());
                let permission = PERMISSIONS[mix.below(PERMISSIONS.len())];
                let target = match permission {
                    Permission::CoursesRead
                    | Permission::CoursesUpdate
                    | Permission::EnrolmentsApprove
                    | Permission::LearningTake => Target::Course(mix.below(course_list.len())),
                    // A quarter of person requests are about oneself.
                    _ if mix.below(4) == 0 => Target::Person(subject),
                    _ => Target::Person(mix.below(people.len())),
                };
                Request {
                    subject,
                    permission,
                    target,
                }
            })
            .collect();
        Workload {
            tenant,
            people,
            courses: course_list,
            requests,
        }
    }

    /// The kernel's answer to request `index`.
    pub fn decide(&self, index: usize) -> bool {
        let request = &self.requests[index];
        let resource = match request.target {
            Target::Person(i) => &self.people[i].resource,
            Target::Course(i) => &self.courses[i].resource,
        };
        lms_kernel::decide(
            &self.people[request.subject].subject,
            request.permission,
            resource,
        )
        .is_allowed()
    }
}
