use lms_kernel::decision::{Denial, Grounds};
use lms_kernel::responsibility::{ResponsibilityError, check_responsibility};
use lms_kernel::user::{DEFAULT_ROLE, purchase_roles};
use lms_kernel::{
    Decision, GrantedCourse, Object, Permission as P, Place, Reach, ResourceFacts, Responsibility,
    RoleId, Template, UserId, UserStatus, decide,
};

use crate::world::World;

fn allowed(decision: Decision) -> bool {
    decision.is_allowed()
}

#[test]
fn a_tutor_sees_only_courses_they_tutor_with_their_lessons_and_events() {
    let w = World::new();
    let mut tutor = w.subject(&[Template::Tutor], Place::Tenant);
    tutor.tutored_courses = vec![w.course];
    assert!(allowed(decide(&tutor, P::CoursesRead, &w.course(w.course))));
    assert!(allowed(decide(
        &tutor,
        P::CoursesUpdate,
        &w.course(w.course)
    )));
    assert!(allowed(decide(
        &tutor,
        P::LessonsUpdate,
        &w.lesson(w.course)
    )));
    assert!(allowed(decide(
        &tutor,
        P::EventsUpdate,
        &w.event(w.event, w.course)
    )));
    assert!(!allowed(decide(
        &tutor,
        P::CoursesRead,
        &w.course(w.other_course)
    )));
    assert!(!allowed(decide(
        &tutor,
        P::EventsRead,
        &w.event(w.other_event, w.other_course)
    )));
    // Sees nothing else: no users, no groups, no configuration.
    assert!(!allowed(decide(
        &tutor,
        P::UsersRead,
        &w.user_at(w.branch, Some(w.team))
    )));
    assert!(!allowed(decide(
        &tutor,
        P::SystemConfigurationRead,
        &w.tenant_wide()
    )));
}

#[test]
fn a_tutor_cannot_create_or_delete_courses_or_lessons() {
    let w = World::new();
    let mut tutor = w.subject(&[Template::Tutor], Place::Tenant);
    tutor.tutored_courses = vec![w.course];
    for permission in [P::CoursesCreate, P::CoursesDelete] {
        assert!(
            !allowed(decide(&tutor, permission, &w.course(w.course))),
            "{permission}"
        );
        assert!(
            !allowed(decide(&tutor, permission, &w.tenant_wide())),
            "{permission}"
        );
    }
    for permission in [P::LessonsCreate, P::LessonsDelete] {
        assert!(
            !allowed(decide(&tutor, permission, &w.lesson(w.course))),
            "{permission}"
        );
    }
}

#[test]
fn a_manager_lists_only_their_team_members() {
    let w = World::new();
    let mut manager = w.subject(&[Template::Manager], Place::Tenant);
    manager.managed_groups = vec![w.team];
    assert!(allowed(decide(
        &manager,
        P::UsersRead,
        &w.user_at(w.branch, Some(w.team))
    )));
    assert!(!allowed(decide(
        &manager,
        P::UsersRead,
        &w.user_at(w.branch, Some(w.other_team))
    )));
    assert!(!allowed(decide(
        &manager,
        P::UsersRead,
        &w.user_at(w.branch, None)
    )));
    assert!(!allowed(decide(
        &manager,
        P::UsersUpdate,
        &w.user_at(w.branch, Some(w.team))
    )));
}

#[test]
fn a_manager_views_all_courses_lessons_and_events_read_only() {
    let w = World::new();
    let manager = w.subject(&[Template::Manager], Place::Tenant);
    assert!(allowed(decide(
        &manager,
        P::CoursesRead,
        &w.course(w.other_course)
    )));
    assert!(allowed(decide(
        &manager,
        P::LessonsRead,
        &w.lesson(w.other_course)
    )));
    assert!(allowed(decide(
        &manager,
        P::EventsRead,
        &w.event(w.other_event, w.other_course)
    )));
    assert!(allowed(decide(
        &manager,
        P::CpdProgrammesRead,
        &w.tenant_wide()
    )));
    assert!(!allowed(decide(
        &manager,
        P::CoursesUpdate,
        &w.course(w.other_course)
    )));
    assert!(!allowed(decide(
        &manager,
        P::CpdProgrammesUpdate,
        &w.tenant_wide()
    )));
}

#[test]
fn a_manager_books_a_team_member_onto_any_event_but_not_someone_outside_the_team() {
    let w = World::new();
    let mut manager = w.subject(&[Template::Manager], Place::Tenant);
    manager.managed_groups = vec![w.team];
    // Booking is decided on the learner: the event does not matter.
    let member = w.user_at(w.branch, Some(w.team));
    let outsider = w.user_at(w.branch, Some(w.other_team));
    assert!(allowed(decide(&manager, P::BookingsCreate, &member)));
    assert!(!allowed(decide(&manager, P::BookingsCreate, &outsider)));
}

#[test]
fn a_learner_barred_from_booking_cannot_be_booked_by_anyone() {
    let w = World::new();
    let admin = w.subject(&[Template::LmsAdministrator], Place::Tenant);
    let mut barred = w.user_at(w.branch, Some(w.team));
    barred.bookings_restricted = true;
    assert_eq!(
        decide(&admin, P::BookingsCreate, &barred),
        Decision::Denied(Denial::BookingsRestricted)
    );
    assert!(allowed(decide(&admin, P::UsersRead, &barred)));
}

#[test]
fn a_manager_tutor_edits_groups_they_manage_and_a_manager_does_not() {
    let w = World::new();
    let mut manager_tutor = w.subject(&[Template::ManagerTutor], Place::Tenant);
    manager_tutor.managed_groups = vec![w.team];
    let team = ResourceFacts::new(w.tenant, Object::Group(w.team));
    let other = ResourceFacts::new(w.tenant, Object::Group(w.other_team));
    assert!(allowed(decide(&manager_tutor, P::GroupsUpdate, &team)));
    assert!(!allowed(decide(&manager_tutor, P::GroupsUpdate, &other)));
    let mut manager = w.subject(&[Template::Manager], Place::Tenant);
    manager.managed_groups = vec![w.team];
    assert!(!allowed(decide(&manager, P::GroupsUpdate, &team)));
}

#[test]
fn a_manager_who_administers_another_primary_group_sees_its_members_beside_their_team() {
    let w = World::new();
    let mut manager = w.subject(&[Template::Manager], Place::Tenant);
    manager.managed_groups = vec![w.team];
    manager.administered_groups = vec![w.other_team];
    assert!(allowed(decide(
        &manager,
        P::UsersRead,
        &w.user_at(w.branch, Some(w.team))
    )));
    assert!(allowed(decide(
        &manager,
        P::UsersRead,
        &w.user_at(w.city, Some(w.other_team))
    )));
    assert!(allowed(decide(
        &manager,
        P::ReportsRead,
        &w.user_at(w.city, Some(w.other_team))
    )));
    // Cover for absence is for seeing, not for booking: bookings stay with the team.
    assert!(!allowed(decide(
        &manager,
        P::BookingsCreate,
        &w.user_at(w.city, Some(w.other_team))
    )));
}

#[test]
fn a_training_coordinator_can_do_everything_but_system_configuration_and_access_coordination() {
    let w = World::new();
    let coordinator = w.subject(&[Template::TrainingCoordinator], Place::Tenant);
    let resource = w.tenant_wide();
    for permission in P::ALL {
        let expected = !matches!(
            permission,
            P::SystemConfigurationRead
                | P::SystemConfigurationUpdate
                | P::SecuritySettingsUpdate
                | P::ClientsRead
                | P::ClientsCreate
                | P::ClientsManage
                | P::ContentGrantsCreate
                | P::ContentGrantsRevoke
                | P::TutorApprovalsDecide
                | P::AccountsDeleteUnused
                | P::TeachersPromote
        );
        assert_eq!(
            allowed(decide(&coordinator, *permission, &resource)),
            expected,
            "{permission}"
        );
    }
    let admin = w.subject(&[Template::LmsAdministrator], Place::Tenant);
    assert!(allowed(decide(
        &admin,
        P::SystemConfigurationUpdate,
        &resource
    )));
    assert!(allowed(decide(
        &admin,
        P::SecuritySettingsUpdate,
        &resource
    )));
}

#[test]
fn a_local_administrator_reaches_their_location_only_and_needs_locations_enabled() {
    let mut w = World::new();
    let admin = w.subject(&[Template::LocalAdministrator], Place::Unit(w.city));
    assert!(allowed(decide(
        &admin,
        P::UsersUpdate,
        &w.user_at(w.city, None)
    )));
    // Not the child location, not elsewhere.
    assert!(!allowed(decide(
        &admin,
        P::UsersUpdate,
        &w.user_at(w.branch, None)
    )));
    assert!(!allowed(decide(
        &admin,
        P::UsersUpdate,
        &w.user_at(w.elsewhere, None)
    )));

    w.settings.locations_enabled = false;
    let admin = w.subject(&[Template::LocalAdministrator], Place::Unit(w.city));
    assert!(!allowed(decide(
        &admin,
        P::UsersUpdate,
        &w.user_at(w.city, None)
    )));
}

#[test]
fn a_multiple_location_administrator_reaches_every_child_location() {
    let w = World::new();
    let admin = w.subject(
        &[Template::MultipleLocationAdministrator],
        Place::Unit(w.city),
    );
    assert!(allowed(decide(
        &admin,
        P::UsersUpdate,
        &w.user_at(w.city, None)
    )));
    assert!(allowed(decide(
        &admin,
        P::UsersUpdate,
        &w.user_at(w.branch, None)
    )));
    assert!(!allowed(decide(
        &admin,
        P::UsersUpdate,
        &w.user_at(w.region, None)
    )));
    assert!(!allowed(decide(
        &admin,
        P::UsersUpdate,
        &w.user_at(w.elsewhere, None)
    )));
}

#[test]
fn a_master_administrator_reaches_client_tenants_and_needs_clients_enabled() {
    let mut w = World::new();
    let master = w.subject(&[Template::MasterAdministrator], Place::Tenant);
    let client_user = ResourceFacts::new(w.client, Object::User(UserId::generate()));
    let stranger = ResourceFacts::new(
        lms_kernel::TenantId::generate(),
        Object::User(UserId::generate()),
    );
    assert!(allowed(decide(&master, P::UsersUpdate, &client_user)));
    assert!(allowed(decide(
        &master,
        P::ContentGrantsCreate,
        &ResourceFacts::new(w.client, Object::Tenant(w.client))
    )));
    assert_eq!(
        decide(&master, P::UsersRead, &stranger),
        Decision::Denied(Denial::OutsideTenant)
    );

    w.settings.clients_enabled = false;
    let master = w.subject(&[Template::MasterAdministrator], Place::Tenant);
    assert!(!allowed(decide(&master, P::UsersUpdate, &client_user)));
}

#[test]
fn an_organization_administrator_does_not_reach_client_tenants() {
    let w = World::new();
    let admin = w.subject(&[Template::OrganizationAdministrator], Place::Tenant);
    let client_user = ResourceFacts::new(w.client, Object::User(UserId::generate()));
    assert!(allowed(decide(
        &admin,
        P::UsersDelete,
        &w.user_at(w.elsewhere, None)
    )));
    assert!(!allowed(decide(&admin, P::UsersRead, &client_user)));
    assert!(allowed(decide(
        &admin,
        P::ContentLibraryManage,
        &w.tenant_wide()
    )));
}

#[test]
fn reports_only_roles_read_the_same_reports_and_change_nothing() {
    let w = World::new();
    let pairs = [
        (
            Template::LocalAdministrator,
            Template::LocalAdministratorReportsOnly,
        ),
        (
            Template::MultipleLocationAdministrator,
            Template::MultipleLocationAdministratorReportsOnly,
        ),
        (
            Template::OrganizationAdministrator,
            Template::OrganizationAdministratorReportsOnly,
        ),
        (
            Template::MasterAdministrator,
            Template::MasterAdministratorReportsOnly,
        ),
    ];
    let resources = [
        w.user_at(w.city, None),
        w.user_at(w.branch, Some(w.team)),
        w.user_at(w.elsewhere, None),
        w.tenant_wide(),
        ResourceFacts::new(w.client, Object::User(UserId::generate())),
    ];
    for (full, twin) in pairs {
        let full_subject = w.subject(&[full], Place::Unit(w.city));
        let twin_subject = w.subject(&[twin], Place::Unit(w.city));
        for resource in &resources {
            assert_eq!(
                allowed(decide(&full_subject, P::ReportsRead, resource)),
                allowed(decide(&twin_subject, P::ReportsRead, resource)),
                "{twin:?} reads what {full:?} reads"
            );
            for permission in [
                P::UsersUpdate,
                P::UsersCreate,
                P::RoleAssignmentsCreate,
                P::GroupsUpdate,
            ] {
                assert!(
                    !allowed(decide(&twin_subject, permission, resource)),
                    "{twin:?} {permission}"
                );
            }
        }
    }
}

#[test]
fn a_course_administrator_cannot_approve_enrolments_or_sign_off_competencies() {
    let w = World::new();
    let mut admin = w.subject(&[Template::Tutor], Place::Tenant);
    admin.administered_courses = vec![w.course];
    let course = w.course(w.course);
    assert!(allowed(decide(&admin, P::CoursesUpdate, &course)));
    assert!(allowed(decide(&admin, P::LessonsAssign, &course)));
    assert!(allowed(decide(&admin, P::CoursesDeploy, &course)));
    assert!(!allowed(decide(&admin, P::EnrolmentsApprove, &course)));
    assert!(!allowed(decide(&admin, P::CompetenciesSignOff, &course)));

    let mut tutor = w.subject(&[Template::Tutor], Place::Tenant);
    tutor.tutored_courses = vec![w.course];
    assert!(allowed(decide(&tutor, P::EnrolmentsApprove, &course)));
    assert!(allowed(decide(&tutor, P::CompetenciesSignOff, &course)));
}

#[test]
fn an_event_administrator_manages_their_event_only() {
    let w = World::new();
    let mut tutor = w.subject(&[Template::Tutor], Place::Tenant);
    tutor.administered_events = vec![w.event];
    assert!(allowed(decide(
        &tutor,
        P::BookingsApprove,
        &w.event(w.event, w.course)
    )));
    assert!(allowed(decide(
        &tutor,
        P::AttendanceMark,
        &w.event(w.event, w.course)
    )));
    assert!(!allowed(decide(
        &tutor,
        P::BookingsApprove,
        &w.event(w.other_event, w.course)
    )));
    assert!(!allowed(decide(
        &tutor,
        P::CoursesUpdate,
        &w.course(w.course)
    )));
}

#[test]
fn responsibilities_follow_the_matrix_and_a_course_has_one_tutor() {
    let manager = Template::Manager.responsibilities();
    let (holder, other) = (UserId::generate(), UserId::generate());
    assert_eq!(
        check_responsibility(Responsibility::CourseTutor, manager, holder, None),
        Err(ResponsibilityError::NotAllowedForRoles(
            Responsibility::CourseTutor
        ))
    );
    assert!(check_responsibility(Responsibility::GroupManager, manager, holder, None).is_ok());
    let tutor = Template::Tutor.responsibilities();
    assert!(check_responsibility(Responsibility::CourseTutor, tutor, holder, None).is_ok());
    assert!(check_responsibility(Responsibility::GroupAdministrator, tutor, holder, None).is_err());
    assert_eq!(
        check_responsibility(Responsibility::CourseTutor, tutor, holder, Some(other)),
        Err(ResponsibilityError::CourseTutorTaken)
    );
    assert!(check_responsibility(Responsibility::CourseTutor, tutor, holder, Some(holder)).is_ok());
    for template in [
        Template::ManagerTutor,
        Template::TrainingCoordinator,
        Template::LmsAdministrator,
    ] {
        for r in Responsibility::ALL {
            assert!(template.responsibilities().contains(r), "{template:?} {r}");
        }
    }
    for r in Responsibility::ALL {
        assert!(!Template::Student.responsibilities().contains(r));
    }
}

#[test]
fn a_responsibility_explains_the_decision_it_allows() {
    let w = World::new();
    // A custom role copied from Tutor keeps the matrix; its grants here are only Student's.
    let mut subject = w.subject(&[], Place::Tenant);
    let copy = lms_kernel::Role::copy_of(
        &Template::Tutor.role(),
        lms_kernel::CustomRoleId::generate(),
        "Visiting tutor",
        Some(Template::Student.grants()),
    )
    .unwrap();
    subject.roles = vec![lms_kernel::HeldRole::new(&copy, Place::Tenant)];
    subject.tutored_courses = vec![w.course];
    assert_eq!(
        decide(&subject, P::EnrolmentsApprove, &w.course(w.course)),
        Decision::Allowed(Grounds::Responsibility(Responsibility::CourseTutor))
    );
}

#[test]
fn a_student_is_the_default_and_reaches_only_their_own_learning() {
    assert_eq!(DEFAULT_ROLE, Template::Student);
    let w = World::new();
    let mut student = w.subject(&[], Place::Tenant);
    student.enrolled_courses = vec![w.course];
    let own = ResourceFacts::new(w.tenant, Object::User(student.user));
    assert_eq!(
        decide(&student, P::ReportsRead, &own),
        Decision::Allowed(Grounds::Role {
            role: RoleId::BuiltIn(Template::Student),
            place: Place::Tenant,
            reach: Reach::Own,
        })
    );
    assert!(allowed(decide(
        &student,
        P::LearningTake,
        &w.course(w.course)
    )));
    assert!(allowed(decide(&student, P::BookingsCreate, &own)));
    assert!(!allowed(decide(
        &student,
        P::LearningTake,
        &w.course(w.other_course)
    )));
    assert!(!allowed(decide(
        &student,
        P::UsersRead,
        &w.user_at(w.branch, Some(w.team))
    )));
    assert_eq!(
        decide(&student, P::UsersRead, &w.user_at(w.branch, None)),
        Decision::Denied(Denial::NoGrant)
    );
}

#[test]
fn a_catalogue_deployed_to_a_learner_shows_its_courses_and_nothing_more() {
    let w = World::new();
    let mut student = w.subject(&[], Place::Tenant);
    student.offered_courses = vec![w.course];
    assert_eq!(
        decide(&student, P::CoursesRead, &w.course(w.course)),
        Decision::Allowed(Grounds::Catalogue)
    );
    // Seeing a course is not taking it: lessons and learning wait for an enrolment.
    for (permission, object) in [
        (P::LearningTake, w.course(w.course)),
        (P::CoursesUpdate, w.course(w.course)),
        (P::LessonsRead, w.lesson(w.course)),
    ] {
        assert!(
            !allowed(decide(&student, permission, &object)),
            "{permission}"
        );
    }
    assert!(!allowed(decide(
        &student,
        P::CoursesRead,
        &w.course(w.other_course)
    )));
    student.status = UserStatus::Suspended;
    assert!(!allowed(decide(
        &student,
        P::CoursesRead,
        &w.course(w.course)
    )));
}

/// A learner of a client tenant (`w.client`) to whom the master (`w.tenant`) granted
/// `w.course`, holding `templates` in their own tenant.
fn client_person(w: &World, templates: &[Template]) -> lms_kernel::SubjectFacts {
    let mut person = w.subject(templates, Place::Tenant);
    person.tenant = w.client;
    person.clients = Vec::new();
    person.settings.clients_enabled = false;
    person.granted_courses = vec![GrantedCourse {
        owner: w.tenant,
        course: w.course,
        in_effect: true,
    }];
    person
}

#[test]
fn a_content_grant_shows_the_course_to_the_clients_people_and_learning_follows_enrolment() {
    let w = World::new();
    let mut learner = client_person(&w, &[]);
    assert_eq!(
        decide(&learner, P::CoursesRead, &w.course(w.course)),
        Decision::Allowed(Grounds::ContentGrant)
    );
    for (permission, object) in [
        (P::LearningTake, w.course(w.course)),
        (P::LessonsRead, w.lesson(w.course)),
        (P::CoursesUpdate, w.course(w.course)),
    ] {
        assert_eq!(
            decide(&learner, permission, &object),
            Decision::Denied(Denial::NoGrant),
            "{permission} before enrolling"
        );
    }
    learner.enrolled_courses = vec![w.course];
    for (permission, object) in [
        (P::LearningTake, w.course(w.course)),
        (P::LessonsRead, w.lesson(w.course)),
        (P::EventsRead, w.event(w.event, w.course)),
    ] {
        assert!(
            allowed(decide(&learner, permission, &object)),
            "{permission}"
        );
    }
    // Read-only: taking a course never lets anyone change it, whatever own-learning grants a
    // role of the client's (a custom one too) carries.
    let mut custom = learner.clone();
    let everything = lms_kernel::Grants::EMPTY.with(Reach::Own, lms_kernel::PermissionSet::ALL);
    custom.roles.push(lms_kernel::HeldRole {
        assignment: None,
        role: lms_kernel::RoleId::Custom(lms_kernel::CustomRoleId::generate()),
        grants: everything,
        responsibilities: lms_kernel::ResponsibilitySet::NONE,
        place: Place::Tenant,
    });
    for permission in [
        P::CoursesUpdate,
        P::LessonsCreate,
        P::EnrolmentsApprove,
        P::EnrolmentsRead,
        P::ReportsRead,
        P::BookingsCreate,
    ] {
        for who in [&learner, &custom] {
            assert!(
                !allowed(decide(who, permission, &w.course(w.course))),
                "{permission}"
            );
        }
    }
    // The grant names the course and its owner: nothing else of the master, and not the same
    // id under another tenant.
    let outside = Decision::Denied(Denial::OutsideTenant);
    assert_eq!(
        decide(&learner, P::CoursesRead, &w.course(w.other_course)),
        outside
    );
    let elsewhere = ResourceFacts::new(w.client_of_nobody(), Object::Course(w.course));
    assert_eq!(decide(&learner, P::CoursesRead, &elsewhere), outside);
    // Named as a course of their own tenant (where their enrolment is recorded), it is none.
    let as_home = ResourceFacts::new(w.client, Object::Course(w.course));
    assert_eq!(decide(&learner, P::LearningTake, &as_home), outside);
    // The grant ended: the enrolment outlasting it reaches nothing, however it is named.
    let mut ended = learner.clone();
    ended.granted_courses[0].in_effect = false;
    for object in [w.course(w.course), as_home] {
        assert_eq!(decide(&ended, P::LearningTake, &object), outside);
        assert_eq!(decide(&ended, P::CoursesRead, &object), outside);
    }
    learner.status = UserStatus::Suspended;
    assert!(!allowed(decide(
        &learner,
        P::CoursesRead,
        &w.course(w.course)
    )));
}

#[test]
fn a_clients_organization_administrator_never_reaches_the_masters_content_or_people() {
    let w = World::new();
    let admin = client_person(&w, &[Template::OrganizationAdministrator]);
    let outside = Decision::Denied(Denial::OutsideTenant);
    for (permission, object) in [
        (P::CoursesRead, w.course(w.other_course)),
        (P::UsersRead, w.user_at(w.region, None)),
        (P::ReportsRead, w.user_at(w.branch, Some(w.team))),
        (P::CataloguesRead, w.tenant_wide()),
    ] {
        assert_eq!(decide(&admin, permission, &object), outside, "{permission}");
    }
    // The granted course they see, as everyone in their tenant does, and administer nothing.
    assert_eq!(
        decide(&admin, P::CoursesRead, &w.course(w.course)),
        Decision::Allowed(Grounds::ContentGrant)
    );
    for permission in [
        P::CoursesUpdate,
        P::CoursesDeploy,
        P::EnrolmentsRead,
        P::LessonsRead,
        P::ContentGrantsCreate,
    ] {
        assert!(
            !allowed(decide(&admin, permission, &w.course(w.course))),
            "{permission}"
        );
    }
}

#[test]
fn holdings_name_each_reach_at_its_place_and_each_responsibility() {
    use lms_kernel::{HeldReach, holdings};
    let mut w = World::new();
    let held_as = |template: Template, place: Place, reach: Reach| HeldReach {
        reach,
        place,
        role: Some(RoleId::BuiltIn(template)),
    };
    let local = w.subject(&[Template::LocalAdministrator], Place::Unit(w.city));
    let held = holdings(&local, P::ReportsRead);
    assert!(
        held.reaches
            .contains(&held_as(Template::Student, Place::Tenant, Reach::Own))
    );
    assert!(held.reaches.contains(&held_as(
        Template::LocalAdministrator,
        Place::Unit(w.city),
        Reach::Unit
    )));
    // Held tenant-wide, a unit reach reaches no unit; with locations off, none at all.
    let tenant_held = w.subject(&[Template::LocalAdministrator], Place::Tenant);
    // (Each role names its own: the implicit Student and the role's Student grants alike.)
    let reaches = |subject: &lms_kernel::SubjectFacts| -> Vec<Reach> {
        let mut reaches: Vec<_> = holdings(subject, P::ReportsRead)
            .reaches
            .iter()
            .map(|h| h.reach)
            .collect();
        reaches.dedup();
        reaches
    };
    assert_eq!(reaches(&tenant_held), [Reach::Own]);
    // A Tutor reads reports through the courses they tutor or administer, and as Course Tutor.
    let tutor = w.subject(&[Template::Tutor], Place::Tenant);
    let held = holdings(&tutor, P::ReportsRead);
    assert!(
        held.reaches
            .iter()
            .any(|h| h.reach == Reach::AdministeredCourses)
    );
    assert!(held.responsibilities.contains(&Responsibility::CourseTutor));
    w.settings.locations_enabled = false;
    let dormant = w.subject(&[Template::LocalAdministrator], Place::Unit(w.city));
    assert_eq!(reaches(&dormant), [Reach::Own]);
    let mut suspended = local.clone();
    suspended.status = UserStatus::Suspended;
    assert!(holdings(&suspended, P::ReportsRead).is_empty());
}

#[test]
fn every_role_keeps_student_for_the_holders_own_learning() {
    let w = World::new();
    for template in Template::ALL {
        let mut subject = w.subject(&[template], Place::Unit(w.city));
        subject.enrolled_courses = vec![w.course];
        let own = ResourceFacts::new(w.tenant, Object::User(subject.user));
        assert!(
            allowed(decide(&subject, P::LearningTake, &w.course(w.course))),
            "{template:?}"
        );
        assert!(
            allowed(decide(&subject, P::ReportsRead, &own)),
            "{template:?}"
        );
    }
}

#[test]
fn inactive_users_are_allowed_nothing() {
    let w = World::new();
    for status in [
        UserStatus::PendingApproval,
        UserStatus::Suspended,
        UserStatus::Anonymised,
    ] {
        let mut admin = w.subject(&[Template::LmsAdministrator], Place::Tenant);
        admin.status = status;
        assert_eq!(
            decide(&admin, P::CoursesRead, &w.tenant_wide()),
            Decision::Denied(Denial::SubjectNotActive(status))
        );
    }
}

#[test]
fn a_purchaser_sees_invitees_and_purchases_make_the_documented_roles() {
    let w = World::new();
    let purchaser = w.subject(&[Template::Purchaser], Place::Tenant);
    let mut invitee = w.user_at(w.branch, None);
    invitee.invited_by = vec![purchaser.user];
    assert!(allowed(decide(&purchaser, P::ReportsRead, &invitee)));
    assert!(!allowed(decide(
        &purchaser,
        P::ReportsRead,
        &w.user_at(w.branch, None)
    )));

    let single = purchase_roles(1, 0);
    assert_eq!((single.buyer, single.invitees), (Template::Student, None));
    let seats = purchase_roles(5, 0);
    assert_eq!((seats.buyer, seats.invitees), (Template::Purchaser, None));
    let invited = purchase_roles(1, 2);
    assert_eq!(
        (invited.buyer, invited.invitees),
        (Template::Purchaser, Some(Template::Student))
    );
}

#[test]
fn the_access_coordinator_and_teachers_do_what_the_products_document() {
    let w = World::new();
    // The duties follow the tenant's coordinator record, not a role.
    let mut coordinator = w.subject(&[], Place::Tenant);
    coordinator.access_coordinator = true;
    let pending_tutor = w.user_at(w.branch, None);
    assert!(allowed(decide(
        &coordinator,
        P::TutorApprovalsDecide,
        &pending_tutor
    )));
    assert!(allowed(decide(
        &coordinator,
        P::AccountsDeleteUnused,
        &pending_tutor
    )));
    assert!(allowed(decide(
        &coordinator,
        P::TeachersPromote,
        &pending_tutor
    )));
    let admin = w.subject(&[Template::OrganizationAdministrator], Place::Tenant);
    assert!(!allowed(decide(
        &admin,
        P::TutorApprovalsDecide,
        &pending_tutor
    )));
    // No role carries them: not the retired coordinator role, not the widest administrator's.
    for template in [Template::AccessCoordinator, Template::LmsAdministrator] {
        let holder = w.subject(&[template], Place::Tenant);
        for duty in [
            P::TutorApprovalsDecide,
            P::AccountsDeleteUnused,
            P::TeachersPromote,
        ] {
            assert!(
                !allowed(decide(&holder, duty, &pending_tutor)),
                "{template:?} {duty}"
            );
        }
    }
    // And only in their own tenant.
    let elsewhere = ResourceFacts::new(
        lms_kernel::TenantId::generate(),
        Object::User(lms_kernel::UserId::generate()),
    );
    assert!(!allowed(decide(
        &coordinator,
        P::TutorApprovalsDecide,
        &elsewhere
    )));

    let teacher = w.subject(&[Template::Teacher], Place::Tenant);
    assert!(allowed(decide(
        &teacher,
        P::ContentAccessGrant,
        &w.user_at(w.branch, None)
    )));
    assert!(!allowed(decide(
        &teacher,
        P::UsersCreate,
        &w.user_at(w.branch, None)
    )));
    let teacher_admin = w.subject(&[Template::TeacherAdministrator], Place::Tenant);
    assert!(allowed(decide(
        &teacher_admin,
        P::UsersCreate,
        &w.user_at(w.branch, None)
    )));
}

#[test]
fn an_administrator_without_a_second_factor_does_nothing_risky_when_the_tenant_requires_mfa() {
    let mut w = World::new();
    w.settings.mfa_required_for_admins = true;
    let admin = w.subject(&[Template::LmsAdministrator], Place::Tenant);
    assert!(admin.needs_second_factor());
    let password_only = admin.without_second_factor();
    let someone = w.user_at(w.city, None);
    assert!(allowed(decide(&admin, P::UsersRead, &someone)));
    assert!(!allowed(decide(&password_only, P::UsersRead, &someone)));
    assert!(!allowed(decide(
        &password_only,
        P::SecuritySettingsUpdate,
        &w.tenant_wide()
    )));
    // Harmless administration and the person's own learning go on.
    assert!(allowed(decide(
        &password_only,
        P::CoursesRead,
        &w.tenant_wide()
    )));
    let own = ResourceFacts::new(w.tenant, Object::User(admin.user));
    assert!(allowed(decide(&password_only, P::UsersRead, &own)));

    // A student has nothing to protect: no second factor is asked of them.
    let student = w.subject(&[Template::Student], Place::Tenant);
    assert!(!student.needs_second_factor());
    w.settings.mfa_required_for_admins = false;
    let relaxed = w.subject(&[Template::LmsAdministrator], Place::Tenant);
    assert!(!relaxed.needs_second_factor());
}
