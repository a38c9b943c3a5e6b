//! What decisions read: revisions, subject rows, resource rows, unit ancestors.

use super::*;

pub(super) async fn every_write_bumps_the_tenant_revision(store: impl Store) {
    let (tenant, other) = (TenantId::generate(), TenantId::generate());
    assert_eq!(store.revision(tenant).await.unwrap(), Revision(0));
    let first = store
        .insert_role(tenant, &role("A"), audit("role.created", 1))
        .await
        .unwrap();
    let second = store
        .insert_assignment(
            tenant,
            &assignment(UserId::generate(), RoleId::BuiltIn(Template::Tutor), false),
            audit("role_assignment.created", 2),
        )
        .await
        .unwrap();
    assert!(second > first);
    assert_eq!(store.revision(tenant).await.unwrap(), second);
    assert_eq!(
        store.revision(other).await.unwrap(),
        Revision(0),
        "revisions are per tenant"
    );
}

pub(super) async fn subject_rows_gather_roles_relations_and_clients(store: impl Store) {
    let (tenant, client) = (TenantId::generate(), TenantId::generate());
    let user = UserId::generate();
    let coach = role("Coach");
    store
        .insert_role(tenant, &coach, audit("role.created", coach.id))
        .await
        .unwrap();
    for role in [RoleId::Custom(coach.id), RoleId::BuiltIn(Template::Tutor)] {
        let a = assignment(user, role, false);
        store
            .insert_assignment(tenant, &a, audit("role_assignment.created", a.id))
            .await
            .unwrap();
    }
    store
        .apply_facts(
            tenant,
            &batch(vec![Change::Touch(relationship(
                TENANT,
                tenant.as_uuid(),
                CLIENT,
                TENANT,
                client.as_uuid(),
            ))]),
        )
        .await
        .unwrap();
    let (rows, _) = store.subject_rows(tenant, user).await.unwrap();
    assert_eq!(rows.settings, TenantSettings::default());
    assert_eq!(rows.status, None, "never pushed means active");
    assert_eq!(rows.assignments.len(), 2);
    assert_eq!(
        rows.custom_roles,
        [HeldCustomRole {
            id: coach.id,
            grants: coach.grants,
            responsibilities: coach.responsibilities
        }]
    );
    assert_eq!(rows.clients, [client]);
}

const EMPLOYEE: i16 = 2;
const INVITEE: i16 = 13;
const ENROLLED: i16 = 15;
const OWNING_UNIT: i16 = 17;
const PARENT_COURSE: i16 = 11;
const GROUP: i16 = 4;
const LESSON: i16 = 7;
const EVENT: i16 = 8;

/// `child`'s parent unit is `parent`.
fn parent_unit(child: UnitId, parent: UnitId) -> Change {
    Change::Touch(relationship(
        UNIT,
        child.as_uuid(),
        PARENT_UNIT,
        UNIT,
        parent.as_uuid(),
    ))
}

async fn touch(store: &impl Store, tenant: TenantId, changes: Vec<Change>) -> Revision {
    store.apply_facts(tenant, &batch(changes)).await.unwrap().0
}

pub(super) async fn resource_rows_of_a_user_carry_their_relations_and_every_unit_chain(
    store: impl Store,
) {
    let tenant = TenantId::generate();
    let (user, inviter) = (UserId::generate(), UserId::generate());
    let (root, mid, leaf) = (UnitId::generate(), UnitId::generate(), UnitId::generate());
    let (team, club, course) = (Uuid::now_v7(), Uuid::now_v7(), CourseId::generate());
    let ended = Relationship {
        valid_from: Some(1_000),
        valid_until: Some(2_000),
        ..relationship(UNIT, leaf.as_uuid(), EMPLOYEE, USER, user.as_uuid())
    };
    let wanted = vec![
        ended,
        relationship(UNIT, mid.as_uuid(), EMPLOYEE, USER, user.as_uuid()),
        relationship(GROUP, team, PRIMARY_MEMBER, USER, user.as_uuid()),
        relationship(GROUP, club, MEMBER, USER, user.as_uuid()),
        relationship(USER, inviter.as_uuid(), INVITEE, USER, user.as_uuid()),
    ];
    let mut changes = vec![parent_unit(leaf, mid), parent_unit(mid, root)];
    changes.extend(wanted.iter().copied().map(Change::Touch));
    // Not what a user as a resource is decided on: not read.
    changes.push(Change::Touch(relationship(
        COURSE,
        course.as_uuid(),
        ENROLLED,
        USER,
        user.as_uuid(),
    )));
    let mut facts = batch(changes);
    facts.statuses = vec![SubjectStatus {
        user,
        status: UserStatus::Active,
        restrict_bookings: true,
    }];
    let written = store.apply_facts(tenant, &facts).await.unwrap().0;
    let (rows, revision) = store
        .resource_rows(tenant, USER, user.as_uuid())
        .await
        .unwrap();
    assert_eq!(revision, written);
    assert_eq!(
        rows.status,
        Some(SubjectStatus {
            user,
            status: UserStatus::Active,
            restrict_bookings: true
        })
    );
    let mut expected = wanted;
    expected.sort_by_key(|r| (r.resource_type, r.resource_id, r.relation));
    assert_eq!(
        rows.relationships, expected,
        "in key order, windows as stored"
    );
    assert_eq!(
        rows.unit_chains,
        [(leaf, vec![leaf, mid, root]), (mid, vec![mid, root])].into()
    );
}

pub(super) async fn resource_rows_of_courses_lessons_and_events_name_what_they_hang_from(
    store: impl Store,
) {
    let tenant = TenantId::generate();
    let (root, owner) = (UnitId::generate(), UnitId::generate());
    let (course, lesson, event) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let owned = relationship(COURSE, course, OWNING_UNIT, UNIT, owner.as_uuid());
    let in_course = |kind, id| relationship(kind, id, PARENT_COURSE, COURSE, course);
    touch(
        &store,
        tenant,
        vec![
            parent_unit(owner, root),
            Change::Touch(owned),
            Change::Touch(in_course(LESSON, lesson)),
            Change::Touch(in_course(EVENT, event)),
        ],
    )
    .await;
    let (rows, _) = store.resource_rows(tenant, COURSE, course).await.unwrap();
    assert_eq!(rows.relationships, [owned]);
    assert_eq!(rows.unit_chains, [(owner, vec![owner, root])].into());
    assert_eq!(rows.status, None);
    for (kind, id) in [(LESSON, lesson), (EVENT, event)] {
        let (rows, _) = store.resource_rows(tenant, kind, id).await.unwrap();
        assert_eq!(rows.relationships, [in_course(kind, id)], "{kind}");
        assert!(rows.unit_chains.is_empty(), "{kind}");
    }
    let (rows, _) = store
        .resource_rows(tenant, UNIT, owner.as_uuid())
        .await
        .unwrap();
    assert_eq!(rows.unit_chains, [(owner, vec![owner, root])].into());
    assert!(rows.relationships.is_empty());
}

pub(super) async fn resource_rows_of_an_unknown_user_are_empty_at_the_current_revision(
    store: impl Store,
) {
    let tenant = TenantId::generate();
    let (rows, revision) = store
        .resource_rows(tenant, USER, Uuid::now_v7())
        .await
        .unwrap();
    assert_eq!((rows, revision), (ResourceRows::default(), Revision(0)));
    let written = touch(
        &store,
        tenant,
        vec![parent_unit(UnitId::generate(), UnitId::generate())],
    )
    .await;
    let (rows, revision) = store
        .resource_rows(tenant, USER, Uuid::now_v7())
        .await
        .unwrap();
    assert_eq!((rows, revision), (ResourceRows::default(), written));
}

pub(super) async fn resource_rows_refuse_a_unit_cycle(store: impl Store) {
    let tenant = TenantId::generate();
    let (a, b, c) = (UnitId::generate(), UnitId::generate(), UnitId::generate());
    let user = UserId::generate();
    touch(
        &store,
        tenant,
        vec![
            parent_unit(a, b),
            parent_unit(b, c),
            parent_unit(c, a),
            Change::Touch(relationship(
                UNIT,
                a.as_uuid(),
                EMPLOYEE,
                USER,
                user.as_uuid(),
            )),
        ],
    )
    .await;
    for (kind, id) in [(UNIT, b.as_uuid()), (USER, user.as_uuid())] {
        assert!(
            matches!(
                store.resource_rows(tenant, kind, id).await,
                Err(StoreError::Corrupt(_))
            ),
            "{kind}"
        );
    }
}

pub(super) async fn resource_rows_carry_the_revision_of_the_tenant_that_owns_the_resource(
    store: impl Store,
) {
    let (a, b) = (TenantId::generate(), TenantId::generate());
    let (in_a, in_b) = (UnitId::generate(), UnitId::generate());
    let mut last_a = Revision(0);
    for _ in 0..3 {
        last_a = touch(&store, a, vec![parent_unit(in_a, UnitId::generate())]).await;
    }
    let last_b = touch(&store, b, vec![parent_unit(in_b, UnitId::generate())]).await;
    assert_ne!(
        last_a, last_b,
        "the tenants wrote different numbers of times"
    );
    let (_, revision) = store.resource_rows(b, UNIT, in_b.as_uuid()).await.unwrap();
    assert_eq!(revision, last_b);
    assert_eq!(revision, store.revision(b).await.unwrap());
    let (_, revision) = store.resource_rows(a, UNIT, in_a.as_uuid()).await.unwrap();
    assert_eq!(revision, last_a);
}

pub(super) async fn unit_ancestors_follow_parents_and_refuse_cycles(store: impl Store) {
    let tenant = TenantId::generate();
    let (root, mid, leaf) = (UnitId::generate(), UnitId::generate(), UnitId::generate());
    store
        .apply_facts(
            tenant,
            &batch(vec![
                Change::Touch(relationship(
                    UNIT,
                    leaf.as_uuid(),
                    PARENT_UNIT,
                    UNIT,
                    mid.as_uuid(),
                )),
                Change::Touch(relationship(
                    UNIT,
                    mid.as_uuid(),
                    PARENT_UNIT,
                    UNIT,
                    root.as_uuid(),
                )),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(
        store.unit_ancestors(tenant, leaf).await.unwrap(),
        [leaf, mid, root]
    );
    assert_eq!(store.unit_ancestors(tenant, root).await.unwrap(), [root]);
    store
        .apply_facts(
            tenant,
            &batch(vec![Change::Touch(relationship(
                UNIT,
                root.as_uuid(),
                PARENT_UNIT,
                UNIT,
                leaf.as_uuid(),
            ))]),
        )
        .await
        .unwrap();
    assert!(matches!(
        store.unit_ancestors(tenant, leaf).await,
        Err(StoreError::Corrupt(_))
    ));
}

pub(super) async fn a_unit_is_known_by_its_facts_or_assignments_in_its_own_tenant(
    store: impl Store,
) {
    const TENANT_TYPE: i16 = 1;
    const UNIT_OF_TENANT: i16 = 18;
    let (tenant, other) = (TenantId::generate(), TenantId::generate());
    let (root, child, assigned, stranger) = (
        UnitId::generate(),
        UnitId::generate(),
        UnitId::generate(),
        UnitId::generate(),
    );
    store
        .apply_facts(
            tenant,
            &batch(vec![
                Change::Touch(relationship(
                    UNIT,
                    root.as_uuid(),
                    UNIT_OF_TENANT,
                    TENANT_TYPE,
                    tenant.as_uuid(),
                )),
                Change::Touch(relationship(
                    UNIT,
                    child.as_uuid(),
                    PARENT_UNIT,
                    UNIT,
                    root.as_uuid(),
                )),
            ]),
        )
        .await
        .unwrap();
    let mut at_unit = assignment(UserId::generate(), RoleId::BuiltIn(Template::Tutor), false);
    at_unit.unit = Some(assigned);
    store
        .insert_assignment(tenant, &at_unit, audit("role_assignment.created", 1))
        .await
        .unwrap();
    for unit in [root, child, assigned] {
        assert!(store.unit_known(tenant, unit).await.unwrap(), "{unit}");
        assert!(!store.unit_known(other, unit).await.unwrap(), "{unit}");
    }
    assert!(!store.unit_known(tenant, stranger).await.unwrap());
}

pub(super) async fn statuses_page_in_user_order_within_their_tenant(store: impl Store) {
    let (tenant, other) = (TenantId::generate(), TenantId::generate());
    let mut users: Vec<UserId> = (0..5).map(|_| UserId::generate()).collect();
    let mut facts = batch(Vec::new());
    facts.statuses = users
        .iter()
        .enumerate()
        .map(|(i, user)| SubjectStatus {
            user: *user,
            status: UserStatus::Active,
            restrict_bookings: i == 2,
        })
        .collect();
    store.apply_facts(tenant, &facts).await.unwrap();
    let mut elsewhere = batch(Vec::new());
    elsewhere.statuses = vec![SubjectStatus {
        user: UserId::generate(),
        status: UserStatus::Active,
        restrict_bookings: false,
    }];
    store.apply_facts(other, &elsewhere).await.unwrap();
    let restricted = users[2];
    users.sort();
    let first = store.statuses(tenant, None, 3).await.unwrap();
    let rest = store
        .statuses(tenant, Some(first[2].user), 3)
        .await
        .unwrap();
    let listed: Vec<UserId> = first.iter().chain(&rest).map(|s| s.user).collect();
    assert_eq!(listed, users, "every user of the tenant once, in id order");
    for status in first.iter().chain(&rest) {
        assert_eq!(status.restrict_bookings, status.user == restricted);
        assert_eq!(status.status, UserStatus::Active);
    }
}
