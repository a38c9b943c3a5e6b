//! Bulk imports.

use super::*;

pub(super) async fn an_import_batch_lands_whole_and_the_snapshot_sees_it(store: impl Store) {
    let (tenant, guest, _) = tenant(&store).await;
    let mut batch = ImportBatch::default();
    let mut account = unit(UnitKind::CustomerAccount, "Acme", None);
    account.external_id = Some("ACME".into());
    batch.units.push(account.clone());
    store
        .apply_import(tenant, &batch, &super::by())
        .await
        .unwrap();
    let mut batch = ImportBatch::default();
    for n in 0..3 {
        let user = UserRecord {
            id: UserId::generate(),
            email: Some(lms_kernel::Email::parse(&format!("p{n}@example.org")).unwrap()),
            given_name: "P".into(),
            family_name: format!("{n}"),
            status: lms_kernel::UserStatus::Active,
            account_kind: lms_kernel::AccountKind::Standard,
            restrict_bookings: false,
            primary_group: None,
            custom_fields: "{}".into(),
            external_id: Some(format!("HR-{n}")),
            password_hash: None,
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
    store
        .apply_import(tenant, &batch, &super::by())
        .await
        .unwrap();
    let snapshot = store.import_snapshot(tenant).await.unwrap();
    assert_eq!(snapshot.users.len(), 3);
    assert_eq!(snapshot.units["ACME"].id, account.id);
    let first = &snapshot.users["HR-0"];
    assert_eq!(first.main.as_ref().map(|main| main.unit), Some(account.id));
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
    assert!(
        store
            .apply_import(tenant, &clash, &super::by())
            .await
            .is_err()
    );
    assert_eq!(store.import_snapshot(tenant).await.unwrap().users.len(), 3);
}
