//! Lookups page through one computed set under a cursor (the store is read once per lookup,
//! not once per page), and a set cut by the fan-out limit says so.

use std::collections::BTreeSet;

use lms_api::authorization::v1::SubjectStatus;
use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::{
    LookupResourcesRequest, LookupResourcesResponse, LookupSubjectsRequest, LookupSubjectsResponse,
    Relation,
};
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ObjectType, UserStatus};
use lms_kernel::{CourseId, GroupId, UserId};
use uuid::Uuid;

use crate::fixture::{Fixture, delete, reference, touch, user_ref};

/// A user whose id sorts after every generated one: if a later page recomputed, it would land
/// there.
fn last_user() -> UserId {
    UserId::from_uuid(Uuid::from_u128(u128::MAX))
}

async fn active(f: &Fixture, user: UserId) {
    let status = SubjectStatus {
        user_id: user.to_string(),
        status: UserStatus::Active as i32,
        restrict_bookings: false,
    };
    f.write(Vec::new(), None, vec![status]).await;
}

/// A manager of a team of `n` new users.
async fn team(f: &Fixture, n: usize) -> (UserId, GroupId, Vec<UserId>) {
    let (group, manager) = (GroupId::generate(), f.holder("builtin:manager", None).await);
    let members: Vec<UserId> = (0..n).map(|_| UserId::generate()).collect();
    let mut updates: Vec<_> = members
        .iter()
        .map(|u| {
            touch(
                reference(ObjectType::Group, group),
                Relation::PrimaryMember,
                user_ref(*u),
            )
        })
        .collect();
    updates.push(touch(
        reference(ObjectType::Group, group),
        Relation::Manager,
        user_ref(manager),
    ));
    f.write(updates, None, Vec::new()).await;
    (manager, group, members)
}

fn fully_consistent() -> Option<Consistency> {
    Some(Consistency {
        requirement: Some(Requirement::FullyConsistent(true)),
    })
}

async fn resources_page(
    f: &Fixture,
    user: UserId,
    token: String,
    page_size: i32,
) -> LookupResourcesResponse {
    resources_page_at(f, user, token, page_size, None).await
}

async fn resources_page_at(
    f: &Fixture,
    user: UserId,
    token: String,
    page_size: i32,
    consistency: Option<Consistency>,
) -> LookupResourcesResponse {
    PermissionServiceClient::new(f.service.authorized(&f.user_token(user)))
        .lookup_resources(LookupResourcesRequest {
            permission: "users.read".into(),
            resource_type: ObjectType::User as i32,
            page_size,
            page_token: token,
            consistency,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

async fn subjects_page(
    f: &Fixture,
    course: CourseId,
    token: String,
    page_size: i32,
) -> LookupSubjectsResponse {
    subjects_page_at(f, course, token, page_size, None).await
}

async fn subjects_page_at(
    f: &Fixture,
    course: CourseId,
    token: String,
    page_size: i32,
    consistency: Option<Consistency>,
) -> LookupSubjectsResponse {
    let delegation = f.auth.tenant_service_token("delegation", f.tenant);
    PermissionServiceClient::new(f.service.authorized(&delegation))
        .lookup_subjects(LookupSubjectsRequest {
            permission: "learning.take".into(),
            resource: Some(reference(ObjectType::Course, course)),
            page_size,
            page_token: token,
            consistency,
        })
        .await
        .unwrap()
        .into_inner()
}

/// `n` new active learners enrolled on a new course.
async fn enrolled_course(f: &Fixture, n: usize) -> (CourseId, Vec<UserId>) {
    let course = CourseId::generate();
    let mut learners = Vec::new();
    for _ in 0..n {
        learners.push(f.user().await);
    }
    let updates = learners
        .iter()
        .map(|u| {
            touch(
                reference(ObjectType::Course, course),
                Relation::Enrolled,
                user_ref(*u),
            )
        })
        .collect();
    f.write(updates, None, Vec::new()).await;
    (course, learners)
}

#[tokio::test]
async fn lookup_resources_pages_through_one_computed_set_without_recomputing() {
    let f = Fixture::start().await;
    let (manager, group, members) = team(&f, 25).await;
    let first = resources_page(&f, manager, String::new(), 10).await;
    assert!(!first.truncated);
    let mut seen: BTreeSet<String> = first.resource_ids.into_iter().collect();
    // Someone joins the team after the first page; a page that recomputed would list them
    // last, a cursor over the first page's set does not.
    let newcomer = last_user();
    f.write(
        vec![touch(
            reference(ObjectType::Group, group),
            Relation::PrimaryMember,
            user_ref(newcomer),
        )],
        None,
        Vec::new(),
    )
    .await;
    let mut token = first.next_page_token;
    let mut pages = 1;
    while !token.is_empty() {
        let page = resources_page(&f, manager, token, 10).await;
        assert_eq!(page.checked_at, first.checked_at, "one snapshot");
        seen.extend(page.resource_ids);
        token = page.next_page_token;
        pages += 1;
    }
    assert_eq!(pages, 3, "26 ids in pages of 10");
    let expected: BTreeSet<String> = members
        .iter()
        .chain([&manager])
        .map(ToString::to_string)
        .collect();
    assert_eq!(seen, expected);
    // A new lookup computes afresh and finds the newcomer.
    let fresh = resources_page(&f, manager, String::new(), 100).await;
    assert!(fresh.resource_ids.contains(&newcomer.to_string()));
}

#[tokio::test]
async fn lookup_subjects_pages_through_one_computed_set_without_recomputing() {
    let f = Fixture::start().await;
    let (course, learners) = enrolled_course(&f, 12).await;
    let first = subjects_page(&f, course, String::new(), 5).await;
    assert!(!first.truncated);
    let mut seen: BTreeSet<String> = first.subject_ids.into_iter().collect();
    let newcomer = last_user();
    active(&f, newcomer).await;
    f.write(
        vec![touch(
            reference(ObjectType::Course, course),
            Relation::Enrolled,
            user_ref(newcomer),
        )],
        None,
        Vec::new(),
    )
    .await;
    let mut token = first.next_page_token;
    while !token.is_empty() {
        let page = subjects_page(&f, course, token, 5).await;
        seen.extend(page.subject_ids);
        token = page.next_page_token;
    }
    for learner in &learners {
        assert!(seen.contains(&learner.to_string()));
    }
    assert!(
        !seen.contains(&newcomer.to_string()),
        "later pages continue the first page's set"
    );
    let fresh = subjects_page(&f, course, String::new(), 1000).await;
    assert!(fresh.subject_ids.contains(&newcomer.to_string()));
}

#[tokio::test]
async fn a_page_token_cannot_read_another_callers_set() {
    let f = Fixture::start().await;
    let (manager, _, _) = team(&f, 15).await;
    let first = resources_page(&f, manager, String::new(), 10).await;
    let other = f.user().await;
    // The other user reuses the manager's cursor: they get their own set (themselves), not
    // the rest of the manager's team.
    let page = resources_page(&f, other, first.next_page_token, 10).await;
    assert!(
        page.resource_ids.iter().all(|id| *id == other.to_string()),
        "{:?}",
        page.resource_ids
    );
}

#[tokio::test]
async fn lookups_cut_by_the_fan_out_limit_answer_truncated() {
    let f = Fixture::start_tuned(|context| context.cache.lookup_fanout = 5).await;
    let (manager, _, _) = team(&f, 8).await;
    let cut = resources_page(&f, manager, String::new(), 100).await;
    assert!(cut.truncated, "{} ids listed", cut.resource_ids.len());
    let (course, _) = enrolled_course(&f, 8).await;
    let cut = subjects_page(&f, course, String::new(), 100).await;
    assert!(cut.truncated, "{} ids listed", cut.subject_ids.len());

    // Under the limit, nothing is cut.
    let (small_manager, _, _) = team(&f, 2).await;
    assert!(
        !resources_page(&f, small_manager, String::new(), 100)
            .await
            .truncated
    );
    let (small_course, _) = enrolled_course(&f, 2).await;
    assert!(
        !subjects_page(&f, small_course, String::new(), 100)
            .await
            .truncated
    );
}

#[tokio::test]
async fn fully_consistent_later_pages_do_not_list_from_an_older_set() {
    let f = Fixture::start().await;
    let (manager, group, members) = team(&f, 25).await;
    let first = resources_page_at(&f, manager, String::new(), 10, fully_consistent()).await;
    let mut seen: BTreeSet<String> = first.resource_ids.into_iter().collect();
    // After the first page, the member listed last leaves the team and someone joins it.
    let leaver = *members.iter().max().unwrap();
    assert!(!seen.contains(&leaver.to_string()));
    let newcomer = last_user();
    active(&f, newcomer).await;
    let team = || reference(ObjectType::Group, group);
    f.write(
        vec![
            delete(team(), Relation::PrimaryMember, user_ref(leaver)),
            touch(team(), Relation::PrimaryMember, user_ref(newcomer)),
        ],
        None,
        Vec::new(),
    )
    .await;
    let mut token = first.next_page_token;
    while !token.is_empty() {
        let page = resources_page_at(&f, manager, token, 10, fully_consistent()).await;
        assert_ne!(
            page.checked_at, first.checked_at,
            "answered at the newer state"
        );
        seen.extend(page.resource_ids);
        token = page.next_page_token;
    }
    assert!(
        !seen.contains(&leaver.to_string()),
        "a fully consistent page does not list someone who left the team"
    );
    assert!(seen.contains(&newcomer.to_string()));
}

#[tokio::test]
async fn fully_consistent_later_subject_pages_do_not_list_from_an_older_set() {
    let f = Fixture::start().await;
    let (course, learners) = enrolled_course(&f, 12).await;
    let first = subjects_page_at(&f, course, String::new(), 5, fully_consistent()).await;
    let leaver = *learners.iter().max().unwrap();
    assert!(!first.subject_ids.contains(&leaver.to_string()));
    f.write(
        vec![delete(
            reference(ObjectType::Course, course),
            Relation::Enrolled,
            user_ref(leaver),
        )],
        None,
        Vec::new(),
    )
    .await;
    let mut seen = BTreeSet::new();
    let mut token = first.next_page_token;
    while !token.is_empty() {
        let page = subjects_page_at(&f, course, token, 5, fully_consistent()).await;
        seen.extend(page.subject_ids);
        token = page.next_page_token;
    }
    assert!(
        !seen.contains(&leaver.to_string()),
        "a fully consistent page does not list a learner no longer enrolled"
    );
}
