use lms_kernel::{ContentGrantId, CourseId, TenantId, Window};

use super::{an_event, audit, course, someone, stored};
use crate::store::{Asked, CourseRecord, GrantFilter, GrantRecord, Store, StoreError, ToEnrol};

fn grant_of(master: TenantId, client: TenantId, course: CourseId, window: Window) -> GrantRecord {
    GrantRecord {
        id: ContentGrantId::generate(),
        master,
        client,
        course,
        window,
        granted_by: "test".into(),
        granted_at: 1,
        updated_at: 1,
    }
}

async fn grant<S: Store>(store: &S, record: &GrantRecord) -> Result<(), StoreError> {
    store
        .grant_content(record, &an_event(), &audit("content_grant.granted"))
        .await
}

fn refusal(error: StoreError) -> &'static str {
    match error {
        StoreError::Refused { reason, .. } => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn revoke<S: Store>(store: &S, record: &GrantRecord) -> Option<GrantRecord> {
    store
        .revoke_grant(record.master, record.id, |_| an_event(), &audit("x"))
        .await
        .unwrap()
}

pub async fn a_course_is_granted_once_to_each_client_and_only_while_active<S: Store>(store: S) {
    let (master, client, other_client) = (
        TenantId::generate(),
        TenantId::generate(),
        TenantId::generate(),
    );
    let c = course("Shared");
    stored(&store, master, &c).await;
    let first = grant_of(master, client, c.id, Window::ALWAYS);
    grant(&store, &first).await.unwrap();
    let again = grant_of(master, client, c.id, Window::ALWAYS);
    let refused = grant(&store, &again).await.unwrap_err();
    match &refused {
        StoreError::Refused { reason, message } => {
            assert_eq!(*reason, "ALREADY_GRANTED");
            assert!(message.contains(&first.id.to_string()), "{message}");
        }
        other => panic!("{other:?}"),
    }
    grant(
        &store,
        &grant_of(master, other_client, c.id, Window::ALWAYS),
    )
    .await
    .expect("each client is granted on its own");
    // Only the master's own course, and only an active one.
    let elsewhere = course("Another tenant's");
    stored(&store, TenantId::generate(), &elsewhere).await;
    let missing = grant(
        &store,
        &grant_of(master, client, elsewhere.id, Window::ALWAYS),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(missing, StoreError::Missing { what: "course", .. }),
        "{missing:?}"
    );
    let old = CourseRecord {
        ever_enrolled: true,
        ..course("Old")
    };
    stored(&store, master, &old).await;
    store
        .remove_course(master, old.id, 5, |_| Vec::new(), &audit("course.deleted"))
        .await
        .unwrap();
    let archived = grant(&store, &grant_of(master, client, old.id, Window::ALWAYS))
        .await
        .unwrap_err();
    assert_eq!(refusal(archived), "ARCHIVED");
    let listed = store
        .content_grants(master, GrantFilter::default(), 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2, "the refusals wrote nothing");
}

pub async fn a_client_takes_a_granted_course_only_while_the_grant_is_in_effect<S: Store>(store: S) {
    let (master, client) = (TenantId::generate(), TenantId::generate());
    let c = CourseRecord {
        requires_approval: true,
        ..course("Granted")
    };
    stored(&store, master, &c).await;
    let own = course("The client's own");
    stored(&store, client, &own).await;
    let window = Window {
        from: Some(100),
        until: Some(200),
    };
    let record = grant_of(master, client, c.id, window);
    grant(&store, &record).await.unwrap();
    for (at, takes) in [(99, false), (100, true), (199, true), (200, false)] {
        let taken = store.takeable_course(client, c.id, at).await.unwrap();
        assert_eq!(taken.is_some(), takes, "at {at}");
        let listed = store.granted_courses(client, at).await.unwrap();
        assert_eq!(listed.len(), usize::from(takes), "at {at}");
    }
    let taken = store
        .takeable_course(client, c.id, 150)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.course.id, c.id);
    assert_eq!(taken.granted.as_ref().map(|g| g.id), Some(record.id));
    let own_taken = store
        .takeable_course(client, own.id, 150)
        .await
        .unwrap()
        .unwrap();
    assert!(own_taken.granted.is_none());
    // The master's course is nobody else's, and the grant is the client's alone.
    assert!(
        store
            .takeable_course(TenantId::generate(), c.id, 150)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .takeable_course(master, c.id, 150)
            .await
            .unwrap()
            .unwrap()
            .granted
            .is_none()
    );

    // The client's learners enrol on it in their own tenant; asking enrols at once (the grant
    // is the approval); the master's course counts as enrolled on.
    let (a, b) = (someone(), someone());
    let made = store
        .enrol(
            client,
            ToEnrol {
                course: c.id,
                users: &[a],
                by: "test",
                at: 150,
            },
            |_| an_event(),
            &audit("enrolment.enrolled"),
        )
        .await
        .unwrap();
    assert_eq!(made.len(), 1);
    let asked = store
        .ask_to_join(client, c.id, b, 150, |_| an_event(), &audit("x"))
        .await
        .unwrap();
    assert!(matches!(asked, Asked::Enrolled(_)), "{asked:?}");
    let mut filter = crate::store::EnrolmentFilter {
        course: Some(c.id),
        ..Default::default()
    };
    assert_eq!(store.enrolments(client, filter, 10).await.unwrap().len(), 2);
    assert!(
        store
            .enrolments(master, filter, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .course(master, c.id)
            .await
            .unwrap()
            .unwrap()
            .ever_enrolled
    );

    // After the window, or revoked, nothing more is taken; what was learnt stays the client's.
    let late = store
        .ask_to_join(client, c.id, someone(), 200, |_| an_event(), &audit("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(late, StoreError::Missing { what: "course", .. }),
        "{late:?}"
    );
    assert_eq!(revoke(&store, &record).await.map(|g| g.id), Some(record.id));
    assert!(revoke(&store, &record).await.is_none(), "revoked once");
    assert!(
        store
            .takeable_course(client, c.id, 150)
            .await
            .unwrap()
            .is_none()
    );
    filter.user = Some(a);
    assert_eq!(store.enrolments(client, filter, 10).await.unwrap().len(), 1);
    // Withdrawing stays the learner's, after the grant too.
    let withdrawn = store
        .withdraw(client, c.id, a, 300, |_| an_event(), &audit("x"))
        .await
        .unwrap()
        .expect("withdrawn");
    assert_eq!(withdrawn.enrolment.user, a);
}

pub async fn a_granted_course_is_never_erased<S: Store>(store: S) {
    let (master, client) = (TenantId::generate(), TenantId::generate());
    let c = course("Granted, never taken");
    stored(&store, master, &c).await;
    let record = grant_of(master, client, c.id, Window::ALWAYS);
    grant(&store, &record).await.unwrap();
    let refused = store
        .remove_course(master, c.id, 5, |_| Vec::new(), &audit("course.deleted"))
        .await
        .unwrap_err();
    assert_eq!(refusal(refused), "COURSE_GRANTED");
    assert!(store.course(master, c.id).await.unwrap().is_some());
    revoke(&store, &record).await.unwrap();
    store
        .remove_course(master, c.id, 5, |_| Vec::new(), &audit("course.deleted"))
        .await
        .unwrap()
        .expect("erased once nobody is granted it");
    assert!(store.course(master, c.id).await.unwrap().is_none());
}

pub async fn grants_are_the_master_s_listed_by_client_and_changed_in_place<S: Store>(store: S) {
    let (master, client, other) = (
        TenantId::generate(),
        TenantId::generate(),
        TenantId::generate(),
    );
    let mut grants = Vec::new();
    for (i, to) in [client, other, client].into_iter().enumerate() {
        let c = course(&format!("Course {i}"));
        stored(&store, master, &c).await;
        let record = grant_of(master, to, c.id, Window::ALWAYS);
        grant(&store, &record).await.unwrap();
        grants.push(record);
    }
    let ids = |records: Vec<GrantRecord>| records.into_iter().map(|g| g.id).collect::<Vec<_>>();
    let to_client = GrantFilter {
        client: Some(client),
        after: None,
    };
    assert_eq!(
        ids(store.content_grants(master, to_client, 10).await.unwrap()),
        [grants[0].id, grants[2].id]
    );
    let first_page = store
        .content_grants(master, GrantFilter::default(), 2)
        .await
        .unwrap();
    assert_eq!(ids(first_page.clone()), [grants[0].id, grants[1].id]);
    let rest = GrantFilter {
        client: None,
        after: Some(first_page[1].id),
    };
    assert_eq!(
        ids(store.content_grants(master, rest, 2).await.unwrap()),
        [grants[2].id]
    );
    // Another tenant neither reads nor changes the master's grants.
    let stranger = TenantId::generate();
    assert!(
        store
            .content_grant(stranger, grants[0].id)
            .await
            .unwrap()
            .is_none()
    );
    let window = Window {
        from: None,
        until: Some(500),
    };
    let untouched = store
        .change_grant(
            stranger,
            grants[0].id,
            window,
            9,
            |_| an_event(),
            &audit("x"),
        )
        .await
        .unwrap();
    assert!(untouched.is_none());
    let changed = store
        .change_grant(
            master,
            grants[0].id,
            window,
            9,
            |g| {
                assert_eq!(
                    g.window, window,
                    "the facts are built from the grant as it becomes"
                );
                an_event()
            },
            &audit("x"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((changed.window, changed.updated_at), (window, 9));
    assert_eq!(
        store.content_grant(master, grants[0].id).await.unwrap(),
        Some(changed)
    );
}

pub async fn a_catalogue_s_courses_are_granted_together_leaving_those_granted_before<S: Store>(
    store: S,
) {
    let (master, client) = (TenantId::generate(), TenantId::generate());
    let (fresh, before) = (course("Fresh"), course("Granted before"));
    let old = CourseRecord {
        ever_enrolled: true,
        ..course("Archived")
    };
    for c in [&fresh, &before, &old] {
        stored(&store, master, c).await;
    }
    store
        .remove_course(master, old.id, 5, |_| Vec::new(), &audit("course.deleted"))
        .await
        .unwrap();
    let elsewhere = course("Another tenant's");
    stored(&store, TenantId::generate(), &elsewhere).await;
    let first = grant_of(master, client, before.id, Window::ALWAYS);
    grant(&store, &first).await.unwrap();
    let records = [&fresh, &before, &old, &elsewhere]
        .iter()
        .map(|c| grant_of(master, client, c.id, Window::ALWAYS))
        .collect();
    let made = store
        .grant_courses(
            records,
            |made| {
                assert_eq!(made.len(), 1, "facts only for the grants made");
                an_event()
            },
            &audit("content_grant.granted"),
        )
        .await
        .unwrap();
    assert_eq!(
        made.iter().map(|g| g.course).collect::<Vec<_>>(),
        [fresh.id]
    );
    let all = store
        .content_grants(master, GrantFilter::default(), 10)
        .await
        .unwrap();
    let mut courses: Vec<_> = all.iter().map(|g| g.course).collect();
    courses.sort();
    let mut expected = vec![fresh.id, before.id];
    expected.sort();
    assert_eq!(courses, expected);
    assert_eq!(
        store.content_grant(master, first.id).await.unwrap(),
        Some(first),
        "the grant made before is left as it was"
    );
}
