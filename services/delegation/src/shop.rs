//! The shop: placing an order (shared by `PurchaseService.PlaceOrder` and the signed webhook),
//! and the tenants' webhook secrets.
//!
//! A tenant's webhook secret is derived from delegation's configured key, the tenant and a
//! generation the store keeps (moved on by `RotateShopWebhookSecret`), so no secret sits in the
//! database: reading delegation's store does not let anyone sign an order.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use lms_api::common::v1::ConsistencyToken;
use lms_kernel::{CourseId, OrderId, TenantId, UserId, UserStatus};
use lms_runtime::clock::now;
use lms_runtime::{ApiError, SecretString};
use sha2::Sha256;

use crate::audit::Actor;
use crate::core::Core;
use crate::relationships;
use crate::store::{OrderRecord, Placed, Store, same_delivery};

/// The longest shop order id kept.
pub const SHOP_ORDER_MAX: usize = 128;

/// The most seats one order buys.
pub const SEATS_MAX: i64 = 10_000;

/// The key tenants' webhook secrets are derived from.
#[derive(Clone)]
pub struct WebhookKey(Vec<u8>);

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookKey(..)")
    }
}

impl WebhookKey {
    /// The key configured as `delegation.shop_webhook_key`.
    pub fn new(key: &SecretString) -> Self {
        WebhookKey(key.expose().as_bytes().to_vec())
    }

    /// The secret of `tenant`'s webhook at `generation`, as the shop is given it.
    pub fn secret(&self, tenant: TenantId, generation: u32) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"lms shop webhook secret v1\0");
        mac.update(tenant.as_uuid().as_bytes());
        mac.update(&generation.to_be_bytes());
        format!(
            "whsec_{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    /// Whether `signature` (base64, as the `X-Shop-Hmac-Sha256` header carries it) is the
    /// HMAC-SHA256 of `body` under `tenant`'s secret at `generation`; compared in constant time.
    pub fn verify(&self, tenant: TenantId, generation: u32, body: &[u8], signature: &str) -> bool {
        let Ok(claimed) = STANDARD.decode(signature.trim()) else {
            return false;
        };
        let secret = self.secret(tenant, generation);
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(body);
        mac.verify_slice(&claimed).is_ok()
    }
}

/// The signature a shop sends with `body` under `secret` (what a shop computes; the tests and
/// `lmsctl` sign with it).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The names the fields of an order go by where it came from, for naming a wrong one.
#[derive(Clone, Copy, Debug)]
pub struct OrderFields {
    /// The shop's order id.
    pub shop_order: &'static str,
    /// The course.
    pub course: &'static str,
    /// The buyer's address.
    pub buyer_email: &'static str,
    /// The seats.
    pub seats: &'static str,
}

/// The fields of `PlaceOrderRequest`.
pub const GRPC_FIELDS: OrderFields = OrderFields {
    shop_order: "shop_order_id",
    course: "course_id",
    buyer_email: "buyer_email",
    seats: "seats",
};

/// An order as the shop states it, checked.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ShopOrder {
    /// The shop's id.
    pub shop_order: String,
    /// The course.
    pub course: CourseId,
    /// The buyer's address.
    pub buyer_email: String,
    /// Seats, 1 to [`SEATS_MAX`].
    pub seats: u32,
}

impl ShopOrder {
    /// Checks what the shop sent, naming a wrong field as `fields` call it.
    pub fn parse(
        fields: OrderFields,
        shop_order: &str,
        course: &str,
        buyer_email: &str,
        seats: i64,
    ) -> Result<Self, ApiError> {
        let shop_order = shop_order.trim();
        if shop_order.is_empty()
            || shop_order.chars().count() > SHOP_ORDER_MAX
            || shop_order.chars().any(char::is_control)
        {
            return Err(ApiError::invalid_field(
                fields.shop_order,
                format!("must be 1 to {SHOP_ORDER_MAX} printable characters"),
            ));
        }
        let course = CourseId::parse(course)
            .map_err(|error| ApiError::invalid_field(fields.course, error.to_string()))?;
        let buyer_email = lms_kernel::Email::parse(buyer_email)
            .map_err(|error| ApiError::invalid_field(fields.buyer_email, error.to_string()))?;
        if !(1..=SEATS_MAX).contains(&seats) {
            return Err(ApiError::invalid_field(
                fields.seats,
                format!("must be 1 to {SEATS_MAX}"),
            ));
        }
        Ok(ShopOrder {
            shop_order: shop_order.to_owned(),
            course,
            buyer_email: buyer_email.as_str().to_owned(),
            seats: seats as u32,
        })
    }
}

/// The buyer of new orders: the active person of the tenant with `email`, found at identity.
async fn buyer<S: Store>(
    core: &Core<S>,
    tenant: TenantId,
    email: &str,
) -> Result<UserId, ApiError> {
    let token = core.authorization.service_token(tenant).await?;
    match core.identity.user_by_email(&token, email).await? {
        Some((buyer, UserStatus::Active)) => Ok(buyer),
        Some(_) => Err(ApiError::FailedPrecondition {
            reason: "BUYER_NOT_ACTIVE",
            message: "the buyer's account is not active (suspended, or waiting for approval): \
                      send the order again once it is"
                .into(),
        }),
        None => Err(ApiError::FailedPrecondition {
            reason: "BUYER_UNKNOWN",
            message: "nobody of the tenant has the buyer's address: send the order again once \
                      they have an account"
                .into(),
        }),
    }
}

/// Places `wanted` (one order, or a delivery's line items, all for one buyer) for `tenant` as
/// `by`, all or none, and delivers what they give before answering. A delivery or an order
/// placed before is answered from the store without asking identity, so a retry is answered as
/// it was even while identity is down or the buyer's address has changed; only new orders look
/// their buyer up.
pub async fn place<S: Store>(
    core: &Core<S>,
    tenant: TenantId,
    wanted: &[ShopOrder],
    by: &Actor,
    webhook: Option<&str>,
) -> Result<(Vec<Placed>, Option<ConsistencyToken>), ApiError> {
    if let Some(webhook) = webhook {
        let first = core.store.delivered(tenant, webhook).await?;
        if !first.is_empty() {
            if !same_delivery(&first, wanted.iter().map(|o| o.shop_order.as_str())) {
                return Err(ApiError::FailedPrecondition {
                    reason: "DELIVERY_CONFLICT",
                    message: format!("delivery {webhook} placed other orders before"),
                });
            }
            let placed = first.into_iter().map(Placed::before).collect();
            return Ok((placed, core.deliver(tenant).await));
        }
    }
    let mut before = Vec::with_capacity(wanted.len());
    for order in wanted {
        before.push(
            core.store
                .order_by_shop_id(tenant, &order.shop_order)
                .await?,
        );
    }
    // Identity is asked once, and only when an order is new.
    let mut buyer_of_new = None;
    let at = now();
    let mut records = Vec::with_capacity(wanted.len());
    for (order, before) in wanted.iter().zip(before) {
        records.push(match before {
            // The store answers it as placed before, or refuses other contents.
            Some(first) => OrderRecord {
                course: order.course,
                buyer_email: order.buyer_email.clone(),
                seats: order.seats,
                ..first
            },
            None => {
                let buyer = match buyer_of_new {
                    Some(buyer) => buyer,
                    None => *buyer_of_new.insert(buyer(core, tenant, &order.buyer_email).await?),
                };
                OrderRecord {
                    id: OrderId::generate(),
                    shop_order: order.shop_order.clone(),
                    course: order.course,
                    buyer,
                    buyer_email: order.buyer_email.clone(),
                    seats: order.seats,
                    placed_by: by.label(),
                    placed_at: at,
                }
            }
        });
    }
    let placed = core
        .store
        .place_orders(
            tenant,
            &records,
            webhook,
            relationships::orders_placed,
            &by.did("order.placed", "order", ""),
        )
        .await?;
    Ok((placed, core.deliver(tenant).await))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_for_its_tenant_generation_and_body_only() {
        let key = WebhookKey::new(&SecretString::new("k".repeat(32)));
        let (tenant, other) = (TenantId::generate(), TenantId::generate());
        let body = br#"{"id":"1001"}"#;
        let signature = sign(&key.secret(tenant, 1), body);
        assert!(key.verify(tenant, 1, body, &signature));
        assert!(!key.verify(tenant, 2, body, &signature), "rotated");
        assert!(!key.verify(other, 1, body, &signature), "another tenant's");
        assert!(
            !key.verify(tenant, 1, br#"{"id":"1002"}"#, &signature),
            "another body"
        );
        assert!(!key.verify(tenant, 1, body, "not base64!"));
        assert_ne!(key.secret(tenant, 1), key.secret(tenant, 2));
    }

    #[test]
    fn an_order_names_the_field_that_is_wrong() {
        let course = CourseId::generate().to_string();
        let parse = |id: &str, course: &str, email: &str, seats| {
            ShopOrder::parse(GRPC_FIELDS, id, course, email, seats)
        };
        let field = |result: Result<ShopOrder, ApiError>| match result {
            Err(ApiError::InvalidArgument(violations)) => violations[0].field.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(field(parse("", &course, "a@b.org", 1)), "shop_order_id");
        assert_eq!(
            field(parse(&"x".repeat(129), &course, "a@b.org", 1)),
            "shop_order_id"
        );
        assert_eq!(field(parse("1", "nope", "a@b.org", 1)), "course_id");
        assert_eq!(field(parse("1", &course, "not mail", 1)), "buyer_email");
        assert_eq!(field(parse("1", &course, "a@b.org", 0)), "seats");
        assert_eq!(field(parse("1", &course, "a@b.org", 10_001)), "seats");
        let order = parse(" 1001 ", &course, "Ann@Example.org", 5).unwrap();
        assert_eq!((order.shop_order.as_str(), order.seats), ("1001", 5));
    }
}
