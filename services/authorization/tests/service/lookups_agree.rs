//! LookupResources lists exactly what Check allows, object by object, over a small world on
//! both stores.

use std::collections::BTreeSet;

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::role_service_client::RoleServiceClient;
use lms_api::authorization::v1::{
    CreateRoleRequest, Grant, LookupResourcesRequest, Reach, Relation, RelationshipUpdate,
    SubjectStatus,
};
use lms_api::common::v1::{ObjectReference, ObjectType, UserStatus};
use lms_kernel::{CourseId, EventId, GroupId, UnitId, UserId};
use uuid::Uuid;

use crate::fixture::{Fixture, reference, touch, user_ref};

const PERMISSIONS: [&str; 12] = [
    "users.read",
    "users.update",
    "bookings.create",
    "groups.read",
    "units.read",
    "courses.read",
    "courses.update",
    "enrolments.approve",
    "lessons.update",
    "events.update",
    "reports.read",
    "learning.take",
];

const KINDS: [ObjectType; 6] = [
    ObjectType::User,
    ObjectType::Group,
    ObjectType::Unit,
    ObjectType::Course,
    ObjectType::Lesson,
    ObjectType::Event,
];

/// A tenant with a location tree, two groups, three courses with a lesson and an event each,
/// and six people whose rights come from different places: a Manager (a team and a covered
/// group), a Tutor (a tutored course, an administered course, an administered event), a Local
/// Administrator (a location), a Course Tutor whose role grants nothing on courses (the
/// responsibility alone), a Student (enrolled and booked), and an LMS Administrator
/// (tenant-wide grants).
struct World {
    objects: Vec<(ObjectType, Uuid)>,
    subjects: Vec<(&'static str, UserId)>,
}

async fn world(f: &Fixture) -> World {
    f.settings(true, false).await;
    let (region, city, branch, elsewhere) = (
        UnitId::generate(),
        UnitId::generate(),
        UnitId::generate(),
        UnitId::generate(),
    );
    let (team, other) = (GroupId::generate(), GroupId::generate());
    let courses = [
        CourseId::generate(),
        CourseId::generate(),
        CourseId::generate(),
    ];
    let lessons = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
    let events = [
        EventId::generate(),
        EventId::generate(),
        EventId::generate(),
    ];
    let mut people = Vec::new();
    for _ in 0..5 {
        people.push(f.user().await);
    }
    let [a, b, c, d, lapsed] = people[..] else {
        unreachable!()
    };
    // Barred from booking: lookups for bookings.create must leave them out, as Check does.
    let restricted = UserId::generate();
    f.write(
        Vec::new(),
        None,
        vec![SubjectStatus {
            user_id: restricted.to_string(),
            status: UserStatus::Active as i32,
            restrict_bookings: true,
        }],
    )
    .await;

    let manager = f.holder("builtin:manager", None).await;
    let tutor = f.holder("builtin:tutor", None).await;
    let local = f
        .holder("builtin:local_administrator", Some(city.to_string()))
        .await;
    let learner = f.user().await;
    // A copy of Tutor keeps the responsibilities Tutor allows; its grants here are only a
    // learner's, so what it reaches on a course it reaches as that course's Course Tutor.
    let admin = f.holder("builtin:lms_administrator", None).await;
    let coach_role = RoleServiceClient::new(f.service.authorized(&f.user_token(admin)))
        .create_role(CreateRoleRequest {
            name: "Coach".into(),
            copy_from_role_id: "builtin:tutor".into(),
            grants: vec![Grant {
                permission: "learning.take".into(),
                reach: Reach::Own as i32,
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap()
        .role_id;
    let coach = f.holder(&coach_role, None).await;

    let unit = |u: UnitId| reference(ObjectType::Unit, u);
    let group = |g: GroupId| reference(ObjectType::Group, g);
    let course = |i: usize| reference(ObjectType::Course, courses[i]);
    let mut updates: Vec<RelationshipUpdate> = vec![
        touch(unit(city), Relation::ParentUnit, unit(region)),
        touch(unit(branch), Relation::ParentUnit, unit(city)),
        touch(unit(branch), Relation::Employee, user_ref(a)),
        touch(unit(city), Relation::Employee, user_ref(b)),
        touch(unit(elsewhere), Relation::Employee, user_ref(c)),
        touch(unit(region), Relation::Employee, user_ref(d)),
        touch(unit(city), Relation::Employee, user_ref(restricted)),
        touch(group(team), Relation::PrimaryMember, user_ref(a)),
        touch(group(team), Relation::PrimaryMember, user_ref(b)),
        touch(group(team), Relation::PrimaryMember, user_ref(restricted)),
        touch(group(team), Relation::Member, user_ref(c)),
        touch(group(other), Relation::PrimaryMember, user_ref(c)),
        touch(group(other), Relation::PrimaryMember, user_ref(d)),
        touch(group(other), Relation::Member, user_ref(a)),
        touch(group(team), Relation::Manager, user_ref(manager)),
        touch(group(other), Relation::Administrator, user_ref(manager)),
        touch(course(0), Relation::OwningUnit, unit(city)),
        touch(course(1), Relation::OwningUnit, unit(elsewhere)),
        touch(course(2), Relation::OwningUnit, unit(branch)),
        touch(course(0), Relation::CourseTutor, user_ref(tutor)),
        touch(course(1), Relation::CourseAdministrator, user_ref(tutor)),
        touch(
            reference(ObjectType::Event, events[1]),
            Relation::EventAdministrator,
            user_ref(tutor),
        ),
        touch(course(2), Relation::CourseTutor, user_ref(coach)),
        touch(course(0), Relation::Enrolled, user_ref(learner)),
        touch(
            reference(ObjectType::Event, events[1]),
            Relation::Booked,
            user_ref(learner),
        ),
    ];
    for i in 0..3 {
        updates.push(touch(
            reference(ObjectType::Lesson, lessons[i]),
            Relation::ParentCourse,
            course(i),
        ));
        updates.push(touch(
            reference(ObjectType::Event, events[i]),
            Relation::ParentCourse,
            course(i),
        ));
    }
    // A team membership that ended an hour ago: the manager no longer oversees `lapsed`.
    let mut ended = touch(group(team), Relation::PrimaryMember, user_ref(lapsed));
    let relationship = ended.relationship.as_mut().unwrap();
    relationship.valid_until = Some(prost_types::Timestamp {
        seconds: lms_runtime::clock::now() - 3600,
        nanos: 0,
    });
    updates.push(ended);
    f.write(updates, None, Vec::new()).await;

    let users = [
        a, b, c, d, lapsed, restricted, manager, tutor, local, learner, admin, coach,
    ];
    let mut objects: Vec<(ObjectType, Uuid)> = Vec::new();
    objects.extend(users.iter().map(|u| (ObjectType::User, u.as_uuid())));
    objects.extend([team, other].map(|g| (ObjectType::Group, g.as_uuid())));
    objects.extend([region, city, branch, elsewhere].map(|u| (ObjectType::Unit, u.as_uuid())));
    objects.extend(courses.map(|c| (ObjectType::Course, c.as_uuid())));
    objects.extend(lessons.map(|l| (ObjectType::Lesson, l)));
    objects.extend(events.map(|e| (ObjectType::Event, e.as_uuid())));
    World {
        objects,
        subjects: vec![
            ("manager", manager),
            ("tutor", tutor),
            ("local administrator", local),
            ("course tutor by responsibility", coach),
            ("student", learner),
            // Tenant-wide grants: `all_of_type` must not claim the learner barred from booking.
            ("lms administrator", admin),
        ],
    }
}

/// Every id LookupResources answers for `user`, or `None` for all of the type.
async fn looked_up(
    f: &Fixture,
    user: UserId,
    permission: &str,
    kind: ObjectType,
) -> Option<BTreeSet<Uuid>> {
    let response = PermissionServiceClient::new(f.service.authorized(&f.user_token(user)))
        .lookup_resources(LookupResourcesRequest {
            permission: permission.into(),
            resource_type: kind as i32,
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(response.next_page_token.is_empty());
    (!response.all_of_type).then(|| {
        response
            .resource_ids
            .iter()
            .map(|id| id.parse().unwrap())
            .collect()
    })
}

async fn lookup_agrees_with_check_on_every_object(f: Fixture) {
    let world = world(&f).await;
    let mut listed_any = false;
    for (name, subject) in &world.subjects {
        for permission in PERMISSIONS {
            for kind in KINDS {
                let objects: Vec<Uuid> = world
                    .objects
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, id)| *id)
                    .collect();
                let mut allowed = BTreeSet::new();
                for id in &objects {
                    let object: ObjectReference = reference(kind, id);
                    if f.may(*subject, permission, object).await {
                        allowed.insert(*id);
                    }
                }
                let listed = looked_up(&f, *subject, permission, kind)
                    .await
                    .unwrap_or_else(|| objects.iter().copied().collect());
                listed_any |= !listed.is_empty();
                assert_eq!(
                    listed,
                    allowed,
                    "{name} looking up {permission} on {}",
                    kind.as_str_name()
                );
            }
        }
    }
    assert!(listed_any);
}

#[tokio::test]
async fn lookup_resources_lists_exactly_what_check_allows_on_postgres() {
    lookup_agrees_with_check_on_every_object(Fixture::start().await).await;
}

#[tokio::test]
async fn lookup_resources_lists_exactly_what_check_allows_on_sqlite() {
    lookup_agrees_with_check_on_every_object(Fixture::start_on_sqlite().await).await;
}
