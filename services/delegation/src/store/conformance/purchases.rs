use lms_kernel::{InvitationId, OrderId, TenantId, UserId};

use super::{audit, course, someone, stored};
use crate::store::{
    EnrolmentFilter, InvitationRecord, InvitationState, OrderRecord, Placed, Store, StoreError,
    ToInvite,
};

fn order(course: lms_kernel::CourseId, shop_order: &str, buyer: UserId, seats: u32) -> OrderRecord {
    OrderRecord {
        id: OrderId::generate(),
        shop_order: shop_order.into(),
        course,
        buyer,
        seats,
        placed_by: "service:shop".into(),
        placed_at: 100,
    }
}

async fn place<S: Store>(
    store: &S,
    tenant: TenantId,
    order: &OrderRecord,
    webhook: Option<&str>,
) -> Result<Placed, StoreError> {
    store
        .place_order(
            tenant,
            order,
            webhook,
            |_| Vec::new(),
            &audit("order.placed"),
        )
        .await
}

fn invitation(order: OrderId, email: &str, invitee: Option<UserId>) -> InvitationRecord {
    InvitationRecord {
        id: InvitationId::generate(),
        order,
        email: email.into(),
        state: match invitee {
            Some(_) => InvitationState::Accepted,
            None => InvitationState::Pending,
        },
        invitee,
        invited_at: 200,
        accepted_at: invitee.map(|_| 200),
    }
}

async fn invite<S: Store>(
    store: &S,
    tenant: TenantId,
    purchaser: UserId,
    invitation: InvitationRecord,
    code: &[u8],
) -> Result<crate::store::Invited, StoreError> {
    store
        .invite(
            tenant,
            ToInvite {
                invitation,
                code_hash: code,
                purchaser,
            },
            |_| Vec::new(),
            &audit("invitation.sent"),
        )
        .await
}

async fn enrolled<S: Store>(store: &S, tenant: TenantId, user: UserId) -> usize {
    store
        .enrolments(
            tenant,
            EnrolmentFilter {
                user: Some(user),
                ..Default::default()
            },
            100,
        )
        .await
        .unwrap()
        .len()
}

fn reason(error: StoreError) -> &'static str {
    match error {
        StoreError::Refused { reason, .. } => reason,
        other => panic!("{other:?}"),
    }
}

pub async fn an_order_is_placed_once_by_its_shop_id_and_a_delivery_once_by_its_id<S: Store>(
    store: S,
) {
    let tenant = TenantId::generate();
    let c = course("Sold");
    stored(&store, tenant, &c).await;
    let buyer = someone();
    let first = order(c.id, "1001", buyer, 1);
    let placed = place(&store, tenant, &first, Some("delivery-1"))
        .await
        .unwrap();
    assert!(placed.created);
    assert_eq!(placed.enrolled.as_ref().map(|e| e.user), Some(buyer));
    assert_eq!(enrolled(&store, tenant, buyer).await, 1);

    // Again under another id of ours, by gRPC or a new delivery: the first, nothing new.
    let again = place(&store, tenant, &order(c.id, "1001", buyer, 1), None)
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.order.id, first.id);
    assert!(again.enrolled.is_none());
    // A seen delivery is answered as it was, whatever it says now.
    let replay = place(
        &store,
        tenant,
        &order(c.id, "9999", buyer, 3),
        Some("delivery-1"),
    )
    .await
    .unwrap();
    assert_eq!((replay.created, replay.order.id), (false, first.id));
    let conflict = place(&store, tenant, &order(c.id, "1001", buyer, 2), None)
        .await
        .unwrap_err();
    assert_eq!(reason(conflict), "ORDER_CONFLICT");
    assert_eq!(enrolled(&store, tenant, buyer).await, 1);
    let orders = store.orders(tenant, Some(buyer), None, 10).await.unwrap();
    assert_eq!(orders, std::slice::from_ref(&first));
    // Another tenant's shop may use the same id for its own order.
    let other = TenantId::generate();
    let theirs = course("Theirs");
    stored(&store, other, &theirs).await;
    assert!(
        place(&store, other, &order(theirs.id, "1001", buyer, 1), None)
            .await
            .unwrap()
            .created
    );
    assert!(store.order(other, first.id).await.unwrap().is_none());
}

pub async fn several_seats_enrol_nobody_until_invitees_take_them<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Seats");
    stored(&store, tenant, &c).await;
    let (purchaser, known, newcomer) = (someone(), someone(), someone());
    let bought = order(c.id, "2001", purchaser, 2);
    let placed = place(&store, tenant, &bought, None).await.unwrap();
    assert!(placed.created && placed.enrolled.is_none());
    assert_eq!(enrolled(&store, tenant, purchaser).await, 0);

    let not_theirs = invite(
        &store,
        tenant,
        known,
        invitation(bought.id, "a@x.org", None),
        b"a",
    )
    .await
    .unwrap_err();
    assert_eq!(reason(not_theirs), "NOT_THE_PURCHASER");
    let taken = invite(
        &store,
        tenant,
        purchaser,
        invitation(bought.id, "k@x.org", Some(known)),
        b"k",
    )
    .await
    .unwrap();
    assert_eq!(taken.enrolled.as_ref().map(|e| e.user), Some(known));
    let twice = invite(
        &store,
        tenant,
        purchaser,
        invitation(bought.id, "k@x.org", None),
        b"k2",
    )
    .await
    .unwrap_err();
    assert_eq!(reason(twice), "ALREADY_INVITED");
    let pending = invite(
        &store,
        tenant,
        purchaser,
        invitation(bought.id, "n@x.org", None),
        b"n",
    )
    .await
    .unwrap();
    assert!(pending.enrolled.is_none());
    let full = invite(
        &store,
        tenant,
        purchaser,
        invitation(bought.id, "z@x.org", None),
        b"z",
    )
    .await
    .unwrap_err();
    assert_eq!(reason(full), "NO_SEATS_LEFT");

    let accept = |user: UserId, code: &'static [u8]| {
        let store = &store;
        async move {
            store
                .accept(
                    tenant,
                    code,
                    user,
                    300,
                    |_| Vec::new(),
                    &audit("invitation.accepted"),
                )
                .await
        }
    };
    let missing = accept(newcomer, b"nothing").await.unwrap_err();
    assert!(matches!(missing, StoreError::Missing { .. }), "{missing:?}");
    let held = accept(known, b"n").await.unwrap_err();
    assert_eq!(reason(held), "ALREADY_INVITED", "one seat per person");
    let accepted = accept(newcomer, b"n").await.unwrap();
    assert_eq!(accepted.invitation.state, InvitationState::Accepted);
    assert_eq!(accepted.invitation.invitee, Some(newcomer));
    assert_eq!(accepted.invitation.accepted_at, Some(300));
    assert_eq!(enrolled(&store, tenant, newcomer).await, 1);
    let again = accept(newcomer, b"n").await.unwrap();
    assert!(again.enrolled.is_none(), "taking it again changes nothing");
    let other = accept(someone(), b"n").await.unwrap_err();
    assert_eq!(reason(other), "INVITATION_ACCEPTED");
    let listed = store.invitations(tenant, bought.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|i| i.state == InvitationState::Accepted));
}

pub async fn a_webhook_secret_moves_one_generation_per_rotation<S: Store>(store: S) {
    let tenant = TenantId::generate();
    assert_eq!(store.webhook_generation(tenant).await.unwrap(), None);
    assert_eq!(
        store
            .rotate_webhook(tenant, 1, &audit("rotated"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .rotate_webhook(tenant, 2, &audit("rotated"))
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.webhook_generation(tenant).await.unwrap(), Some(2));
    assert_eq!(
        store
            .webhook_generation(TenantId::generate())
            .await
            .unwrap(),
        None
    );
}

pub async fn one_order_delivered_twice_at_once_is_placed_once<S: Store + Clone>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Raced");
    stored(&store, tenant, &c).await;
    let buyer = someone();
    let tries = (0..4).map(|n| {
        let store = store.clone();
        let wanted = order(c.id, "3001", buyer, 1);
        async move {
            let delivery = format!("delivery-{n}");
            place(&store, tenant, &wanted, Some(&delivery))
                .await
                .unwrap()
        }
    });
    let placed = futures_util::future::join_all(tries).await;
    assert_eq!(placed.iter().filter(|p| p.created).count(), 1);
    assert!(placed.windows(2).all(|w| w[0].order.id == w[1].order.id));
    assert_eq!(enrolled(&store, tenant, buyer).await, 1);
}
