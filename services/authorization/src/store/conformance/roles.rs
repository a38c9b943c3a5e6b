//! Roles, assignments and the audit trail.

use super::*;

pub(super) async fn roles_are_stored_versioned_and_named_uniquely(store: impl Store) {
    let tenant = TenantId::generate();
    let mut coach = role("Coach");
    store
        .insert_role(tenant, &coach, audit("role.created", coach.id))
        .await
        .unwrap();
    assert_eq!(
        store.role(tenant, coach.id).await.unwrap(),
        Some(coach.clone())
    );
    assert!(
        store
            .role(TenantId::generate(), coach.id)
            .await
            .unwrap()
            .is_none(),
        "tenants never see each other's roles"
    );

    let clash = role("COACH");
    assert!(matches!(
        store
            .insert_role(tenant, &clash, audit("role.created", clash.id))
            .await,
        Err(StoreError::DuplicateName)
    ));

    coach.grants = coach
        .grants
        .with(Reach::Team, PermissionSet::of(&[Permission::ReportsRead]));
    coach.name = "Head coach".into();
    assert!(
        store
            .update_role(tenant, &coach, Some(1), audit("role.updated", coach.id))
            .await
            .unwrap()
            .is_some()
    );
    let stored = store.role(tenant, coach.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.version, stored.grants, stored.name.as_str()),
        (2, coach.grants, "Head coach")
    );
    assert!(matches!(
        store
            .update_role(tenant, &coach, Some(1), audit("role.updated", coach.id))
            .await,
        Err(StoreError::VersionMismatch { expected: 1 })
    ));
    assert!(
        store
            .update_role(tenant, &role("ghost"), None, audit("role.updated", 0))
            .await
            .unwrap()
            .is_none()
    );

    let names: Vec<_> = store
        .roles(tenant, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["Head coach"]);
    store
        .insert_role(tenant, &role("Assessor"), audit("role.created", 3))
        .await
        .unwrap();
    let page = store.roles(tenant, Some("assessor"), 10).await.unwrap();
    assert_eq!(page.len(), 1, "paging by name key");
}

pub(super) async fn a_held_role_cannot_be_deleted(store: impl Store) {
    let tenant = TenantId::generate();
    let coach = role("Coach");
    store
        .insert_role(tenant, &coach, audit("role.created", coach.id))
        .await
        .unwrap();
    let held = assignment(UserId::generate(), RoleId::Custom(coach.id), false);
    store
        .insert_assignment(tenant, &held, audit("role_assignment.created", held.id))
        .await
        .unwrap();
    assert!(matches!(
        store
            .delete_role(tenant, coach.id, audit("role.deleted", coach.id))
            .await,
        Err(StoreError::RoleHeld { holders: 1 })
    ));
    store
        .delete_assignment(tenant, held.id, audit("role_assignment.revoked", held.id))
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .delete_role(tenant, coach.id, audit("role.deleted", coach.id))
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.role(tenant, coach.id).await.unwrap().is_none());
    assert!(
        store
            .delete_role(tenant, coach.id, audit("role.deleted", coach.id))
            .await
            .unwrap()
            .is_none()
    );
}

pub(super) async fn assignments_list_by_user_and_role_with_one_main_role(store: impl Store) {
    let tenant = TenantId::generate();
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let tutor = RoleId::BuiltIn(Template::Tutor);
    let first = assignment(alice, tutor, true);
    let second = assignment(alice, RoleId::BuiltIn(Template::Manager), true);
    let bobs = assignment(bob, tutor, false);
    for a in [&first, &second, &bobs] {
        store
            .insert_assignment(tenant, a, audit("role_assignment.created", a.id))
            .await
            .unwrap();
    }
    let alices = store.assignments_of(tenant, alice).await.unwrap();
    assert_eq!(alices.len(), 2);
    let mains: Vec<_> = alices
        .iter()
        .filter(|a| a.main_role)
        .map(|a| a.id)
        .collect();
    assert_eq!(mains, [second.id], "a new main role takes the flag");

    let updated = store
        .set_main_role(
            tenant,
            alice,
            first.id,
            audit("role_assignment.main_role_set", first.id),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(updated.main_role);
    let mains: Vec<_> = store
        .assignments_of(tenant, alice)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.main_role)
        .map(|a| a.id)
        .collect();
    assert_eq!(mains, [first.id]);
    assert!(
        store
            .set_main_role(
                tenant,
                bob,
                first.id,
                audit("role_assignment.main_role_set", first.id)
            )
            .await
            .unwrap()
            .is_none(),
        "not bob's"
    );

    let holders = store.holders_of(tenant, tutor, None, 10).await.unwrap();
    assert_eq!(holders.len(), 2);
    let after_first = store
        .holders_of(tenant, tutor, Some(holders[0].id), 10)
        .await
        .unwrap();
    assert_eq!(after_first, holders[1..]);
    assert_eq!(
        store.assignment(tenant, bobs.id).await.unwrap(),
        Some(bobs.clone())
    );

    let (revoked, _) = store
        .delete_assignment(tenant, bobs.id, audit("role_assignment.revoked", bobs.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked, bobs);
    assert!(
        store
            .delete_assignment(tenant, bobs.id, audit("role_assignment.revoked", bobs.id))
            .await
            .unwrap()
            .is_none()
    );
}

pub(super) async fn every_change_leaves_an_audit_record_newest_first(store: impl Store) {
    let tenant = TenantId::generate();
    let a = assignment(UserId::generate(), RoleId::BuiltIn(Template::Tutor), false);
    store
        .insert_assignment(tenant, &a, audit("role_assignment.created", a.id))
        .await
        .unwrap();
    store
        .delete_assignment(tenant, a.id, audit("role_assignment.revoked", a.id))
        .await
        .unwrap();
    store
        .insert_role(tenant, &role("Coach"), audit("role.created", "x"))
        .await
        .unwrap();
    let all = store.audit_records(tenant, None, None, 10).await.unwrap();
    let actions: Vec<_> = all.iter().map(|r| r.entry.action).collect();
    assert_eq!(
        actions,
        [
            "role.created",
            "role_assignment.revoked",
            "role_assignment.created"
        ]
    );
    let about_a = store
        .audit_records(tenant, Some((5, a.id.to_string())), None, 10)
        .await
        .unwrap();
    assert_eq!(about_a.len(), 2);
    let older = store
        .audit_records(tenant, None, Some(all[0].sequence), 10)
        .await
        .unwrap();
    assert_eq!(older.len(), 2);
    assert!(
        store
            .audit_records(TenantId::generate(), None, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Sixteen writers at once all succeed. Choosing a main role reads before it writes, which on
/// SQLite fails at once with SQLITE_BUSY unless write transactions take the lock up front.
pub(super) async fn sixteen_concurrent_writers_all_succeed(store: impl Store) {
    let store = Arc::new(store);
    let tenant = TenantId::generate();
    let user = UserId::generate();
    let mut held = Vec::new();
    for template in [Template::Tutor, Template::Manager]
        .into_iter()
        .cycle()
        .take(16)
    {
        let a = assignment(user, RoleId::BuiltIn(template), false);
        store
            .insert_assignment(tenant, &a, audit("role_assignment.created", a.id))
            .await
            .unwrap();
        held.push(a.id);
    }
    let writers: Vec<_> = held
        .iter()
        .enumerate()
        .map(|(n, &id)| {
            let store = store.clone();
            tokio::spawn(async move {
                if n % 2 == 0 {
                    let chosen = store
                        .set_main_role(tenant, user, id, audit("role_assignment.main_role_set", id))
                        .await?;
                    assert!(chosen.is_some_and(|a| a.main_role));
                } else {
                    let coach = role(&format!("Coach {n}"));
                    store
                        .insert_role(tenant, &coach, audit("role.created", coach.id))
                        .await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let mains = store
        .assignments_of(tenant, user)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.main_role)
        .count();
    assert_eq!(mains, 1, "one main role, whoever wrote last");
    assert_eq!(store.roles(tenant, None, 100).await.unwrap().len(), 8);
}

pub(super) async fn a_guarded_insert_adds_a_held_role_once_and_an_event_once(store: impl Store) {
    let store = Arc::new(store);
    let tenant = TenantId::generate();
    let user = UserId::generate();
    let master = RoleId::BuiltIn(Template::MasterAdministrator);
    // Eight at once, each unless held: one is stored, the others answer it.
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let a = assignment(user, master, false);
                store
                    .insert_assignment_guarded(
                        tenant,
                        &a,
                        audit("role_assignment.created", a.id),
                        Some(Uuid::now_v7()),
                        true,
                    )
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for attempt in attempts {
        outcomes.push(attempt.await.unwrap().unwrap());
    }
    let held = store.assignments_of(tenant, user).await.unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Guarded::Added(_)))
            .count(),
        1
    );
    for outcome in &outcomes {
        if let Guarded::Held(there, recorded) = outcome {
            assert_eq!(there.id, held[0].id);
            assert!(recorded.is_some(), "the event is recorded as applied");
        }
    }
    let audited = store
        .audit_records(tenant, None, None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.entry.action == "role_assignment.created")
        .count();
    assert_eq!(audited, 1, "one assignment, one record");

    // At another place, or without the guard, the same role is another assignment.
    let unit = UnitId::generate();
    let mut at_unit = assignment(user, master, false);
    at_unit.unit = Some(unit);
    let stored = store
        .insert_assignment_guarded(
            tenant,
            &at_unit,
            audit("role_assignment.created", 1),
            None,
            true,
        )
        .await
        .unwrap();
    assert!(matches!(stored, Guarded::Added(_)), "{stored:?}");
    // One that ended before the new one's stamp is not held.
    let other = UserId::generate();
    let mut ended = assignment(other, master, false);
    ended.valid_until = Some(stamp().at);
    store
        .insert_assignment(tenant, &ended, audit("role_assignment.created", ended.id))
        .await
        .unwrap();
    let again = assignment(other, master, false);
    let stored = store
        .insert_assignment_guarded(
            tenant,
            &again,
            audit("role_assignment.created", 2),
            None,
            true,
        )
        .await
        .unwrap();
    assert!(matches!(stored, Guarded::Added(_)), "{stored:?}");

    // An event applied once is never applied again, held or not.
    let event = Uuid::now_v7();
    let late = assignment(UserId::generate(), master, false);
    let first = store
        .insert_assignment_guarded(
            tenant,
            &late,
            audit("role_assignment.created", 3),
            Some(event),
            false,
        )
        .await
        .unwrap();
    assert!(matches!(first, Guarded::Added(_)));
    let replay = store
        .insert_assignment_guarded(
            tenant,
            &late,
            audit("role_assignment.created", 3),
            Some(event),
            false,
        )
        .await
        .unwrap();
    assert_eq!(replay, Guarded::Replayed);
}
