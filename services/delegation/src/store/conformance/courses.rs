use lms_kernel::{CourseStatus, Removal, TenantId};

use super::{an_event, audit, course, lesson, stored, titles};
use crate::store::{CourseChange, CourseFilter, Store, StoreError};

pub async fn courses_are_read_only_within_their_tenant<S: Store>(store: S) {
    let (mine, theirs) = (TenantId::generate(), TenantId::generate());
    let c = course("Safety");
    stored(&store, mine, &c).await;
    assert_eq!(store.course(mine, c.id).await.unwrap(), Some(c.clone()));
    assert_eq!(store.course(theirs, c.id).await.unwrap(), None);
    let all = CourseFilter::default();
    assert!(store.courses(theirs, &all, 10).await.unwrap().is_empty());
    let change = CourseChange {
        title: Some("Stolen".into()),
        ..Default::default()
    };
    assert_eq!(
        store
            .update_course(theirs, c.id, &change, 2, &audit("course.updated"))
            .await
            .unwrap(),
        None
    );
    let removed = store
        .remove_course(theirs, c.id, 2, |_| Vec::new(), &audit("course.deleted"))
        .await
        .unwrap();
    assert_eq!(removed, None);
    assert_eq!(store.course(mine, c.id).await.unwrap(), Some(c));
}

pub async fn listing_pages_in_id_order_and_filters_by_visible_ids<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let mut courses: Vec<_> = (0..5).map(|i| course(&format!("C{i}"))).collect();
    for c in &courses {
        stored(&store, tenant, c).await;
    }
    courses.sort_by_key(|c| c.id);
    let first = store
        .courses(tenant, &CourseFilter::default(), 2)
        .await
        .unwrap();
    assert_eq!(first, courses[..2].to_vec());
    let rest = CourseFilter {
        after: Some(courses[1].id),
        ..Default::default()
    };
    assert_eq!(
        store.courses(tenant, &rest, 10).await.unwrap(),
        courses[2..].to_vec()
    );
    let only = CourseFilter {
        only: Some(vec![courses[4].id, courses[0].id]),
        ..Default::default()
    };
    let seen: Vec<_> = store
        .courses(tenant, &only, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(seen, vec![courses[0].id, courses[4].id]);
    let nothing = CourseFilter {
        only: Some(Vec::new()),
        ..Default::default()
    };
    assert!(
        store
            .courses(tenant, &nothing, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn an_update_changes_only_the_named_fields<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Old");
    stored(&store, tenant, &c).await;
    let change = CourseChange {
        requires_approval: Some(true),
        ..Default::default()
    };
    let updated = store
        .update_course(tenant, c.id, &change, 50, &audit("course.updated"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            updated.title.as_str(),
            updated.requires_approval,
            updated.updated_at
        ),
        ("Old", true, 50)
    );
    assert_eq!(store.course(tenant, c.id).await.unwrap(), Some(updated));
}

pub async fn an_archived_course_refuses_changes<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = lms_kernel::CourseId::generate();
    let record = crate::store::CourseRecord {
        id: c,
        ever_enrolled: true,
        ..course("Kept")
    };
    stored(&store, tenant, &record).await;
    store
        .remove_course(tenant, c, 2, |_| Vec::new(), &audit("course.deleted"))
        .await
        .unwrap()
        .unwrap();
    let change = CourseChange {
        title: Some("New".into()),
        ..Default::default()
    };
    let refused = store
        .update_course(tenant, c, &change, 3, &audit("course.updated"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::Refused {
                reason: "ARCHIVED",
                ..
            }
        ),
        "{refused:?}"
    );
    let refused = store
        .create_lesson(tenant, &lesson(c, "L"), None, &[], &audit("lesson.created"))
        .await
        .unwrap_err();
    assert!(matches!(
        refused,
        StoreError::Refused {
            reason: "ARCHIVED",
            ..
        }
    ));
    let again = store
        .remove_course(tenant, c, 4, |_| Vec::new(), &audit("course.deleted"))
        .await
        .unwrap_err();
    assert!(matches!(
        again,
        StoreError::Refused {
            reason: "ARCHIVED",
            ..
        }
    ));
}

pub async fn a_course_nobody_enrolled_on_is_erased_with_its_lessons<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Gone");
    stored(&store, tenant, &c).await;
    let l = store
        .create_lesson(
            tenant,
            &lesson(c.id, "L1"),
            None,
            &[],
            &audit("lesson.created"),
        )
        .await
        .unwrap();
    let removed = store
        .remove_course(tenant, c.id, 9, |_| an_event(), &audit("course.deleted"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(removed.removal, Removal::Erase);
    assert_eq!(removed.lessons, vec![l.clone()]);
    assert_eq!(store.course(tenant, c.id).await.unwrap(), None);
    assert_eq!(store.lesson(tenant, l.id).await.unwrap(), None);
}

pub async fn a_course_someone_enrolled_on_is_archived_and_kept<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = crate::store::CourseRecord {
        ever_enrolled: true,
        ..course("History")
    };
    stored(&store, tenant, &c).await;
    let removed = store
        .remove_course(tenant, c.id, 9, |_| an_event(), &audit("course.deleted"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(removed.removal, Removal::Archive);
    let kept = store.course(tenant, c.id).await.unwrap().unwrap();
    assert_eq!((kept.status, kept.updated_at), (CourseStatus::Archived, 9));
    let active = store
        .courses(tenant, &CourseFilter::default(), 10)
        .await
        .unwrap();
    assert!(
        active.is_empty(),
        "archived courses are left out unless asked"
    );
    let everything = CourseFilter {
        include_archived: true,
        ..Default::default()
    };
    assert_eq!(
        store.courses(tenant, &everything, 10).await.unwrap(),
        vec![kept]
    );
}

pub async fn lessons_keep_a_dense_order_through_inserts_moves_and_deletes<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Ordered");
    stored(&store, tenant, &c).await;
    let add = |title: &'static str, at: Option<u32>| {
        let store = &store;
        async move {
            store
                .create_lesson(
                    tenant,
                    &lesson(c.id, title),
                    at,
                    &[],
                    &audit("lesson.created"),
                )
                .await
                .unwrap()
        }
    };
    add("B", None).await;
    let d = add("D", None).await;
    add("A", Some(1)).await;
    add("C", Some(3)).await;
    assert_eq!(titles(&store, tenant, c.id).await, ["A", "B", "C", "D"]);
    // D to the front, then back to third.
    store
        .update_lesson(tenant, d.id, None, Some(1), &audit("lesson.updated"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(titles(&store, tenant, c.id).await, ["D", "A", "B", "C"]);
    let moved = store
        .update_lesson(tenant, d.id, Some("D2"), Some(3), &audit("lesson.updated"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.position, 3);
    assert_eq!(titles(&store, tenant, c.id).await, ["A", "B", "D2", "C"]);
    store
        .delete_lesson(tenant, d.id, &an_event(), &audit("lesson.deleted"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(titles(&store, tenant, c.id).await, ["A", "B", "C"]);
}

pub async fn a_lesson_position_past_the_end_is_refused<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Short");
    stored(&store, tenant, &c).await;
    let refused = store
        .create_lesson(
            tenant,
            &lesson(c.id, "X"),
            Some(2),
            &[],
            &audit("lesson.created"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::Invalid {
                field: "position",
                ..
            }
        ),
        "{refused:?}"
    );
    let l = store
        .create_lesson(
            tenant,
            &lesson(c.id, "X"),
            Some(1),
            &[],
            &audit("lesson.created"),
        )
        .await
        .unwrap();
    let refused = store
        .update_lesson(tenant, l.id, None, Some(2), &audit("lesson.updated"))
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Invalid { .. }));
    let missing = store
        .create_lesson(
            tenant,
            &lesson(lms_kernel::CourseId::generate(), "X"),
            None,
            &[],
            &audit("lesson.created"),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        missing,
        StoreError::Missing { what: "course", .. }
    ));
}

pub async fn assigning_a_lesson_twice_counts_once<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Assigned");
    stored(&store, tenant, &c).await;
    let l = store
        .create_lesson(
            tenant,
            &lesson(c.id, "L"),
            None,
            &[],
            &audit("lesson.created"),
        )
        .await
        .unwrap();
    let (user, group) = (super::someone(), lms_kernel::GroupId::generate());
    let first = store
        .assign_lesson(tenant, l.id, &[user], &[group], &audit("lesson.assigned"))
        .await
        .unwrap();
    let again = store
        .assign_lesson(tenant, l.id, &[user], &[group], &audit("lesson.assigned"))
        .await
        .unwrap();
    assert_eq!((first, again), (2, 0));
}
