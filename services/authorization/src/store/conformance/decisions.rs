//! What decisions read: revisions, subject rows, unit ancestors.

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
