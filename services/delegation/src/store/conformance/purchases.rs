use lms_kernel::{CourseId, InvitationId, OrderId, TenantId, UserId};

use super::{audit, course, someone, stored};
use crate::store::{
    Acceptance, EnrolmentFilter, InvitationRecord, InvitationState, Invited, NotificationFilter,
    OrderRecord, Placed, Store, StoreError, ToInvite,
};

fn order(course: CourseId, shop_order: &str, buyer: UserId, seats: u32) -> OrderRecord {
    OrderRecord {
        id: OrderId::generate(),
        shop_order: shop_order.into(),
        course,
        buyer,
        buyer_email: format!("{buyer}@x.org"),
        seats,
        placed_by: "service:shop".into(),
        placed_at: 100,
    }
}

async fn place<S: Store>(
    store: &S,
    tenant: TenantId,
    orders: &[OrderRecord],
    webhook: Option<&str>,
) -> Result<Vec<Placed>, StoreError> {
    store
        .place_orders(
            tenant,
            orders,
            webhook,
            |_| Vec::new(),
            &audit("order.placed"),
        )
        .await
}

async fn place_one<S: Store>(
    store: &S,
    tenant: TenantId,
    order: &OrderRecord,
    webhook: Option<&str>,
) -> Result<Placed, StoreError> {
    let mut placed = place(store, tenant, std::slice::from_ref(order), webhook).await?;
    Ok(placed.remove(0))
}

fn invitation(order: OrderId, email: &str, addressee: Option<UserId>) -> InvitationRecord {
    InvitationRecord {
        id: InvitationId::generate(),
        order,
        email: email.into(),
        addressee,
        state: InvitationState::Pending,
        invitee: None,
        invited_at: 200,
        accepted_at: None,
    }
}

async fn invite<S: Store>(
    store: &S,
    tenant: TenantId,
    purchaser: UserId,
    invitation: InvitationRecord,
    code: &[u8],
) -> Result<InvitationRecord, StoreError> {
    store
        .invite(
            tenant,
            ToInvite {
                invitation,
                code_hash: code,
                purchaser,
            },
            &audit("invitation.sent"),
        )
        .await
}

async fn accept<S: Store>(
    store: &S,
    tenant: TenantId,
    how: Acceptance<'_>,
    user: UserId,
) -> Result<Invited, StoreError> {
    store
        .accept(
            tenant,
            how,
            user,
            300,
            |_| Vec::new(),
            &audit("invitation.accepted"),
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
    let placed = place_one(&store, tenant, &first, Some("delivery-1"))
        .await
        .unwrap();
    assert!(placed.created);
    assert_eq!(placed.enrolled.as_ref().map(|e| e.user), Some(buyer));
    assert_eq!(enrolled(&store, tenant, buyer).await, 1);
    assert_eq!(
        store.delivered(tenant, "delivery-1").await.unwrap(),
        std::slice::from_ref(&first)
    );
    assert_eq!(
        store.order_by_shop_id(tenant, "1001").await.unwrap(),
        Some(first.clone())
    );

    // Again under another id of ours, by gRPC or a new delivery: the first, nothing new.
    let again = place_one(&store, tenant, &order(c.id, "1001", buyer, 1), None)
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.order.id, first.id);
    assert!(again.enrolled.is_none());
    // A seen delivery is answered as it was, whatever else it says now.
    let replay = place_one(
        &store,
        tenant,
        &order(c.id, "1001", buyer, 3),
        Some("delivery-1"),
    )
    .await
    .unwrap();
    assert_eq!((replay.created, replay.order.id), (false, first.id));
    let conflict = place_one(&store, tenant, &order(c.id, "1001", buyer, 2), None)
        .await
        .unwrap_err();
    assert_eq!(reason(conflict), "ORDER_CONFLICT");
    let other_buyer = place_one(&store, tenant, &order(c.id, "1001", someone(), 1), None)
        .await
        .unwrap_err();
    assert_eq!(
        reason(other_buyer),
        "ORDER_CONFLICT",
        "the shop id names another buyer's"
    );
    let reused = place_one(
        &store,
        tenant,
        &order(c.id, "1002", buyer, 1),
        Some("delivery-1"),
    )
    .await
    .unwrap_err();
    assert_eq!(reason(reused), "DELIVERY_CONFLICT");
    assert_eq!(enrolled(&store, tenant, buyer).await, 1);
    let orders = store.orders(tenant, Some(buyer), None, 10).await.unwrap();
    assert_eq!(orders, std::slice::from_ref(&first));
    // Another tenant's shop may use the same id for its own order.
    let other = TenantId::generate();
    let theirs = course("Theirs");
    stored(&store, other, &theirs).await;
    assert!(
        place_one(&store, other, &order(theirs.id, "1001", buyer, 1), None)
            .await
            .unwrap()
            .created
    );
    assert!(store.order(other, first.id).await.unwrap().is_none());
}

pub async fn a_delivery_s_orders_are_placed_all_or_none<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let (c, archived) = (course("Open"), course("Closed"));
    stored(&store, tenant, &c).await;
    stored(&store, tenant, &archived).await;
    // Someone enrolled on it: deleting archives it.
    store
        .enrol(
            tenant,
            crate::store::ToEnrol {
                course: archived.id,
                users: &[someone()],
                by: "test",
                at: 1,
            },
            |_| Vec::new(),
            &audit("enrolled"),
        )
        .await
        .unwrap();
    store
        .remove_course(
            tenant,
            archived.id,
            2,
            |_| Vec::new(),
            &audit("course.deleted"),
        )
        .await
        .unwrap();
    let buyer = someone();
    let refused = place(
        &store,
        tenant,
        &[
            order(c.id, "7/1", buyer, 1),
            order(archived.id, "7/2", buyer, 1),
        ],
        Some("delivery-7"),
    )
    .await
    .unwrap_err();
    assert_eq!(reason(refused), "ARCHIVED");
    assert_eq!(store.order_by_shop_id(tenant, "7/1").await.unwrap(), None);
    assert!(
        store
            .delivered(tenant, "delivery-7")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(enrolled(&store, tenant, buyer).await, 0);
    let both = place(
        &store,
        tenant,
        &[order(c.id, "8/1", buyer, 1), order(c.id, "8/2", buyer, 4)],
        Some("delivery-8"),
    )
    .await
    .unwrap();
    assert!(both.iter().all(|p| p.created));
    assert_eq!(
        store.delivered(tenant, "delivery-8").await.unwrap().len(),
        2
    );
}

pub async fn seats_are_offered_one_invitation_each_and_taken_only_by_accepting<S: Store>(store: S) {
    let tenant = TenantId::generate();
    let c = course("Seats");
    stored(&store, tenant, &c).await;
    let (purchaser, known, newcomer) = (someone(), someone(), someone());
    let bought = order(c.id, "2001", purchaser, 2);
    let placed = place_one(&store, tenant, &bought, None).await.unwrap();
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
    let to_known = invitation(bought.id, "k@x.org", Some(known));
    let sent = invite(&store, tenant, purchaser, to_known.clone(), b"k")
        .await
        .unwrap();
    assert_eq!(sent.state, InvitationState::Pending);
    assert_eq!(
        enrolled(&store, tenant, known).await,
        0,
        "nobody is enrolled unasked"
    );
    let told = store
        .notifications(
            tenant,
            NotificationFilter {
                recipient: Some(known),
                ..Default::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].object, to_known.id.as_uuid());
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
    invite(
        &store,
        tenant,
        purchaser,
        invitation(bought.id, "n@x.org", None),
        b"n",
    )
    .await
    .unwrap();
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

    // Only the addressee finds an invitation by its id; anyone with the code takes it.
    let by_id = Acceptance::Addressed(to_known.id);
    let stranger = accept(&store, tenant, by_id, newcomer).await.unwrap_err();
    assert!(
        matches!(stranger, StoreError::Missing { .. }),
        "{stranger:?}"
    );
    let taken = accept(&store, tenant, by_id, known).await.unwrap();
    assert_eq!(taken.invitation.invitee, Some(known));
    assert_eq!(enrolled(&store, tenant, known).await, 1);
    let missing = accept(&store, tenant, Acceptance::Code(b"nothing"), newcomer)
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::Missing { .. }), "{missing:?}");
    let held = accept(&store, tenant, Acceptance::Code(b"n"), known)
        .await
        .unwrap_err();
    assert_eq!(reason(held), "ALREADY_INVITED", "one seat per person");
    let accepted = accept(&store, tenant, Acceptance::Code(b"n"), newcomer)
        .await
        .unwrap();
    assert_eq!(accepted.invitation.state, InvitationState::Accepted);
    assert_eq!(accepted.invitation.invitee, Some(newcomer));
    assert_eq!(accepted.invitation.accepted_at, Some(300));
    assert_eq!(enrolled(&store, tenant, newcomer).await, 1);
    let again = accept(&store, tenant, Acceptance::Code(b"n"), newcomer)
        .await
        .unwrap();
    assert!(again.enrolled.is_none(), "taking it again changes nothing");
    let other = accept(&store, tenant, Acceptance::Code(b"n"), someone())
        .await
        .unwrap_err();
    assert_eq!(reason(other), "INVITATION_ACCEPTED");
    let listed = store.invitations(tenant, bought.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|i| i.state == InvitationState::Accepted));

    // A pending invitation is withdrawn by the buyer alone, freeing its seat; a taken one stays.
    let third = order(c.id, "2003", purchaser, 2);
    place_one(&store, tenant, &third, None).await.unwrap();
    let typo = invitation(third.id, "typo@x.org", None);
    invite(&store, tenant, purchaser, typo.clone(), b"t")
        .await
        .unwrap();
    invite(
        &store,
        tenant,
        purchaser,
        invitation(third.id, "b@x.org", None),
        b"b",
    )
    .await
    .unwrap();
    let cancel = |by: UserId, id: InvitationId| {
        let store = &store;
        async move {
            store
                .cancel_invitation(tenant, by, id, &audit("invitation.cancelled"))
                .await
        }
    };
    let not_theirs = cancel(known, typo.id).await.unwrap_err();
    assert!(
        matches!(not_theirs, StoreError::Missing { .. }),
        "{not_theirs:?}"
    );
    assert_eq!(
        cancel(purchaser, typo.id).await.unwrap().email,
        "typo@x.org"
    );
    invite(
        &store,
        tenant,
        purchaser,
        invitation(third.id, "c@x.org", None),
        b"c",
    )
    .await
    .unwrap();
    let gone = accept(&store, tenant, Acceptance::Code(b"t"), newcomer)
        .await
        .unwrap_err();
    assert!(matches!(gone, StoreError::Missing { .. }), "{gone:?}");
    let taken_seat = accept(&store, tenant, Acceptance::Code(b"b"), someone())
        .await
        .unwrap();
    let kept = cancel(purchaser, taken_seat.invitation.id)
        .await
        .unwrap_err();
    assert_eq!(reason(kept), "INVITATION_ACCEPTED");

    // A single seat is its buyer's own.
    let solo = order(c.id, "2002", purchaser, 1);
    place_one(&store, tenant, &solo, None).await.unwrap();
    let own = invite(
        &store,
        tenant,
        purchaser,
        invitation(solo.id, "o@x.org", None),
        b"o",
    )
    .await
    .unwrap_err();
    assert_eq!(reason(own), "NOT_A_SEAT_PURCHASE");
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
            place_one(&store, tenant, &wanted, Some(&delivery))
                .await
                .unwrap()
        }
    });
    let placed = futures_util::future::join_all(tries).await;
    assert_eq!(placed.iter().filter(|p| p.created).count(), 1);
    assert!(placed.windows(2).all(|w| w[0].order.id == w[1].order.id));
    assert_eq!(enrolled(&store, tenant, buyer).await, 1);
}
