//! The facts a decision reads: what the subject holds and how the resource is placed.
//! Services compile these from their stores; the kernel only reads them.

use crate::ids::{AssignmentId, CourseId, EventId, GroupId, TenantId, UnitId, UserId};
use crate::permission::PermissionSet;
use crate::responsibility::ResponsibilitySet;
use crate::role::{Grants, RoleId};
use crate::tenant::TenantSettings;
use crate::user::UserStatus;

/// Where a role is assigned.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Place {
    /// The whole tenant.
    Tenant,
    /// One unit (what `unit` and `unit_subtree` reaches are relative to).
    Unit(UnitId),
}

/// A role the subject holds, as the decision needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HeldRole {
    /// The assignment, for explanations and audits.
    pub assignment: Option<AssignmentId>,
    /// The role.
    pub role: RoleId,
    /// Its grants.
    pub grants: Grants,
    /// The responsibilities it allows.
    pub responsibilities: ResponsibilitySet,
    /// Where it is assigned.
    pub place: Place,
}

impl HeldRole {
    /// A held role from its definition.
    pub fn new(role: &crate::role::Role, place: Place) -> HeldRole {
        HeldRole {
            assignment: None,
            role: role.id(),
            grants: *role.grants(),
            responsibilities: role.responsibilities(),
            place,
        }
    }
}

/// A course of another tenant granted to the subject's tenant, now or before. The grant names
/// the owner, so a reference that names the course under any other tenant (the subject's own
/// included, where their enrolment on it is recorded) is never taken for it; and it stays
/// known after it ends, so an enrolment outlasting the grant reaches nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GrantedCourse {
    /// The master tenant that owns the course and granted it.
    pub owner: TenantId,
    /// The course.
    pub course: CourseId,
    /// Whether the grant is in effect now (not revoked, inside its window).
    pub in_effect: bool,
}

/// Everything about the subject a decision reads.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SubjectFacts {
    /// Their tenant.
    pub tenant: TenantId,
    /// Who they are.
    pub user: UserId,
    /// Whether their status was ever recorded. A subject nobody told authorization about (an
    /// event not delivered yet, or lost) is denied everything rather than taken for an active
    /// Student. No serde default: cached facts from before this field must be read again.
    pub known: bool,
    /// Only active subjects are allowed anything.
    pub status: UserStatus,
    /// Their tenant's switches.
    pub settings: TenantSettings,
    /// Their tenant's client tenants (when it is a master).
    pub clients: Vec<TenantId>,
    /// Their roles in effect now (validity windows applied when compiling).
    pub roles: Vec<HeldRole>,
    /// Groups they manage: primary members of these are their team.
    pub managed_groups: Vec<GroupId>,
    /// Groups they administer.
    pub administered_groups: Vec<GroupId>,
    /// Courses they are Course Tutor of.
    pub tutored_courses: Vec<CourseId>,
    /// Courses they are Course Administrator of.
    pub administered_courses: Vec<CourseId>,
    /// Events they administer.
    pub administered_events: Vec<EventId>,
    /// Courses they are enrolled on (their own learning).
    pub enrolled_courses: Vec<CourseId>,
    /// Courses the catalogues deployed to them hold (what they may browse and ask to join).
    /// Absent from facts cached before catalogues: nothing offered until they are read again.
    #[cfg_attr(feature = "serde", serde(default))]
    pub offered_courses: Vec<CourseId>,
    /// Events they are booked on.
    pub booked_events: Vec<EventId>,
    /// Courses a master tenant granted to their tenant, in effect now or ended (content
    /// grants): every active person of the tenant may see those in effect, and learn on those
    /// they are enrolled on.
    /// Absent from facts cached before content grants: nothing granted until read again.
    #[cfg_attr(feature = "serde", serde(default))]
    pub granted_courses: Vec<GrantedCourse>,
    /// Whether they are their tenant's one Access Coordinator (the tenant's record, not a
    /// role). No serde default: cached facts from before this field must be read again.
    pub access_coordinator: bool,
    /// The administrator roles as held, whose risky grants this session lacks until it
    /// proves a second factor ([`Self::without_second_factor`]); only read to explain a denial.
    #[cfg_attr(feature = "serde", serde(default))]
    pub awaiting_second_factor: Vec<HeldRole>,
}

impl SubjectFacts {
    /// An active subject with no role and no relation (a plain Student).
    pub fn new(tenant: TenantId, user: UserId, settings: TenantSettings) -> SubjectFacts {
        SubjectFacts {
            tenant,
            user,
            known: true,
            status: UserStatus::Active,
            settings,
            clients: Vec::new(),
            roles: Vec::new(),
            managed_groups: Vec::new(),
            administered_groups: Vec::new(),
            tutored_courses: Vec::new(),
            administered_courses: Vec::new(),
            administered_events: Vec::new(),
            enrolled_courses: Vec::new(),
            offered_courses: Vec::new(),
            booked_events: Vec::new(),
            granted_courses: Vec::new(),
            access_coordinator: false,
            awaiting_second_factor: Vec::new(),
        }
    }

    /// A subject whose status was never recorded: denied everything (`SUBJECT_UNKNOWN`).
    pub fn unknown(tenant: TenantId, user: UserId, settings: TenantSettings) -> SubjectFacts {
        SubjectFacts {
            known: false,
            ..SubjectFacts::new(tenant, user, settings)
        }
    }

    /// Whether the tenant asks this subject for a second factor: it requires MFA for admins
    /// and one of the subject's roles is an administrator's ([`crate::Grants::is_admin`]).
    pub fn needs_second_factor(&self) -> bool {
        self.settings.mfa_required_for_admins
            && self.roles.iter().any(|held| held.grants.is_admin())
    }

    /// The subject as a session without a second factor acts when [`Self::needs_second_factor`]:
    /// its administrator roles keep only their harmless grants, so everything risky (personal
    /// data, configuration, anything that loses data) waits for MFA. The implicit Student role
    /// (own learning and profile) is untouched.
    pub fn without_second_factor(&self) -> SubjectFacts {
        let mut facts = self.clone();
        if self.needs_second_factor() {
            let harmless = PermissionSet::ALL.difference(PermissionSet::ALL.risky());
            for held in &mut facts.roles {
                if held.grants.is_admin() {
                    facts.awaiting_second_factor.push(held.clone());
                    held.grants = held.grants.restricted_to(harmless);
                }
            }
        }
        facts
    }

    /// The responsibilities the subject's roles allow together.
    pub fn allowed_responsibilities(&self) -> ResponsibilitySet {
        self.roles
            .iter()
            .fold(ResponsibilitySet::NONE, |all, held| {
                all.union(held.responsibilities)
            })
    }
}

/// The object a permission is decided on.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Object {
    /// A tenant (its settings, clients, configuration).
    Tenant(TenantId),
    /// A unit.
    Unit(UnitId),
    /// A user (their profile, roles, bookings, reports).
    User(UserId),
    /// A group.
    Group(GroupId),
    /// A course.
    Course(CourseId),
    /// A lesson of a course.
    Lesson {
        /// Its course.
        course: CourseId,
    },
    /// An event of a course.
    Event {
        /// The event.
        event: EventId,
        /// Its course.
        course: CourseId,
    },
    /// Anything else tenant-wide (catalogues, CPD programmes, resources, forms, configuration).
    TenantWide,
}

impl Object {
    /// The course the object belongs to, if any.
    pub const fn course(self) -> Option<CourseId> {
        match self {
            Object::Course(course) | Object::Lesson { course } | Object::Event { course, .. } => {
                Some(course)
            }
            _ => None,
        }
    }
}

/// Everything about the resource a decision reads.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ResourceFacts {
    /// The tenant that owns it.
    pub tenant: TenantId,
    /// Whether it is known to exist. Only users carry the proof (identity announces each one);
    /// a user nobody announced is decided about not at all. No serde default: cached facts
    /// from before this field must be read again.
    pub known: bool,
    /// What it is.
    pub object: Object,
    /// Units it is placed in directly (a user's employments, a course's owning unit).
    pub units: Vec<UnitId>,
    /// Those units and every unit above them.
    pub unit_ancestors: Vec<UnitId>,
    /// A user's primary group.
    pub primary_group: Option<GroupId>,
    /// A user's groups.
    pub groups: Vec<GroupId>,
    /// Purchasers who invited this user.
    pub invited_by: Vec<UserId>,
    /// The user may not be booked (`restrict_bookings`).
    pub bookings_restricted: bool,
}

impl ResourceFacts {
    /// An object of `tenant` placed nowhere and related to no one. A tenant owns itself: for
    /// `Object::Tenant(id)` the owner is `id`, whatever `tenant` says, so a reference to
    /// another tenant is never decided as the caller's (see [`Self::owner`]).
    pub fn new(tenant: TenantId, object: Object) -> ResourceFacts {
        ResourceFacts {
            tenant: match object {
                Object::Tenant(id) => id,
                _ => tenant,
            },
            known: true,
            object,
            units: Vec::new(),
            unit_ancestors: Vec::new(),
            primary_group: None,
            groups: Vec::new(),
            invited_by: Vec::new(),
            bookings_restricted: false,
        }
    }

    /// An object of `tenant` that is known not to exist (a user identity never announced).
    pub fn unknown(tenant: TenantId, object: Object) -> ResourceFacts {
        ResourceFacts {
            known: false,
            ..ResourceFacts::new(tenant, object)
        }
    }

    /// The tenant that owns the resource: a tenant object's own id (the public `tenant` field
    /// could be set to disagree; decisions read this).
    pub const fn owner(&self) -> TenantId {
        match self.object {
            Object::Tenant(id) => id,
            _ => self.tenant,
        }
    }
}
