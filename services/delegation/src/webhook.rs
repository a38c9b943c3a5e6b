//! The shop's webhook: `POST /webhooks/shop/<tenant id>`, plain HTTP beside gRPC, in the shape
//! shops send. The raw body is JSON:
//!
//! ```json
//! {"id": 1001, "email": "buyer@example.org",
//!  "line_items": [{"sku": "<course id>", "quantity": 5}]}
//! ```
//!
//! signed with the tenant's webhook secret (`RotateShopWebhookSecret`): the header
//! `X-Shop-Hmac-Sha256` carries the base64 HMAC-SHA256 of the raw body, and `X-Shop-Webhook-Id`
//! the delivery's id, the same on every retry. Each line item is placed as an order (the shop's
//! id as it stands for a single item, `<id>/<n>` for the n-th of several), as `PlaceOrder`
//! would, all of them or none; a delivery seen before is answered as it was. A bad signature is refused with 401 and
//! logged without the body. Answers: 200 with the orders, 400 naming a wrong field, 401, 404
//! for an unknown course, 413, 422 for an order refused (`BUYER_UNKNOWN`, `ORDER_CONFLICT`,
//! ...; the shop may retry), 503 when a dependency is down (retry).

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use lms_kernel::TenantId;
use lms_runtime::ApiError;
use lms_runtime::layers::BoxFuture;
use serde::Deserialize;
use serde_json::json;
use tonic::body::Body;
use tonic::server::NamedService;

use crate::audit::Actor;
use crate::core::Core;
use crate::shop::{self, OrderFields, ShopOrder};
use crate::store::Store;

/// The header with the delivery's signature.
pub const SIGNATURE_HEADER: &str = "x-shop-hmac-sha256";

/// The header with the delivery's id.
pub const WEBHOOK_ID_HEADER: &str = "x-shop-webhook-id";

/// The largest body read.
const BODY_MAX: usize = 64 * 1024;

/// The longest delivery id kept.
const WEBHOOK_ID_MAX: usize = 128;

/// Who the audit names for an order the webhook placed.
const WEBHOOK_ACTOR: &str = "shop-webhook";

/// The fields of the webhook's JSON, for naming a wrong one.
const WEBHOOK_FIELDS: OrderFields = OrderFields {
    shop_order: "id",
    course: "line_items.sku",
    buyer_email: "email",
    seats: "line_items.quantity",
};

#[derive(Deserialize)]
struct Delivery {
    /// Shops send a number or a string.
    id: serde_json::Value,
    email: String,
    line_items: Vec<LineItem>,
}

#[derive(Deserialize)]
struct LineItem {
    sku: String,
    quantity: i64,
}

/// The webhook as a tower service, mounted at `/webhooks/`.
pub struct Webhook<S>(Arc<Core<S>>);

impl<S> Clone for Webhook<S> {
    fn clone(&self) -> Self {
        Webhook(self.0.clone())
    }
}

impl<S> NamedService for Webhook<S> {
    const NAME: &'static str = "webhooks";
}

/// The webhook over `core`.
pub fn service<S: Store + Clone>(core: Arc<Core<S>>) -> Webhook<S> {
    Webhook(core)
}

impl<S: Store + Clone> tower::Service<Request<Body>> for Webhook<S> {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let core = self.0.clone();
        Box::pin(async move { Ok(answer(handle(&core, request).await)) })
    }
}

/// A refusal as the shop reads it.
struct Refusal {
    status: StatusCode,
    reason: &'static str,
    message: String,
}

fn refusal(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        reason,
        message: message.into(),
    }
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        let status = match &error {
            ApiError::InvalidArgument(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::FailedPrecondition { .. } | ApiError::AlreadyExists { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        // The gRPC status carries the message clients see (internal detail stays in the log).
        let grpc = tonic::Status::from(error);
        let reason = match status {
            StatusCode::BAD_REQUEST => "INVALID_ARGUMENT",
            StatusCode::NOT_FOUND => "NOT_FOUND",
            StatusCode::UNPROCESSABLE_ENTITY => "FAILED_PRECONDITION",
            StatusCode::SERVICE_UNAVAILABLE => "UNAVAILABLE",
            _ => "INTERNAL",
        };
        Refusal {
            status,
            reason,
            message: grpc.message().to_owned(),
        }
    }
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::new(Full::new(Bytes::from(body.to_string()))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn answer(result: Result<serde_json::Value, Refusal>) -> Response<Body> {
    match result {
        Ok(body) => json_response(StatusCode::OK, body),
        Err(refused) => json_response(
            refused.status,
            json!({"error": refused.reason, "message": refused.message}),
        ),
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

async fn handle<S: Store + Clone>(
    core: &Core<S>,
    request: Request<Body>,
) -> Result<serde_json::Value, Refusal> {
    let tenant = request
        .uri()
        .path()
        .strip_prefix("/webhooks/shop/")
        .and_then(|id| TenantId::parse(id).ok())
        .ok_or_else(|| refusal(StatusCode::NOT_FOUND, "NOT_FOUND", "no such webhook"))?;
    if request.method() != Method::POST {
        return Err(refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "the shop webhook takes POST",
        ));
    }
    let Some(key) = &core.shop_webhook_key else {
        return Err(refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "WEBHOOK_NOT_CONFIGURED",
            "this deployment takes no shop webhook",
        ));
    };
    let headers = request.headers();
    let webhook_id = header_text(headers, WEBHOOK_ID_HEADER)
        .map(str::trim)
        .filter(|id| {
            !id.is_empty() && id.len() <= WEBHOOK_ID_MAX && !id.chars().any(char::is_control)
        })
        .map(str::to_owned)
        .ok_or_else(|| {
            refusal(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                format!("the {WEBHOOK_ID_HEADER} header must name the delivery"),
            )
        })?;
    let signature = header_text(headers, SIGNATURE_HEADER)
        .map(str::to_owned)
        .unwrap_or_default();
    let body = Limited::new(request.into_body(), BODY_MAX)
        .collect()
        .await
        .map_err(|_| {
            refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                "TOO_LARGE",
                format!("the body may hold at most {BODY_MAX} bytes"),
            )
        })?
        .to_bytes();
    let generation = core
        .store
        .webhook_generation(tenant)
        .await
        .map_err(ApiError::from)?;
    let signed =
        generation.is_some_and(|generation| key.verify(tenant, generation, &body, &signature));
    if !signed {
        // Logged to be noticed (a forged or misconfigured shop), never with the body.
        tracing::warn!(%tenant, webhook_id, bytes = body.len(), "shop webhook signature refused");
        return Err(refusal(
            StatusCode::UNAUTHORIZED,
            "SIGNATURE_INVALID",
            format!(
                "the {SIGNATURE_HEADER} header is not the body's signature under the tenant's webhook secret"
            ),
        ));
    }
    let delivery: Delivery = serde_json::from_slice(&body).map_err(|error| {
        refusal(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            format!("the body is not an order: {error}"),
        )
    })?;
    let shop_id = match &delivery.id {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Number(number) => number.to_string(),
        _ => String::new(),
    };
    if delivery.line_items.is_empty() {
        return Err(ApiError::invalid_field("line_items", "must name at least one course").into());
    }
    // Every item is checked before any is placed, and all are placed or none.
    let several = delivery.line_items.len() > 1;
    let mut wanted = Vec::with_capacity(delivery.line_items.len());
    for (n, item) in delivery.line_items.iter().enumerate() {
        let shop_order = match several {
            false => shop_id.clone(),
            true => format!("{shop_id}/{}", n + 1),
        };
        wanted.push(ShopOrder::parse(
            WEBHOOK_FIELDS,
            &shop_order,
            &item.sku,
            &delivery.email,
            item.quantity,
        )?);
    }
    let by = Actor::Service(WEBHOOK_ACTOR.into());
    let (made, _) = shop::place(core, tenant, &wanted, &by, Some(&webhook_id)).await?;
    let placed: Vec<_> = made
        .iter()
        .map(|made| {
            json!({
                "order_id": made.order.id.to_string(),
                "shop_order_id": made.order.shop_order,
                "created": made.created,
            })
        })
        .collect();
    Ok(json!({ "orders": placed }))
}
