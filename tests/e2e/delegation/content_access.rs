//! Content access by approved teachers (DESIGN §1: only approved tutor/teacher accounts give
//! students access to content). A teacher waits for the Access Coordinator, unable to sign in;
//! once approved, GrantContentAccess carrying the approval's token works at once and the
//! students see the course. A Tutor's role holds no such grant: approved, they are refused with
//! the reason, and reach students by deploying a course they tutor instead. Nobody else gives
//! access, and a refused call enrols nobody.

use lms_api::delegation::v1::{
    DeployCourseRequest, EnrolmentState, GrantContentAccessRequest, GrantContentAccessResponse,
};
use lms_api::identity::v1::AccountKind;
use tonic::Code;

use super::enrolments::{course, course_ref, enrolments_of, may_read};
use super::fixture::{Platform, fields, reason, try_sign_in};
use super::responsibilities::give;

async fn grant(
    p: &Platform,
    token: &str,
    course: &str,
    users: &[&String],
) -> Result<GrantContentAccessResponse, tonic::Status> {
    p.enrolments(token)
        .grant_content_access(GrantContentAccessRequest {
            course_id: course.into(),
            user_ids: users.iter().map(|u| (*u).clone()).collect(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Authorization's reason for a PERMISSION_DENIED (`NO_GRANT`, `SUBJECT_NOT_ACTIVE`, ...).
fn denial(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    status
        .get_details_error_info()
        .and_then(|info| info.metadata.get("denial").cloned())
        .unwrap_or_default()
}

/// An account of `kind` that applied and waits: its sign-in is refused with the reason.
async fn pending(p: &Platform, email: &str, kind: AccountKind) -> String {
    let id = p.applicant(email, kind).await;
    let refused = try_sign_in(&p.identity, &p.tenant, email)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "ACCOUNT_PENDING_APPROVAL");
    assert!(
        refused.message().contains("Access Coordinator"),
        "{}",
        refused.message()
    );
    id
}

/// A teacher applied, approved by the Access Coordinator and signed in: id and token.
async fn approved_teacher(p: &Platform, email: &str) -> (String, String) {
    let teacher = pending(p, email, AccountKind::Teacher).await;
    p.approve(&teacher).await;
    let token = try_sign_in(&p.identity, &p.tenant, email).await.unwrap();
    (teacher, token)
}

#[tokio::test]
async fn a_pending_teacher_is_refused_and_once_approved_gives_students_the_course_at_once() {
    let p = Platform::start().await;
    let c = course(&p, "Safeguarding", false).await;
    let (student, student_token) = p.person("sam@academy.example", None, None).await;
    let (other, other_token) = p.person("olly@academy.example", None, None).await;
    assert!(!may_read(&p, &student_token, &c).await);

    let teacher = pending(&p, "tara@academy.example", AccountKind::Teacher).await;
    p.approve(&teacher).await;
    let teacher_token = try_sign_in(&p.identity, &p.tenant, "tara@academy.example")
        .await
        .expect("an approved teacher signs in");

    let granted = grant(&p, &teacher_token, &c, &[&student, &student])
        .await
        .expect("decided fully consistently: the approval counts at once");
    assert_eq!(
        granted.users_enrolled, 1,
        "a student named twice counts once"
    );
    let made = &granted.enrolments[0];
    assert_eq!(
        (made.user_id.as_str(), made.course_id.as_str()),
        (student.as_str(), c.as_str())
    );
    assert_eq!(made.state(), EnrolmentState::Enrolled);
    assert_eq!(made.enrolled_by, teacher, "the audit names the teacher");
    assert!(
        p.allowed(
            &student_token,
            "courses.read",
            course_ref(&c),
            granted.written_at.clone()
        )
        .await,
        "with the answer's token the student reads the course"
    );
    assert!(may_read(&p, &student_token, &c).await);
    assert!(
        !may_read(&p, &other_token, &c).await,
        "only the students named"
    );

    // Granting again enrols only who is missing.
    let again = grant(&p, &teacher_token, &c, &[&student, &other])
        .await
        .unwrap();
    assert_eq!(again.users_enrolled, 1);
    assert_eq!(again.enrolments[0].user_id, other);
    assert_eq!(enrolments_of(&p, &student).await.len(), 1);
    assert!(may_read(&p, &other_token, &c).await);
}

#[tokio::test]
async fn an_approved_tutor_holds_no_content_grant_and_deploys_a_course_they_tutor_instead() {
    let p = Platform::start().await;
    let c = course(&p, "First Aid", false).await;
    let (student, student_token) = p.person("sam@academy.example", None, None).await;
    let tutor = pending(&p, "tom@academy.example", AccountKind::Tutor).await;
    p.approve(&tutor).await;
    let tutor_token = try_sign_in(&p.identity, &p.tenant, "tom@academy.example")
        .await
        .expect("an approved tutor signs in");

    let refused = grant(&p, &tutor_token, &c, &[&student]).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(reason(&refused), "PERMISSION_MISSING");
    assert_eq!(denial(&refused), "NO_GRANT");
    assert!(
        refused.message().contains("content_access.grant"),
        "{}",
        refused.message()
    );
    assert!(enrolments_of(&p, &student).await.is_empty());
    assert!(!may_read(&p, &student_token, &c).await);

    // The Tutor's way to students: the course's duty, then DeployCourse.
    give(&p, &p.admin, "course_tutor", &c, &tutor).await;
    let deployed = p
        .courses(&tutor_token)
        .deploy_course(DeployCourseRequest {
            course_id: c.clone(),
            user_ids: vec![student.clone()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deployed.users_enrolled, 1);
    assert!(may_read(&p, &student_token, &c).await);
}

#[tokio::test]
async fn a_student_is_refused_content_access_and_bad_or_unknown_ids_enrol_nobody() {
    let p = Platform::start().await;
    let c = course(&p, "Fire Safety", false).await;
    let (student, student_token) = p.person("sam@academy.example", None, None).await;
    let (classmate, _) = p.person("cleo@academy.example", None, None).await;

    let refused = grant(&p, &student_token, &c, &[&classmate])
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused.message().contains("content_access.grant"),
        "{}",
        refused.message()
    );
    let refused = grant(&p, &student_token, &c, &[&student])
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Code::PermissionDenied,
        "not even for themselves"
    );
    assert!(enrolments_of(&p, &student).await.is_empty());
    assert!(enrolments_of(&p, &classmate).await.is_empty());

    let (_, teacher) = approved_teacher(&p, "tara@academy.example").await;
    let bad = grant(&p, &teacher, "not-an-id", &[&student])
        .await
        .unwrap_err();
    assert_eq!(
        (bad.code(), fields(&bad)),
        (Code::InvalidArgument, vec!["course_id".to_owned()])
    );
    let bad = grant(&p, &teacher, &c, &[&student, &"x".to_owned()])
        .await
        .unwrap_err();
    assert_eq!(fields(&bad), ["user_ids[1]"]);
    let none = grant(&p, &teacher, &c, &[]).await.unwrap_err();
    assert_eq!(fields(&none), ["user_ids"]);
    let many: Vec<String> = (0..1001)
        .map(|_| lms_kernel::UserId::generate().to_string())
        .collect();
    let too_many = grant(&p, &teacher, &c, &many.iter().collect::<Vec<_>>())
        .await
        .unwrap_err();
    assert_eq!(fields(&too_many), ["user_ids"]);

    let nobody = lms_kernel::UserId::generate().to_string();
    let unknown = grant(&p, &teacher, &c, &[&student, &nobody])
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert!(unknown.message().contains(&nobody), "{}", unknown.message());
    let no_course = lms_kernel::CourseId::generate().to_string();
    let unknown = grant(&p, &teacher, &no_course, &[&student])
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert!(
        enrolments_of(&p, &student).await.is_empty(),
        "nothing half-written"
    );
    assert!(!may_read(&p, &student_token, &c).await);
}
