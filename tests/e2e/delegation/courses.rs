//! Courses and lessons as the seed roles use them: who sees, edits, creates and deletes what.

use lms_api::delegation::v1::{
    Course, CourseStatus, CreateCourseRequest, CreateLessonRequest, DeleteCourseRequest,
    GetCourseRequest, Lesson, ListCoursesRequest, ListLessonsRequest, UpdateCourseRequest,
    UpdateLessonRequest,
};
use prost_types::FieldMask;
use tonic::Code;

use super::fixture::{Platform, fields, reason};

async fn create(platform: &Platform, token: &str, title: &str, unit: &str) -> Course {
    platform
        .courses(token)
        .create_course(CreateCourseRequest {
            title: title.into(),
            description: String::new(),
            unit_id: unit.into(),
            enrolment_requires_approval: false,
        })
        .await
        .unwrap()
        .into_inner()
        .course
        .unwrap()
}

async fn listed(platform: &Platform, token: &str) -> Vec<String> {
    let mut titles: Vec<String> = platform
        .courses(token)
        .list_courses(ListCoursesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .courses
        .into_iter()
        .map(|c| c.title)
        .collect();
    titles.sort();
    titles
}

fn rename(course: &Course, title: &str) -> UpdateCourseRequest {
    UpdateCourseRequest {
        course_id: course.course_id.clone(),
        course: Some(Course {
            title: title.into(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["title".into()],
        }),
    }
}

#[tokio::test]
async fn administrators_create_and_everyone_else_sees_only_what_their_role_reaches() {
    let p = Platform::start().await;
    let c1 = create(&p, &p.admin, "C1 Safety", "").await;
    let c2 = create(&p, &p.admin, "C2 First Aid", &p.location).await;
    assert_eq!(c2.unit_id, p.location);
    assert_eq!(c1.status(), CourseStatus::Active);

    // The tutor of C1 (a Tutor given the Course Tutor duty) sees C1 only.
    let (tutor, tutor_token) = p
        .person("tutor@academy.example", Some("builtin:tutor"), None)
        .await;
    super::responsibilities::give(&p, &p.admin, "course_tutor", &c1.course_id, &tutor).await;
    assert_eq!(listed(&p, &tutor_token).await, ["C1 Safety"]);
    let got = p
        .courses(&tutor_token)
        .get_course(GetCourseRequest {
            course_id: c1.course_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .course
        .unwrap();
    assert_eq!(got.tutor_user_id, tutor);
    let denied = p
        .courses(&tutor_token)
        .get_course(GetCourseRequest {
            course_id: c2.course_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    // A Manager reads every course and changes none.
    let (_, manager) = p
        .person("manager@academy.example", Some("builtin:manager"), None)
        .await;
    assert_eq!(listed(&p, &manager).await, ["C1 Safety", "C2 First Aid"]);
    let refused = p
        .courses(&manager)
        .update_course(rename(&c1, "Mine"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    // A Local Administrator reads the tenant's courses (their template's reach) but creates
    // none, not even at their own location.
    let (_, local) = p
        .person(
            "local@academy.example",
            Some("builtin:local_administrator"),
            Some(&p.location),
        )
        .await;
    assert_eq!(listed(&p, &local).await, ["C1 Safety", "C2 First Aid"]);
    let refused = p
        .courses(&local)
        .create_course(CreateCourseRequest {
            title: "Local".into(),
            unit_id: p.location.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    // A Student with no enrolment sees nothing.
    let (_, student) = p.person("student@academy.example", None, None).await;
    assert!(listed(&p, &student).await.is_empty());
}

#[tokio::test]
async fn the_tutor_edits_their_course_and_its_lessons_but_cannot_create_or_delete() {
    let p = Platform::start().await;
    let c1 = create(&p, &p.admin, "C1", "").await;
    let c2 = create(&p, &p.admin, "C2", "").await;
    let lesson = p
        .lessons(&p.admin)
        .create_lesson(CreateLessonRequest {
            course_id: c1.course_id.clone(),
            title: "Intro".into(),
            position: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        lesson.written_at.is_some(),
        "the lesson's fact reached authorization"
    );
    let lesson = lesson.lesson.unwrap();
    let (tutor, token) = p
        .person("tutor@academy.example", Some("builtin:tutor"), None)
        .await;
    super::responsibilities::give(&p, &p.admin, "course_tutor", &c1.course_id, &tutor).await;

    let renamed = p
        .courses(&token)
        .update_course(rename(&c1, "C1 renamed"))
        .await
        .unwrap()
        .into_inner()
        .course
        .unwrap();
    assert_eq!(renamed.title, "C1 renamed");
    let moved = p
        .lessons(&token)
        .update_lesson(UpdateLessonRequest {
            lesson_id: lesson.lesson_id.clone(),
            lesson: Some(Lesson {
                title: "Welcome".into(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["title".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .lesson
        .unwrap();
    assert_eq!(moved.title, "Welcome");
    let lessons = p
        .lessons(&token)
        .list_lessons(ListLessonsRequest {
            course_id: c1.course_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .lessons;
    assert_eq!(lessons.len(), 1);

    for refused in [
        p.courses(&token)
            .update_course(rename(&c2, "Not mine"))
            .await
            .unwrap_err(),
        p.lessons(&token)
            .list_lessons(ListLessonsRequest {
                course_id: c2.course_id.clone(),
            })
            .await
            .unwrap_err(),
        p.courses(&token)
            .create_course(CreateCourseRequest {
                title: "New".into(),
                ..Default::default()
            })
            .await
            .unwrap_err(),
        p.courses(&token)
            .delete_course(DeleteCourseRequest {
                course_id: c1.course_id.clone(),
            })
            .await
            .unwrap_err(),
        p.lessons(&token)
            .create_lesson(CreateLessonRequest {
                course_id: c1.course_id.clone(),
                title: "More".into(),
                position: 0,
            })
            .await
            .unwrap_err(),
    ] {
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        assert_eq!(reason(&refused), "PERMISSION_MISSING");
    }
}

#[tokio::test]
async fn bad_input_names_the_field_and_unknown_courses_are_not_found() {
    let p = Platform::start().await;
    let courses = p.courses(&p.admin);
    let refused = courses
        .clone()
        .create_course(CreateCourseRequest {
            title: "  ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(fields(&refused), ["title"]);
    let refused = courses
        .clone()
        .get_course(GetCourseRequest {
            course_id: "not-an-id".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&refused), ["course_id"]);
    let unknown = courses
        .clone()
        .get_course(GetCourseRequest {
            course_id: lms_kernel::CourseId::generate().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let c = create(&p, &p.admin, "C", "").await;
    let refused = courses
        .clone()
        .update_course(UpdateCourseRequest {
            course_id: c.course_id.clone(),
            course: Some(Course::default()),
            update_mask: Some(FieldMask {
                paths: vec!["unit_id".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&refused), ["update_mask"]);
    let refused = p
        .lessons(&p.admin)
        .create_lesson(CreateLessonRequest {
            course_id: c.course_id.clone(),
            title: "Far".into(),
            position: 5,
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&refused), ["position"]);
    assert!(
        p.lessons(&p.admin)
            .list_lessons(ListLessonsRequest {
                course_id: c.course_id.clone()
            })
            .await
            .unwrap()
            .into_inner()
            .lessons
            .is_empty(),
        "nothing half-written after the refusal"
    );
}

#[tokio::test]
async fn deleting_erases_a_course_nobody_took_and_another_tenant_cannot_reach_it() {
    let p = Platform::start().await;
    let c = create(&p, &p.admin, "Short-lived", "").await;
    let deleted = p
        .courses(&p.admin)
        .delete_course(DeleteCourseRequest {
            course_id: c.course_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!deleted.archived);
    let gone = p
        .courses(&p.admin)
        .get_course(GetCourseRequest {
            course_id: c.course_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}
