//! The store conformance suite: every test runs against PostgreSQL and SQLite
//! (`store_conformance!` below), so the two adapters cannot drift apart.

use std::sync::Arc;

use lms_kernel::{
    AssignmentId, CourseId, CustomRoleId, Grants, Permission, PermissionSet, Reach,
    ResponsibilitySet, RoleId, Template, TenantId, TenantSettings, UnitId, UserId, UserStatus,
};
use uuid::Uuid;

use super::*;

const COURSE: i16 = 6;
const USER: i16 = 3;
const UNIT: i16 = 2;
const TENANT: i16 = 1;
const COURSE_TUTOR: i16 = 8;
const PARENT_UNIT: i16 = 1;
const CLIENT: i16 = 12;
const MEMBER: i16 = 5;

fn stamp() -> Stamp {
    Stamp {
        actor: "tester".into(),
        at: 1_700_000_000,
    }
}

fn audit(action: &'static str, object_id: impl ToString) -> AuditEntry {
    AuditEntry {
        stamp: stamp(),
        action,
        object_type: 5,
        object_id: object_id.to_string(),
        before: None,
        after: Some("{}".into()),
    }
}

fn role(name: &str) -> RoleRecord {
    RoleRecord {
        id: CustomRoleId::generate(),
        name: name.into(),
        description: "test role".into(),
        grants: Grants::EMPTY.with(Reach::Team, PermissionSet::of(&[Permission::UsersRead])),
        responsibilities: ResponsibilitySet::NONE,
        copied_from: Some(RoleId::BuiltIn(Template::Manager)),
        version: 1,
        created: stamp(),
        updated: stamp(),
    }
}

fn assignment(user: UserId, role: RoleId, main_role: bool) -> AssignmentRecord {
    AssignmentRecord {
        id: AssignmentId::generate(),
        user,
        role,
        unit: None,
        valid_from: None,
        valid_until: None,
        source: 1,
        main_role,
        assigned: stamp(),
    }
}

fn relationship(
    resource_type: i16,
    resource: Uuid,
    relation: i16,
    subject_type: i16,
    subject: Uuid,
) -> Relationship {
    Relationship {
        resource_type,
        resource_id: resource,
        relation,
        subject_type,
        subject_id: subject,
        valid_from: None,
        valid_until: None,
    }
}

fn batch(changes: Vec<Change>) -> FactBatch {
    FactBatch {
        event_id: Uuid::new_v4(),
        changes,
        settings: None,
        statuses: Vec::new(),
    }
}

pub(crate) async fn every_write_bumps_the_tenant_revision(store: impl Store) {
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

pub(crate) async fn roles_are_stored_versioned_and_named_uniquely(store: impl Store) {
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

pub(crate) async fn a_held_role_cannot_be_deleted(store: impl Store) {
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

pub(crate) async fn assignments_list_by_user_and_role_with_one_main_role(store: impl Store) {
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

pub(crate) async fn every_change_leaves_an_audit_record_newest_first(store: impl Store) {
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

pub(crate) async fn facts_apply_once_per_event(store: impl Store) {
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

pub(crate) async fn a_course_has_one_tutor_and_a_refused_batch_changes_nothing(store: impl Store) {
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

pub(crate) async fn concurrent_tutors_leave_exactly_one(store: impl Store) {
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

pub(crate) async fn subject_rows_gather_roles_relations_and_clients(store: impl Store) {
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

pub(crate) async fn unit_ancestors_follow_parents_and_refuse_cycles(store: impl Store) {
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

pub(crate) async fn a_large_batch_keeps_its_order_and_the_last_word_on_each_fact(
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

pub(crate) async fn relationships_filter_and_page_in_key_order(store: impl Store) {
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

/// Runs every conformance test against one backend. `$open` is an async expression yielding
/// `(guard, store)`; the guard keeps the test database alive.
macro_rules! store_conformance {
    ($backend:ident, $open:expr) => {
        mod $backend {
            use super::*;
            store_conformance!(@tests $open;
                every_write_bumps_the_tenant_revision,
                roles_are_stored_versioned_and_named_uniquely,
                a_held_role_cannot_be_deleted,
                assignments_list_by_user_and_role_with_one_main_role,
                every_change_leaves_an_audit_record_newest_first,
                facts_apply_once_per_event,
                a_large_batch_keeps_its_order_and_the_last_word_on_each_fact,
                a_course_has_one_tutor_and_a_refused_batch_changes_nothing,
                concurrent_tutors_leave_exactly_one,
                subject_rows_gather_roles_relations_and_clients,
                unit_ancestors_follow_parents_and_refuse_cycles,
                relationships_filter_and_page_in_key_order
            );
        }
    };
    (@tests $open:expr; $($test:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let (_guard, store) = $open.await;
                super::$test(store).await;
            }
        )*
    };
}

async fn postgres() -> (lms_testkit::TestDatabase, PgStore) {
    let database = lms_testkit::postgres_database().await;
    let url = lms_runtime::SecretString::new(database.url());
    let db = lms_runtime::Database::connect(&url, 10).await.unwrap();
    db.migrate(&crate::MIGRATIONS).await.unwrap();
    let lms_runtime::Database::Postgres(pool) = db else {
        unreachable!("a postgres URL")
    };
    (database, PgStore::new(pool))
}

async fn sqlite() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = lms_runtime::SecretString::new(lms_testkit::sqlite_url(dir.path(), "authorization"));
    let db = lms_runtime::Database::connect(&url, 5).await.unwrap();
    db.migrate(&crate::MIGRATIONS).await.unwrap();
    let lms_runtime::Database::Sqlite(pool) = db else {
        unreachable!("a sqlite URL")
    };
    (dir, SqliteStore::new(pool))
}

store_conformance!(on_postgres, postgres());
store_conformance!(on_sqlite, sqlite());
