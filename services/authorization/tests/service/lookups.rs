//! LookupResources and LookupSubjects through the API.

use std::collections::BTreeSet;

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::{LookupResourcesRequest, LookupSubjectsRequest, Relation};
use lms_api::common::v1::ObjectType;
use lms_kernel::{CourseId, GroupId, UnitId, UserId};
use tonic::Code;

use crate::fixture::{Fixture, reference, touch, user_ref};

/// Every id a lookup answers, following pages of `page_size`.
async fn resources(
    f: &Fixture,
    user: UserId,
    permission: &str,
    kind: ObjectType,
    page_size: i32,
) -> (BTreeSet<String>, bool, usize) {
    let mut client = PermissionServiceClient::new(f.service.authorized(&f.user_token(user)));
    let (mut ids, mut token, mut pages) = (BTreeSet::new(), String::new(), 0);
    loop {
        let response = client
            .lookup_resources(LookupResourcesRequest {
                permission: permission.into(),
                resource_type: kind as i32,
                page_size,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        ids.extend(response.resource_ids);
        if response.all_of_type {
            return (ids, true, pages);
        }
        if response.next_page_token.is_empty() {
            return (ids, false, pages);
        }
        token = response.next_page_token;
    }
}

fn strings(ids: impl IntoIterator<Item = impl ToString>) -> BTreeSet<String> {
    ids.into_iter().map(|id| id.to_string()).collect()
}

#[tokio::test]
async fn a_manager_looks_up_exactly_their_team_and_the_groups_they_cover() {
    let f = Fixture::start().await;
    let (team, covered, other) = (
        GroupId::generate(),
        GroupId::generate(),
        GroupId::generate(),
    );
    let manager = f.holder("builtin:manager", None).await;
    let members = |group: GroupId, n: usize| {
        let f = &f;
        async move {
            let users: Vec<UserId> = (0..n).map(|_| UserId::generate()).collect();
            let updates = users
                .iter()
                .map(|u| {
                    touch(
                        reference(ObjectType::Group, group),
                        Relation::PrimaryMember,
                        user_ref(*u),
                    )
                })
                .collect();
            f.write(updates, None, Vec::new()).await;
            users
        }
    };
    let team_members = members(team, 25).await;
    let covered_members = members(covered, 5).await;
    members(other, 10).await;
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

    let (visible, all, pages) = resources(&f, manager, "users.read", ObjectType::User, 10).await;
    assert!(!all);
    assert_eq!(pages, 4, "31 ids in pages of 10");
    let expected = strings(
        team_members
            .iter()
            .chain(&covered_members)
            .chain([&manager]),
    );
    assert_eq!(visible, expected);

    // Booking reaches the team (and oneself), not the covered group.
    let (bookable, _, _) = resources(&f, manager, "bookings.create", ObjectType::User, 100).await;
    assert_eq!(bookable, strings(team_members.iter().chain([&manager])));
}

#[tokio::test]
async fn a_tutor_looks_up_their_courses_and_lessons_and_approves_only_where_they_tutor() {
    let f = Fixture::start().await;
    let (tutored, administered, other) = (
        CourseId::generate(),
        CourseId::generate(),
        CourseId::generate(),
    );
    let lessons: Vec<_> = (0..3).map(|_| uuid::Uuid::new_v4()).collect();
    let tutor = f.holder("builtin:tutor", None).await;
    let mut updates = vec![
        touch(
            reference(ObjectType::Course, tutored),
            Relation::CourseTutor,
            user_ref(tutor),
        ),
        touch(
            reference(ObjectType::Course, administered),
            Relation::CourseAdministrator,
            user_ref(tutor),
        ),
    ];
    updates.extend(lessons.iter().map(|l| {
        touch(
            reference(ObjectType::Lesson, l),
            Relation::ParentCourse,
            reference(ObjectType::Course, tutored),
        )
    }));
    updates.push(touch(
        reference(ObjectType::Lesson, uuid::Uuid::new_v4()),
        Relation::ParentCourse,
        reference(ObjectType::Course, other),
    ));
    f.write(updates, None, Vec::new()).await;

    let (editable, all, _) = resources(&f, tutor, "courses.update", ObjectType::Course, 0).await;
    assert!(!all);
    assert_eq!(editable, strings([tutored, administered]));
    let (approvable, _, _) =
        resources(&f, tutor, "enrolments.approve", ObjectType::Course, 0).await;
    assert_eq!(approvable, strings([tutored]));
    let (lesson_ids, _, _) = resources(&f, tutor, "lessons.update", ObjectType::Lesson, 0).await;
    assert_eq!(lesson_ids, strings(&lessons));
}

#[tokio::test]
async fn a_multiple_location_administrator_looks_up_users_below_their_location() {
    let f = Fixture::start().await;
    f.settings(true, false).await;
    let (city, branch, elsewhere) = (UnitId::generate(), UnitId::generate(), UnitId::generate());
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
    let employ = |unit: UnitId| {
        let f = &f;
        async move {
            let user = UserId::generate();
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
    let (a, b, _) = (
        employ(city).await,
        employ(branch).await,
        employ(elsewhere).await,
    );
    let admin = f
        .holder(
            "builtin:multiple_location_administrator",
            Some(city.to_string()),
        )
        .await;
    let (users, all, _) = resources(&f, admin, "users.update", ObjectType::User, 0).await;
    assert!(!all);
    // Their own profile too: every role keeps Student's `users.update@own`.
    assert_eq!(users, strings([a, b, admin]));
    let (units, _, _) = resources(&f, admin, "units.read", ObjectType::Unit, 0).await;
    assert_eq!(units, strings([city, branch]));
}

#[tokio::test]
async fn a_tenant_wide_grant_answers_all_of_type() {
    let f = Fixture::start().await;
    let admin = f.holder("builtin:lms_administrator", None).await;
    let (ids, all, _) = resources(&f, admin, "courses.delete", ObjectType::Course, 0).await;
    assert!(all && ids.is_empty());
    let student = f.user().await;
    let (ids, all, _) = resources(&f, student, "courses.delete", ObjectType::Course, 0).await;
    assert!(!all && ids.is_empty());
}

#[tokio::test]
async fn lookup_subjects_finds_who_may_approve_enrolments_on_a_course() {
    let f = Fixture::start().await;
    let course = CourseId::generate();
    let tutor = f.holder("builtin:tutor", None).await;
    let course_admin = f.holder("builtin:tutor", None).await;
    let coordinator = f.holder("builtin:training_coordinator", None).await;
    let learner = f.user().await;
    f.write(
        vec![
            touch(
                reference(ObjectType::Course, course),
                Relation::CourseTutor,
                user_ref(tutor),
            ),
            touch(
                reference(ObjectType::Course, course),
                Relation::CourseAdministrator,
                user_ref(course_admin),
            ),
            touch(
                reference(ObjectType::Course, course),
                Relation::Enrolled,
                user_ref(learner),
            ),
        ],
        None,
        Vec::new(),
    )
    .await;
    let delegation = f.auth.tenant_service_token("delegation", f.tenant);
    let mut client = PermissionServiceClient::new(f.service.authorized(&delegation));
    let ask = |permission: &str| LookupSubjectsRequest {
        permission: permission.into(),
        resource: Some(reference(ObjectType::Course, course)),
        ..Default::default()
    };
    let approvers: BTreeSet<_> = client
        .lookup_subjects(ask("enrolments.approve"))
        .await
        .unwrap()
        .into_inner()
        .subject_ids
        .into_iter()
        .collect();
    assert_eq!(approvers, strings([tutor, coordinator]));
    let learners: BTreeSet<_> = client
        .lookup_subjects(ask("learning.take"))
        .await
        .unwrap()
        .into_inner()
        .subject_ids
        .into_iter()
        .collect();
    assert!(learners.contains(&learner.to_string()) && learners.contains(&coordinator.to_string()));

    let status = PermissionServiceClient::new(f.service.authorized(&f.user_token(learner)))
        .lookup_subjects(ask("enrolments.approve"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}
