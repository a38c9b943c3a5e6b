//! Facts applied once per event, the one-Course-Tutor guard, and relationship listing.

use super::*;

pub(super) async fn facts_apply_once_per_event(store: impl Store) {
    let tenant = TenantId::generate();
    let (group, user) = (Uuid::new_v4(), Uuid::new_v4());
    let mut facts = batch(vec![Change::Touch(relationship(
        4, group, MEMBER, USER, user,
    ))]);
    facts.settings = Some(TenantSettings {
        locations_enabled: true,
        clients_enabled: false,
        mfa_required_for_admins: true,
    });
    facts.statuses = vec![SubjectStatus {
        user: UserId::from_uuid(user),
        status: UserStatus::Suspended,
        restrict_bookings: true,
    }];
    let (revision, replay) = store.apply_facts(tenant, &facts).await.unwrap();
    assert!(!replay);
    let (again, replay) = store.apply_facts(tenant, &facts).await.unwrap();
    assert!(replay);
    assert_eq!(
        again, revision,
        "a replay changes nothing, not even the revision"
    );

    let (rows, at) = store
        .subject_rows(tenant, UserId::from_uuid(user))
        .await
        .unwrap();
    assert_eq!(at, revision);
    assert!(rows.settings.locations_enabled && rows.settings.mfa_required_for_admins);
    assert_eq!(
        rows.status.map(|s| (s.status, s.restrict_bookings)),
        Some((UserStatus::Suspended, true))
    );
    assert_eq!(
        rows.relationships,
        [relationship(4, group, MEMBER, USER, user)]
    );

    store
        .apply_facts(
            tenant,
            &batch(vec![Change::Delete(relationship(
                4, group, MEMBER, USER, user,
            ))]),
        )
        .await
        .unwrap();
    let (rows, _) = store
        .subject_rows(tenant, UserId::from_uuid(user))
        .await
        .unwrap();
    assert!(rows.relationships.is_empty());
}

pub(super) async fn a_large_batch_keeps_its_order_and_the_last_word_on_each_fact(
    store: impl Store,
) {
    let tenant = TenantId::generate();
    let (group, user) = (Uuid::new_v4(), UserId::generate());
    let mut touched = relationship(4, group, MEMBER, USER, user.as_uuid());
    touched.valid_until = Some(100);
    let mut later = touched;
    later.valid_until = Some(200);
    // 2,500 members (several multi-row statements), the same fact touched twice, a delete in
    // the middle, and a status given twice.
    let mut changes: Vec<Change> = (0..2_500)
        .map(|_| Change::Touch(relationship(4, group, MEMBER, USER, Uuid::new_v4())))
        .collect();
    changes.push(Change::Touch(touched));
    changes.push(Change::Delete(touched));
    changes.push(Change::Touch(touched));
    changes.push(Change::Touch(later));
    let mut facts = batch(changes);
    facts.statuses = vec![
        SubjectStatus {
            user,
            status: UserStatus::Suspended,
            restrict_bookings: false,
        },
        SubjectStatus {
            user,
            status: UserStatus::Active,
            restrict_bookings: true,
        },
    ];
    store.apply_facts(tenant, &facts).await.unwrap();
    let members = store
        .relationships(
            tenant,
            RelationshipFilter {
                resource: Some((4, group)),
                relation: Some(MEMBER),
                subject: None,
            },
            None,
            5_000,
        )
        .await
        .unwrap();
    assert_eq!(members.len(), 2_501);
    let (rows, _) = store.subject_rows(tenant, user).await.unwrap();
    let mine: Vec<_> = rows
        .relationships
        .iter()
        .filter(|r| r.resource_id == group)
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].valid_until, Some(200), "the later touch wins");
    let status = rows.status.unwrap();
    assert_eq!(
        (status.status, status.restrict_bookings),
        (UserStatus::Active, true),
        "the later status wins"
    );
}

pub(super) async fn a_course_has_one_tutor_and_a_refused_batch_changes_nothing(store: impl Store) {
    let tenant = TenantId::generate();
    let course = CourseId::generate().as_uuid();
    let (first, second, bystander) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    store
        .apply_facts(
            tenant,
            &batch(vec![Change::Touch(relationship(
                COURSE,
                course,
                COURSE_TUTOR,
                USER,
                first,
            ))]),
        )
        .await
        .unwrap();
    let before = store.revision(tenant).await.unwrap();
    let refused = batch(vec![
        Change::Touch(relationship(4, Uuid::new_v4(), MEMBER, USER, bystander)),
        Change::Touch(relationship(COURSE, course, COURSE_TUTOR, USER, second)),
    ]);
    assert!(matches!(
        store.apply_facts(tenant, &refused).await,
        Err(StoreError::CourseTutorTaken)
    ));
    assert_eq!(store.revision(tenant).await.unwrap(), before);
    let (rows, _) = store
        .subject_rows(tenant, UserId::from_uuid(bystander))
        .await
        .unwrap();
    assert!(rows.relationships.is_empty(), "the whole batch was refused");
    // The refused event can be retried once the course is free.
    store
        .apply_facts(
            tenant,
            &batch(vec![Change::Delete(relationship(
                COURSE,
                course,
                COURSE_TUTOR,
                USER,
                first,
            ))]),
        )
        .await
        .unwrap();
    let (_, replay) = store.apply_facts(tenant, &refused).await.unwrap();
    assert!(!replay);
    // Touching the same tutor again is fine.
    store
        .apply_facts(
            tenant,
            &batch(vec![Change::Touch(relationship(
                COURSE,
                course,
                COURSE_TUTOR,
                USER,
                second,
            ))]),
        )
        .await
        .unwrap();
}

pub(super) async fn concurrent_tutors_leave_exactly_one(store: impl Store) {
    let store = Arc::new(store);
    let tenant = TenantId::generate();
    let course = CourseId::generate().as_uuid();
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let tutor = Uuid::new_v4();
                store
                    .apply_facts(
                        tenant,
                        &batch(vec![Change::Touch(relationship(
                            COURSE,
                            course,
                            COURSE_TUTOR,
                            USER,
                            tutor,
                        ))]),
                    )
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::CourseTutorTaken) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(won, 1);
    let tutors = store
        .relationships(
            tenant,
            RelationshipFilter {
                resource: Some((COURSE, course)),
                relation: Some(COURSE_TUTOR),
                subject: None,
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(tutors.len(), 1);
}

pub(super) async fn relationships_filter_and_page_in_key_order(store: impl Store) {
    let tenant = TenantId::generate();
    let group = Uuid::new_v4();
    let members: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    let changes = members
        .iter()
        .map(|m| Change::Touch(relationship(4, group, MEMBER, USER, *m)))
        .collect();
    store.apply_facts(tenant, &batch(changes)).await.unwrap();
    store
        .apply_facts(
            tenant,
            &batch(vec![Change::Touch(relationship(
                4,
                Uuid::new_v4(),
                MEMBER,
                USER,
                members[0],
            ))]),
        )
        .await
        .unwrap();
    let filter = RelationshipFilter {
        resource: Some((4, group)),
        relation: Some(MEMBER),
        subject: None,
    };
    let first = store.relationships(tenant, filter, None, 3).await.unwrap();
    let rest = store
        .relationships(tenant, filter, first.last().copied(), 3)
        .await
        .unwrap();
    assert_eq!((first.len(), rest.len()), (3, 2));
    let mut seen: Vec<_> = first.iter().chain(&rest).map(|r| r.subject_id).collect();
    seen.sort();
    let mut expected = members.clone();
    expected.sort();
    assert_eq!(seen, expected);
    let of_first = RelationshipFilter {
        resource: None,
        relation: None,
        subject: Some((USER, members[0])),
    };
    assert_eq!(
        store
            .relationships(tenant, of_first, None, 10)
            .await
            .unwrap()
            .len(),
        2
    );
}

pub(super) async fn related_reads_one_relation_at_many_objects_in_key_order(store: impl Store) {
    let tenant = TenantId::generate();
    let groups: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let changes = vec![
        Change::Touch(relationship(4, groups[0], MEMBER, USER, a)),
        Change::Touch(relationship(4, groups[0], MEMBER, USER, b)),
        Change::Touch(relationship(4, groups[1], MEMBER, USER, c)),
        // Another group, another relation, another tenant: none of these is read.
        Change::Touch(relationship(4, groups[2], MEMBER, USER, a)),
        Change::Touch(relationship(4, groups[1], PRIMARY_MEMBER, USER, a)),
    ];
    store.apply_facts(tenant, &batch(changes)).await.unwrap();
    store
        .apply_facts(
            TenantId::generate(),
            &batch(vec![Change::Touch(relationship(
                4, groups[0], MEMBER, USER, c,
            ))]),
        )
        .await
        .unwrap();
    let members = RelatedFilter {
        relation: MEMBER,
        end: End::Resource,
        kind: 4,
        ids: &groups[..2],
    };
    let all = store.related(tenant, members, None, 10).await.unwrap();
    let pairs: BTreeSet<_> = all.iter().map(|r| (r.resource_id, r.subject_id)).collect();
    assert_eq!(
        pairs,
        BTreeSet::from([(groups[0], a), (groups[0], b), (groups[1], c)])
    );
    let first = store.related(tenant, members, None, 2).await.unwrap();
    let rest = store
        .related(tenant, members, first.last().copied(), 2)
        .await
        .unwrap();
    assert_eq!(
        first.iter().chain(&rest).copied().collect::<Vec<_>>(),
        all,
        "pages follow key order"
    );
    let of_a = RelatedFilter {
        relation: MEMBER,
        end: End::Subject,
        kind: USER,
        ids: &[a, b],
    };
    let found: BTreeSet<_> = store
        .related(tenant, of_a, None, 10)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.resource_id, r.subject_id))
        .collect();
    assert_eq!(
        found,
        BTreeSet::from([(groups[0], a), (groups[0], b), (groups[2], a)])
    );
    let none = RelatedFilter { ids: &[], ..of_a };
    assert!(
        store
            .related(tenant, none, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub(super) async fn batches_apply_in_order_once_each_in_one_revision(store: impl Store) {
    let tenant = TenantId::generate();
    let (group, user) = (Uuid::new_v4(), Uuid::new_v4());
    let member = relationship(4, group, MEMBER, USER, user);
    let joined = batch(vec![Change::Touch(member)]);
    let (before, _) = store.apply_facts(tenant, &joined).await.unwrap();
    // The first was applied already: of touch, delete, touch-again only the two new apply,
    // in order, and the call moves the revision once.
    let left = batch(vec![Change::Delete(member)]);
    let back = batch(vec![Change::Touch(member)]);
    let crate::store::Applied {
        revision, replays, ..
    } = store
        .apply_fact_batches(tenant, &[joined.clone(), left.clone(), back.clone()])
        .await
        .unwrap();
    assert_eq!(replays, [true, false, false]);
    assert_eq!(revision.0, before.0 + 1);
    let (rows, _) = store
        .subject_rows(tenant, UserId::from_uuid(user))
        .await
        .unwrap();
    assert_eq!(
        rows.relationships,
        [member],
        "the later touch has the last word"
    );
    let again = store
        .apply_fact_batches(tenant, &[left, back])
        .await
        .unwrap();
    assert_eq!(again.replays, [true, true]);
    assert_eq!(again.revision, revision, "all replays: nothing moves");
}
