//! `PurchaseService`: shop orders and a Purchaser's invitations (DESIGN §6). The shop places
//! orders with its integration's token (scope `delegation.orders.place`; the webhook beside it
//! in `webhook.rs` places them the same way); a buyer of several seats invites learners by
//! e-mail, and an invitee takes a seat by accepting: with the code the Purchaser sent them, or,
//! when the address is their account's, by the invitation's id from their notification.
//!
//! Nobody becomes a Purchaser's invitee without accepting (the `invitees` reach reads their
//! profile and progress), and the answer to an invitation is the same whether anyone has the
//! address, so a Purchaser learns nothing of who has an account. Finding the addressee is
//! delegation's own call to identity (scope `identity.people.lookup`).

use std::sync::Arc;

use lms_api::common::v1::ObjectType;
use lms_api::delegation::v1::purchase_service_server::{PurchaseService, PurchaseServiceServer};
use lms_api::delegation::v1::{
    AcceptInvitationRequest, AcceptInvitationResponse, CancelInvitationRequest,
    CancelInvitationResponse, InviteLearnerRequest, InviteLearnerResponse, ListInvitationsRequest,
    ListInvitationsResponse, ListOrdersRequest, ListOrdersResponse, PlaceOrderRequest,
    PlaceOrderResponse, RotateShopWebhookSecretRequest, RotateShopWebhookSecretResponse,
};
use lms_kernel::{Email, InvitationId, OrderId, Permission, TenantId, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Acting, Caller, Scope, acting, scoped_tenant, verified};
use lms_runtime::clock::now;
use lms_runtime::paging::{page, page_size};
use lms_runtime::secret::random_token;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};

use crate::audit::Actor;
use crate::convert::{invitation, optional_id, order, reference, required_id};
use crate::core::Core;
use crate::relationships;
use crate::shop::{self, GRPC_FIELDS, ShopOrder};
use crate::store::{Acceptance, InvitationRecord, InvitationState, OrderRecord, Store, ToInvite};

/// How an invitation code starts, so one pasted in the wrong place is recognisable.
const CODE_PREFIX: &str = "lmsinv_";

/// The longest code accepted (a real one is much shorter).
const CODE_MAX: usize = 128;

fn code_hash(code: &str) -> Vec<u8> {
    Sha256::digest(code.as_bytes()).to_vec()
}

/// Shop orders and invitations.
pub struct Purchases<S>(pub Arc<Core<S>>);

impl<S: Store + Clone> Purchases<S> {
    /// The caller's own order `order_id`: any other (or none) is NOT_FOUND, so nobody learns
    /// which orders exist.
    async fn own_order(&self, acting: &Acting, order_id: &str) -> Result<OrderRecord, ApiError> {
        let id = required_id("order_id", order_id, OrderId::parse)?;
        self.0
            .store
            .order(acting.tenant, id)
            .await?
            .filter(|order| order.buyer == acting.user)
            .ok_or_else(|| ApiError::not_found("order", id.to_string()))
    }

    async fn place(
        &self,
        request: Request<PlaceOrderRequest>,
    ) -> Result<PlaceOrderResponse, ApiError> {
        let tenant = scoped_tenant(verified(&request)?, Scope::OrdersPlace)?;
        let by = Actor::of(&request)?;
        let r = request.get_ref();
        let wanted = ShopOrder::parse(
            GRPC_FIELDS,
            &r.shop_order_id,
            &r.course_id,
            &r.buyer_email,
            i64::from(r.seats),
        )?;
        let (placed, written_at) =
            shop::place(&self.0, tenant, std::slice::from_ref(&wanted), &by, None).await?;
        let placed = placed
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::Internal("an order placed nothing".into()))?;
        Ok(PlaceOrderResponse {
            order: Some(order(&placed.order)),
            created: placed.created,
            written_at,
        })
    }

    async fn list(
        &self,
        request: Request<ListOrdersRequest>,
    ) -> Result<ListOrdersResponse, ApiError> {
        let (tenant, buyer): (TenantId, Option<UserId>) = match verified(&request)? {
            Caller::User { tenant, user, .. } => (*tenant, Some(*user)),
            caller => (scoped_tenant(caller, Scope::OrdersPlace)?, None),
        };
        let r = request.get_ref();
        let limit = page_size(r.page_size, 100, 1000);
        let after = optional_id("page_token", &r.page_token, OrderId::parse)?;
        let rows = self.0.store.orders(tenant, buyer, after, limit + 1).await?;
        let (rows, next_page_token) = page(rows, limit, |row| row.id.to_string());
        Ok(ListOrdersResponse {
            orders: rows.iter().map(order).collect(),
            next_page_token,
        })
    }

    async fn invite(
        &self,
        request: Request<InviteLearnerRequest>,
    ) -> Result<InviteLearnerResponse, ApiError> {
        let acting = acting(&request)?;
        let actor = Actor::of(&request)?;
        let r = request.get_ref();
        let email = Email::parse(&r.email)
            .map_err(|error| ApiError::invalid_field("email", error.to_string()))?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::InvitationsCreate,
                reference(ObjectType::User, acting.user),
            )
            .await?;
        let bought = self.own_order(&acting, &r.order_id).await?;
        let token = self.0.authorization.service_token(acting.tenant).await?;
        let addressee = self
            .0
            .identity
            .user_by_email(&token, email.as_str())
            .await?
            .map(|(user, _)| user);
        let code = format!("{CODE_PREFIX}{}", random_token(32));
        let record = InvitationRecord {
            id: InvitationId::generate(),
            order: bought.id,
            email: email.as_str().to_owned(),
            addressee,
            state: InvitationState::Pending,
            invitee: None,
            invited_at: now(),
            accepted_at: None,
        };
        let sent = self
            .0
            .store
            .invite(
                acting.tenant,
                ToInvite {
                    invitation: record.clone(),
                    code_hash: &code_hash(&code),
                    purchaser: acting.user,
                },
                &actor.did("invitation.sent", "invitation", record.id),
            )
            .await?;
        Ok(InviteLearnerResponse {
            invitation: Some(invitation(&sent)),
            code,
        })
    }

    async fn accept(
        &self,
        request: Request<AcceptInvitationRequest>,
    ) -> Result<AcceptInvitationResponse, ApiError> {
        // A person takes a seat for themselves; an integration has no seat to take.
        let Caller::User { .. } = verified(&request)? else {
            return Err(ApiError::PermissionDenied {
                reason: "PERSON_REQUIRED",
                message: "an invitation is accepted by the person invited, signed in".into(),
                metadata: Default::default(),
            });
        };
        let acting = acting(&request)?;
        let actor = Actor::of(&request)?;
        let r = request.get_ref();
        let (code, id) = (r.code.trim(), r.invitation_id.trim());
        let hash;
        let how = match (code.is_empty(), id.is_empty()) {
            (false, true) if code.len() <= CODE_MAX => {
                hash = code_hash(code);
                Acceptance::Code(&hash)
            }
            (false, true) => {
                return Err(ApiError::invalid_field(
                    "code",
                    "must be the invitation's code, as the Purchaser sent it",
                ));
            }
            (true, false) => {
                Acceptance::Addressed(required_id("invitation_id", id, InvitationId::parse)?)
            }
            _ => {
                return Err(ApiError::invalid_field(
                    "code",
                    "name the invitation by its code or by its id (invitation_id), one of them",
                ));
            }
        };
        let invited = self
            .0
            .store
            .accept(
                acting.tenant,
                how,
                acting.user,
                now(),
                relationships::invitee_joined,
                &actor.did("invitation.accepted", "invitation", ""),
            )
            .await?;
        Ok(AcceptInvitationResponse {
            invitation: Some(invitation(&invited.invitation)),
            course_id: invited.order.course.to_string(),
            written_at: self.0.deliver(acting.tenant).await,
        })
    }

    async fn invitations(
        &self,
        request: Request<ListInvitationsRequest>,
    ) -> Result<ListInvitationsResponse, ApiError> {
        let acting = acting(&request)?;
        let bought = self.own_order(&acting, &request.get_ref().order_id).await?;
        let rows = self.0.store.invitations(acting.tenant, bought.id).await?;
        Ok(ListInvitationsResponse {
            invitations: rows.iter().map(invitation).collect(),
        })
    }

    async fn cancel(
        &self,
        request: Request<CancelInvitationRequest>,
    ) -> Result<CancelInvitationResponse, ApiError> {
        let acting = acting(&request)?;
        let actor = Actor::of(&request)?;
        let id = required_id(
            "invitation_id",
            &request.get_ref().invitation_id,
            InvitationId::parse,
        )?;
        let withdrawn = self
            .0
            .store
            .cancel_invitation(
                acting.tenant,
                acting.user,
                id,
                &actor.did("invitation.cancelled", "invitation", id),
            )
            .await?;
        Ok(CancelInvitationResponse {
            invitation: Some(invitation(&withdrawn)),
        })
    }

    async fn rotate(
        &self,
        request: Request<RotateShopWebhookSecretRequest>,
    ) -> Result<RotateShopWebhookSecretResponse, ApiError> {
        let acting = acting(&request)?;
        let actor = Actor::of(&request)?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::SystemConfigurationUpdate,
                reference(ObjectType::Tenant, acting.tenant),
            )
            .await?;
        let Some(key) = &self.0.shop_webhook_key else {
            return Err(ApiError::FailedPrecondition {
                reason: "WEBHOOK_NOT_CONFIGURED",
                message: "this deployment has no shop webhook key \
                          (delegation.shop_webhook_key); place orders with PlaceOrder"
                    .into(),
            });
        };
        let generation = self
            .0
            .store
            .rotate_webhook(
                acting.tenant,
                now(),
                &actor.did("shop_webhook.rotated", "tenant", acting.tenant),
            )
            .await?;
        Ok(RotateShopWebhookSecretResponse {
            secret: key.secret(acting.tenant, generation),
            path: format!("/webhooks/shop/{}", acting.tenant),
        })
    }
}

#[tonic::async_trait]
impl<S: Store + Clone> PurchaseService for Purchases<S> {
    async fn place_order(
        &self,
        request: Request<PlaceOrderRequest>,
    ) -> Result<Response<PlaceOrderResponse>, Status> {
        Ok(Response::new(self.place(request).await?))
    }

    async fn list_orders(
        &self,
        request: Request<ListOrdersRequest>,
    ) -> Result<Response<ListOrdersResponse>, Status> {
        Ok(Response::new(self.list(request).await?))
    }

    async fn invite_learner(
        &self,
        request: Request<InviteLearnerRequest>,
    ) -> Result<Response<InviteLearnerResponse>, Status> {
        Ok(Response::new(self.invite(request).await?))
    }

    async fn accept_invitation(
        &self,
        request: Request<AcceptInvitationRequest>,
    ) -> Result<Response<AcceptInvitationResponse>, Status> {
        Ok(Response::new(self.accept(request).await?))
    }

    async fn list_invitations(
        &self,
        request: Request<ListInvitationsRequest>,
    ) -> Result<Response<ListInvitationsResponse>, Status> {
        Ok(Response::new(self.invitations(request).await?))
    }

    async fn cancel_invitation(
        &self,
        request: Request<CancelInvitationRequest>,
    ) -> Result<Response<CancelInvitationResponse>, Status> {
        Ok(Response::new(self.cancel(request).await?))
    }

    async fn rotate_shop_webhook_secret(
        &self,
        request: Request<RotateShopWebhookSecretRequest>,
    ) -> Result<Response<RotateShopWebhookSecretResponse>, Status> {
        Ok(Response::new(self.rotate(request).await?))
    }
}

/// The gRPC service.
pub fn service<S: Store + Clone>(core: Arc<Core<S>>) -> PurchaseServiceServer<Purchases<S>> {
    PurchaseServiceServer::new(Purchases(core))
}
