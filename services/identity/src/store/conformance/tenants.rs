//! Tenants and the Access Coordinator duty.

use super::*;

pub(super) async fn the_access_coordinator_hands_over_only_from_the_current_holder(
    store: impl Store,
) {
    let (tenant, guest, first) = coordinated_tenant(&store).await;
    let second = user("b@example.org");
    store
        .create_user(
            tenant,
            &second,
            &employment(second.id, guest.id),
            &[],
            &super::audit(),
        )
        .await
        .unwrap();
    let changed = |result: Result<TenantRecord, StoreError>| {
        matches!(
            result,
            Err(StoreError::Refused {
                reason: "ACCESS_COORDINATOR_CHANGED",
                ..
            })
        )
    };
    assert!(
        changed(
            store
                .transfer_access_coordinator(tenant, second.id, first, &[], &super::audit())
                .await
        ),
        "only the holder hands the duty over"
    );
    let handed = store
        .transfer_access_coordinator(tenant, first, second.id, &[], &super::audit())
        .await
        .unwrap();
    assert_eq!(handed.access_coordinator, Some(second.id));
    assert!(
        changed(
            store
                .transfer_access_coordinator(tenant, first, second.id, &[], &super::audit())
                .await
        ),
        "a second hand-over from the former holder is refused"
    );
    assert_eq!(
        store
            .tenant(tenant)
            .await
            .unwrap()
            .unwrap()
            .access_coordinator,
        Some(second.id)
    );
}

pub(super) async fn each_tenants_coordinator_is_announced_once(store: impl Store) {
    let (tenant, _, coordinator) = coordinated_tenant(&store).await;
    let pending = store.unannounced_coordinators(100).await.unwrap();
    assert!(pending.contains(&(tenant, coordinator)));
    // A stale view (the duty moved meanwhile) changes nothing.
    store
        .announce_coordinator(tenant, UserId::generate(), &[])
        .await
        .unwrap();
    assert!(
        store
            .unannounced_coordinators(100)
            .await
            .unwrap()
            .contains(&(tenant, coordinator))
    );
    store
        .announce_coordinator(tenant, coordinator, &[])
        .await
        .unwrap();
    assert!(
        !store
            .unannounced_coordinators(100)
            .await
            .unwrap()
            .iter()
            .any(|(t, _)| *t == tenant)
    );
}
