//! Catalogues as learners meet them: a catalogue deployed to a person (by name or through a
//! group) shows them its courses, which they may then ask to join, and nothing more; a course
//! no catalogue offers them stays out of sight and out of reach of a request; an offer ends
//! only when no catalogue deployed to them holds the course; only those who may change
//! catalogues do.

use lms_api::common::v1::{ConsistencyToken, ObjectReference, ObjectType};
use lms_api::delegation::v1::{
    AddCatalogueCoursesRequest, CreateCatalogueRequest, DeleteCatalogueRequest,
    DeleteCourseRequest, DeployCatalogueRequest, DeployCourseRequest, EnrolRequest,
    GetCatalogueRequest, GetCourseRequest, ListCataloguesRequest, ListCoursesRequest,
    ListLessonsRequest, RemoveCatalogueCourseRequest, RequestEnrolmentRequest,
    WithdrawCatalogueRequest,
};
use tonic::Code;

use super::enrolments::course;
use super::fixture::{Platform, fields};
use super::responsibilities::give;

async fn catalogue(p: &Platform, name: &str, courses: &[&String]) -> String {
    p.catalogues(&p.admin)
        .create_catalogue(CreateCatalogueRequest {
            name: name.into(),
            course_ids: courses.iter().map(|c| (*c).clone()).collect(),
        })
        .await
        .unwrap()
        .into_inner()
        .catalogue
        .unwrap()
        .catalogue_id
}

async fn deploy(
    p: &Platform,
    catalogue: &str,
    users: &[&String],
    groups: &[&String],
) -> (i32, Option<ConsistencyToken>) {
    let answer = p
        .catalogues(&p.admin)
        .deploy_catalogue(DeployCatalogueRequest {
            catalogue_id: catalogue.into(),
            user_ids: users.iter().map(|u| (*u).clone()).collect(),
            group_ids: groups.iter().map(|g| (*g).clone()).collect(),
        })
        .await
        .unwrap()
        .into_inner();
    (answer.users_added, answer.written_at)
}

fn course_ref(course: &str) -> ObjectReference {
    ObjectReference {
        r#type: ObjectType::Course as i32,
        id: course.into(),
        tenant_id: String::new(),
    }
}

async fn visible(p: &Platform, token: &str) -> Vec<String> {
    let mut ids: Vec<_> = p
        .courses(token)
        .list_courses(ListCoursesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .courses
        .into_iter()
        .map(|c| c.course_id)
        .collect();
    ids.sort();
    ids
}

async fn sees(p: &Platform, token: &str, course: &str, at: Option<ConsistencyToken>) -> bool {
    p.allowed(token, "courses.read", course_ref(course), at)
        .await
}

#[tokio::test]
async fn a_catalogue_shows_its_courses_to_the_people_it_is_deployed_to_and_no_more() {
    let p = Platform::start().await;
    let (science, history) = (
        course(&p, "Chemistry", false).await,
        course(&p, "History", false).await,
    );
    let (learner, learner_token) = p.person("learner@academy.example", None, None).await;
    let (member, member_token) = p.person("member@academy.example", None, None).await;
    let (_, outsider_token) = p.person("outsider@academy.example", None, None).await;
    let team = p.group("Lab Team", std::slice::from_ref(&member)).await;
    let k = catalogue(&p, "Science", &[&science]).await;
    assert!(visible(&p, &learner_token).await.is_empty());

    let (added, at) = deploy(&p, &k, &[&learner], &[&team]).await;
    assert_eq!(added, 2, "the learner named and the group's member");
    assert!(sees(&p, &learner_token, &science, at.clone()).await);
    assert_eq!(visible(&p, &learner_token).await, vec![science.clone()]);
    assert_eq!(visible(&p, &member_token).await, vec![science.clone()]);
    assert!(visible(&p, &outsider_token).await.is_empty());
    assert_eq!(
        deploy(&p, &k, &[&learner], &[&team]).await.0,
        0,
        "deploying again adds nobody"
    );

    // Seeing a course is not taking it: its lessons and the learning wait for an enrolment.
    let lessons = p
        .lessons(&learner_token)
        .list_lessons(ListLessonsRequest {
            course_id: science.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(lessons.code(), Code::PermissionDenied);
    assert!(
        !p.allowed(&learner_token, "learning.take", course_ref(&science), at)
            .await
    );

    // A course no catalogue offers them is out of reach of a request too, and of enrolling
    // themselves directly (every learner may enrol themselves where they may see the course).
    let enrol_self = p
        .enrolments(&learner_token)
        .enrol(EnrolRequest {
            course_id: history.clone(),
            user_ids: vec![learner.clone()],
        })
        .await
        .unwrap_err();
    assert_eq!(enrol_self.code(), Code::PermissionDenied);
    assert!(
        enrol_self.message().contains("courses.read"),
        "{}",
        enrol_self.message()
    );
    let refused = p
        .enrolments(&learner_token)
        .request_enrolment(RequestEnrolmentRequest {
            course_id: history.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused.message().contains("courses.read"),
        "{}",
        refused.message()
    );
    let other = p
        .courses(&learner_token)
        .get_course(GetCourseRequest {
            course_id: history.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::PermissionDenied);
    let joined = p
        .enrolments(&learner_token)
        .request_enrolment(RequestEnrolmentRequest {
            course_id: science.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        p.allowed(
            &learner_token,
            "learning.take",
            course_ref(&science),
            joined.written_at
        )
        .await,
        "the offered course, once joined, is theirs to take"
    );
}

#[tokio::test]
async fn learners_list_only_their_catalogues_and_an_offer_ends_with_the_last_catalogue() {
    let p = Platform::start().await;
    let shared = course(&p, "Shared", false).await;
    let (learner, learner_token) = p.person("learner@academy.example", None, None).await;
    let (one, two) = (
        catalogue(&p, "One", &[&shared]).await,
        catalogue(&p, "Two", &[&shared]).await,
    );
    let hidden = catalogue(&p, "Hidden", &[]).await;
    deploy(&p, &one, &[&learner], &[]).await;
    deploy(&p, &two, &[&learner], &[]).await;

    let mut listed: Vec<_> = p
        .catalogues(&learner_token)
        .list_catalogues(ListCataloguesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .catalogues
        .into_iter()
        .map(|k| k.name)
        .collect();
    listed.sort();
    assert_eq!(listed, ["One", "Two"]);
    let all = p
        .catalogues(&p.admin)
        .list_catalogues(ListCataloguesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .catalogues;
    assert_eq!(all.len(), 3, "those who change catalogues see every one");
    let unseen = p
        .catalogues(&learner_token)
        .get_catalogue(GetCatalogueRequest {
            catalogue_id: hidden.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(unseen.code(), Code::NotFound, "not theirs: no catalogue");
    let theirs = p
        .catalogues(&learner_token)
        .get_catalogue(GetCatalogueRequest {
            catalogue_id: one.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .catalogue
        .unwrap();
    assert_eq!(
        (theirs.course_ids, theirs.learner_count, theirs.created_by),
        (vec![shared.clone()], 0, String::new()),
        "a learner sees the courses, not who curates it or whom else it reaches"
    );

    let removed = p
        .catalogues(&p.admin)
        .remove_catalogue_course(RemoveCatalogueCourseRequest {
            catalogue_id: one.clone(),
            course_id: shared.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        sees(&p, &learner_token, &shared, removed.written_at).await,
        "Two still offers it"
    );
    let withdrawn = p
        .catalogues(&p.admin)
        .withdraw_catalogue(WithdrawCatalogueRequest {
            catalogue_id: two.clone(),
            user_ids: vec![learner.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(withdrawn.users_removed, 1);
    assert!(!sees(&p, &learner_token, &shared, withdrawn.written_at).await);

    deploy(&p, &two, &[&learner], &[]).await;
    let deleted = p
        .catalogues(&p.admin)
        .delete_catalogue(DeleteCatalogueRequest {
            catalogue_id: two.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!sees(&p, &learner_token, &shared, deleted.written_at).await);

    // Erasing a course takes it out of every catalogue, and out of sight.
    let brief = course(&p, "Brief", false).await;
    let (added, at) = {
        let answer = p
            .catalogues(&p.admin)
            .add_catalogue_courses(AddCatalogueCoursesRequest {
                catalogue_id: one.clone(),
                course_ids: vec![brief.clone()],
            })
            .await
            .unwrap()
            .into_inner();
        (answer.catalogue.unwrap().course_ids, answer.written_at)
    };
    assert_eq!(added, vec![brief.clone()]);
    assert!(sees(&p, &learner_token, &brief, at).await);
    let erased = p
        .courses(&p.admin)
        .delete_course(DeleteCourseRequest {
            course_id: brief.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!erased.archived);
    assert!(!sees(&p, &learner_token, &brief, erased.written_at).await);
}

#[tokio::test]
async fn only_those_who_change_catalogues_do_and_bad_requests_change_nothing() {
    let p = Platform::start().await;
    let c = course(&p, "Owned", false).await;
    let (tutor, tutor_token) = p
        .person("tutor@academy.example", Some("builtin:tutor"), None)
        .await;
    give(&p, &p.admin, "course_tutor", &c, &tutor).await;
    let (_, learner_token) = p.person("learner@academy.example", None, None).await;
    let k = catalogue(&p, "Curated", &[]).await;

    let refused = p
        .catalogues(&learner_token)
        .create_catalogue(CreateCatalogueRequest {
            name: "Mine".into(),
            course_ids: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(refused.message().contains("catalogues.update"));
    // Deploying a course to a catalogue is its Course Tutor's duty (DESIGN §1), on their
    // course only; changing the catalogue itself is not.
    let other = course(&p, "Not theirs", false).await;
    let not_theirs = p
        .courses(&tutor_token)
        .deploy_course(DeployCourseRequest {
            course_id: other.clone(),
            catalogue_ids: vec![k.clone()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(not_theirs.code(), Code::PermissionDenied);
    // A deployment refused for one of its people leaves the catalogue as it was.
    let half = p
        .courses(&tutor_token)
        .deploy_course(DeployCourseRequest {
            course_id: c.clone(),
            catalogue_ids: vec![k.clone()],
            user_ids: vec![lms_kernel::UserId::generate().to_string()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(half.code(), Code::NotFound, "nobody has that id");
    let untouched = p
        .catalogues(&p.admin)
        .get_catalogue(GetCatalogueRequest {
            catalogue_id: k.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .catalogue
        .unwrap();
    assert!(untouched.course_ids.is_empty(), "nothing half-written");
    let tutor_deploy = p
        .courses(&tutor_token)
        .deploy_course(DeployCourseRequest {
            course_id: c.clone(),
            catalogue_ids: vec![k.clone()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tutor_deploy.users_enrolled, 0);
    assert!(tutor_deploy.written_at.is_some());
    let tutor_curates = p
        .catalogues(&tutor_token)
        .remove_catalogue_course(RemoveCatalogueCourseRequest {
            catalogue_id: k.clone(),
            course_id: c.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(tutor_curates.code(), Code::PermissionDenied);

    let mut admin = p.catalogues(&p.admin);
    let blank = admin
        .create_catalogue(CreateCatalogueRequest {
            name: "  ".into(),
            course_ids: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&blank), ["name"]);
    let unknown_course = admin
        .create_catalogue(CreateCatalogueRequest {
            name: "Broken".into(),
            course_ids: vec![c.clone(), lms_kernel::CourseId::generate().to_string()],
        })
        .await
        .unwrap_err();
    assert_eq!(unknown_course.code(), Code::NotFound);
    let bad = admin
        .deploy_catalogue(DeployCatalogueRequest {
            catalogue_id: "K1".into(),
            user_ids: vec![tutor.clone()],
            group_ids: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&bad), ["catalogue_id"]);
    let nobody = admin
        .deploy_catalogue(DeployCatalogueRequest {
            catalogue_id: k.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&nobody), ["user_ids"]);
    let missing = admin
        .deploy_catalogue(DeployCatalogueRequest {
            catalogue_id: lms_kernel::CourseId::generate().to_string(),
            user_ids: vec![tutor.clone()],
            group_ids: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let listed = admin
        .list_catalogues(ListCataloguesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .catalogues;
    assert_eq!(listed.len(), 1, "nothing half-made");
    assert_eq!(listed[0].course_ids, vec![c]);
    assert_eq!(listed[0].learner_count, 0);
}
