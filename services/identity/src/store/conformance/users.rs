//! Listing users.

use super::*;

pub(super) async fn user_lists_filter_by_text_visibility_and_page(store: impl Store) {
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
        .update_user(tenant, first, &super::audit(), |user| {
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

pub(super) async fn a_conditional_commit_checks_the_person_as_stored_and_refuses_whole(
    store: impl Store,
) {
    let (tenant, _, first) = tenant(&store).await;
    let before = records(&store, tenant).await;
    let active = |_: &TenantRecord, person: &UserRecord| match person.status {
        lms_kernel::UserStatus::Active => Ok(()),
        _ => Err(StoreError::Refused {
            reason: "NOT_ACTIVE",
            message: "not active".into(),
        }),
    };
    store
        .commit_audited_if(tenant, first, active, &[], &super::audit())
        .await
        .unwrap();
    assert_eq!(records(&store, tenant).await, before + 1);

    store
        .update_user(tenant, first, &super::audit(), |user| {
            user.status = lms_kernel::UserStatus::Suspended;
            Ok(UserChange::default())
        })
        .await
        .unwrap();
    let after_suspension = records(&store, tenant).await;
    let refused = store
        .commit_audited_if(tenant, first, active, &[], &super::audit())
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Refused {
                reason: "NOT_ACTIVE",
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(
        records(&store, tenant).await,
        after_suspension,
        "nothing recorded"
    );
    let stranger = store
        .commit_audited_if(tenant, UserId::generate(), active, &[], &super::audit())
        .await;
    assert!(
        matches!(stranger, Err(StoreError::Missing { what: "user", .. })),
        "{stranger:?}"
    );
}

/// How many records the tenant's audit trail holds.
async fn records(store: &impl Store, tenant: TenantId) -> usize {
    store
        .audit_records(Some(tenant), &Default::default(), 1000)
        .await
        .unwrap()
        .len()
}
