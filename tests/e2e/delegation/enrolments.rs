//! Enrolments as the seed roles use them: a learner's request waits for the Course Tutor (never a
//! Course Administrator), a manager enrols their team and nobody else, a deployment to a group
//! enrols each member once however often it runs, and a tenant's content player moves learners
//! along with a token that may do nothing else, never moving a completion back.

use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::delegation::v1::{
    CreateCourseRequest, DecideEnrolmentRequestRequest, DeleteCourseRequest, DeployCourseRequest,
    EnrolRequest, Enrolment, EnrolmentRequestStatus, EnrolmentState, GetCourseRequest,
    ListEnrolmentRequestsRequest, ListEnrolmentsRequest, Progress, RecordProgressRequest,
    RecordProgressResponse, RequestEnrolmentRequest, WithdrawRequest,
};
use tonic::Code;

use super::fixture::{Platform, fields, reason};
use super::responsibilities::give;

pub(super) async fn course(p: &Platform, title: &str, requires_approval: bool) -> String {
    p.courses(&p.admin)
        .create_course(CreateCourseRequest {
            title: title.into(),
            enrolment_requires_approval: requires_approval,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .course
        .unwrap()
        .course_id
}

pub(super) fn course_ref(course: &str) -> ObjectReference {
    ObjectReference {
        r#type: ObjectType::Course as i32,
        id: course.into(),
        tenant_id: String::new(),
    }
}

pub(super) async fn may_read(p: &Platform, token: &str, course: &str) -> bool {
    p.courses(token)
        .get_course(GetCourseRequest {
            course_id: course.into(),
        })
        .await
        .is_ok()
}

/// Every enrolment of `user`, as the administrator lists them.
pub(super) async fn enrolments_of(p: &Platform, user: &str) -> Vec<Enrolment> {
    p.enrolments(&p.admin)
        .list_enrolments(ListEnrolmentsRequest {
            user_id: user.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .enrolments
}

async fn enrol(
    p: &Platform,
    token: &str,
    course: &str,
    users: &[&String],
) -> Result<i32, tonic::Status> {
    p.enrolments(token)
        .enrol(EnrolRequest {
            course_id: course.into(),
            user_ids: users.iter().map(|u| (*u).clone()).collect(),
        })
        .await
        .map(|answer| answer.into_inner().users_enrolled)
}

async fn decide(
    p: &Platform,
    token: &str,
    request: &str,
    approve: bool,
) -> Result<lms_api::delegation::v1::DecideEnrolmentRequestResponse, tonic::Status> {
    p.enrolments(token)
        .decide_enrolment_request(DecideEnrolmentRequestRequest {
            request_id: request.into(),
            approve,
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn ask(p: &Platform, token: &str, course: &str) -> String {
    p.enrolments(token)
        .request_enrolment(RequestEnrolmentRequest {
            course_id: course.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .request
        .expect("the course needs approval: a request waits")
        .request_id
}

#[tokio::test]
async fn a_learner_s_request_waits_for_the_course_tutor_and_a_course_administrator_cannot_approve()
{
    let p = Platform::start().await;
    let c = course(&p, "C Approval", true).await;
    let (tutor, tutor_token) = p
        .person("tutor@academy.example", Some("builtin:tutor"), None)
        .await;
    let (admin_of_c, admin_of_c_token) = p
        .person("ca@academy.example", Some("builtin:tutor"), None)
        .await;
    give(&p, &p.admin, "course_tutor", &c, &tutor).await;
    give(&p, &p.admin, "course_administrator", &c, &admin_of_c).await;
    let (learner, learner_token) = p.person("learner@academy.example", None, None).await;
    assert!(!may_read(&p, &learner_token, &c).await);
    let offered = p.offer(&c, std::slice::from_ref(&learner)).await;
    assert!(offered.is_some());
    assert!(
        may_read(&p, &learner_token, &c).await,
        "a catalogue deployed to the learner shows the course"
    );

    // Enrolling oneself directly would skip the tutor: refused, nothing written.
    let refused = enrol(&p, &learner_token, &c, &[&learner])
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused.message().contains("enrolments.approve"),
        "{}",
        refused.message()
    );
    assert!(enrolments_of(&p, &learner).await.is_empty());

    let request = ask(&p, &learner_token, &c).await;
    assert_eq!(
        ask(&p, &learner_token, &c).await,
        request,
        "asking again answers the waiting request"
    );
    let waiting = p
        .enrolments(&admin_of_c_token)
        .list_enrolment_requests(ListEnrolmentRequestsRequest {
            course_id: c.clone(),
            status: EnrolmentRequestStatus::Requested as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .requests;
    assert_eq!(waiting.len(), 1, "a Course Administrator sees the request");

    let refused = decide(&p, &admin_of_c_token, &request, true)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused.message().contains("enrolments.approve"),
        "{}",
        refused.message()
    );
    assert!(
        enrolments_of(&p, &learner).await.is_empty(),
        "nothing half-written"
    );
    assert!(
        !p.allowed(&learner_token, "learning.take", course_ref(&c), None)
            .await
    );

    let approved = decide(&p, &tutor_token, &request, true).await.unwrap();
    assert!(
        approved.written_at.is_some(),
        "the fact reached authorization first"
    );
    let decided = approved.request.unwrap();
    assert_eq!(decided.status(), EnrolmentRequestStatus::Approved);
    assert_eq!(decided.decided_by, tutor);
    assert!(decided.decided_at.is_some());
    let enrolment = approved.enrolment.expect("the approval enrols");
    assert_eq!(
        (enrolment.state(), enrolment.user_id.as_str()),
        (EnrolmentState::Enrolled, learner.as_str())
    );
    assert!(
        p.allowed(
            &learner_token,
            "learning.take",
            course_ref(&c),
            approved.written_at
        )
        .await,
        "with the answer's token the learner reads the course as their own learning"
    );
    assert!(may_read(&p, &learner_token, &c).await);

    let again = decide(&p, &tutor_token, &request, true).await.unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert_eq!(reason(&again), "REQUEST_APPROVED");
    assert!(again.message().contains("approved"), "{}", again.message());

    let (other, other_token) = p.person("other@academy.example", None, None).await;
    p.offer(&c, std::slice::from_ref(&other)).await;
    let second = ask(&p, &other_token, &c).await;
    let rejected = decide(&p, &tutor_token, &second, false).await.unwrap();
    assert_eq!(
        rejected.request.unwrap().status(),
        EnrolmentRequestStatus::Rejected
    );
    assert!(rejected.enrolment.is_none());
    let late = decide(&p, &tutor_token, &second, true).await.unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition);
    assert_eq!(reason(&late), "REQUEST_REJECTED");
    assert!(late.message().contains("rejected"), "{}", late.message());
    assert!(enrolments_of(&p, &other).await.is_empty());
    assert!(
        !p.allowed(&other_token, "learning.take", course_ref(&c), None)
            .await
    );

    let unknown = decide(&p, &tutor_token, &uuid(), true).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}

#[tokio::test]
async fn a_course_without_approval_enrols_at_once_and_withdrawing_ends_the_learner_s_reading() {
    let p = Platform::start().await;
    let c = course(&p, "C Open", false).await;
    let (learner, learner_token) = p.person("learner@academy.example", None, None).await;
    p.offer(&c, std::slice::from_ref(&learner)).await;
    let joined = p
        .enrolments(&learner_token)
        .request_enrolment(RequestEnrolmentRequest {
            course_id: c.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(joined.request.is_none());
    let enrolment = joined.enrolment.expect("enrolled at once");
    assert_eq!(enrolment.enrolled_by, learner);
    assert!(
        p.allowed(
            &learner_token,
            "courses.read",
            course_ref(&c),
            joined.written_at
        )
        .await
    );
    let twice = p
        .enrolments(&learner_token)
        .request_enrolment(RequestEnrolmentRequest {
            course_id: c.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);
    assert_eq!(reason(&twice), "ALREADY_ENROLLED");

    let withdrawn = p
        .enrolments(&learner_token)
        .withdraw(WithdrawRequest {
            course_id: c.clone(),
            user_id: learner.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let enrolment = withdrawn.enrolment.unwrap();
    assert_eq!(enrolment.state(), EnrolmentState::Withdrawn);
    assert!(enrolment.withdrawn_at.is_some());
    assert!(
        !p.allowed(
            &learner_token,
            "learning.take",
            course_ref(&c),
            withdrawn.written_at
        )
        .await
    );
    // A course id the learner may not see is no course to them (whether or not it exists);
    // one who may read every course learns it does not exist.
    let unseen = p
        .enrolments(&learner_token)
        .request_enrolment(RequestEnrolmentRequest { course_id: uuid() })
        .await
        .unwrap_err();
    assert_eq!(unseen.code(), Code::PermissionDenied);
    let missing = p
        .enrolments(&p.admin)
        .request_enrolment(RequestEnrolmentRequest { course_id: uuid() })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let bad = p
        .enrolments(&learner_token)
        .request_enrolment(RequestEnrolmentRequest {
            course_id: "C1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&bad), ["course_id"]);
}

#[tokio::test]
async fn a_manager_enrols_a_team_member_and_is_refused_for_an_outsider() {
    let p = Platform::start().await;
    let c = course(&p, "C Team", false).await;
    let (manager, manager_token) = p
        .person("manager@academy.example", Some("builtin:manager"), None)
        .await;
    let (member, _) = p.person("member@academy.example", None, None).await;
    let (outsider, _) = p.person("outsider@academy.example", None, None).await;
    p.team(&manager, std::slice::from_ref(&member)).await;

    let refused = enrol(&p, &manager_token, &c, &[&member, &outsider])
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused.message().contains(&outsider),
        "{}",
        refused.message()
    );
    assert!(
        !refused.message().contains(&member),
        "{}",
        refused.message()
    );
    assert!(
        enrolments_of(&p, &member).await.is_empty(),
        "nobody is enrolled when one is refused"
    );

    assert_eq!(enrol(&p, &manager_token, &c, &[&member]).await.unwrap(), 1);
    assert_eq!(
        enrol(&p, &manager_token, &c, &[&member]).await.unwrap(),
        0,
        "enrolled already"
    );
    let listed = p
        .enrolments(&manager_token)
        .list_enrolments(ListEnrolmentsRequest {
            user_id: member.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .enrolments;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].enrolled_by, manager);
    let whole_course = p
        .enrolments(&manager_token)
        .list_enrolments(ListEnrolmentsRequest {
            course_id: c.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        whole_course.code(),
        Code::PermissionDenied,
        "a course's enrolments are for those who deploy it"
    );

    let withdraw_outsider = p
        .enrolments(&manager_token)
        .withdraw(WithdrawRequest {
            course_id: c.clone(),
            user_id: outsider.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(withdraw_outsider.code(), Code::PermissionDenied);

    let nobody = uuid();
    let unknown = enrol(&p, &manager_token, &c, &[&nobody]).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert!(unknown.message().contains(&nobody), "{}", unknown.message());
    let no_course = enrol(&p, &manager_token, &uuid(), &[&member])
        .await
        .unwrap_err();
    assert_eq!(no_course.code(), Code::NotFound);
    let bad = enrol(&p, &manager_token, &c, &[&member, &"x".to_owned()])
        .await
        .unwrap_err();
    assert_eq!(fields(&bad), ["user_ids[1]"]);
}

#[tokio::test]
async fn deploying_to_a_group_twice_enrols_each_member_once() {
    let p = Platform::start().await;
    let c = course(&p, "C Deployed", false).await;
    let mut members = Vec::new();
    let mut tokens = Vec::new();
    for i in 0..3 {
        let (id, token) = p.person(&format!("m{i}@academy.example"), None, None).await;
        members.push(id);
        tokens.push(token);
    }
    let group = p.group("Cohort", &members).await;
    let deploy = |user_ids: Vec<String>, group_ids: Vec<String>, token: String| {
        let (p, c) = (&p, c.clone());
        async move {
            p.courses(&token)
                .deploy_course(DeployCourseRequest {
                    course_id: c,
                    user_ids,
                    group_ids,
                    catalogue_ids: Vec::new(),
                })
                .await
                .map(tonic::Response::into_inner)
        }
    };
    // A Course Tutor may deploy the course, but identity shows them no group: refused whole.
    let (tutor, tutor_token) = p
        .person("tutor@academy.example", Some("builtin:tutor"), None)
        .await;
    give(&p, &p.admin, "course_tutor", &c, &tutor).await;
    let refused = deploy(Vec::new(), vec![group.clone()], tutor_token.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(enrolments_of(&p, &members[0]).await.is_empty());
    // Named people the tutor deploys their course to, whoever they are (DESIGN §1); an id
    // nobody has is NOT_FOUND and enrols nobody.
    let (outsider, outsider_token) = p.person("outsider@academy.example", None, None).await;
    let nobody = lms_kernel::UserId::generate().to_string();
    let tutored = course(&p, "C Tutored", false).await;
    give(&p, &p.admin, "course_tutor", &tutored, &tutor).await;
    let deploy_tutored = |user_ids: Vec<String>| {
        let (p, tutored, token) = (&p, tutored.clone(), tutor_token.clone());
        async move {
            p.courses(&token)
                .deploy_course(DeployCourseRequest {
                    course_id: tutored,
                    user_ids,
                    ..Default::default()
                })
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let unknown = deploy_tutored(vec![outsider.clone(), nobody.clone()])
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert!(unknown.message().contains(&nobody), "{}", unknown.message());
    assert!(enrolments_of(&p, &outsider).await.is_empty());
    let by_tutor = deploy_tutored(vec![outsider.clone()]).await.unwrap();
    assert_eq!(by_tutor.users_enrolled, 1);
    assert!(may_read(&p, &outsider_token, &tutored).await);
    // Not a course they tutor: refused.
    let other = course(&p, "C Other", false).await;
    let refused = p
        .courses(&tutor_token)
        .deploy_course(DeployCourseRequest {
            course_id: other,
            user_ids: vec![outsider.clone()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    let first = deploy(
        vec![members[0].clone()],
        vec![group.clone()],
        p.admin.clone(),
    )
    .await
    .unwrap();
    assert_eq!((first.users_enrolled, first.users_reached), (3, 3));
    assert!(first.written_at.is_some());
    for token in &tokens {
        assert!(
            may_read(&p, token, &c).await,
            "each member reads the course"
        );
    }
    let again = deploy(Vec::new(), vec![group.clone()], p.admin.clone())
        .await
        .unwrap();
    assert_eq!((again.users_enrolled, again.users_reached), (0, 3));
    let on_course = p
        .enrolments(&p.admin)
        .list_enrolments(ListEnrolmentsRequest {
            course_id: c.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .enrolments;
    let mut enrolled: Vec<_> = on_course.into_iter().map(|e| e.user_id).collect();
    enrolled.sort();
    let mut expected = members.clone();
    expected.sort();
    assert_eq!(enrolled, expected, "one enrolment each");

    let catalogue = p
        .courses(&p.admin)
        .deploy_course(DeployCourseRequest {
            course_id: c.clone(),
            catalogue_ids: vec![uuid()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(catalogue.code(), Code::NotFound, "no such catalogue");
    let no_group = deploy(Vec::new(), vec![uuid()], p.admin.clone())
        .await
        .unwrap_err();
    assert_eq!(no_group.code(), Code::NotFound);

    let deleted = p
        .courses(&p.admin)
        .delete_course(DeleteCourseRequest {
            course_id: c.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(deleted.archived, "a course people enrolled on is kept");
}

fn report(course: &str, user: &str, attempt: &str, progress: Progress) -> RecordProgressRequest {
    RecordProgressRequest {
        course_id: course.into(),
        user_id: user.into(),
        attempt_id: attempt.into(),
        progress: progress as i32,
        score: None,
    }
}

fn completion(course: &str, user: &str, attempt: &str, score: f32) -> RecordProgressRequest {
    RecordProgressRequest {
        score: Some(score),
        ..report(course, user, attempt, Progress::Completed)
    }
}

#[tokio::test]
async fn the_content_player_records_progress_with_its_scoped_token_and_a_completion_stands() {
    let p = Platform::start().await;
    let c = course(&p, "C Played", false).await;
    let (learner, learner_token) = p.person("learner@academy.example", None, None).await;
    let (quitter, _) = p.person("quitter@academy.example", None, None).await;
    assert_eq!(
        enrol(&p, &p.admin, &c, &[&learner, &quitter])
            .await
            .unwrap(),
        2
    );
    let player = p
        .integration("content-player", &["delegation.progress.record"])
        .await;
    let record = |request: RecordProgressRequest, token: String| {
        let p = &p;
        async move {
            p.enrolments(&token)
                .record_progress(request)
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let state = |answer: &RecordProgressResponse| answer.enrolment.as_ref().unwrap().state();

    let started = record(
        report(&c, &learner, "a1", Progress::Started),
        player.clone(),
    )
    .await
    .unwrap();
    assert!(started.applied);
    assert_eq!(state(&started), EnrolmentState::InProgress);
    let repeat = record(
        report(&c, &learner, "a1", Progress::Started),
        player.clone(),
    )
    .await
    .unwrap();
    assert!(!repeat.applied, "the same report twice changes nothing");

    let done = record(completion(&c, &learner, "a1", 87.5), player.clone())
        .await
        .unwrap();
    assert!(done.applied);
    let finished = done.enrolment.clone().unwrap();
    assert_eq!(finished.state(), EnrolmentState::Completed);
    assert_eq!(finished.score, Some(87.5));
    assert!(finished.completed_at.is_some() && finished.started_at.is_some());
    // An older "started" from another attempt, the completion again with another score.
    for late in [
        report(&c, &learner, "a0", Progress::Started),
        completion(&c, &learner, "a1", 12.0),
    ] {
        let answer = record(late, player.clone()).await.unwrap();
        assert!(!answer.applied);
        assert_eq!(answer.enrolment.unwrap(), finished, "the completion stands");
    }
    assert!(
        may_read(&p, &learner_token, &c).await,
        "a learner keeps reading what they completed"
    );

    // Only a token holding the scope: not the learner's own, not another integration's.
    let person = record(report(&c, &learner, "a2", Progress::Started), learner_token)
        .await
        .unwrap_err();
    assert_eq!(person.code(), Code::PermissionDenied);
    assert_eq!(reason(&person), "SCOPE_REQUIRED");
    assert!(
        person.message().contains("delegation.progress.record"),
        "{}",
        person.message()
    );
    let other = p.integration("hr-feed", &["authorization.decide"]).await;
    let unscoped = record(report(&c, &learner, "a2", Progress::Started), other)
        .await
        .unwrap_err();
    assert_eq!(reason(&unscoped), "SCOPE_REQUIRED");

    // Completing a withdrawn enrolment is refused naming the state, and leaves it as it was.
    p.enrolments(&p.admin)
        .withdraw(WithdrawRequest {
            course_id: c.clone(),
            user_id: quitter.clone(),
        })
        .await
        .unwrap();
    let refused = record(completion(&c, &quitter, "q1", 50.0), player.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "ENROLMENT_WITHDRAWN");
    assert!(
        refused.message().contains("withdrawn"),
        "{}",
        refused.message()
    );
    let kept = enrolments_of(&p, &quitter).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].state(), EnrolmentState::Withdrawn);
    assert!(kept[0].completed_at.is_none() && kept[0].score.is_none());

    let stranger = record(report(&c, &uuid(), "s1", Progress::Started), player.clone())
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Code::NotFound);
    let bad = record(completion(&c, &learner, "a3", 140.0), player)
        .await
        .unwrap_err();
    assert_eq!(fields(&bad), ["score"]);

    // Enrolling again after the completion makes a new enrolment beside the old one.
    assert_eq!(enrol(&p, &p.admin, &c, &[&learner]).await.unwrap(), 1);
    let history: Vec<_> = enrolments_of(&p, &learner)
        .await
        .iter()
        .map(Enrolment::state)
        .collect();
    assert_eq!(
        history,
        [EnrolmentState::Completed, EnrolmentState::Enrolled]
    );
}

fn uuid() -> String {
    lms_kernel::UserId::generate().to_string()
}

/// What reports show of courses and enrolments leaves with each change, in its transaction:
/// the course's record, then each enrolment's state as it moves, with the score.
#[tokio::test]
async fn each_change_of_a_course_or_enrolment_commits_its_record_for_reporting() {
    use lms_api::reporting::v1::{CourseRecord, EnrolmentRecords};
    use prost::Message;

    let p = Platform::start().await;
    let c = course(&p, "C Reported", false).await;
    let (learner, _) = p.person("reported@academy.example", None, None).await;
    enrol(&p, &p.admin, &c, &[&learner]).await.unwrap();
    let player = p
        .integration("content-player", &["delegation.progress.record"])
        .await;
    for request in [
        report(&c, &learner, "a1", Progress::Started),
        completion(&c, &learner, "a1", 87.5),
    ] {
        p.enrolments(&player)
            .record_progress(request)
            .await
            .unwrap();
    }

    let outbox = sqlx::PgPool::connect(p.delegation_database_url())
        .await
        .unwrap();
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT topic, payload FROM outbox WHERE topic LIKE 'reporting.%' ORDER BY sequence",
    )
    .fetch_all(&outbox)
    .await
    .unwrap();
    let courses: Vec<CourseRecord> = rows
        .iter()
        .filter(|(topic, _)| topic == "reporting.course")
        .map(|(_, payload)| CourseRecord::decode(payload.as_slice()).unwrap())
        .collect();
    let reported = courses
        .iter()
        .filter_map(|r| r.course.as_ref())
        .find(|course| course.course_id == c)
        .expect("the course's record");
    assert_eq!(reported.title, "C Reported");
    let states: Vec<(EnrolmentState, Option<f32>)> = rows
        .iter()
        .filter(|(topic, _)| topic == "reporting.enrolments")
        .flat_map(|(_, payload)| {
            EnrolmentRecords::decode(payload.as_slice())
                .unwrap()
                .enrolments
        })
        .filter(|e| e.user_id == learner && e.course_id == c)
        .map(|e| (e.state(), e.score))
        .collect();
    assert_eq!(
        states,
        [
            (EnrolmentState::Enrolled, None),
            (EnrolmentState::InProgress, None),
            (EnrolmentState::Completed, Some(87.5)),
        ]
    );
}
