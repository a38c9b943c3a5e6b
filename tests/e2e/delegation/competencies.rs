//! Competency sign-off: the Course Tutor's duty alone, for a learner on the course, once.

use lms_api::delegation::v1::{
    EnrolRequest, ListCompetencyChecksRequest, ListNotificationsRequest, NotificationKind,
    SignOffCompetencyRequest,
};
use tonic::Code;

use super::enrolments::course;
use super::fixture::{Platform, fields, reason};
use super::responsibilities::give;

#[tokio::test]
async fn only_the_course_tutor_signs_off_a_competency_and_only_once() {
    let p = Platform::start().await;
    let c = course(&p, "First aid", false).await;
    let (tutor, tutor_token) = p
        .person("tutor@academy.example", Some("builtin:tutor"), None)
        .await;
    let (helper, helper_token) = p
        .person("helper@academy.example", Some("builtin:tutor"), None)
        .await;
    let (learner, learner_token) = p.person("learner@academy.example", None, None).await;
    let (stranger, _) = p.person("stranger@academy.example", None, None).await;
    give(&p, &p.admin, "course_tutor", &c, &tutor).await;
    give(&p, &p.admin, "course_administrator", &c, &helper).await;
    p.enrolments(&p.admin)
        .enrol(EnrolRequest {
            course_id: c.clone(),
            user_ids: vec![learner.clone()],
        })
        .await
        .unwrap();
    let sign = |token: &str, user: &str| {
        let mut client = p.competencies(token);
        let request = SignOffCompetencyRequest {
            course_id: c.clone(),
            user_id: user.into(),
            note: "Recovery position demonstrated".into(),
        };
        async move { client.sign_off_competency(request).await }
    };

    let refused = sign(&helper_token, &learner).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("competencies.sign_off"));
    let signed = sign(&tutor_token, &learner).await.unwrap().into_inner();
    assert!(signed.created);
    let check = signed.check.unwrap();
    assert_eq!(check.signed_off_by.unwrap().actor_id, tutor);
    let again = sign(&tutor_token, &learner).await.unwrap().into_inner();
    assert!(!again.created);
    assert_eq!(again.check.unwrap().check_id, check.check_id);
    let not_enrolled = sign(&tutor_token, &stranger).await.unwrap_err();
    assert_eq!(not_enrolled.code(), Code::FailedPrecondition);
    assert_eq!(reason(&not_enrolled), "NOT_ENROLLED");
    let own = sign(&tutor_token, &tutor).await.unwrap_err();
    assert_eq!(own.code(), Code::PermissionDenied);
    assert_eq!(reason(&own), "SELF_SIGN_OFF");
    let missing = sign(&tutor_token, "").await.unwrap_err();
    assert_eq!(fields(&missing), ["user_id"]);

    let own = p
        .competencies(&learner_token)
        .list_competency_checks(ListCompetencyChecksRequest::default())
        .await
        .unwrap()
        .into_inner()
        .checks;
    assert_eq!(own.len(), 1, "the learner reads their own");
    let heard = p
        .notifications(&learner_token)
        .list_notifications(ListNotificationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .notifications;
    assert_eq!(heard.len(), 1);
    assert_eq!(heard[0].kind, NotificationKind::CompetencySignedOff as i32);
    assert_eq!(heard[0].object_id, check.check_id);
    let course_wide = p
        .competencies(&learner_token)
        .list_competency_checks(ListCompetencyChecksRequest {
            course_id: c.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        course_wide.code(),
        Code::PermissionDenied,
        "not classmates'"
    );
    let by_helper = p
        .competencies(&helper_token)
        .list_competency_checks(ListCompetencyChecksRequest {
            course_id: c,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .checks;
    assert_eq!(
        by_helper.len(),
        1,
        "a Course Administrator reads the course's"
    );
}
