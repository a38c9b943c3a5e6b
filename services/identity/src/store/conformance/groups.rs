//! Groups, their members and primary groups.

use super::*;

pub(super) async fn leaving_a_group_ends_it_being_the_primary_group(store: impl Store) {
    let (tenant, _, user) = tenant(&store).await;
    let group = GroupRecord {
        id: GroupId::generate(),
        name: "Team".into(),
        manager: None,
        administrators: Vec::new(),
        external_id: None,
        created_at: 1,
    };
    store
        .create_group(tenant, &group, &super::audit())
        .await
        .unwrap();
    let mut previous = Some(Some(group.id));
    store
        .set_primary_group(tenant, user, group.id, &super::audit(), |before| {
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
        store
            .delete_group(tenant, group.id, &super::audit(), |_| Vec::new())
            .await,
        Err(StoreError::NotEmpty(_))
    ));
    let mut lost = Vec::new();
    store
        .remove_group_members(tenant, group.id, &[user], &super::audit(), |users| {
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
        .delete_group(tenant, group.id, &super::audit(), |_| Vec::new())
        .await
        .unwrap();
    assert_eq!(store.group(tenant, group.id).await.unwrap(), None);
}
