//! Shop purchases: an order placed by the shop's integration (or its signed webhook) makes a
//! one-seat buyer a Student enrolled on the course and a several-seat buyer a Purchaser, whose
//! invitees take the seats and whose reach covers exactly them.

use std::io::{Read, Write};
use std::net::SocketAddr;

use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::delegation::v1::{
    AcceptInvitationRequest, BuyerRole, CancelInvitationRequest, InvitationState,
    InviteLearnerRequest, ListInvitationsRequest, ListNotificationsRequest, ListOrdersRequest,
    NotificationKind, PlaceOrderRequest, PlaceOrderResponse, RotateShopWebhookSecretRequest,
};
use tonic::Code;

use super::enrolments::{course, enrolments_of};
use super::fixture::{Platform, fields, reason};

fn user_ref(id: &str) -> ObjectReference {
    ObjectReference {
        r#type: ObjectType::User as i32,
        id: id.into(),
        tenant_id: String::new(),
    }
}

pub(super) fn order(shop_order: &str, course: &str, buyer: &str, seats: i32) -> PlaceOrderRequest {
    PlaceOrderRequest {
        shop_order_id: shop_order.into(),
        course_id: course.into(),
        buyer_email: buyer.into(),
        seats,
    }
}

pub(super) async fn place(
    p: &Platform,
    shop: &str,
    request: PlaceOrderRequest,
) -> Result<PlaceOrderResponse, tonic::Status> {
    p.purchases(shop)
        .place_order(request)
        .await
        .map(|r| r.into_inner())
}

async fn enrolled_on(p: &Platform, user: &str, course: &str) -> bool {
    enrolments_of(p, user)
        .await
        .iter()
        .any(|e| e.course_id == course)
}

#[tokio::test]
async fn one_seat_enrols_the_buyer_and_several_make_a_purchaser_who_sees_only_invitees() {
    let p = Platform::start().await;
    let c = course(&p, "Forklift licence", false).await;
    let shop = p
        .operator_integration("shop", &["delegation.orders.place"])
        .await;
    let (solo, solo_token) = p.person("solo@academy.example", None, None).await;
    let (boss, boss_token) = p.person("boss@academy.example", None, None).await;
    let (known, known_token) = p.person("known@academy.example", None, None).await;
    let (outsider, _) = p.person("outsider@academy.example", None, None).await;

    // One seat for oneself: a Student, enrolled; the same order again changes nothing.
    let single = place(&p, &shop, order("1001", &c, "Solo@Academy.example", 1))
        .await
        .unwrap();
    assert!(single.created);
    let first = single.order.unwrap();
    assert_eq!(
        (first.buyer_user_id.as_str(), first.seats),
        (solo.as_str(), 1)
    );
    assert_eq!(first.buyer_role(), BuyerRole::Student);
    assert!(
        first.placed_by.starts_with("service:integration:shop"),
        "{first:?}"
    );
    assert!(enrolled_on(&p, &solo, &c).await);
    let again = place(&p, &shop, order("1001", &c, "solo@academy.example", 1))
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.order.unwrap().order_id, first.order_id);
    assert_eq!(enrolments_of(&p, &solo).await.len(), 1);
    let conflict = place(&p, &shop, order("1001", &c, "solo@academy.example", 2))
        .await
        .unwrap_err();
    assert_eq!(conflict.code(), Code::FailedPrecondition);
    assert_eq!(reason(&conflict), "ORDER_CONFLICT");

    // Five seats: a Purchaser, not enrolled, who invites.
    let five = place(&p, &shop, order("1002", &c, "boss@academy.example", 5))
        .await
        .unwrap();
    let bought = five.order.unwrap();
    assert_eq!(bought.buyer_role(), BuyerRole::Purchaser);
    assert!(!enrolled_on(&p, &boss, &c).await);
    let mine = p
        .purchases(&boss_token)
        .list_orders(ListOrdersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .orders;
    assert_eq!(mine.len(), 1, "a buyer lists their own orders only");
    let invite = |token: &str, email: &str| {
        let mut client = p.purchases(token);
        let request = InviteLearnerRequest {
            order_id: bought.order_id.clone(),
            email: email.into(),
        };
        async move { client.invite_learner(request).await.map(|r| r.into_inner()) }
    };

    // An invitation always waits for its invitee: the answer is the same whether anyone has
    // the address, and the Purchaser reaches nobody who has not accepted.
    let to_known = invite(&boss_token, "KNOWN@academy.example").await.unwrap();
    let to_newcomer = invite(&boss_token, "newcomer@academy.example")
        .await
        .unwrap();
    for sent in [&to_known, &to_newcomer] {
        let invitation = sent.invitation.as_ref().unwrap();
        assert_eq!(invitation.state(), InvitationState::Pending);
        assert!(invitation.invitee_user_id.is_empty());
        assert!(sent.code.starts_with("lmsinv_"), "{}", sent.code);
    }
    assert_eq!(
        to_known.invitation.as_ref().unwrap().email,
        "known@academy.example"
    );
    assert!(
        !enrolled_on(&p, &known, &c).await,
        "nobody is enrolled unasked"
    );
    assert!(
        !p.allowed(&boss_token, "reports.read", user_ref(&known), None)
            .await
    );

    // The person the address belongs to hears of it and accepts by its id.
    let told = p
        .notifications(&known_token)
        .list_notifications(ListNotificationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .notifications;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].kind(), NotificationKind::InvitationReceived);
    assert_eq!(told[0].course_id, c);
    let invitation_id = to_known.invitation.as_ref().unwrap().invitation_id.clone();
    assert_eq!(told[0].object_id, invitation_id);
    let by_id = |token: &str| {
        let mut client = p.purchases(token);
        let request = AcceptInvitationRequest {
            code: String::new(),
            invitation_id: invitation_id.clone(),
        };
        async move { client.accept_invitation(request).await }
    };
    let not_theirs = by_id(&solo_token).await.unwrap_err();
    assert_eq!(
        not_theirs.code(),
        Code::NotFound,
        "only its addressee finds it by id"
    );
    let taken = by_id(&known_token).await.unwrap().into_inner();
    assert_eq!(taken.invitation.unwrap().invitee_user_id, known);
    assert!(enrolled_on(&p, &known, &c).await);
    let at = taken.written_at;
    assert!(
        p.allowed(&boss_token, "reports.read", user_ref(&known), at.clone())
            .await
    );
    assert!(
        !p.allowed(&boss_token, "reports.read", user_ref(&outsider), at.clone())
            .await
    );
    assert!(
        !p.allowed(&boss_token, "reports.read", user_ref(&solo), at)
            .await
    );

    // An address nobody held: its holder accepts with the code once they have an account.
    let pending = to_newcomer;
    let (newcomer, newcomer_token) = p.person("newcomer@academy.example", None, None).await;
    assert!(!enrolled_on(&p, &newcomer, &c).await);
    let accepted = p
        .purchases(&newcomer_token)
        .accept_invitation(AcceptInvitationRequest {
            code: pending.code.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(accepted.course_id, c);
    assert_eq!(accepted.invitation.unwrap().invitee_user_id, newcomer);
    assert!(enrolled_on(&p, &newcomer, &c).await);
    assert!(
        p.allowed(
            &boss_token,
            "reports.read",
            user_ref(&newcomer),
            accepted.written_at
        )
        .await
    );
    let twice = p
        .purchases(&newcomer_token)
        .accept_invitation(AcceptInvitationRequest {
            code: pending.code.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(twice.invitation.unwrap().state(), InvitationState::Accepted);
    let taken_by_other = p
        .purchases(&solo_token)
        .accept_invitation(AcceptInvitationRequest {
            code: pending.code.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&taken_by_other), "INVITATION_ACCEPTED");
    let unknown = p
        .purchases(&solo_token)
        .accept_invitation(AcceptInvitationRequest {
            code: "lmsinv_nothing".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let both = p
        .purchases(&solo_token)
        .accept_invitation(AcceptInvitationRequest {
            code: pending.code.clone(),
            invitation_id: invitation_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&both), ["code"]);

    // A single seat is its buyer's own.
    let own = p
        .purchases(&solo_token)
        .invite_learner(InviteLearnerRequest {
            order_id: first.order_id.clone(),
            email: "friend@academy.example".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        own.code(),
        Code::PermissionDenied,
        "a Student holds no invitations.create"
    );

    // Seats are never over-offered, an address is invited once, and only the buyer invites.
    let same = invite(&boss_token, "known@academy.example")
        .await
        .unwrap_err();
    assert_eq!(reason(&same), "ALREADY_INVITED");
    invite(&boss_token, "third@academy.example").await.unwrap();
    invite(&boss_token, "fourth@academy.example").await.unwrap();
    invite(&boss_token, "fifth@academy.example").await.unwrap();
    let full = invite(&boss_token, "sixth@academy.example")
        .await
        .unwrap_err();
    assert_eq!(full.code(), Code::FailedPrecondition);
    assert_eq!(reason(&full), "NO_SEATS_LEFT");
    // A pending invitation withdrawn frees its seat; an accepted one stays.
    let fifth = p
        .purchases(&boss_token)
        .list_invitations(ListInvitationsRequest {
            order_id: bought.order_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .invitations
        .into_iter()
        .find(|i| i.email == "fifth@academy.example")
        .unwrap();
    let cancel = |token: &str, id: &str| {
        let mut client = p.purchases(token);
        let request = CancelInvitationRequest {
            invitation_id: id.into(),
        };
        async move { client.cancel_invitation(request).await }
    };
    let not_theirs = cancel(&solo_token, &fifth.invitation_id).await.unwrap_err();
    assert_eq!(not_theirs.code(), Code::NotFound);
    cancel(&boss_token, &fifth.invitation_id).await.unwrap();
    invite(&boss_token, "sixth@academy.example").await.unwrap();
    let kept = cancel(&boss_token, &invitation_id).await.unwrap_err();
    assert_eq!(reason(&kept), "INVITATION_ACCEPTED");
    let listed = p
        .purchases(&boss_token)
        .list_invitations(ListInvitationsRequest {
            order_id: bought.order_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .invitations;
    assert_eq!(listed.len(), 5);
    let not_a_purchaser = invite(&solo_token, "x@academy.example").await.unwrap_err();
    assert_eq!(not_a_purchaser.code(), Code::PermissionDenied);
    assert!(not_a_purchaser.message().contains("invitations.create"));
    let not_theirs = p
        .purchases(&boss_token)
        .list_invitations(ListInvitationsRequest {
            order_id: first.order_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(not_theirs.code(), Code::NotFound);
}

#[tokio::test]
async fn orders_come_only_from_the_shop_and_bad_ones_name_what_is_wrong() {
    let p = Platform::start().await;
    let c = course(&p, "Manual handling", false).await;
    let shop = p
        .operator_integration("shop", &["delegation.orders.place"])
        .await;
    let (buyer, buyer_token) = p.person("buyer@academy.example", None, None).await;

    let person = place(&p, &buyer_token, order("1", &c, "buyer@academy.example", 1))
        .await
        .unwrap_err();
    assert_eq!(person.code(), Code::PermissionDenied);
    assert_eq!(reason(&person), "SCOPE_REQUIRED");
    let mailer = p
        .operator_integration("mailer", &["delegation.notifications.read"])
        .await;
    let other_scope = place(&p, &mailer, order("1", &c, "buyer@academy.example", 1))
        .await
        .unwrap_err();
    assert_eq!(reason(&other_scope), "SCOPE_REQUIRED");

    for (request, field) in [
        (order("", &c, "buyer@academy.example", 1), "shop_order_id"),
        (order("1", "nope", "buyer@academy.example", 1), "course_id"),
        (order("1", &c, "not an address", 1), "buyer_email"),
        (order("1", &c, "buyer@academy.example", 0), "seats"),
    ] {
        let refused = place(&p, &shop, request).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{field}");
        assert_eq!(fields(&refused), [field]);
    }
    let stranger = place(&p, &shop, order("2", &c, "nobody@academy.example", 1))
        .await
        .unwrap_err();
    assert_eq!(reason(&stranger), "BUYER_UNKNOWN");
    let missing = lms_kernel::CourseId::generate().to_string();
    let no_course = place(&p, &shop, order("3", &missing, "buyer@academy.example", 1))
        .await
        .unwrap_err();
    assert_eq!(no_course.code(), Code::NotFound);
    // Nothing half-written: none of these left an order or an enrolment.
    assert!(enrolments_of(&p, &buyer).await.is_empty());
    let orders = p
        .purchases(&shop)
        .list_orders(ListOrdersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .orders;
    assert!(orders.is_empty(), "{orders:?}");
}

/// POSTs `body` to `path` on `addr` over HTTP/1.1: the status and the body answered.
async fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: delegation\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    })
    .await
    .unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn the_signed_webhook_places_an_order_once_and_a_forged_one_is_refused() {
    let p = Platform::start().await;
    let c = course(&p, "Working at height", false).await;
    let (buyer, _) = p.person("webbuyer@academy.example", None, None).await;
    let (_, learner_token) = p.person("learner@academy.example", None, None).await;

    let refused = p
        .purchases(&learner_token)
        .rotate_shop_webhook_secret(RotateShopWebhookSecretRequest {})
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let issued = p
        .purchases(&p.admin)
        .rotate_shop_webhook_secret(RotateShopWebhookSecretRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(issued.path, format!("/webhooks/shop/{}", p.tenant));
    let body = format!(
        r#"{{"id": 5001, "email": "webbuyer@academy.example",
            "line_items": [{{"sku": "{c}", "quantity": 1}}]}}"#
    );
    let signature = lms_delegation::shop::sign(&issued.secret, body.as_bytes());
    let deliver = |id: &'static str, signature: String, body: String| {
        let (addr, path) = (p.delegation.addr(), issued.path.clone());
        async move {
            post(
                addr,
                &path,
                &[
                    ("X-Shop-Webhook-Id", id),
                    ("X-Shop-Hmac-Sha256", &signature),
                ],
                &body,
            )
            .await
        }
    };

    let (status, answer) = deliver("delivery-1", signature.clone(), body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["orders"][0]["shop_order_id"], "5001");
    assert_eq!(answer["orders"][0]["created"], true);
    assert!(enrolled_on(&p, &buyer, &c).await);

    // The same delivery again, and the same order under a new delivery id: nothing changes.
    let (status, replay) = deliver("delivery-1", signature.clone(), body.clone()).await;
    assert_eq!(status, 200, "{replay}");
    assert!(replay.contains(r#""created":false"#), "{replay}");
    let (status, retry) = deliver("delivery-2", signature.clone(), body.clone()).await;
    assert_eq!(status, 200, "{retry}");
    assert!(retry.contains(r#""created":false"#), "{retry}");
    assert_eq!(enrolments_of(&p, &buyer).await.len(), 1);

    // A forged signature, a body changed under a real one, a missing one: refused, nothing
    // placed, and the body never echoed.
    let forged_body = body.replace("5001", "5002");
    for (signature, body) in [
        (
            lms_delegation::shop::sign("whsec_guessed", forged_body.as_bytes()),
            forged_body.clone(),
        ),
        (signature.clone(), forged_body.clone()),
        (String::new(), forged_body.clone()),
    ] {
        let (status, answer) = deliver("delivery-3", signature, body).await;
        assert_eq!(status, 401, "{answer}");
        assert!(answer.contains("SIGNATURE_INVALID"), "{answer}");
        assert!(!answer.contains("webbuyer"), "{answer}");
    }
    // After a rotation the old secret no longer signs.
    p.purchases(&p.admin)
        .rotate_shop_webhook_secret(RotateShopWebhookSecretRequest {})
        .await
        .unwrap();
    let (status, _) = deliver("delivery-4", signature, body.clone()).await;
    assert_eq!(status, 401);
    // Wrong contents under a good signature name the field.
    let secret = p
        .purchases(&p.admin)
        .rotate_shop_webhook_secret(RotateShopWebhookSecretRequest {})
        .await
        .unwrap()
        .into_inner()
        .secret;
    let bad = body.replace(r#""quantity": 1"#, r#""quantity": 0"#);
    let (status, answer) = deliver(
        "delivery-5",
        lms_delegation::shop::sign(&secret, bad.as_bytes()),
        bad,
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("line_items.quantity"), "{answer}");
    let orders = p
        .purchases(&p.admin)
        .list_orders(ListOrdersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .orders;
    assert!(
        orders.is_empty(),
        "the administrator bought nothing: {orders:?}"
    );
}
