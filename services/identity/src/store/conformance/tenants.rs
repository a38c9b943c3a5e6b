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
