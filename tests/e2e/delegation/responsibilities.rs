//! Responsibilities: one Course Tutor at a time, the matrix, windows that end by themselves, and
//! a removal that stops the next call at once.

use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::delegation::v1::{
    AssignResponsibilityRequest, CreateCourseRequest, GetCourseRequest,
    ListResponsibilitiesRequest, RemoveResponsibilityRequest, Responsibility, ResponsibilityKind,
};
use tonic::Code;

use super::fixture::{Platform, fields, reason};

/// The duty `kind` on `object` (a course, or an event for `event_administrator`).
fn duty(kind: &str, object: &str, user: &str) -> Responsibility {
    let (kind, object_type) = match kind {
        "course_tutor" => (ResponsibilityKind::CourseTutor, ObjectType::Course),
        "course_administrator" => (ResponsibilityKind::CourseAdministrator, ObjectType::Course),
        "event_administrator" => (ResponsibilityKind::EventAdministrator, ObjectType::Event),
        other => panic!("{other}"),
    };
    Responsibility {
        kind: kind as i32,
        user_id: user.into(),
        object: Some(ObjectReference {
            r#type: object_type as i32,
            id: object.into(),
            tenant_id: String::new(),
        }),
        valid_from: None,
        valid_until: None,
    }
}

/// Gives `user` the duty `kind` on `object` as `token`'s holder; panics if refused.
pub async fn give(p: &Platform, token: &str, kind: &str, object: &str, user: &str) {
    let answer = p
        .duties(token)
        .assign_responsibility(AssignResponsibilityRequest {
            responsibility: Some(duty(kind, object, user)),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        answer.written_at.is_some(),
        "the fact reached authorization first"
    );
}

async fn course(p: &Platform, title: &str) -> String {
    p.courses(&p.admin)
        .create_course(CreateCourseRequest {
            title: title.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .course
        .unwrap()
        .course_id
}

async fn may_read(p: &Platform, token: &str, course: &str) -> bool {
    p.courses(token)
        .get_course(GetCourseRequest {
            course_id: course.into(),
        })
        .await
        .is_ok()
}

#[tokio::test]
async fn a_second_course_tutor_is_refused_naming_the_holder_and_administrators_are_many() {
    let p = Platform::start().await;
    let c = course(&p, "C").await;
    let (first, _) = p
        .person("t1@academy.example", Some("builtin:tutor"), None)
        .await;
    let (second, _) = p
        .person("t2@academy.example", Some("builtin:tutor"), None)
        .await;
    give(&p, &p.admin, "course_tutor", &c, &first).await;
    let refused = p
        .duties(&p.admin)
        .assign_responsibility(AssignResponsibilityRequest {
            responsibility: Some(duty("course_tutor", &c, &second)),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "COURSE_TUTOR_TAKEN");
    assert!(refused.message().contains(&first), "{}", refused.message());
    give(&p, &p.admin, "course_administrator", &c, &second).await;
    let (third, _) = p
        .person("t3@academy.example", Some("builtin:tutor"), None)
        .await;
    give(&p, &p.admin, "course_administrator", &c, &third).await;
    let listed = p
        .duties(&p.admin)
        .list_responsibilities(ListResponsibilitiesRequest {
            object: Some(ObjectReference {
                r#type: ObjectType::Course as i32,
                id: c.clone(),
                tenant_id: String::new(),
            }),
            user_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .responsibilities;
    assert_eq!(listed.len(), 3);
}

#[tokio::test]
async fn only_roles_the_matrix_allows_take_a_course_duty() {
    let p = Platform::start().await;
    let c = course(&p, "C").await;
    let (manager, _) = p
        .person("m@academy.example", Some("builtin:manager"), None)
        .await;
    let refused = p
        .duties(&p.admin)
        .assign_responsibility(AssignResponsibilityRequest {
            responsibility: Some(duty("course_tutor", &c, &manager)),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "RESPONSIBILITY_NOT_ALLOWED");
    // A tutor cannot hand out duties on their own course.
    let (tutor, tutor_token) = p
        .person("t@academy.example", Some("builtin:tutor"), None)
        .await;
    give(&p, &p.admin, "course_tutor", &c, &tutor).await;
    let (other, _) = p
        .person("o@academy.example", Some("builtin:tutor"), None)
        .await;
    let refused = p
        .duties(&tutor_token)
        .assign_responsibility(AssignResponsibilityRequest {
            responsibility: Some(duty("course_administrator", &c, &other)),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let mut bad = duty("course_tutor", &c, &other);
    bad.object.as_mut().unwrap().r#type = ObjectType::Group as i32;
    let refused = p
        .duties(&p.admin)
        .assign_responsibility(AssignResponsibilityRequest {
            responsibility: Some(bad),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&refused), ["responsibility.object.type"]);
}

#[tokio::test]
async fn revoking_the_tutor_s_duty_with_its_token_stops_their_next_call() {
    let p = Platform::start().await;
    let c = course(&p, "C").await;
    let (tutor, token) = p
        .person("t@academy.example", Some("builtin:tutor"), None)
        .await;
    give(&p, &p.admin, "course_tutor", &c, &tutor).await;
    assert!(may_read(&p, &token, &c).await);
    let removed = p
        .duties(&p.admin)
        .remove_responsibility(RemoveResponsibilityRequest {
            responsibility: Some(duty("course_tutor", &c, &tutor)),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(removed.written_at.is_some());
    assert!(
        !may_read(&p, &token, &c).await,
        "the very next call is refused"
    );
    let again = p
        .duties(&p.admin)
        .remove_responsibility(RemoveResponsibilityRequest {
            responsibility: Some(duty("course_tutor", &c, &tutor)),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
}

#[tokio::test]
async fn a_cover_responsibility_ends_by_itself_at_its_end_time() {
    let p = Platform::start().await;
    let c = course(&p, "C").await;
    let (cover, token) = p
        .person("cover@academy.example", Some("builtin:tutor"), None)
        .await;
    let now = lms_runtime::clock::now();
    let mut bounded = duty("course_administrator", &c, &cover);
    bounded.valid_until = Some(prost_types::Timestamp {
        seconds: now + 2,
        nanos: 0,
    });
    p.duties(&p.admin)
        .assign_responsibility(AssignResponsibilityRequest {
            responsibility: Some(bounded),
        })
        .await
        .unwrap();
    assert!(
        may_read(&p, &token, &c).await,
        "in effect during the window"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    assert!(
        !may_read(&p, &token, &c).await,
        "over at its end, with nobody acting"
    );
}
