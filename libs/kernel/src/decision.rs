//! The decision function: may this subject do this on this resource, and why.

use std::fmt;

use crate::facts::{HeldRole, Object, Place, ResourceFacts, SubjectFacts};
use crate::permission::{Permission, PermissionSet};
use crate::reach::Reach;
use crate::responsibility::Responsibility;
use crate::role::{Grants, RoleId};
use crate::scope::Kind;
use crate::template::{ACCESS_COORDINATOR_DUTIES, STUDENT};
use crate::user::UserStatus;

/// What allowed a decision.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Grounds {
    /// A role's grant.
    Role {
        /// The role.
        role: RoleId,
        /// Where it is assigned.
        place: Place,
        /// The reach of the grant that matched.
        reach: Reach,
    },
    /// A responsibility on the resource (or its course or group).
    Responsibility(Responsibility),
    /// The subject is their tenant's one Access Coordinator, whose duties follow the tenant's
    /// coordinator record, never a role.
    AccessCoordinator,
    /// A catalogue deployed to the subject holds the course, and the subject may browse
    /// catalogues.
    Catalogue,
    /// The course's owner granted it to the subject's tenant (a content grant).
    ContentGrant,
}

/// Why a decision denied.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Denial {
    /// Authorization has no status for the subject: it never heard of them.
    SubjectUnknown,
    /// The subject is not active.
    SubjectNotActive(UserStatus),
    /// The resource belongs to another tenant that is not a client reached by the subject.
    OutsideTenant,
    /// The resource does not exist (as far as authorization was told).
    ResourceUnknown,
    /// The learner may not be booked.
    BookingsRestricted,
    /// No role grant or responsibility covers the request.
    NoGrant,
    /// An administrator role would allow it, but this session has not proved a second factor
    /// and the tenant requires one for administrators.
    SecondFactorRequired,
}

impl Denial {
    /// A stable reason code for APIs.
    pub const fn code(self) -> &'static str {
        match self {
            Denial::SubjectUnknown => "SUBJECT_UNKNOWN",
            Denial::SubjectNotActive(_) => "SUBJECT_NOT_ACTIVE",
            Denial::OutsideTenant => "OUTSIDE_TENANT",
            Denial::ResourceUnknown => "RESOURCE_UNKNOWN",
            Denial::BookingsRestricted => "BOOKINGS_RESTRICTED",
            Denial::NoGrant => "NO_GRANT",
            Denial::SecondFactorRequired => "MFA_REQUIRED",
        }
    }
}

/// Allow or deny, with the explanation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Decision {
    /// Allowed on these grounds.
    Allowed(Grounds),
    /// Denied for this reason.
    Denied(Denial),
}

impl Decision {
    /// Whether the decision allows.
    pub const fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed(_))
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allowed(Grounds::Role { role, reach, .. }) => {
                write!(f, "allowed by role {role} at reach {reach}")
            }
            Decision::Allowed(Grounds::Responsibility(r)) => {
                write!(f, "allowed by responsibility {r}")
            }
            Decision::Allowed(Grounds::AccessCoordinator) => {
                write!(f, "allowed as the tenant's Access Coordinator")
            }
            Decision::Allowed(Grounds::Catalogue) => {
                write!(f, "allowed by a catalogue deployed to the subject")
            }
            Decision::Allowed(Grounds::ContentGrant) => {
                write!(f, "allowed by a content grant to the subject's tenant")
            }
            Decision::Denied(Denial::SubjectUnknown) => {
                write!(f, "denied: the subject is unknown to authorization")
            }
            Decision::Denied(Denial::SubjectNotActive(status)) => {
                write!(f, "denied: the subject is {status:?}")
            }
            Decision::Denied(Denial::OutsideTenant) => write!(f, "denied: outside the tenant"),
            Decision::Denied(Denial::ResourceUnknown) => {
                write!(f, "denied: the resource is unknown to authorization")
            }
            Decision::Denied(Denial::BookingsRestricted) => {
                write!(f, "denied: the learner is barred from booking")
            }
            Decision::Denied(Denial::NoGrant) => write!(f, "denied: no grant covers it"),
            Decision::Denied(Denial::SecondFactorRequired) => {
                write!(
                    f,
                    "denied: sign in with a second factor to use administrator rights"
                )
            }
        }
    }
}

/// Whether `decide` may deny `permission` on one object of `kind` for a fact of that object
/// alone, even to a subject whose grant reaches every object of the kind: the one such fact is
/// a learner barred from booking. For these pairs a lookup must not answer "every object of
/// the kind" for a tenant-wide grant; it decides each object. (An object authorization never
/// heard of is denied too, but it is no object of the kind as far as anyone listing knows.)
/// The kernel's test `a_tenant_wide_reach_allows_every_object_unless_vetoed` holds this to
/// `decide`.
pub const fn object_may_veto(permission: Permission, kind: Kind) -> bool {
    matches!((permission, kind), (Permission::BookingsCreate, Kind::User))
}

/// The role every user holds for their own learning, whatever else they hold: the default role.
const IMPLICIT_STUDENT: RoleId = RoleId::BuiltIn(crate::user::DEFAULT_ROLE);

/// How the subject stands to the tenant that owns the resource.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Standing {
    /// It is their own tenant.
    Home,
    /// It is a client tenant of theirs (their tenant has `clients_enabled`): only
    /// `tenant_and_clients` grants reach it.
    Client,
    /// It is a course (or a lesson or event of one) another tenant granted to theirs: every
    /// person sees it ([`CONTENT_GRANT_BROWSING`]), and their own-learning grants reach it once
    /// they are enrolled. Nothing else of that tenant is theirs, so the client's administrators
    /// never edit it and never see the master's people.
    Granted,
}

impl Standing {
    /// Of the subject to `resource`, `None` when it is outside everything they may reach.
    fn of(subject: &SubjectFacts, resource: &ResourceFacts) -> Option<Standing> {
        let owner = resource.owner();
        // A course granted to the subject's tenant, now or before, is known to be its
        // owner's: named under any other tenant, it is nobody's to the subject. So an
        // enrolment on it (recorded in the subject's tenant) never makes it a home course.
        let grant = resource.object.course().and_then(|course| {
            subject
                .granted_courses
                .iter()
                .find(|grant| grant.course == course)
        });
        if let Some(grant) = grant {
            return (grant.owner == owner && grant.in_effect).then_some(Standing::Granted);
        }
        if owner == subject.tenant {
            return Some(Standing::Home);
        }
        if subject.settings.clients_enabled && subject.clients.contains(&owner) {
            return Some(Standing::Client);
        }
        None
    }

    /// Whether a role's grant of `permission` at `reach` applies across this standing.
    fn admits(self, reach: Reach, permission: Permission) -> bool {
        match self {
            Standing::Home => true,
            Standing::Client => reach == Reach::TenantAndClients,
            // Whatever own-learning grants a role of the client's carries (a custom role may
            // carry any), a granted course is only learnt on.
            Standing::Granted => reach == Reach::Own && GRANTED_LEARNING.contains(permission),
        }
    }
}

/// What a person of the client tenant enrolled on a granted course may do on it, its lessons
/// and its events through their own-learning grants: learn, nothing more.
pub const GRANTED_LEARNING: PermissionSet = PermissionSet::of(&[
    Permission::CoursesRead,
    Permission::LessonsRead,
    Permission::EventsRead,
    Permission::LearningTake,
]);

/// What a content grant lets every active person of the client tenant do on a granted course:
/// see it (and so ask to join it). Its lessons and the learning itself come with an
/// enrolment, through their own-learning grants; nothing of it may be changed from the client.
pub const CONTENT_GRANT_BROWSING: PermissionSet = PermissionSet::of(&[Permission::CoursesRead]);

/// Decides whether `subject` may do `permission` on `resource`.
///
/// Only known, active subjects are allowed anything. A resource of another tenant is reached
/// by `tenant_and_clients` grants, and only when it is one of the subject's client tenants and
/// `clients_enabled` is on; or, for a course another tenant granted to the subject's, as
/// [`CONTENT_GRANT_BROWSING`] and own learning allow. Every user holds Student for their own
/// learning.
pub fn decide(
    subject: &SubjectFacts,
    permission: Permission,
    resource: &ResourceFacts,
) -> Decision {
    if !subject.known {
        return Decision::Denied(Denial::SubjectUnknown);
    }
    if subject.status != UserStatus::Active {
        return Decision::Denied(Denial::SubjectNotActive(subject.status));
    }
    let Some(standing) = Standing::of(subject, resource) else {
        return Decision::Denied(Denial::OutsideTenant);
    };
    let home = standing == Standing::Home;
    // After the tenant check, so another tenant's ids are never probed for existence.
    if !resource.known {
        return Decision::Denied(Denial::ResourceUnknown);
    }
    if permission == Permission::BookingsCreate && resource.bookings_restricted {
        return Decision::Denied(Denial::BookingsRestricted);
    }
    let implicit = (IMPLICIT_STUDENT, &STUDENT, Place::Tenant);
    let held = subject.roles.iter().map(held_grants);
    if let Some(grounds) = role_grounds(
        std::iter::once(implicit).chain(held),
        standing,
        permission,
        subject,
        resource,
    ) {
        return Decision::Allowed(grounds);
    }
    if standing == Standing::Granted && CONTENT_GRANT_BROWSING.contains(permission) {
        return Decision::Allowed(Grounds::ContentGrant);
    }
    // Responsibilities are duties inside the subject's own tenant.
    if home && let Some(responsibility) = responsibility_allowing(subject, permission, resource) {
        return Decision::Allowed(Grounds::Responsibility(responsibility));
    }
    // A course a catalogue deployed to the subject offers: how a learner finds what to join.
    if home
        && let Object::Course(course) = resource.object
        && subject.offered_courses.contains(&course)
        && offers_catalogue_courses(subject, permission)
    {
        return Decision::Allowed(Grounds::Catalogue);
    }
    // So are the Access Coordinator's, held by exactly one person per tenant.
    if home && subject.access_coordinator && ACCESS_COORDINATOR_DUTIES.contains(permission) {
        return Decision::Allowed(Grounds::AccessCoordinator);
    }
    // Said apart from NO_GRANT so the person knows a second factor, not a role, is missing.
    let withheld = subject.awaiting_second_factor.iter().map(held_grants);
    if role_grounds(withheld, standing, permission, subject, resource).is_some() {
        return Decision::Denied(Denial::SecondFactorRequired);
    }
    Decision::Denied(Denial::NoGrant)
}

/// What a catalogue deployed to a person lets them do on its courses: see them, no more (their
/// lessons and the learning itself come with an enrolment).
pub const CATALOGUE_BROWSING: PermissionSet = PermissionSet::of(&[Permission::CoursesRead]);

/// Whether the courses offered to `subject` through catalogues allow them `permission`: it is
/// one of [`CATALOGUE_BROWSING`] and the subject may browse their tenant's catalogues
/// (`catalogues.read`, which every Student holds).
pub fn offers_catalogue_courses(subject: &SubjectFacts, permission: Permission) -> bool {
    if !CATALOGUE_BROWSING.contains(permission) {
        return false;
    }
    let catalogues = ResourceFacts::new(subject.tenant, Object::TenantWide);
    let implicit = (IMPLICIT_STUDENT, &STUDENT, Place::Tenant);
    let held = subject.roles.iter().map(held_grants);
    role_grounds(
        std::iter::once(implicit).chain(held),
        Standing::Home,
        Permission::CataloguesRead,
        subject,
        &catalogues,
    )
    .is_some()
}

fn held_grants(held: &HeldRole) -> (RoleId, &Grants, Place) {
    (held.role, &held.grants, held.place)
}

/// The first grant of `roles` that covers `permission` on the resource.
fn role_grounds<'a>(
    roles: impl Iterator<Item = (RoleId, &'a Grants, Place)>,
    standing: Standing,
    permission: Permission,
    subject: &SubjectFacts,
    resource: &ResourceFacts,
) -> Option<Grounds> {
    for (role, grants, place) in roles {
        for reach in Reach::ALL {
            if grants.at(reach).contains(permission)
                && reach.in_effect(&subject.settings)
                && standing.admits(reach, permission)
                && reaches(reach, place, subject, resource)
            {
                return Some(Grounds::Role { role, place, reach });
            }
        }
    }
    None
}

/// Whether a grant at `reach`, of a role assigned at `place`, applies to the resource.
fn reaches(reach: Reach, place: Place, subject: &SubjectFacts, resource: &ResourceFacts) -> bool {
    match reach {
        Reach::Own => match resource.object {
            Object::User(user) => user == subject.user,
            Object::Event { event, course } => {
                subject.booked_events.contains(&event) || subject.enrolled_courses.contains(&course)
            }
            Object::Course(course) | Object::Lesson { course } => {
                subject.enrolled_courses.contains(&course)
            }
            _ => false,
        },
        Reach::Invitees => {
            matches!(resource.object, Object::User(_))
                && resource.invited_by.contains(&subject.user)
        }
        Reach::Team => {
            matches!(resource.object, Object::User(_))
                && resource
                    .primary_group
                    .is_some_and(|group| subject.managed_groups.contains(&group))
        }
        Reach::AdministeredGroups => {
            let overseen = |group: &_| {
                subject.administered_groups.contains(group)
                    || subject.managed_groups.contains(group)
            };
            match resource.object {
                Object::Group(group) => overseen(&group),
                Object::User(_) => {
                    resource.primary_group.as_ref().is_some_and(overseen)
                        || resource.groups.iter().any(overseen)
                }
                _ => false,
            }
        }
        Reach::TutoredCourses => resource
            .object
            .course()
            .is_some_and(|course| subject.tutored_courses.contains(&course)),
        Reach::AdministeredCourses => resource.object.course().is_some_and(|course| {
            subject.tutored_courses.contains(&course)
                || subject.administered_courses.contains(&course)
        }),
        Reach::AdministeredEvents => matches!(
            resource.object,
            Object::Event { event, .. } if subject.administered_events.contains(&event)
        ),
        Reach::Unit => matches!(place, Place::Unit(unit) if resource.units.contains(&unit)),
        Reach::UnitSubtree => {
            matches!(place, Place::Unit(unit) if resource.unit_ancestors.contains(&unit))
        }
        Reach::Tenant => resource.owner() == subject.tenant,
        // Home, or a client tenant (checked by the caller).
        Reach::TenantAndClients => true,
    }
}

/// A responsibility of the subject's that covers `permission` on the resource, if the subject's
/// roles allow that responsibility (the matrix holds at decision time too).
fn responsibility_allowing(
    subject: &SubjectFacts,
    permission: Permission,
    resource: &ResourceFacts,
) -> Option<Responsibility> {
    let allowed = subject.allowed_responsibilities();
    let course = resource.object.course();
    let on_course = |courses: &[_]| course.is_some_and(|c| courses.contains(&c));
    let over_members = |groups: &[_]| match resource.object {
        Object::Group(group) => groups.contains(&group),
        Object::User(_) => resource.primary_group.is_some_and(|g| groups.contains(&g)),
        _ => false,
    };
    Responsibility::ALL.into_iter().find(|responsibility| {
        allowed.contains(*responsibility)
            && responsibility.duties().contains(permission)
            && match responsibility {
                Responsibility::CourseTutor => on_course(&subject.tutored_courses),
                Responsibility::CourseAdministrator => on_course(&subject.administered_courses),
                Responsibility::EventAdministrator => matches!(
                    resource.object,
                    Object::Event { event, .. } if subject.administered_events.contains(&event)
                ),
                Responsibility::GroupAdministrator => {
                    over_members(&subject.administered_groups)
                        || matches!(resource.object, Object::User(_))
                            && resource
                                .groups
                                .iter()
                                .any(|g| subject.administered_groups.contains(g))
                }
                Responsibility::GroupManager => over_members(&subject.managed_groups),
            }
    })
}
