//! The unit tree and unit identifiers.

use super::*;

pub(super) async fn unit_tree_refuses_cycles_and_deletes_only_empty_units(store: impl Store) {
    let (tenant, guest, _) = tenant(&store).await;
    let top = unit(UnitKind::Location, "Top", None);
    let mid = unit(UnitKind::Location, "Mid", Some(top.id));
    let low = unit(UnitKind::Location, "Low", Some(mid.id));
    for u in [&top, &mid, &low] {
        store
            .create_unit(tenant, u, &[], &super::audit())
            .await
            .unwrap();
    }
    for new_parent in [low.id, top.id] {
        let outcome = store
            .move_unit(tenant, top.id, Some(new_parent), &super::audit(), |_| {
                Vec::new()
            })
            .await
            .unwrap();
        assert_eq!(outcome, Moved::Cycle);
    }
    assert_eq!(
        store.unit(tenant, top.id).await.unwrap().unwrap().parent,
        None
    );
    let moved = store
        .move_unit(tenant, low.id, Some(top.id), &super::audit(), |_| {
            Vec::new()
        })
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
            .delete_unit(tenant, top.id, 2, &super::audit(), |_| Vec::new())
            .await
            .unwrap(),
        Deleted::HasChildren
    );
    assert_eq!(
        store
            .delete_unit(tenant, guest.id, 2, &super::audit(), |_| Vec::new())
            .await
            .unwrap(),
        Deleted::HasEmployees
    );
    assert!(matches!(
        store
            .delete_unit(tenant, low.id, 2, &super::audit(), |_| Vec::new())
            .await
            .unwrap(),
        Deleted::Deleted(_)
    ));
    assert_eq!(store.unit(tenant, low.id).await.unwrap(), None);
}

pub(super) async fn a_taken_external_id_names_the_unit(store: impl Store) {
    let (tenant, _, _) = tenant(&store).await;
    let mut first = unit(UnitKind::CustomerAccount, "A", None);
    first.external_id = Some("ACME-1".into());
    store
        .create_unit(tenant, &first, &[], &super::audit())
        .await
        .unwrap();
    let mut second = unit(UnitKind::CustomerAccount, "B", None);
    second.external_id = Some("ACME-1".into());
    let error = store
        .create_unit(tenant, &second, &[], &super::audit())
        .await
        .unwrap_err();
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
