//! The kernel's role behaviours, reproduced through the service: facts pushed as identity and
//! delegation push them, roles assigned, decisions asked over gRPC.

use lms_api::authorization::v1::Relation;
use lms_api::common::v1::ObjectType;
use lms_kernel::{CourseId, EventId, GroupId, TenantId, UnitId, UserId};

use crate::fixture::{Fixture, reference, touch, user_ref};

async fn team_member(f: &Fixture, group: GroupId) -> UserId {
    let member = f.user().await;
    f.write(
        vec![touch(
            reference(ObjectType::Group, group),
            Relation::PrimaryMember,
            user_ref(member),
        )],
        None,
        Vec::new(),
    )
    .await;
    member
}

#[tokio::test]
async fn a_manager_sees_and_books_their_team_but_nobody_else() {
    let f = Fixture::start().await;
    let (team, other) = (GroupId::generate(), GroupId::generate());
    let manager = f.holder("builtin:manager", None).await;
    f.write(
        vec![touch(
            reference(ObjectType::Group, team),
            Relation::Manager,
            user_ref(manager),
        )],
        None,
        Vec::new(),
    )
    .await;
    let member = team_member(&f, team).await;
    let outsider = team_member(&f, other).await;
    assert!(f.may(manager, "users.read", user_ref(member)).await);
    assert!(f.may(manager, "bookings.create", user_ref(member)).await);
    assert!(!f.may(manager, "users.read", user_ref(outsider)).await);
    assert!(!f.may(manager, "bookings.create", user_ref(outsider)).await);
    assert!(!f.may(manager, "users.update", user_ref(member)).await);
    assert!(
        f.may(
            manager,
            "courses.read",
            reference(ObjectType::Course, CourseId::generate())
        )
        .await
    );
}

#[tokio::test]
async fn a_manager_who_administers_another_group_sees_its_members_too() {
    let f = Fixture::start().await;
    let (team, covered) = (GroupId::generate(), GroupId::generate());
    let manager = f.holder("builtin:manager", None).await;
    f.write(
        vec![
            touch(
                reference(ObjectType::Group, team),
                Relation::Manager,
                user_ref(manager),
            ),
            touch(
                reference(ObjectType::Group, covered),
                Relation::Administrator,
                user_ref(manager),
            ),
        ],
        None,
        Vec::new(),
    )
    .await;
    let colleague = team_member(&f, covered).await;
    assert!(f.may(manager, "users.read", user_ref(colleague)).await);
    assert!(f.may(manager, "reports.read", user_ref(colleague)).await);
    assert!(!f.may(manager, "bookings.create", user_ref(colleague)).await);
}

#[tokio::test]
async fn a_tutor_runs_only_the_courses_they_tutor_and_creates_none() {
    let f = Fixture::start().await;
    let (course, other, event) = (
        CourseId::generate(),
        CourseId::generate(),
        EventId::generate(),
    );
    let tutor = f.holder("builtin:tutor", None).await;
    f.write(
        vec![
            touch(
                reference(ObjectType::Course, course),
                Relation::CourseTutor,
                user_ref(tutor),
            ),
            touch(
                reference(ObjectType::Event, event),
                Relation::ParentCourse,
                reference(ObjectType::Course, course),
            ),
        ],
        None,
        Vec::new(),
    )
    .await;
    assert!(
        f.may(
            tutor,
            "courses.update",
            reference(ObjectType::Course, course)
        )
        .await
    );
    assert!(
        f.may(
            tutor,
            "enrolments.approve",
            reference(ObjectType::Course, course)
        )
        .await
    );
    assert!(
        f.may(tutor, "events.update", reference(ObjectType::Event, event))
            .await
    );
    assert!(
        !f.may(
            tutor,
            "courses.update",
            reference(ObjectType::Course, other)
        )
        .await
    );
    assert!(
        !f.may(
            tutor,
            "courses.create",
            reference(ObjectType::Course, course)
        )
        .await
    );
    assert!(
        !f.may(
            tutor,
            "courses.delete",
            reference(ObjectType::Course, course)
        )
        .await
    );
    assert!(!f.may(tutor, "users.read", user_ref(f.user().await)).await);
}

#[tokio::test]
async fn a_course_administrator_cannot_approve_enrolments_or_sign_off_competencies() {
    let f = Fixture::start().await;
    let course = CourseId::generate();
    let admin = f.holder("builtin:tutor", None).await;
    f.write(
        vec![touch(
            reference(ObjectType::Course, course),
            Relation::CourseAdministrator,
            user_ref(admin),
        )],
        None,
        Vec::new(),
    )
    .await;
    let c = || reference(ObjectType::Course, course);
    assert!(f.may(admin, "courses.update", c()).await);
    assert!(f.may(admin, "lessons.assign", c()).await);
    assert!(!f.may(admin, "enrolments.approve", c()).await);
    assert!(!f.may(admin, "competencies.sign_off", c()).await);
}

#[tokio::test]
async fn a_training_coordinator_does_everything_but_system_configuration() {
    let f = Fixture::start().await;
    let coordinator = f.holder("builtin:training_coordinator", None).await;
    let target = user_ref(f.user().await);
    assert!(f.may(coordinator, "users.delete", target.clone()).await);
    assert!(
        f.may(
            coordinator,
            "courses.create",
            reference(ObjectType::Course, CourseId::generate())
        )
        .await
    );
    let tenant = reference(ObjectType::Tenant, f.tenant);
    assert!(
        !f.may(coordinator, "system_configuration.update", tenant.clone())
            .await
    );
    assert!(!f.may(coordinator, "security_settings.update", tenant).await);
}

#[tokio::test]
async fn a_local_administrator_needs_locations_and_a_multiple_location_administrator_reaches_children()
 {
    let f = Fixture::start().await;
    let (city, branch) = (UnitId::generate(), UnitId::generate());
    f.write(
        vec![touch(
            reference(ObjectType::Unit, branch),
            Relation::ParentUnit,
            reference(ObjectType::Unit, city),
        )],
        None,
        Vec::new(),
    )
    .await;
    let employee_at = |unit: UnitId| {
        let f = &f;
        async move {
            let user = f.user().await;
            f.write(
                vec![touch(
                    reference(ObjectType::Unit, unit),
                    Relation::Employee,
                    user_ref(user),
                )],
                None,
                Vec::new(),
            )
            .await;
            user
        }
    };
    let (in_city, in_branch) = (employee_at(city).await, employee_at(branch).await);

    f.settings(true, false).await;
    let local = f
        .holder("builtin:local_administrator", Some(city.to_string()))
        .await;
    let multiple = f
        .holder(
            "builtin:multiple_location_administrator",
            Some(city.to_string()),
        )
        .await;
    assert!(f.may(local, "users.update", user_ref(in_city)).await);
    assert!(!f.may(local, "users.update", user_ref(in_branch)).await);
    assert!(f.may(multiple, "users.update", user_ref(in_branch)).await);

    // Switching locations off makes the location roles dormant.
    f.settings(false, false).await;
    assert!(!f.may(local, "users.update", user_ref(in_city)).await);
    assert!(!f.may(multiple, "users.update", user_ref(in_branch)).await);
}

#[tokio::test]
async fn a_master_administrator_reaches_client_tenants_when_clients_are_enabled() {
    let f = Fixture::start().await;
    let (client, master) = f.master_of_a_client().await;
    // The client's user, announced by identity in the client tenant.
    let client_user_id = UserId::generate();
    lms_api::authorization::v1::relationship_service_client::RelationshipServiceClient::new(
        f.service
            .authorized(&f.auth.tenant_service_token("identity", client)),
    )
    .write_relationships(lms_api::authorization::v1::WriteRelationshipsRequest {
        event_id: crate::fixture::uuid_v4(),
        statuses: vec![lms_api::authorization::v1::SubjectStatus {
            user_id: client_user_id.to_string(),
            status: lms_api::common::v1::UserStatus::Active as i32,
            restrict_bookings: false,
        }],
        ..Default::default()
    })
    .await
    .unwrap();
    let mut client_user = user_ref(client_user_id);
    client_user.tenant_id = client.to_string();
    assert!(f.may(master, "users.update", client_user.clone()).await);
    let mut stranger = user_ref(UserId::generate());
    stranger.tenant_id = TenantId::generate().to_string();
    assert!(!f.may(master, "users.read", stranger).await);
    let organization = f.holder("builtin:organization_administrator", None).await;
    assert!(!f.may(organization, "users.read", client_user.clone()).await);
    f.settings(false, false).await;
    assert!(!f.may(master, "users.update", client_user).await);
}

#[tokio::test]
async fn reports_only_administrators_read_reports_and_change_nothing() {
    let f = Fixture::start().await;
    let full = f.holder("builtin:organization_administrator", None).await;
    let twin = f
        .holder("builtin:organization_administrator_reports_only", None)
        .await;
    let target = user_ref(f.user().await);
    assert!(f.may(full, "reports.read", target.clone()).await);
    assert!(f.may(twin, "reports.read", target.clone()).await);
    assert!(f.may(full, "users.update", target.clone()).await);
    assert!(!f.may(twin, "users.update", target.clone()).await);
    assert!(!f.may(twin, "role_assignments.create", target).await);
}

#[tokio::test]
async fn suspended_users_are_allowed_nothing_and_a_student_only_their_own() {
    use lms_api::authorization::v1::SubjectStatus;
    use lms_api::common::v1::UserStatus;
    let f = Fixture::start().await;
    let student = f.user().await;
    assert!(f.may(student, "reports.read", user_ref(student)).await);
    assert!(
        !f.may(student, "reports.read", user_ref(f.user().await))
            .await
    );
    let admin = f.holder("builtin:lms_administrator", None).await;
    assert!(f.may(admin, "users.read", user_ref(student)).await);
    let suspended = SubjectStatus {
        user_id: admin.to_string(),
        status: UserStatus::Suspended as i32,
        restrict_bookings: false,
    };
    f.write(Vec::new(), None, vec![suspended]).await;
    assert!(!f.may(admin, "users.read", user_ref(student)).await);
}
