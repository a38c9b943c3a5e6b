//! The permission vocabulary: system areas × actions, held as a 128-bit set so that membership,
//! union and subset tests cost a few instructions.
//!
//! Names are `<area>.<action>`. A permission is *risky* when it touches personal data,
//! configuration or can lose data; the access review lists holders of risky permissions and the
//! MFA policy applies to them.

use std::fmt;

macro_rules! vocabulary {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal $(, $risky:ident)? ; )*) => {
        /// One permission of the vocabulary.
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum Permission {
            $( $(#[$doc])* $variant, )*
        }

        impl Permission {
            /// Every permission, in bit order.
            pub const ALL: &'static [Permission] = &[ $( Permission::$variant, )* ];

            /// `<area>.<action>`.
            pub const fn name(self) -> &'static str {
                match self { $( Permission::$variant => $name, )* }
            }

            /// Touches personal data, configuration, or can lose data.
            pub const fn is_risky(self) -> bool {
                match self { $( Permission::$variant => vocabulary!(@risky $($risky)?), )* }
            }
        }
    };
    (@risky risky) => { true };
    (@risky) => { false };
}

vocabulary! {
    /// See a user's profile.
    UsersRead = "users.read", risky;
    /// Create users.
    UsersCreate = "users.create", risky;
    /// Change a user's profile, custom fields, employments.
    UsersUpdate = "users.update", risky;
    /// Delete users.
    UsersDelete = "users.delete", risky;
    /// Suspend and reactivate users.
    UsersSuspend = "users.suspend", risky;
    /// Erase a user's personal data.
    UsersAnonymise = "users.anonymise", risky;
    /// Bulk import and the people-data feed.
    UsersImport = "users.import", risky;
    /// See groups and their members.
    GroupsRead = "groups.read";
    /// Create groups.
    GroupsCreate = "groups.create";
    /// Rename groups and change their members, manager and administrators.
    GroupsUpdate = "groups.update";
    /// Delete groups.
    GroupsDelete = "groups.delete", risky;
    /// See locations, accounts and account groups.
    UnitsRead = "units.read";
    /// Create units.
    UnitsCreate = "units.create";
    /// Rename and move units.
    UnitsUpdate = "units.update";
    /// Delete units.
    UnitsDelete = "units.delete", risky;
    /// Run reports.
    ReportsRead = "reports.read";
    /// Export report data.
    ReportsExport = "reports.export", risky;
    /// See courses.
    CoursesRead = "courses.read";
    /// Create courses.
    CoursesCreate = "courses.create";
    /// Edit courses.
    CoursesUpdate = "courses.update";
    /// Delete courses.
    CoursesDelete = "courses.delete", risky;
    /// Deploy courses to users, groups and catalogues.
    CoursesDeploy = "courses.deploy";
    /// See lessons.
    LessonsRead = "lessons.read";
    /// Create lessons.
    LessonsCreate = "lessons.create";
    /// Edit lessons.
    LessonsUpdate = "lessons.update";
    /// Delete lessons.
    LessonsDelete = "lessons.delete", risky;
    /// Assign lessons to users.
    LessonsAssign = "lessons.assign";
    /// See events.
    EventsRead = "events.read";
    /// Create events.
    EventsCreate = "events.create";
    /// Edit events.
    EventsUpdate = "events.update";
    /// Cancel or delete events.
    EventsDelete = "events.delete", risky;
    /// See bookings.
    BookingsRead = "bookings.read";
    /// Book a user onto an event.
    BookingsCreate = "bookings.create";
    /// Approve bookings.
    BookingsApprove = "bookings.approve";
    /// Cancel bookings.
    BookingsCancel = "bookings.cancel";
    /// Mark attendance.
    AttendanceMark = "attendance.mark";
    /// See enrolments and enrolment requests.
    EnrolmentsRead = "enrolments.read";
    /// Enrol users, or request enrolment.
    EnrolmentsCreate = "enrolments.create";
    /// Approve enrolment requests (Course Tutor duty).
    EnrolmentsApprove = "enrolments.approve";
    /// See competency checks.
    CompetenciesRead = "competencies.read";
    /// Sign off competency checks (Course Tutor duty).
    CompetenciesSignOff = "competencies.sign_off";
    /// Browse catalogues.
    CataloguesRead = "catalogues.read";
    /// Change catalogues.
    CataloguesUpdate = "catalogues.update";
    /// See CPD programmes.
    CpdProgrammesRead = "cpd_programmes.read";
    /// Create CPD programmes.
    CpdProgrammesCreate = "cpd_programmes.create";
    /// Edit CPD programmes.
    CpdProgrammesUpdate = "cpd_programmes.update";
    /// Delete CPD programmes.
    CpdProgrammesDelete = "cpd_programmes.delete", risky;
    /// See resources.
    ResourcesRead = "resources.read";
    /// Create resources.
    ResourcesCreate = "resources.create";
    /// Edit resources.
    ResourcesUpdate = "resources.update";
    /// Delete resources.
    ResourcesDelete = "resources.delete", risky;
    /// See evaluation forms.
    EvaluationFormsRead = "evaluation_forms.read";
    /// Create, edit and delete evaluation forms.
    EvaluationFormsManage = "evaluation_forms.manage";
    /// See reflection forms.
    ReflectionFormsRead = "reflection_forms.read";
    /// Create, edit and delete reflection forms.
    ReflectionFormsManage = "reflection_forms.manage";
    /// See job profiles.
    JobProfilesRead = "job_profiles.read";
    /// Create, edit and delete job profiles.
    JobProfilesManage = "job_profiles.manage";
    /// See accreditations.
    AccreditationsRead = "accreditations.read";
    /// Create, edit and delete accreditations.
    AccreditationsManage = "accreditations.manage";
    /// See the system configuration.
    SystemConfigurationRead = "system_configuration.read", risky;
    /// Change the system configuration.
    SystemConfigurationUpdate = "system_configuration.update", risky;
    /// Change security settings (MFA policy, password rules, keys).
    SecuritySettingsUpdate = "security_settings.update", risky;
    /// See the content library.
    ContentLibraryRead = "content_library.read";
    /// Curate the content library.
    ContentLibraryManage = "content_library.manage";
    /// See client tenants.
    ClientsRead = "clients.read";
    /// Add client tenants.
    ClientsCreate = "clients.create", risky;
    /// Administer client tenants.
    ClientsManage = "clients.manage", risky;
    /// Grant content to a client tenant.
    ContentGrantsCreate = "content_grants.create", risky;
    /// Revoke content from a client tenant.
    ContentGrantsRevoke = "content_grants.revoke", risky;
    /// See roles.
    RolesRead = "roles.read";
    /// Create, edit and delete custom roles.
    RolesDefine = "roles.define", risky;
    /// See role assignments.
    RoleAssignmentsRead = "role_assignments.read";
    /// Assign and revoke roles.
    RoleAssignmentsCreate = "role_assignments.create", risky;
    /// Give and take responsibilities on courses, events and groups.
    ResponsibilitiesAssign = "responsibilities.assign";
    /// Approve or reject pending tutor and teacher accounts.
    TutorApprovalsDecide = "tutor_approvals.decide", risky;
    /// Delete accounts no longer in use.
    AccountsDeleteUnused = "accounts.delete_unused", risky;
    /// Promote a Teacher to Teacher Administrator.
    TeachersPromote = "teachers.promote", risky;
    /// Give students access to content.
    ContentAccessGrant = "content_access.grant";
    /// Take courses: open lessons, attend, complete.
    LearningTake = "learning.take";
    /// Invite learners onto bought seats.
    InvitationsCreate = "invitations.create";
    /// See the audit trail.
    AuditRead = "audit.read", risky;
}

const _: () = assert!(
    Permission::ALL.len() <= 128,
    "the vocabulary must fit in a u128"
);

impl Permission {
    /// The permission named `name`, if the vocabulary has it (a binary search: this runs on
    /// every decision request).
    pub fn parse(name: &str) -> Option<Permission> {
        static BY_NAME: std::sync::OnceLock<Vec<(&'static str, Permission)>> =
            std::sync::OnceLock::new();
        let by_name = BY_NAME.get_or_init(|| {
            let mut names: Vec<_> = Permission::ALL.iter().map(|p| (p.name(), *p)).collect();
            names.sort_unstable_by_key(|(name, _)| *name);
            names
        });
        by_name
            .binary_search_by_key(&name, |(name, _)| name)
            .ok()
            .map(|index| by_name[index].1)
    }

    /// The area, the part of the name before the dot.
    pub fn area(self) -> &'static str {
        self.name()
            .split_once('.')
            .map_or(self.name(), |(area, _)| area)
    }

    const fn bit(self) -> u128 {
        1u128 << (self as u8)
    }
}

impl fmt::Debug for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of permissions.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PermissionSet(u128);

impl PermissionSet {
    /// No permission.
    pub const EMPTY: PermissionSet = PermissionSet(0);

    /// Every permission of the vocabulary.
    pub const ALL: PermissionSet = PermissionSet::of(Permission::ALL);

    /// The set of `permissions`.
    pub const fn of(permissions: &[Permission]) -> PermissionSet {
        let mut bits = 0;
        let mut i = 0;
        while i < permissions.len() {
            bits |= permissions[i].bit();
            i += 1;
        }
        PermissionSet(bits)
    }

    /// Whether `permission` is in the set.
    #[inline]
    pub const fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// Whether every permission of `other` is in the set.
    #[inline]
    pub const fn is_superset(self, other: PermissionSet) -> bool {
        other.0 & !self.0 == 0
    }

    /// Both sets together.
    #[inline]
    pub const fn union(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 | other.0)
    }

    /// What both sets hold.
    #[inline]
    pub const fn intersection(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 & other.0)
    }

    /// What this set holds and `other` does not.
    #[inline]
    pub const fn difference(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 & !other.0)
    }

    /// The set with `permission` added.
    pub const fn with(self, permission: Permission) -> PermissionSet {
        PermissionSet(self.0 | permission.bit())
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many permissions the set holds.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The permissions of one area (`reports`, `users`, ...).
    pub fn area(area: &str) -> PermissionSet {
        Permission::ALL
            .iter()
            .filter(|p| p.area() == area)
            .fold(PermissionSet::EMPTY, |set, p| set.with(*p))
    }

    /// The risky permissions in the set.
    pub fn risky(self) -> PermissionSet {
        self.iter()
            .filter(|p| p.is_risky())
            .fold(PermissionSet::EMPTY, |set, p| set.with(p))
    }

    /// The permissions in bit order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| self.contains(*p))
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        iter.into_iter()
            .fold(PermissionSet::EMPTY, PermissionSet::with)
    }
}

impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_unique_area_dot_action_and_parses_back() {
        let mut names: Vec<_> = Permission::ALL.iter().map(|p| p.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Permission::ALL.len());
        for permission in Permission::ALL {
            assert_eq!(Permission::parse(permission.name()), Some(*permission));
            let (area, action) = permission.name().split_once('.').unwrap();
            assert!(!area.is_empty() && !action.is_empty());
        }
        assert_eq!(Permission::parse("users.fly"), None);
    }

    #[test]
    fn set_algebra_holds() {
        let a = PermissionSet::of(&[Permission::UsersRead, Permission::CoursesRead]);
        let b = PermissionSet::of(&[Permission::UsersRead]);
        assert!(a.is_superset(b) && !b.is_superset(a));
        assert_eq!(
            a.difference(b),
            PermissionSet::of(&[Permission::CoursesRead])
        );
        assert_eq!(a.intersection(b), b);
        assert_eq!(a.len(), 2);
        assert_eq!(PermissionSet::ALL.len(), Permission::ALL.len());
    }

    #[test]
    fn areas_group_their_actions() {
        let reports = PermissionSet::area("reports");
        assert_eq!(
            reports,
            PermissionSet::of(&[Permission::ReportsRead, Permission::ReportsExport])
        );
        assert!(Permission::SystemConfigurationUpdate.is_risky());
        assert!(!Permission::CoursesRead.is_risky());
    }
}
