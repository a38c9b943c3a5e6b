use lms_kernel::{Responsibility, TenantId, UserId, Window};

use super::{an_event, audit, course, someone, stored};
use crate::store::{ResponsibilityFilter, ResponsibilityRecord, Store, StoreError};

fn duty(
    kind: Responsibility,
    course: lms_kernel::CourseId,
    user: UserId,
    window: Window,
) -> ResponsibilityRecord {
    ResponsibilityRecord {
        kind,
        object: course.as_uuid(),
        user,
        window,
        assigned_by: "test".into(),
        assigned_at: 1,
    }
}

fn window(from: Option<i64>, until: Option<i64>) -> Window {
    Window { from, until }
}

async fn give<S: Store>(
    store: &S,
    tenant: TenantId,
    record: &ResponsibilityRecord,
    now: i64,
) -> Result<(), StoreError> {
    store
        .give_responsibility(
            tenant,
            record,
            now,
            &an_event(),
            &audit("responsibility.given"),
        )
        .await
}

pub async fn a_course_has_one_tutor_at_a_time<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Tutored");
    stored(&store, tenant, &c).await;
    let (tutor, other) = (someone(), someone());
    give(
        &store,
        tenant,
        &duty(Responsibility::CourseTutor, c.id, tutor, Window::ALWAYS),
        10,
    )
    .await
    .unwrap();
    let refused = give(
        &store,
        tenant,
        &duty(Responsibility::CourseTutor, c.id, other, Window::ALWAYS),
        10,
    )
    .await
    .unwrap_err();
    match refused {
        StoreError::Refused { reason, message } => {
            assert_eq!(reason, "COURSE_TUTOR_TAKEN");
            assert!(
                message.contains(&tutor.to_string()),
                "names the holder: {message}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Any number of Course Administrators.
    for admin in [other, someone()] {
        give(
            &store,
            tenant,
            &duty(
                Responsibility::CourseAdministrator,
                c.id,
                admin,
                Window::ALWAYS,
            ),
            10,
        )
        .await
        .unwrap();
    }
    let on_course = ResponsibilityFilter {
        object: Some(c.id.as_uuid()),
        user: None,
    };
    assert_eq!(
        store
            .responsibilities(tenant, on_course)
            .await
            .unwrap()
            .len(),
        3
    );
}

pub async fn cover_fits_around_the_tutor_s_window<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Covered");
    stored(&store, tenant, &c).await;
    let (tutor, cover) = (someone(), someone());
    give(
        &store,
        tenant,
        &duty(
            Responsibility::CourseTutor,
            c.id,
            tutor,
            window(None, Some(100)),
        ),
        10,
    )
    .await
    .unwrap();
    let overlapping = duty(
        Responsibility::CourseTutor,
        c.id,
        cover,
        window(Some(50), Some(200)),
    );
    assert!(give(&store, tenant, &overlapping, 10).await.is_err());
    let after = duty(
        Responsibility::CourseTutor,
        c.id,
        cover,
        window(Some(100), Some(200)),
    );
    give(&store, tenant, &after, 10).await.unwrap();
}

pub async fn concurrent_tutors_for_one_course_leave_exactly_one<S: Store + Clone>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Raced");
    stored(&store, tenant, &c).await;
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let record = duty(Responsibility::CourseTutor, c.id, someone(), Window::ALWAYS);
            tokio::spawn(async move { give(&store, tenant, &record, 10).await })
        })
        .collect();
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::Refused {
                reason: "COURSE_TUTOR_TAKEN",
                ..
            }) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(won, 1);
    let on_course = ResponsibilityFilter {
        object: Some(c.id.as_uuid()),
        user: None,
    };
    assert_eq!(
        store
            .responsibilities(tenant, on_course)
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn giving_again_replaces_the_window<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Again");
    stored(&store, tenant, &c).await;
    let admin = someone();
    give(
        &store,
        tenant,
        &duty(
            Responsibility::CourseAdministrator,
            c.id,
            admin,
            Window::ALWAYS,
        ),
        10,
    )
    .await
    .unwrap();
    let bounded = duty(
        Responsibility::CourseAdministrator,
        c.id,
        admin,
        window(None, Some(500)),
    );
    give(&store, tenant, &bounded, 10).await.unwrap();
    let mine = ResponsibilityFilter {
        object: None,
        user: Some(admin),
    };
    assert_eq!(
        store.responsibilities(tenant, mine).await.unwrap(),
        vec![bounded]
    );
}

pub async fn taking_away_answers_what_was_held<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Taken");
    stored(&store, tenant, &c).await;
    let tutor = someone();
    let record = duty(
        Responsibility::CourseTutor,
        c.id,
        tutor,
        window(None, Some(900)),
    );
    give(&store, tenant, &record, 10).await.unwrap();
    let take = |tenant| {
        let store = &store;
        async move {
            store
                .take_responsibility(
                    tenant,
                    Responsibility::CourseTutor,
                    c.id.as_uuid(),
                    tutor,
                    &an_event(),
                    &audit("responsibility.taken"),
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(take(TenantId::generate()).await, None, "not across tenants");
    assert_eq!(take(tenant).await, Some(record));
    assert_eq!(take(tenant).await, None);
    // The course is free for another tutor now.
    give(
        &store,
        tenant,
        &duty(Responsibility::CourseTutor, c.id, someone(), Window::ALWAYS),
        10,
    )
    .await
    .unwrap();
}

pub async fn a_missing_or_archived_course_takes_no_responsibility<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let missing = duty(
        Responsibility::CourseTutor,
        lms_kernel::CourseId::generate(),
        someone(),
        Window::ALWAYS,
    );
    assert!(matches!(
        give(&store, tenant, &missing, 10).await,
        Err(StoreError::Missing { what: "course", .. })
    ));
    let c = crate::store::CourseRecord {
        ever_enrolled: true,
        ..course("Old")
    };
    stored(&store, tenant, &c).await;
    store
        .remove_course(tenant, c.id, 5, |_| Vec::new(), &audit("course.deleted"))
        .await
        .unwrap()
        .unwrap();
    let late = duty(
        Responsibility::CourseAdministrator,
        c.id,
        someone(),
        Window::ALWAYS,
    );
    assert!(matches!(
        give(&store, tenant, &late, 10).await,
        Err(StoreError::Refused {
            reason: "ARCHIVED",
            ..
        })
    ));
}
