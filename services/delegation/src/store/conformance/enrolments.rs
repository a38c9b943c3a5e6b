use std::sync::Mutex;

use lms_kernel::enrolment::Score;
use lms_kernel::{
    CourseId, EnrolmentRequestId, EnrolmentState, Progress, ProgressEffect, Removal, RequestState,
    TenantId, UserId,
};

use super::{audit, course, someone, stored};
use crate::store::{
    Asked, CourseRecord, EnrolmentFilter, EnrolmentRecord, Recorded, Report, Store, StoreError,
    ToEnrol, Verdict,
};

fn to_enrol(course: CourseId, users: &[UserId], at: i64) -> ToEnrol<'_> {
    ToEnrol {
        course,
        users,
        by: "test",
        at,
    }
}

async fn enrol<S: Store>(
    store: &S,
    tenant: TenantId,
    course: CourseId,
    users: &[UserId],
) -> Result<Vec<EnrolmentRecord>, StoreError> {
    store
        .enrol(
            tenant,
            to_enrol(course, users, 10),
            |_| super::an_event(),
            &audit("enrolment.enrolled"),
        )
        .await
}

async fn history<S: Store>(
    store: &S,
    tenant: TenantId,
    course: CourseId,
    user: UserId,
) -> Vec<EnrolmentState> {
    let filter = EnrolmentFilter {
        course: Some(course),
        user: Some(user),
        ..Default::default()
    };
    store
        .enrolments(tenant, filter, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.enrolment.state)
        .collect()
}

async fn report<S: Store>(
    store: &S,
    tenant: TenantId,
    (course, user): (CourseId, UserId),
    attempt: &str,
    progress: Progress,
    at: i64,
) -> Result<Recorded, StoreError> {
    let report = Report {
        course,
        user,
        attempt,
        progress,
        at,
    };
    store
        .record_progress(tenant, report, &audit("enrolment.progressed"))
        .await
}

async fn withdraw<S: Store>(
    store: &S,
    tenant: TenantId,
    course: CourseId,
    user: UserId,
) -> Result<Option<crate::store::Withdrawn>, StoreError> {
    store
        .withdraw(
            tenant,
            course,
            user,
            20,
            |_| super::an_event(),
            &audit("enrolment.withdrawn"),
        )
        .await
}

fn completed(score: f32) -> Progress {
    Progress::Completed {
        score: Some(Score::parse(score).unwrap()),
    }
}

fn refusal(error: StoreError) -> &'static str {
    match error {
        StoreError::Refused { reason, .. } => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub async fn enrolling_again_enrols_nobody_twice_and_marks_the_course<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Deployed");
    stored(&store, tenant, &c).await;
    let (a, b, late) = (someone(), someone(), someone());
    let seen = Mutex::new(Vec::new());
    let first = store
        .enrol(
            tenant,
            to_enrol(c.id, &[a, b], 10),
            |made| {
                seen.lock().unwrap().push(made.len());
                super::an_event()
            },
            &audit("enrolment.enrolled"),
        )
        .await
        .unwrap();
    assert_eq!(first.len(), 2);
    assert!(
        first
            .iter()
            .all(|e| e.enrolment.state == EnrolmentState::Enrolled
                && e.enrolment.enrolled_at == 10
                && e.enrolled_by == "test")
    );
    let again = store
        .enrol(
            tenant,
            to_enrol(c.id, &[a, b, late], 11),
            |made| {
                seen.lock().unwrap().push(made.len());
                super::an_event()
            },
            &audit("enrolment.enrolled"),
        )
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|e| e.user).collect::<Vec<_>>(),
        [late],
        "only who was not enrolled"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [2, 1],
        "the facts are built from what was made"
    );
    let course = store.course(tenant, c.id).await.unwrap().unwrap();
    assert!(course.ever_enrolled);
    let removed = store
        .remove_course(tenant, c.id, 30, |_| Vec::new(), &audit("course.deleted"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        removed.removal,
        Removal::Archive,
        "an enrolled course is kept"
    );
    let kept = store
        .enrolments(
            tenant,
            EnrolmentFilter {
                course: Some(c.id),
                ..Default::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(kept.len(), 3);
}

pub async fn concurrent_enrolment_of_one_learner_leaves_one_open_enrolment<S: Store + Clone>(
    store: S,
) {
    let tenant = TenantId::generate();
    let c = course("Raced");
    stored(&store, tenant, &c).await;
    let learner = someone();
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { enrol(&store, tenant, c.id, &[learner]).await })
        })
        .collect();
    let mut made = 0;
    for attempt in attempts {
        made += attempt.await.unwrap().unwrap().len();
    }
    assert_eq!(made, 1);
    assert_eq!(
        history(&store, tenant, c.id, learner).await,
        [EnrolmentState::Enrolled]
    );
}

pub async fn re_enrolment_makes_a_new_record_and_keeps_the_old<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Again");
    stored(&store, tenant, &c).await;
    let learner = someone();
    enrol(&store, tenant, c.id, &[learner]).await.unwrap();
    let withdrawn = withdraw(&store, tenant, c.id, learner)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            withdrawn.enrolment.enrolment.state,
            withdrawn.enrolment.enrolment.withdrawn_at,
            withdrawn.still_enrolled
        ),
        (EnrolmentState::Withdrawn, Some(20), false)
    );
    enrol(&store, tenant, c.id, &[learner]).await.unwrap();
    report(&store, tenant, (c.id, learner), "a1", completed(75.0), 30)
        .await
        .unwrap();
    enrol(&store, tenant, c.id, &[learner]).await.unwrap();
    assert_eq!(
        history(&store, tenant, c.id, learner).await,
        [
            EnrolmentState::Withdrawn,
            EnrolmentState::Completed,
            EnrolmentState::Enrolled
        ]
    );
    // Withdrawing the newest leaves the completed one counting: the learner still reads the
    // course they finished.
    let withdrawn = withdraw(&store, tenant, c.id, learner)
        .await
        .unwrap()
        .unwrap();
    assert!(withdrawn.still_enrolled);
}

pub async fn only_an_open_enrolment_is_withdrawn<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Closed");
    stored(&store, tenant, &c).await;
    let learner = someone();
    assert_eq!(
        withdraw(&store, tenant, c.id, learner).await.unwrap(),
        None,
        "never enrolled"
    );
    enrol(&store, tenant, c.id, &[learner]).await.unwrap();
    report(&store, tenant, (c.id, learner), "a1", completed(60.0), 30)
        .await
        .unwrap();
    let refused = withdraw(&store, tenant, c.id, learner).await.unwrap_err();
    assert_eq!(refusal(refused), "ENROLMENT_COMPLETED");
    assert_eq!(
        history(&store, tenant, c.id, learner).await,
        [EnrolmentState::Completed],
        "nothing written by the refusal"
    );
    assert_eq!(
        withdraw(&store, TenantId::generate(), c.id, learner)
            .await
            .unwrap_err()
            .to_string(),
        format!("course {} not found", c.id),
        "not across tenants"
    );
}

pub async fn a_missing_or_archived_course_takes_no_enrolment<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let learner = someone();
    let missing = enrol(&store, tenant, CourseId::generate(), &[learner])
        .await
        .unwrap_err();
    assert!(
        matches!(missing, StoreError::Missing { what: "course", .. }),
        "{missing:?}"
    );
    let c = CourseRecord {
        ever_enrolled: true,
        ..course("Old")
    };
    stored(&store, tenant, &c).await;
    store
        .remove_course(tenant, c.id, 5, |_| Vec::new(), &audit("course.deleted"))
        .await
        .unwrap()
        .unwrap();
    let refused = enrol(&store, tenant, c.id, &[learner]).await.unwrap_err();
    assert_eq!(refusal(refused), "ARCHIVED");
    let refused = store
        .ask_to_join(tenant, c.id, learner, 9, |_| Vec::new(), &audit("x"))
        .await
        .unwrap_err();
    assert_eq!(refusal(refused), "ARCHIVED");
    assert!(history(&store, tenant, c.id, learner).await.is_empty());
}

pub async fn asking_to_join_enrols_at_once_or_waits_once_for_approval<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let open = course("Open");
    let approved = CourseRecord {
        requires_approval: true,
        ..course("Approved")
    };
    stored(&store, tenant, &open).await;
    stored(&store, tenant, &approved).await;
    let learner = someone();
    let ask = |course: CourseId| {
        let store = &store;
        async move {
            store
                .ask_to_join(
                    tenant,
                    course,
                    learner,
                    40,
                    |_| super::an_event(),
                    &audit("enrolment.enrolled"),
                )
                .await
        }
    };
    let Asked::Enrolled(enrolment) = ask(open.id).await.unwrap() else {
        panic!("a course without approval enrols at once");
    };
    assert_eq!(
        (enrolment.user, enrolment.enrolled_by.clone()),
        (learner, learner.to_string())
    );
    assert!(
        store
            .course(tenant, open.id)
            .await
            .unwrap()
            .unwrap()
            .ever_enrolled
    );
    assert_eq!(refusal(ask(open.id).await.unwrap_err()), "ALREADY_ENROLLED");
    let Asked::Requested(request) = ask(approved.id).await.unwrap() else {
        panic!("a course needing approval makes a request");
    };
    assert_eq!(
        (request.state, request.requested_at),
        (RequestState::Requested, 40)
    );
    let Asked::Requested(again) = ask(approved.id).await.unwrap() else {
        panic!("asking again answers the waiting request");
    };
    assert_eq!(again.id, request.id);
    let waiting = EnrolmentFilter {
        course: Some(approved.id),
        request_state: Some(RequestState::Requested),
        ..Default::default()
    };
    assert_eq!(
        store.enrolment_requests(tenant, waiting, 10).await.unwrap(),
        vec![request]
    );
    assert!(
        history(&store, tenant, approved.id, learner)
            .await
            .is_empty()
    );
    assert!(
        !store
            .course(tenant, approved.id)
            .await
            .unwrap()
            .unwrap()
            .ever_enrolled,
        "a request is no enrolment"
    );
}

fn verdict(request: EnrolmentRequestId, approve: bool, at: i64) -> Verdict<'static> {
    Verdict {
        request,
        approve,
        by: "tutor",
        at,
    }
}

pub async fn a_request_is_decided_once_and_an_approval_enrols<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = CourseRecord {
        requires_approval: true,
        ..course("Approved")
    };
    stored(&store, tenant, &c).await;
    let ask = |learner: UserId| {
        let store = &store;
        async move {
            match store
                .ask_to_join(tenant, c.id, learner, 40, |_| Vec::new(), &audit("x"))
                .await
                .unwrap()
            {
                Asked::Requested(request) => request.id,
                other => panic!("{other:?}"),
            }
        }
    };
    let decide = |request: EnrolmentRequestId, approve: bool| {
        let store = &store;
        async move {
            let seen = Mutex::new(None);
            let decided = store
                .decide_request(
                    tenant,
                    verdict(request, approve, 50),
                    |made| {
                        *seen.lock().unwrap() = Some(made.len());
                        super::an_event()
                    },
                    &audit("enrolment_request.decided"),
                )
                .await;
            (decided, seen.into_inner().unwrap())
        }
    };
    let (ann, bob) = (someone(), someone());
    let ann_asks = ask(ann).await;
    let (decided, facts) = decide(ann_asks, true).await;
    let (request, enrolment) = decided.unwrap().unwrap();
    assert_eq!(
        (
            request.state,
            request.decided_at,
            request.decided_by.as_deref()
        ),
        (RequestState::Approved, Some(50), Some("tutor"))
    );
    let enrolment = enrolment.expect("the approval enrols");
    assert_eq!((enrolment.user, facts), (ann, Some(1)));
    assert!(
        store
            .course(tenant, c.id)
            .await
            .unwrap()
            .unwrap()
            .ever_enrolled
    );
    let (again, facts) = decide(ann_asks, true).await;
    assert_eq!(refusal(again.unwrap_err()), "REQUEST_APPROVED");
    assert_eq!(facts, None, "a refusal builds no facts");
    let bob_asks = ask(bob).await;
    let (rejected, _) = decide(bob_asks, false).await;
    let (rejected, none) = rejected.unwrap().unwrap();
    assert_eq!((rejected.state, none), (RequestState::Rejected, None));
    let (late, _) = decide(bob_asks, true).await;
    assert_eq!(refusal(late.unwrap_err()), "REQUEST_REJECTED");
    assert!(history(&store, tenant, c.id, bob).await.is_empty());
    assert_eq!(
        store.enrolment_request(tenant, bob_asks).await.unwrap(),
        Some(rejected),
        "nothing written by the refusal"
    );
    let (unknown, _) = decide(EnrolmentRequestId::generate(), true).await;
    assert_eq!(unknown.unwrap(), None);
    let elsewhere = store
        .decide_request(
            TenantId::generate(),
            verdict(ann_asks, false, 60),
            |_| Vec::new(),
            &audit("x"),
        )
        .await;
    assert_eq!(elsewhere.unwrap(), None, "not across tenants");
}

pub async fn progress_is_idempotent_by_attempt_and_never_moves_a_completion_back<S: Store>(
    store: S,
) {
    let tenant = TenantId::generate();
    let c = course("Played");
    stored(&store, tenant, &c).await;
    let learner = someone();
    enrol(&store, tenant, c.id, &[learner]).await.unwrap();
    let on = (c.id, learner);
    let started = report(&store, tenant, on, "a1", Progress::Started, 20)
        .await
        .unwrap();
    assert_eq!(
        started.effect,
        ProgressEffect::Moves(EnrolmentState::InProgress)
    );
    let repeat = report(&store, tenant, on, "a1", Progress::Started, 21)
        .await
        .unwrap();
    assert_eq!(repeat.effect, ProgressEffect::Ignored);
    let done = report(&store, tenant, on, "a1", completed(88.0), 30)
        .await
        .unwrap();
    assert_eq!(
        done.effect,
        ProgressEffect::Moves(EnrolmentState::Completed)
    );
    let finished = done.enrolment.clone();
    assert_eq!(
        (
            finished.enrolment.started_at,
            finished.enrolment.completed_at,
            finished.enrolment.score.map(Score::value)
        ),
        (Some(20), Some(30), Some(88.0))
    );
    // Late news: an older start under a new attempt id, the completion sent again with another
    // score. Nothing moves.
    for (attempt, progress) in [("a0", Progress::Started), ("a1", completed(12.0))] {
        let late = report(&store, tenant, on, attempt, progress, 40)
            .await
            .unwrap();
        assert_eq!(late.effect, ProgressEffect::Ignored);
        assert_eq!(late.enrolment, finished);
    }
    let filter = EnrolmentFilter {
        user: Some(learner),
        ..Default::default()
    };
    assert_eq!(
        store.enrolments(tenant, filter, 10).await.unwrap(),
        vec![finished]
    );
}

pub async fn a_late_report_of_an_old_attempt_stays_with_its_enrolment<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Moved on");
    stored(&store, tenant, &c).await;
    let (learner, other) = (someone(), someone());
    let on = (c.id, learner);
    enrol(&store, tenant, c.id, &[learner, other])
        .await
        .unwrap();
    report(&store, tenant, on, "old", Progress::Started, 20)
        .await
        .unwrap();
    withdraw(&store, tenant, c.id, learner)
        .await
        .unwrap()
        .unwrap();
    enrol(&store, tenant, c.id, &[learner]).await.unwrap();
    let refused = report(&store, tenant, on, "old", completed(90.0), 30)
        .await
        .unwrap_err();
    assert_eq!(refusal(refused), "ENROLMENT_WITHDRAWN");
    assert_eq!(
        history(&store, tenant, c.id, learner).await,
        [EnrolmentState::Withdrawn, EnrolmentState::Enrolled],
        "the new enrolment is untouched"
    );
    let borrowed = report(&store, tenant, (c.id, other), "old", Progress::Started, 31)
        .await
        .unwrap_err();
    assert!(
        matches!(
            borrowed,
            StoreError::Invalid {
                field: "attempt_id",
                ..
            }
        ),
        "{borrowed:?}"
    );
    let stranger = report(
        &store,
        tenant,
        (c.id, someone()),
        "new",
        Progress::Started,
        32,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            stranger,
            StoreError::Missing {
                what: "enrolment",
                ..
            }
        ),
        "{stranger:?}"
    );
    // A refused first report binds nothing: the same attempt id works once it may.
    let fresh = report(&store, tenant, on, "new", Progress::Started, 33)
        .await
        .unwrap();
    assert_eq!(
        fresh.effect,
        ProgressEffect::Moves(EnrolmentState::InProgress)
    );
}

pub async fn enrolments_list_in_the_order_made_by_course_or_learner<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let (c1, c2) = (course("One"), course("Two"));
    stored(&store, tenant, &c1).await;
    stored(&store, tenant, &c2).await;
    let (ann, bob) = (someone(), someone());
    enrol(&store, tenant, c1.id, &[ann, bob]).await.unwrap();
    enrol(&store, tenant, c2.id, &[ann]).await.unwrap();
    let list = |course: Option<CourseId>, user: Option<UserId>, after| {
        let store = &store;
        async move {
            let filter = EnrolmentFilter {
                course,
                user,
                after,
                ..Default::default()
            };
            store.enrolments(tenant, filter, 2).await.unwrap()
        }
    };
    let anns = list(None, Some(ann), None).await;
    assert_eq!(
        anns.iter().map(|e| e.course).collect::<Vec<_>>(),
        [c1.id, c2.id]
    );
    let on_c1 = list(Some(c1.id), None, None).await;
    assert_eq!(on_c1.len(), 2);
    assert!(on_c1[0].id < on_c1[1].id);
    let rest = list(Some(c1.id), None, Some(on_c1[0].id.as_uuid())).await;
    assert_eq!(rest, on_c1[1..].to_vec());
    let elsewhere = EnrolmentFilter {
        user: Some(ann),
        ..Default::default()
    };
    assert!(
        store
            .enrolments(TenantId::generate(), elsewhere, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
