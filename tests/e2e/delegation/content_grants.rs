//! Content granted to client tenants: a Master Administrator grants one of the master's courses
//! to a client; the client's people see it and take it, read-only, and lose it on revoke with
//! the revoke's token; nothing else of the master's, content or people, is theirs.

use lms_api::common::v1::{ConsistencyToken, ObjectReference, ObjectType};
use lms_api::delegation::v1::{
    CreateCatalogueRequest, CreateCourseRequest, CreateEventRequest, CreateLessonRequest,
    GetCourseRequest, GrantCatalogueRequest, GrantContentRequest, GrantContentResponse,
    ListContentGrantsRequest, ListCoursesRequest, ListEnrolmentsRequest, ListEventsRequest,
    ListGrantedCoursesRequest, ListLessonsRequest, RequestEnrolmentRequest,
    RevokeContentGrantRequest, UpdateContentGrantRequest, UpdateCourseRequest,
};
use tonic::Code;

use super::fixture::{Linked, Platform, fields, reason};

/// A course of the tenant whose administrator holds `admin`, with one lesson.
async fn course_with_lesson(p: &Platform, admin: &str, title: &str) -> String {
    let course = p
        .courses(admin)
        .create_course(CreateCourseRequest {
            title: title.into(),
            // The client's people take it at once all the same: the grant is the approval.
            enrolment_requires_approval: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .course
        .unwrap()
        .course_id;
    p.lessons(admin)
        .create_lesson(CreateLessonRequest {
            course_id: course.clone(),
            title: format!("{title}: the first lesson"),
            position: 0,
        })
        .await
        .unwrap();
    course
}

fn grant_of(client: &str, course: &str) -> GrantContentRequest {
    GrantContentRequest {
        client_tenant_id: client.into(),
        course_id: course.into(),
        ..Default::default()
    }
}

/// The master's object as another tenant's people name it.
fn masters(kind: ObjectType, id: &str, master: &str) -> ObjectReference {
    ObjectReference {
        r#type: kind as i32,
        id: id.into(),
        tenant_id: master.into(),
    }
}

async fn grant(p: &Platform, linked: &Linked, course: &str) -> GrantContentResponse {
    p.grants(&linked.master_admin)
        .grant_content(grant_of(&linked.client, course))
        .await
        .unwrap()
        .into_inner()
}

async fn granted_titles(p: &Platform, token: &str) -> Vec<String> {
    p.grants(token)
        .list_granted_courses(ListGrantedCoursesRequest {})
        .await
        .unwrap()
        .into_inner()
        .courses
        .into_iter()
        .map(|granted| granted.course.unwrap().title)
        .collect()
}

async fn may(
    p: &Platform,
    token: &str,
    permission: &str,
    on: ObjectReference,
    at: &ConsistencyToken,
) -> bool {
    p.allowed(token, permission, on, Some(at.clone())).await
}

#[tokio::test]
async fn a_clients_people_take_a_granted_course_and_lose_it_on_revoke() {
    let p = Platform::start().await;
    let linked = p.master_and_client().await;
    let shared = course_with_lesson(&p, &linked.master_admin, "Fire safety").await;
    let (learner_id, learner) = p
        .person_in(
            &linked.client,
            &linked.client_admin,
            "lee@client.example",
            None,
            None,
        )
        .await;
    assert!(granted_titles(&p, &learner).await.is_empty());

    let granted = grant(&p, &linked, &shared).await;
    let grant = granted.grant.unwrap();
    assert_eq!(
        (grant.client_tenant_id.as_str(), grant.course_id.as_str()),
        (linked.client.as_str(), shared.as_str())
    );
    let token = granted.written_at.expect("a token of the client tenant");
    let course_ref = masters(ObjectType::Course, &shared, &linked.master);
    assert!(may(&p, &learner, "courses.read", course_ref.clone(), &token).await);
    assert_eq!(granted_titles(&p, &learner).await, ["Fire safety"]);
    let seen = p
        .courses(&learner)
        .get_course(GetCourseRequest {
            course_id: shared.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .course
        .unwrap();
    assert_eq!(seen.title, "Fire safety");
    assert!(seen.tutor_user_id.is_empty() && seen.administrator_user_ids.is_empty());
    // Seeing is not learning: the lessons come with the enrolment.
    let before = p
        .lessons(&learner)
        .list_lessons(ListLessonsRequest {
            course_id: shared.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(before.code(), Code::PermissionDenied);

    // Its events are the master's, listed to those who learn on it, without the master's people.
    let now = lms_runtime::clock::now();
    let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
    p.events(&linked.master_admin)
        .create_event(CreateEventRequest {
            course_id: shared.clone(),
            starts_at: at(now + 86_400),
            ends_at: at(now + 90_000),
            capacity: 10,
            place: "Head office".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let events_of = |token: &str| {
        let mut events = p.events(token);
        let course_id = shared.clone();
        async move {
            events
                .list_events(ListEventsRequest {
                    course_id,
                    ..Default::default()
                })
                .await
        }
    };
    assert_eq!(
        events_of(&learner).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    // Taken at once, though the course asks approval of the master's own people.
    let asked = p
        .enrolments(&learner)
        .request_enrolment(RequestEnrolmentRequest {
            course_id: shared.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let enrolment = asked.enrolment.expect("enrolled, not waiting");
    assert_eq!(enrolment.user_id, learner_id);
    let enrolled_at = asked.written_at.unwrap();
    assert!(
        may(
            &p,
            &learner,
            "learning.take",
            course_ref.clone(),
            &enrolled_at
        )
        .await
    );
    let lessons = p
        .lessons(&learner)
        .list_lessons(ListLessonsRequest {
            course_id: shared.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .lessons;
    assert_eq!(lessons.len(), 1);
    let events = events_of(&learner).await.unwrap().into_inner().events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].place, "Head office");
    assert!(events[0].administrator_user_ids.is_empty());
    // Read-only: nothing of it changes from the client.
    let refused = p
        .courses(&learner)
        .update_course(UpdateCourseRequest {
            course_id: shared.clone(),
            course: Some(lms_api::delegation::v1::Course {
                title: "Mine now".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    // Revoked: with the revoke's token, the course is gone for the client's people at once.
    let revoked = p
        .grants(&linked.master_admin)
        .revoke_content_grant(RevokeContentGrantRequest {
            grant_id: grant.grant_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let token = revoked.written_at.unwrap();
    for permission in ["courses.read", "learning.take"] {
        assert!(
            !may(&p, &learner, permission, course_ref.clone(), &token).await,
            "{permission} after the revoke"
        );
    }
    assert!(granted_titles(&p, &learner).await.is_empty());
    let gone = p
        .lessons(&learner)
        .list_lessons(ListLessonsRequest {
            course_id: shared.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::PermissionDenied);
    let again = p
        .enrolments(&learner)
        .request_enrolment(RequestEnrolmentRequest {
            course_id: shared.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::PermissionDenied);
    // The client's administrator reads their people on it (they read everyone's enrolments
    // in their tenant); a learner does not read the others'.
    let on_course = |token: &str| {
        let mut enrolments = p.enrolments(token);
        let course_id = shared.clone();
        async move {
            enrolments
                .list_enrolments(ListEnrolmentsRequest {
                    course_id,
                    ..Default::default()
                })
                .await
        }
    };
    let listed = on_course(&linked.client_admin).await.unwrap().into_inner();
    assert_eq!(listed.enrolments.len(), 1);
    assert_eq!(
        on_course(&learner).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    // What they learnt stays their tenant's history.
    let history = p
        .enrolments(&learner)
        .list_enrolments(ListEnrolmentsRequest {
            user_id: learner_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .enrolments;
    assert_eq!(history.len(), 1);
    let second = p
        .grants(&linked.master_admin)
        .revoke_content_grant(RevokeContentGrantRequest {
            grant_id: grant.grant_id,
        })
        .await
        .unwrap_err();
    assert_eq!(second.code(), Code::NotFound);
}

#[tokio::test]
async fn the_clients_administrator_never_sees_the_masters_other_content_or_people() {
    let p = Platform::start().await;
    let linked = p.master_and_client().await;
    let shared = course_with_lesson(&p, &linked.master_admin, "Shared").await;
    let private = course_with_lesson(&p, &linked.master_admin, "Master only").await;
    let token = grant(&p, &linked, &shared).await.written_at.unwrap();
    let (master_person, _) = p
        .person_in(
            &linked.master,
            &linked.master_admin,
            "staff@group.example",
            None,
            None,
        )
        .await;
    let admin = &linked.client_admin;
    // Their own listing holds their tenant's courses only.
    let listed = p
        .courses(admin)
        .list_courses(ListCoursesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .courses;
    assert!(
        listed
            .iter()
            .all(|c| c.course_id != shared && c.course_id != private)
    );
    assert_eq!(granted_titles(&p, admin).await, ["Shared"]);
    for (permission, on) in [
        (
            "courses.read",
            masters(ObjectType::Course, &private, &linked.master),
        ),
        (
            "users.read",
            masters(ObjectType::User, &master_person, &linked.master),
        ),
        (
            "reports.read",
            masters(ObjectType::User, &master_person, &linked.master),
        ),
        (
            "courses.update",
            masters(ObjectType::Course, &shared, &linked.master),
        ),
        (
            "enrolments.read",
            masters(ObjectType::Course, &shared, &linked.master),
        ),
    ] {
        assert!(
            !may(&p, admin, permission, on, &token).await,
            "{permission}"
        );
    }
    // Named as a course of their own tenant, it is no course there.
    let private_read = p
        .courses(admin)
        .get_course(GetCourseRequest {
            course_id: private.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(private_read.code(), Code::NotFound, "{private_read:?}");
    // Nor do they read or make the master's grants.
    let refused = p
        .grants(admin)
        .list_content_grants(ListContentGrantsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let listed = p
        .grants(&linked.master_admin)
        .list_content_grants(ListContentGrantsRequest {
            client_tenant_id: linked.client.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .grants;
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn only_a_master_administrator_grants_and_only_to_its_own_clients() {
    let p = Platform::start().await;
    let linked = p.master_and_client().await;
    let shared = course_with_lesson(&p, &linked.master_admin, "Granted").await;
    let (_, lms_admin) = p
        .person_in(
            &linked.master,
            &linked.master_admin,
            "lms@group.example",
            Some("builtin:lms_administrator"),
            None,
        )
        .await;
    let refused = p
        .grants(&lms_admin)
        .grant_content(grant_of(&linked.client, &shared))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused.message().contains("content_grants.create"),
        "{refused:?}"
    );
    let (stranger, _) = p
        .another_tenant("Not a client", "admin@stranger.example")
        .await;
    let not_a_client = p
        .grants(&linked.master_admin)
        .grant_content(grant_of(&stranger, &shared))
        .await
        .unwrap_err();
    assert_eq!(not_a_client.code(), Code::PermissionDenied);

    // Bad input names the field; a second grant of the same course is refused; nothing is
    // written by any of them.
    let masters_grants = p.grants(&linked.master_admin);
    for (request, field) in [
        (grant_of("", &shared), "client_tenant_id"),
        (grant_of("not-a-tenant", &shared), "client_tenant_id"),
        (grant_of(&linked.master, &shared), "client_tenant_id"),
        (grant_of(&linked.client, ""), "course_id"),
        (
            GrantContentRequest {
                valid_until: Some(prost_types::Timestamp {
                    seconds: 1_000,
                    nanos: 0,
                }),
                ..grant_of(&linked.client, &shared)
            },
            "valid_until",
        ),
    ] {
        let error = masters_grants
            .clone()
            .grant_content(request)
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{error:?}");
        assert_eq!(fields(&error), [field]);
    }
    let unknown = masters_grants
        .clone()
        .grant_content(grant_of(
            &linked.client,
            &lms_kernel::CourseId::generate().to_string(),
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let first = grant(&p, &linked, &shared).await.grant.unwrap();
    let twice = masters_grants
        .clone()
        .grant_content(grant_of(&linked.client, &shared))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);
    assert_eq!(reason(&twice), "ALREADY_GRANTED");

    // An edited window: starting tomorrow, the client's people wait for it.
    let (_, learner) = p
        .person_in(
            &linked.client,
            &linked.client_admin,
            "kim@client.example",
            None,
            None,
        )
        .await;
    let tomorrow = lms_runtime::clock::now() + 86_400;
    let changed = masters_grants
        .clone()
        .update_content_grant(UpdateContentGrantRequest {
            grant_id: first.grant_id.clone(),
            valid_from: Some(prost_types::Timestamp {
                seconds: tomorrow,
                nanos: 0,
            }),
            valid_until: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(changed.grant.unwrap().valid_from.unwrap().seconds, tomorrow);
    let token = changed.written_at.unwrap();
    let course_ref = masters(ObjectType::Course, &shared, &linked.master);
    assert!(!may(&p, &learner, "courses.read", course_ref, &token).await);
    assert!(granted_titles(&p, &learner).await.is_empty());
    let by_lms_admin = p
        .grants(&lms_admin)
        .revoke_content_grant(RevokeContentGrantRequest {
            grant_id: first.grant_id,
        })
        .await
        .unwrap_err();
    assert_eq!(by_lms_admin.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_catalogue_is_granted_as_its_courses_each_once() {
    let p = Platform::start().await;
    let linked = p.master_and_client().await;
    let (one, two) = (
        course_with_lesson(&p, &linked.master_admin, "One").await,
        course_with_lesson(&p, &linked.master_admin, "Two").await,
    );
    grant(&p, &linked, &one).await;
    let catalogue = p
        .catalogues(&linked.master_admin)
        .create_catalogue(CreateCatalogueRequest {
            name: "Group courses".into(),
            course_ids: vec![one.clone(), two.clone()],
        })
        .await
        .unwrap()
        .into_inner()
        .catalogue
        .unwrap()
        .catalogue_id;
    let granted = p
        .grants(&linked.master_admin)
        .grant_catalogue(GrantCatalogueRequest {
            client_tenant_id: linked.client.clone(),
            catalogue_id: catalogue.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let made: Vec<_> = granted.grants.iter().map(|g| g.course_id.clone()).collect();
    assert_eq!(made, std::slice::from_ref(&two), "One was granted before");
    let (_, learner) = p
        .person_in(
            &linked.client,
            &linked.client_admin,
            "ann@client.example",
            None,
            None,
        )
        .await;
    let mut titles = granted_titles(&p, &learner).await;
    titles.sort();
    assert_eq!(titles, ["One", "Two"]);
    // The client's administrator grants nothing of the master's.
    let refused = p
        .grants(&linked.client_admin)
        .grant_catalogue(GrantCatalogueRequest {
            client_tenant_id: linked.client.clone(),
            catalogue_id: catalogue,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert_eq!(fields(&refused), ["client_tenant_id"]);
}
