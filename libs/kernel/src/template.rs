//! The built-in role templates: one per role the replaced LMS products name, with the grants
//! that reproduce their documented scope.
//!
//! | template | grants (reach: permissions) |
//! |---|---|
//! | Student | own: take learning, read own courses/lessons/events/bookings/enrolments/competencies/CPD, book and cancel self, request enrolment, read and edit own profile, own reports; tenant: browse catalogues |
//! | Purchaser | Student + own: invite learners; invitees: their profiles, reports, bookings, enrolments |
//! | Tutor | Student + administered courses: read/edit/deploy the course, read/edit/assign its lessons, full events, bookings, attendance, enrolments, competency reads, reports (no create/delete of courses or lessons); tutored courses only: approve enrolments, sign off competencies; administered events: the event, its bookings, attendance, reports |
//! | Manager | Student + administered groups (includes the team): read users, groups, reports, bookings, enrolments; team: book onto any event, cancel, enrol; tenant: read courses, lessons, events, CPD programmes, catalogues |
//! | Manager/Tutor | Manager + Tutor + administered groups: change groups |
//! | Training Coordinator | Student + tenant: everything except system configuration, security settings, clients, content grants and the Access Coordinator's duties |
//! | LMS Administrator | Student + tenant: everything except clients and content grants (those need a master tenant) and the Access Coordinator's duties (approvals, deleting unused accounts, promoting teachers) |
//! | Local Administrator | Student + unit: users (read, create, update, suspend), groups and units (read), role assignments, reports, bookings, enrolments; tenant: read courses, catalogues. Needs `locations_enabled` |
//! | Multiple Location Administrator | as Local Administrator at unit subtree (the location and every child) |
//! | Organization Administrator | Student + tenant: user administration incl. delete, anonymise, import; groups, units, roles, role assignments, reports, audit; content library; LMS (system) configuration; courses and catalogues |
//! | Master Administrator | Organization Administrator's grants at tenant and clients + clients and content grants. Needs `clients_enabled` |
//! | … Reports Only | the counterpart's report grants at the same reaches, plus Student |
//! | Access Coordinator | Student + tenant: decide tutor approvals, delete unused accounts, promote teachers, read users |
//! | Teacher | Student + tenant: give students access to content, read courses and the content library |
//! | Teacher Administrator | Teacher + tenant: read/create/update/suspend users, role assignments, reports |
//!
//! Responsibilities allowed (the matrix): Manager: Group Administrator, Group Manager; Tutor:
//! Course Tutor, Course Administrator, Event Administrator; Manager/Tutor, Training Coordinator,
//! LMS Administrator: all five; every other template: none.

use crate::permission::{Permission as P, PermissionSet};
use crate::reach::Reach;
use crate::responsibility::{
    COURSE_ADMINISTRATION, COURSE_TUTOR_ONLY, EVENT_ADMINISTRATION, ResponsibilitySet,
};
use crate::role::{Grants, Role};

/// A built-in template.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Template {
    /// Own learning (a.k.a. Individual); the default.
    Student,
    /// Bought seats.
    Purchaser,
    /// Courses they tutor.
    Tutor,
    /// Their team.
    Manager,
    /// Manager and Tutor.
    ManagerTutor,
    /// Everything except System Configuration (a.k.a. Training Administrator).
    TrainingCoordinator,
    /// Everything (a.k.a. Super Administrator).
    LmsAdministrator,
    /// Their location.
    LocalAdministrator,
    /// Reports of their location.
    LocalAdministratorReportsOnly,
    /// Their location and its children.
    MultipleLocationAdministrator,
    /// Reports of their location and its children.
    MultipleLocationAdministratorReportsOnly,
    /// The whole tenant, content library and configuration.
    OrganizationAdministrator,
    /// Reports of the whole tenant.
    OrganizationAdministratorReportsOnly,
    /// The tenant and all its clients.
    MasterAdministrator,
    /// Reports of the tenant and its clients.
    MasterAdministratorReportsOnly,
    /// Formerly the Access Coordinator's role; the duty now follows the tenant's coordinator
    /// record. Stored assignments still read, grant nothing beyond Student, and no one assigns
    /// it ([`Template::assignable`]).
    AccessCoordinator,
    /// Gives students access to content.
    Teacher,
    /// Teacher plus tenant admin of teachers.
    TeacherAdministrator,
}

const STUDENT_OWN: PermissionSet = PermissionSet::of(&[
    P::LearningTake,
    P::CoursesRead,
    P::LessonsRead,
    P::EventsRead,
    P::BookingsRead,
    P::BookingsCreate,
    P::BookingsCancel,
    P::EnrolmentsRead,
    P::EnrolmentsCreate,
    P::CompetenciesRead,
    P::CpdProgrammesRead,
    P::UsersRead,
    P::UsersUpdate,
    P::ReportsRead,
]);

pub(crate) const STUDENT: Grants = Grants::EMPTY
    .with(Reach::Own, STUDENT_OWN)
    .with(Reach::Tenant, PermissionSet::of(&[P::CataloguesRead]));

/// The Tutor role mirrors the duties of the responsibilities it may take: administration on
/// courses it tutors or administers, the tutor-only duties on courses it tutors, and event
/// administration on events it administers.
const TUTOR: Grants = STUDENT
    .with(Reach::AdministeredCourses, COURSE_ADMINISTRATION)
    .with(Reach::TutoredCourses, COURSE_TUTOR_ONLY)
    .with(Reach::AdministeredEvents, EVENT_ADMINISTRATION);

const MANAGER: Grants = STUDENT
    .with(
        Reach::AdministeredGroups,
        PermissionSet::of(&[
            P::UsersRead,
            P::GroupsRead,
            P::ReportsRead,
            P::BookingsRead,
            P::EnrolmentsRead,
        ]),
    )
    .with(
        Reach::Team,
        PermissionSet::of(&[P::BookingsCreate, P::BookingsCancel, P::EnrolmentsCreate]),
    )
    .with(
        Reach::Tenant,
        PermissionSet::of(&[
            P::CoursesRead,
            P::LessonsRead,
            P::EventsRead,
            P::CpdProgrammesRead,
            P::CataloguesRead,
        ]),
    );

/// What only a master tenant's administrators may touch.
const CLIENT_ADMINISTRATION: PermissionSet = PermissionSet::of(&[
    P::ClientsRead,
    P::ClientsCreate,
    P::ClientsManage,
    P::ContentGrantsCreate,
    P::ContentGrantsRevoke,
]);

/// The Access Coordinator's duties: only the tenant's one Access Coordinator holds them
/// (DESIGN.md §1), so even "everything" roles leave them out. No role grants them (so no custom
/// role can carry them, nobody holding them to give): they follow the tenant's coordinator
/// record (`SubjectFacts::access_coordinator`), which only the hand-over moves.
const ACCESS_COORDINATION: PermissionSet = PermissionSet::of(&[
    P::TutorApprovalsDecide,
    P::AccountsDeleteUnused,
    P::TeachersPromote,
]);

/// What the Access Coordinator may do as such, in their own tenant: the duties, and reading the
/// people they decide about.
pub const ACCESS_COORDINATOR_DUTIES: PermissionSet =
    ACCESS_COORDINATION.union(PermissionSet::of(&[P::UsersRead]));

const SYSTEM_CONFIGURATION: PermissionSet = PermissionSet::of(&[
    P::SystemConfigurationRead,
    P::SystemConfigurationUpdate,
    P::SecuritySettingsUpdate,
]);

const LOCATION_ADMINISTRATION: PermissionSet = PermissionSet::of(&[
    P::UsersRead,
    P::UsersCreate,
    P::UsersUpdate,
    P::UsersSuspend,
    P::GroupsRead,
    P::UnitsRead,
    P::RoleAssignmentsRead,
    P::RoleAssignmentsCreate,
    P::ReportsRead,
    P::ReportsExport,
    P::BookingsRead,
    P::BookingsCreate,
    P::EnrolmentsRead,
    P::EnrolmentsCreate,
]);

const COURSE_BROWSING: PermissionSet = PermissionSet::of(&[P::CoursesRead, P::CataloguesRead]);

const ORGANIZATION_ADMINISTRATION: PermissionSet = LOCATION_ADMINISTRATION
    .union(PermissionSet::of(&[
        P::UsersDelete,
        P::UsersAnonymise,
        P::UsersImport,
        P::GroupsCreate,
        P::GroupsUpdate,
        P::GroupsDelete,
        P::UnitsCreate,
        P::UnitsUpdate,
        P::UnitsDelete,
        P::RolesRead,
        P::RolesDefine,
        P::AuditRead,
        P::ContentLibraryRead,
        P::ContentLibraryManage,
        P::SystemConfigurationRead,
        P::SystemConfigurationUpdate,
        P::CataloguesUpdate,
    ]))
    .union(COURSE_BROWSING);

const TEACHER: Grants = STUDENT.with(
    Reach::Tenant,
    PermissionSet::of(&[P::ContentAccessGrant, P::CoursesRead, P::ContentLibraryRead]),
);

impl Template {
    /// Every template.
    pub const ALL: [Template; 18] = [
        Template::Student,
        Template::Purchaser,
        Template::Tutor,
        Template::Manager,
        Template::ManagerTutor,
        Template::TrainingCoordinator,
        Template::LmsAdministrator,
        Template::LocalAdministrator,
        Template::LocalAdministratorReportsOnly,
        Template::MultipleLocationAdministrator,
        Template::MultipleLocationAdministratorReportsOnly,
        Template::OrganizationAdministrator,
        Template::OrganizationAdministratorReportsOnly,
        Template::MasterAdministrator,
        Template::MasterAdministratorReportsOnly,
        Template::AccessCoordinator,
        Template::Teacher,
        Template::TeacherAdministrator,
    ];

    /// Whether anyone may assign it: every template but the retired Access Coordinator, whose
    /// duty only the hand-over moves.
    pub const fn assignable(self) -> bool {
        !matches!(self, Template::AccessCoordinator)
    }

    /// The stable key (`builtin:<key>` is the role id).
    pub const fn key(self) -> &'static str {
        match self {
            Template::Student => "student",
            Template::Purchaser => "purchaser",
            Template::Tutor => "tutor",
            Template::Manager => "manager",
            Template::ManagerTutor => "manager_tutor",
            Template::TrainingCoordinator => "training_coordinator",
            Template::LmsAdministrator => "lms_administrator",
            Template::LocalAdministrator => "local_administrator",
            Template::LocalAdministratorReportsOnly => "local_administrator_reports_only",
            Template::MultipleLocationAdministrator => "multiple_location_administrator",
            Template::MultipleLocationAdministratorReportsOnly => {
                "multiple_location_administrator_reports_only"
            }
            Template::OrganizationAdministrator => "organization_administrator",
            Template::OrganizationAdministratorReportsOnly => {
                "organization_administrator_reports_only"
            }
            Template::MasterAdministrator => "master_administrator",
            Template::MasterAdministratorReportsOnly => "master_administrator_reports_only",
            Template::AccessCoordinator => "access_coordinator",
            Template::Teacher => "teacher",
            Template::TeacherAdministrator => "teacher_administrator",
        }
    }

    /// The name the products use.
    pub const fn display_name(self) -> &'static str {
        match self {
            Template::Student => "Student",
            Template::Purchaser => "Purchaser",
            Template::Tutor => "Tutor",
            Template::Manager => "Manager",
            Template::ManagerTutor => "Manager/Tutor",
            Template::TrainingCoordinator => "Training Coordinator",
            Template::LmsAdministrator => "LMS Administrator",
            Template::LocalAdministrator => "Local Administrator",
            Template::LocalAdministratorReportsOnly => "Local Administrator (Reports Only)",
            Template::MultipleLocationAdministrator => "Multiple Location Administrator",
            Template::MultipleLocationAdministratorReportsOnly => {
                "Multiple Location Administrator (Reports Only)"
            }
            Template::OrganizationAdministrator => "Organization Administrator",
            Template::OrganizationAdministratorReportsOnly => {
                "Organization Administrator (Reports Only)"
            }
            Template::MasterAdministrator => "Master Administrator",
            Template::MasterAdministratorReportsOnly => "Master Administrator (Reports Only)",
            Template::AccessCoordinator => "Access Coordinator",
            Template::Teacher => "Teacher",
            Template::TeacherAdministrator => "Teacher Administrator",
        }
    }

    /// The template with key `key`.
    pub fn parse(key: &str) -> Option<Template> {
        Template::ALL.into_iter().find(|t| t.key() == key)
    }

    /// The full-permission counterpart of a Reports Only template.
    pub const fn reports_only_counterpart(self) -> Option<Template> {
        match self {
            Template::LocalAdministratorReportsOnly => Some(Template::LocalAdministrator),
            Template::MultipleLocationAdministratorReportsOnly => {
                Some(Template::MultipleLocationAdministrator)
            }
            Template::OrganizationAdministratorReportsOnly => {
                Some(Template::OrganizationAdministrator)
            }
            Template::MasterAdministratorReportsOnly => Some(Template::MasterAdministrator),
            _ => None,
        }
    }

    /// The grants of the template.
    pub fn grants(self) -> Grants {
        if let Some(counterpart) = self.reports_only_counterpart() {
            return counterpart
                .grants()
                .restricted_to(PermissionSet::area("reports"))
                .union(&STUDENT);
        }
        match self {
            Template::Student => STUDENT,
            Template::Purchaser => STUDENT
                .with(Reach::Own, PermissionSet::of(&[P::InvitationsCreate]))
                .with(
                    Reach::Invitees,
                    PermissionSet::of(&[
                        P::UsersRead,
                        P::ReportsRead,
                        P::BookingsRead,
                        P::EnrolmentsRead,
                    ]),
                ),
            Template::Tutor => TUTOR,
            Template::Manager => MANAGER,
            Template::ManagerTutor => MANAGER.union(&TUTOR).with(
                Reach::AdministeredGroups,
                PermissionSet::of(&[P::GroupsUpdate]),
            ),
            Template::TrainingCoordinator => STUDENT.with(
                Reach::Tenant,
                PermissionSet::ALL
                    .difference(CLIENT_ADMINISTRATION)
                    .difference(SYSTEM_CONFIGURATION)
                    .difference(ACCESS_COORDINATION),
            ),
            Template::LmsAdministrator => STUDENT.with(
                Reach::Tenant,
                PermissionSet::ALL
                    .difference(CLIENT_ADMINISTRATION)
                    .difference(ACCESS_COORDINATION),
            ),
            Template::LocalAdministrator => STUDENT
                .with(Reach::Unit, LOCATION_ADMINISTRATION)
                .with(Reach::Tenant, COURSE_BROWSING),
            Template::MultipleLocationAdministrator => STUDENT
                .with(Reach::UnitSubtree, LOCATION_ADMINISTRATION)
                .with(Reach::Tenant, COURSE_BROWSING),
            Template::OrganizationAdministrator => {
                STUDENT.with(Reach::Tenant, ORGANIZATION_ADMINISTRATION)
            }
            Template::MasterAdministrator => STUDENT.with(
                Reach::TenantAndClients,
                ORGANIZATION_ADMINISTRATION.union(CLIENT_ADMINISTRATION),
            ),
            // Kept so stored assignments still read; it grants no duty (see
            // ACCESS_COORDINATOR_DUTIES) and cannot be assigned.
            Template::AccessCoordinator => STUDENT,
            Template::Teacher => TEACHER,
            Template::TeacherAdministrator => TEACHER.with(
                Reach::Tenant,
                PermissionSet::of(&[
                    P::UsersRead,
                    P::UsersCreate,
                    P::UsersUpdate,
                    P::UsersSuspend,
                    P::RoleAssignmentsRead,
                    P::RoleAssignmentsCreate,
                    P::ReportsRead,
                ]),
            ),
            // Reports Only templates returned above.
            _ => STUDENT,
        }
    }

    /// The responsibilities holders of this template may be given: its row of the matrix in
    /// [`crate::responsibility::matrix`].
    pub const fn responsibilities(self) -> ResponsibilitySet {
        crate::responsibility::matrix(self)
    }

    /// The template as a role.
    pub fn role(self) -> Role {
        Role::built_in(self)
    }
}
