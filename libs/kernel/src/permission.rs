//! The permission vocabulary: system areas × actions, held as a 128-bit set so that membership,
//! union and subset tests cost a few instructions.
//!
//! Names are `<area>.<action>`. A permission is *risky* when it touches personal data,
//! configuration or can lose data; the access review lists holders of risky permissions and the
//! MFA policy applies to them.

use std::fmt;

/// Declares the system areas: each with the key its permissions' names start with, and a title
/// for people.
macro_rules! areas {
    ($( $variant:ident = $key:literal, $title:literal ; )*) => {
        /// A system area: the `<area>` part of a permission's `<area>.<action>` name.
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        pub enum Area {
            $( #[doc = concat!($title, " (`", $key, "`).")] $variant, )*
        }

        impl Area {
            /// Every area, in the order people read them (see the declaration below).
            pub const ALL: &'static [Area] = &[ $( Area::$variant, )* ];

            /// The key, the prefix of its permissions' names (`users`).
            pub const fn key(self) -> &'static str {
                match self { $( Area::$variant => $key, )* }
            }

            /// The title for people (`Locations and accounts`).
            pub const fn title(self) -> &'static str {
                match self { $( Area::$variant => $title, )* }
            }
        }
    };
}

// Who the people are and how they are organised, then who may act on them, then the learning on
// offer and its delivery, then reports, clients, and last the tenant's configuration and audit.
areas! {
    Users = "users", "Users";
    Groups = "groups", "Groups and teams";
    Units = "units", "Locations and accounts";
    TutorApprovals = "tutor_approvals", "Tutor approvals";
    Accounts = "accounts", "Unused accounts";
    Teachers = "teachers", "Teachers";
    Roles = "roles", "Roles";
    RoleAssignments = "role_assignments", "Role assignments";
    Responsibilities = "responsibilities", "Responsibilities";
    Learning = "learning", "Learning";
    Courses = "courses", "Courses";
    Lessons = "lessons", "Lessons";
    Events = "events", "Events";
    Bookings = "bookings", "Bookings";
    Attendance = "attendance", "Attendance";
    Enrolments = "enrolments", "Enrolments";
    Competencies = "competencies", "Competency checks";
    Catalogues = "catalogues", "Catalogues";
    CpdProgrammes = "cpd_programmes", "CPD programmes";
    Resources = "resources", "Resources";
    EvaluationForms = "evaluation_forms", "Evaluation forms";
    ReflectionForms = "reflection_forms", "Reflection forms";
    JobProfiles = "job_profiles", "Job profiles";
    Accreditations = "accreditations", "Accreditations";
    ContentLibrary = "content_library", "Content library";
    ContentAccess = "content_access", "Students' access to content";
    Invitations = "invitations", "Invitations to bought seats";
    Reports = "reports", "Reports";
    Clients = "clients", "Client tenants";
    ContentGrants = "content_grants", "Content for client tenants";
    SystemConfiguration = "system_configuration", "System configuration";
    SecuritySettings = "security_settings", "Security settings";
    Audit = "audit", "Audit trail";
}

/// Declares the vocabulary. Each permission's doc comment is also its `description()`, so the
/// text an administrator reads in `ListPermissions` is written once, beside the permission.
macro_rules! vocabulary {
    ($(
        $(#[doc = $doc:literal])+
        $variant:ident = $name:literal in $area:ident $(, $risky:ident)? ;
    )*) => {
        /// One permission of the vocabulary.
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum Permission {
            $( $(#[doc = $doc])+ $variant, )*
        }

        impl Permission {
            /// Every permission, in bit order.
            pub const ALL: &'static [Permission] = &[ $( Permission::$variant, )* ];

            /// `<area>.<action>`.
            pub const fn name(self) -> &'static str {
                match self { $( Permission::$variant => $name, )* }
            }

            /// What it allows, one sentence for an administrator.
            pub const fn description(self) -> &'static str {
                // Each `///` line arrives with its leading space: joined, the lines read as one
                // sentence, and only the first space needs trimming.
                match self {
                    $( Permission::$variant => concat!($($doc),+).trim_ascii_start(), )*
                }
            }

            /// The system area it belongs to.
            pub const fn area(self) -> Area {
                match self { $( Permission::$variant => Area::$area, )* }
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
    UsersRead = "users.read" in Users, risky;
    /// Create users.
    UsersCreate = "users.create" in Users, risky;
    /// Change a user's profile, custom fields and employments.
    UsersUpdate = "users.update" in Users, risky;
    /// Delete users.
    UsersDelete = "users.delete" in Users, risky;
    /// Suspend and reactivate users.
    UsersSuspend = "users.suspend" in Users, risky;
    /// Erase a user's personal data, keeping their record and history.
    UsersAnonymise = "users.anonymise" in Users, risky;
    /// Import users in bulk from a file or the people-data feed.
    UsersImport = "users.import" in Users, risky;
    /// See groups and their members.
    GroupsRead = "groups.read" in Groups;
    /// Create groups.
    GroupsCreate = "groups.create" in Groups;
    /// Rename groups and change their members, manager and administrators.
    GroupsUpdate = "groups.update" in Groups;
    /// Delete groups.
    GroupsDelete = "groups.delete" in Groups, risky;
    /// See locations, accounts and account groups.
    UnitsRead = "units.read" in Units;
    /// Create locations, accounts and account groups.
    UnitsCreate = "units.create" in Units;
    /// Rename and move locations, accounts and account groups.
    UnitsUpdate = "units.update" in Units;
    /// Delete locations, accounts and account groups.
    UnitsDelete = "units.delete" in Units, risky;
    /// Run reports on the people and learning within reach.
    ReportsRead = "reports.read" in Reports;
    /// Export report data.
    ReportsExport = "reports.export" in Reports, risky;
    /// See courses.
    CoursesRead = "courses.read" in Courses;
    /// Create courses.
    CoursesCreate = "courses.create" in Courses;
    /// Edit courses.
    CoursesUpdate = "courses.update" in Courses;
    /// Delete courses.
    CoursesDelete = "courses.delete" in Courses, risky;
    /// Deploy courses to users, groups and catalogues.
    CoursesDeploy = "courses.deploy" in Courses;
    /// See lessons.
    LessonsRead = "lessons.read" in Lessons;
    /// Create lessons.
    LessonsCreate = "lessons.create" in Lessons;
    /// Edit lessons.
    LessonsUpdate = "lessons.update" in Lessons;
    /// Delete lessons.
    LessonsDelete = "lessons.delete" in Lessons, risky;
    /// Assign lessons to users.
    LessonsAssign = "lessons.assign" in Lessons;
    /// See events.
    EventsRead = "events.read" in Events;
    /// Create events.
    EventsCreate = "events.create" in Events;
    /// Edit events.
    EventsUpdate = "events.update" in Events;
    /// Cancel or delete events.
    EventsDelete = "events.delete" in Events, risky;
    /// See bookings.
    BookingsRead = "bookings.read" in Bookings;
    /// Book a user onto an event.
    BookingsCreate = "bookings.create" in Bookings;
    /// Approve bookings.
    BookingsApprove = "bookings.approve" in Bookings;
    /// Cancel bookings.
    BookingsCancel = "bookings.cancel" in Bookings;
    /// Mark attendance at events.
    AttendanceMark = "attendance.mark" in Attendance;
    /// See enrolments and enrolment requests.
    EnrolmentsRead = "enrolments.read" in Enrolments;
    /// Enrol users, or request enrolment.
    EnrolmentsCreate = "enrolments.create" in Enrolments;
    /// Approve enrolment requests (Course Tutor duty).
    EnrolmentsApprove = "enrolments.approve" in Enrolments;
    /// See competency checks.
    CompetenciesRead = "competencies.read" in Competencies;
    /// Sign off competency checks (Course Tutor duty).
    CompetenciesSignOff = "competencies.sign_off" in Competencies;
    /// Browse catalogues.
    CataloguesRead = "catalogues.read" in Catalogues;
    /// Change catalogues.
    CataloguesUpdate = "catalogues.update" in Catalogues;
    /// See CPD programmes.
    CpdProgrammesRead = "cpd_programmes.read" in CpdProgrammes;
    /// Create CPD programmes.
    CpdProgrammesCreate = "cpd_programmes.create" in CpdProgrammes;
    /// Edit CPD programmes.
    CpdProgrammesUpdate = "cpd_programmes.update" in CpdProgrammes;
    /// Delete CPD programmes.
    CpdProgrammesDelete = "cpd_programmes.delete" in CpdProgrammes, risky;
    /// See resources.
    ResourcesRead = "resources.read" in Resources;
    /// Create resources.
    ResourcesCreate = "resources.create" in Resources;
    /// Edit resources.
    ResourcesUpdate = "resources.update" in Resources;
    /// Delete resources.
    ResourcesDelete = "resources.delete" in Resources, risky;
    /// See evaluation forms.
    EvaluationFormsRead = "evaluation_forms.read" in EvaluationForms;
    /// Create, edit and delete evaluation forms.
    EvaluationFormsManage = "evaluation_forms.manage" in EvaluationForms;
    /// See reflection forms.
    ReflectionFormsRead = "reflection_forms.read" in ReflectionForms;
    /// Create, edit and delete reflection forms.
    ReflectionFormsManage = "reflection_forms.manage" in ReflectionForms;
    /// See job profiles.
    JobProfilesRead = "job_profiles.read" in JobProfiles;
    /// Create, edit and delete job profiles.
    JobProfilesManage = "job_profiles.manage" in JobProfiles;
    /// See accreditations.
    AccreditationsRead = "accreditations.read" in Accreditations;
    /// Create, edit and delete accreditations.
    AccreditationsManage = "accreditations.manage" in Accreditations;
    /// See the system configuration.
    SystemConfigurationRead = "system_configuration.read" in SystemConfiguration, risky;
    /// Change the system configuration.
    SystemConfigurationUpdate = "system_configuration.update" in SystemConfiguration, risky;
    /// Change security settings (MFA policy, password rules, keys).
    SecuritySettingsUpdate = "security_settings.update" in SecuritySettings, risky;
    /// See the content library.
    ContentLibraryRead = "content_library.read" in ContentLibrary;
    /// Curate the content library.
    ContentLibraryManage = "content_library.manage" in ContentLibrary;
    /// See client tenants.
    ClientsRead = "clients.read" in Clients;
    /// Add client tenants.
    ClientsCreate = "clients.create" in Clients, risky;
    /// Administer client tenants.
    ClientsManage = "clients.manage" in Clients, risky;
    /// Grant content to a client tenant.
    ContentGrantsCreate = "content_grants.create" in ContentGrants, risky;
    /// Revoke content from a client tenant.
    ContentGrantsRevoke = "content_grants.revoke" in ContentGrants, risky;
    /// See roles and their grants.
    RolesRead = "roles.read" in Roles;
    /// Create, edit and delete custom roles.
    RolesDefine = "roles.define" in Roles, risky;
    /// See who holds which role.
    RoleAssignmentsRead = "role_assignments.read" in RoleAssignments;
    /// Assign and revoke roles.
    RoleAssignmentsCreate = "role_assignments.create" in RoleAssignments, risky;
    /// Give and take responsibilities on courses, events and groups.
    ResponsibilitiesAssign = "responsibilities.assign" in Responsibilities;
    /// Approve or reject pending tutor and teacher accounts.
    TutorApprovalsDecide = "tutor_approvals.decide" in TutorApprovals, risky;
    /// Delete accounts no longer in use.
    AccountsDeleteUnused = "accounts.delete_unused" in Accounts, risky;
    /// Promote a Teacher to Teacher Administrator.
    TeachersPromote = "teachers.promote" in Teachers, risky;
    /// Give students access to content.
    ContentAccessGrant = "content_access.grant" in ContentAccess;
    /// Take courses: open lessons, attend, complete.
    LearningTake = "learning.take" in Learning;
    /// Invite learners onto bought seats.
    InvitationsCreate = "invitations.create" in Invitations;
    /// See the audit trail.
    AuditRead = "audit.read" in Audit, risky;
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

    const fn bit(self) -> u128 {
        1u128 << (self as u8)
    }
}

impl Area {
    /// The area keyed `key`, if there is one.
    pub fn parse(key: &str) -> Option<Area> {
        Area::ALL.iter().copied().find(|area| area.key() == key)
    }

    /// Its permissions, in vocabulary order.
    pub fn permissions(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| p.area() == self)
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
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

    /// The permissions of the area keyed `key` (`reports`, `users`, ...); empty for a key that
    /// names no area.
    pub fn area(key: &str) -> PermissionSet {
        Area::parse(key).map_or(PermissionSet::EMPTY, |area| area.permissions().collect())
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
    fn every_permission_is_named_after_its_area() {
        for permission in Permission::ALL {
            let area = permission.area();
            assert!(
                permission
                    .name()
                    .strip_prefix(area.key())
                    .is_some_and(|action| action.starts_with('.')),
                "{permission} is in area {area}"
            );
        }
    }

    #[test]
    fn every_description_is_a_sentence() {
        for permission in Permission::ALL {
            let description = permission.description();
            assert!(
                description.len() > 1
                    && description.starts_with(|c: char| c.is_uppercase())
                    && description.ends_with('.')
                    && !description.contains("  "),
                "{permission}: {description:?}"
            );
        }
        // The doc comment is the description, word for word.
        assert_eq!(Permission::UsersRead.description(), "See a user's profile.");
    }

    #[test]
    fn every_area_has_a_permission_a_unique_key_and_a_title() {
        let mut keys: Vec<_> = Area::ALL.iter().map(|area| area.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), Area::ALL.len(), "area keys are unique");
        for area in Area::ALL {
            assert!(
                area.permissions().next().is_some(),
                "{area} has no permission"
            );
            assert!(!area.title().is_empty(), "{area} has a title");
            assert_eq!(Area::parse(area.key()), Some(*area));
        }
        assert_eq!(Area::Units.title(), "Locations and accounts");
        assert_eq!(Area::parse("wizards"), None);
    }

    #[test]
    fn areas_group_their_actions() {
        let reports = PermissionSet::area("reports");
        assert_eq!(
            reports,
            PermissionSet::of(&[Permission::ReportsRead, Permission::ReportsExport])
        );
        assert_eq!(PermissionSet::area("wizards"), PermissionSet::EMPTY);
        assert_eq!(Permission::ReportsExport.area(), Area::Reports);
        assert!(Permission::SystemConfigurationUpdate.is_risky());
        assert!(!Permission::CoursesRead.is_risky());
    }
}
