//! The identity store's behaviours, run against PostgreSQL and SQLite alike: the SQL body is
//! shared, but the dialects differ in types and locking, so each backend proves it here.

use lms_kernel::{AccountKind, GroupId, TenantId, TenantSettings, UnitId, UnitKind, UserId};
use lms_runtime::Database;
use lms_runtime::secret::SecretString;

use super::{
    Deleted, EmploymentRecord, GroupRecord, ImportBatch, Moved, PgStore, SqliteStore, Store,
    StoreError, TenantRecord, UnitFilter, UnitRecord, UserChange, UserFilter, UserRecord,
};

fn unit(kind: UnitKind, name: &str, parent: Option<UnitId>) -> UnitRecord {
    UnitRecord {
        id: UnitId::generate(),
        kind,
        name: name.into(),
        parent,
        external_id: None,
    }
}

/// A tenant with its Guest account and one user employed there.
async fn tenant(store: &impl Store) -> (TenantId, UnitRecord, UserId) {
    let tenant = TenantRecord {
        id: TenantId::generate(),
        name: "T".into(),
        settings: TenantSettings::default(),
        master: None,
        access_coordinator: None,
        created_by: "test".into(),
        created_at: 1,
    };
    let guest = unit(UnitKind::GuestAccount, "Guest", None);
    let user = UserRecord {
        id: UserId::generate(),
        email: Some(lms_kernel::Email::parse("a@example.org").unwrap()),
        given_name: "A".into(),
        family_name: "B".into(),
        status: lms_kernel::UserStatus::Active,
        account_kind: AccountKind::Standard,
        restrict_bookings: false,
        primary_group: None,
        custom_fields: "{}".into(),
        external_id: None,
        password_hash: None,
        failed_sign_ins: 0,
        locked_until: None,
        last_sign_in_at: None,
        created_by: "test".into(),
        created_at: 1,
    };
    let employment = EmploymentRecord {
        id: uuid::Uuid::now_v7(),
        user: user.id,
        unit: guest.id,
        starts_at: 1,
        ends_at: None,
        main_account: true,
    };
    store
        .create_tenant(&tenant, &guest, &user, &employment, &[])
        .await
        .unwrap();
    (tenant.id, guest, user.id)
}

async fn unit_tree_refuses_cycles_and_deletes_only_empty_units(store: impl Store) {
    let (tenant, guest, _) = tenant(&store).await;
    let top = unit(UnitKind::Location, "Top", None);
    let mid = unit(UnitKind::Location, "Mid", Some(top.id));
    let low = unit(UnitKind::Location, "Low", Some(mid.id));
    for u in [&top, &mid, &low] {
        store.create_unit(tenant, u, &[]).await.unwrap();
    }
    for new_parent in [low.id, top.id] {
        let outcome = store
            .move_unit(tenant, top.id, Some(new_parent), |_| Vec::new())
            .await
            .unwrap();
        assert_eq!(outcome, Moved::Cycle);
    }
    assert_eq!(
        store.unit(tenant, top.id).await.unwrap().unwrap().parent,
        None
    );
    let moved = store
        .move_unit(tenant, low.id, Some(top.id), |_| Vec::new())
        .await
        .unwrap();
    assert_eq!(moved, Moved::Moved(low.clone()));
    let children = store
        .units(
            tenant,
            UnitFilter {
                parent: Some(top.id),
                ..Default::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(children.len(), 2);

    assert_eq!(
        store
            .delete_unit(tenant, top.id, 2, |_| Vec::new())
            .await
            .unwrap(),
        Deleted::HasChildren
    );
    assert_eq!(
        store
            .delete_unit(tenant, guest.id, 2, |_| Vec::new())
            .await
            .unwrap(),
        Deleted::HasEmployees
    );
    assert!(matches!(
        store
            .delete_unit(tenant, low.id, 2, |_| Vec::new())
            .await
            .unwrap(),
        Deleted::Deleted(_)
    ));
    assert_eq!(store.unit(tenant, low.id).await.unwrap(), None);
}

async fn a_taken_external_id_names_the_unit(store: impl Store) {
    let (tenant, _, _) = tenant(&store).await;
    let mut first = unit(UnitKind::CustomerAccount, "A", None);
    first.external_id = Some("ACME-1".into());
    store.create_unit(tenant, &first, &[]).await.unwrap();
    let mut second = unit(UnitKind::CustomerAccount, "B", None);
    second.external_id = Some("ACME-1".into());
    let error = store.create_unit(tenant, &second, &[]).await.unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Duplicate {
                resource: "unit",
                field: "external_id"
            }
        ),
        "{error:?}"
    );
}

async fn leaving_a_group_ends_it_being_the_primary_group(store: impl Store) {
    let (tenant, _, user) = tenant(&store).await;
    let group = GroupRecord {
        id: GroupId::generate(),
        name: "Team".into(),
        manager: None,
        administrators: Vec::new(),
        external_id: None,
        created_at: 1,
    };
    store.create_group(tenant, &group).await.unwrap();
    let mut previous = Some(Some(group.id));
    store
        .set_primary_group(tenant, user, group.id, |before| {
            previous = Some(before);
            Vec::new()
        })
        .await
        .unwrap();
    assert_eq!(previous, Some(None), "no primary group before");
    assert_eq!(
        store
            .user(tenant, user)
            .await
            .unwrap()
            .unwrap()
            .primary_group,
        Some(group.id)
    );
    assert_eq!(
        store
            .group_members(tenant, group.id, None, 10)
            .await
            .unwrap(),
        [user]
    );
    assert!(matches!(
        store.delete_group(tenant, group.id, |_| Vec::new()).await,
        Err(StoreError::NotEmpty(_))
    ));
    let mut lost = Vec::new();
    store
        .remove_group_members(tenant, group.id, &[user], |users| {
            lost = users.to_vec();
            Vec::new()
        })
        .await
        .unwrap();
    assert_eq!(lost, [user]);
    assert_eq!(
        store
            .user(tenant, user)
            .await
            .unwrap()
            .unwrap()
            .primary_group,
        None
    );
    store
        .delete_group(tenant, group.id, |_| Vec::new())
        .await
        .unwrap();
    assert_eq!(store.group(tenant, group.id).await.unwrap(), None);
}

async fn user_lists_filter_by_text_visibility_and_page(store: impl Store) {
    let (tenant, guest, first) = tenant(&store).await;
    let filter = |query: Option<&str>, only: Option<Vec<UserId>>| UserFilter {
        query: query.map(str::to_owned),
        only,
        unit: Some(guest.id),
        now: 2,
        ..Default::default()
    };
    let everyone = store.users(tenant, &filter(None, None), 10).await.unwrap();
    assert_eq!(everyone.len(), 1);
    let by_text = store
        .users(tenant, &filter(Some("a@example"), None), 10)
        .await
        .unwrap();
    assert_eq!(by_text.len(), 1);
    let none = store
        .users(tenant, &filter(Some("zzz"), None), 10)
        .await
        .unwrap();
    assert!(none.is_empty());
    let hidden = store
        .users(tenant, &filter(None, Some(vec![UserId::generate()])), 10)
        .await
        .unwrap();
    assert!(hidden.is_empty(), "only the visible ids are listed");
    let visible = store
        .users(tenant, &filter(None, Some(vec![first])), 10)
        .await
        .unwrap();
    assert_eq!(visible[0].id, first);
    let suspended = store
        .update_user(tenant, first, |user| {
            user.status = lms_kernel::UserStatus::Suspended;
            Ok(UserChange::default())
        })
        .await
        .unwrap();
    assert_eq!(suspended.status, lms_kernel::UserStatus::Suspended);
    let active_only = UserFilter {
        status: Some(lms_kernel::UserStatus::Active),
        ..filter(None, None)
    };
    assert!(
        store
            .users(tenant, &active_only, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn an_import_batch_lands_whole_and_the_snapshot_sees_it(store: impl Store) {
    let (tenant, guest, _) = tenant(&store).await;
    let mut batch = ImportBatch::default();
    let mut account = unit(UnitKind::CustomerAccount, "Acme", None);
    account.external_id = Some("ACME".into());
    batch.units.push(account.clone());
    store.apply_import(tenant, &batch).await.unwrap();
    let mut batch = ImportBatch::default();
    for n in 0..3 {
        let user = UserRecord {
            id: UserId::generate(),
            email: Some(lms_kernel::Email::parse(&format!("p{n}@example.org")).unwrap()),
            given_name: "P".into(),
            family_name: format!("{n}"),
            status: lms_kernel::UserStatus::Active,
            account_kind: AccountKind::Standard,
            restrict_bookings: false,
            primary_group: None,
            custom_fields: "{}".into(),
            external_id: Some(format!("HR-{n}")),
            password_hash: None,
            failed_sign_ins: 0,
            locked_until: None,
            last_sign_in_at: None,
            created_by: "import".into(),
            created_at: 1,
        };
        let employment = EmploymentRecord {
            id: uuid::Uuid::now_v7(),
            user: user.id,
            unit: if n == 0 { account.id } else { guest.id },
            starts_at: 1,
            ends_at: None,
            main_account: true,
        };
        batch
            .created
            .push((user, employment, Some("manager".into())));
    }
    store.apply_import(tenant, &batch).await.unwrap();
    let snapshot = store.import_snapshot(tenant).await.unwrap();
    assert_eq!(snapshot.users.len(), 3);
    assert_eq!(snapshot.units["ACME"].id, account.id);
    let first = &snapshot.users["HR-0"];
    assert_eq!(first.main.map(|(_, unit)| unit), Some(account.id));
    assert_eq!(first.feed_role.as_deref(), Some("manager"));
    assert_eq!(
        snapshot.emails.len(),
        4,
        "the tenant's first user and the three imported"
    );

    // A batch with a taken address lands not at all.
    let mut clash = batch.clone();
    for (user, employment, _) in &mut clash.created {
        user.id = UserId::generate();
        user.external_id = Some(format!("X-{}", user.id));
        employment.id = uuid::Uuid::now_v7();
        employment.user = user.id;
    }
    assert!(store.apply_import(tenant, &clash).await.is_err());
    assert_eq!(store.import_snapshot(tenant).await.unwrap().users.len(), 3);
}

async fn sqlite() -> SqliteStore {
    let database = Database::connect(&SecretString::new("sqlite::memory:"), 1)
        .await
        .unwrap();
    database.migrate(&crate::MIGRATIONS).await.unwrap();
    let Database::Sqlite(pool) = database else {
        unreachable!("a sqlite: URL opens SQLite")
    };
    SqliteStore::new(pool)
}

async fn postgres() -> (PgStore, lms_testkit::TestDatabase) {
    let test_database = lms_testkit::postgres_database().await;
    let database = Database::connect(&SecretString::new(test_database.url()), 4)
        .await
        .unwrap();
    database.migrate(&crate::MIGRATIONS).await.unwrap();
    let Database::Postgres(pool) = database else {
        unreachable!("a postgres: URL opens PostgreSQL")
    };
    (PgStore::new(pool), test_database)
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::sqlite().await).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let (store, _database) = super::postgres().await;
                    super::$case(store).await;
                }
            )*
        }
    };
}

conformance!(
    unit_tree_refuses_cycles_and_deletes_only_empty_units,
    a_taken_external_id_names_the_unit,
    leaving_a_group_ends_it_being_the_primary_group,
    user_lists_filter_by_text_visibility_and_page,
    an_import_batch_lands_whole_and_the_snapshot_sees_it,
);
