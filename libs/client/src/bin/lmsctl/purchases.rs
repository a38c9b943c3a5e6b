//! `purchases`: shop orders and a Purchaser's invitations (delegation). The shop's integration
//! places orders (a token holding `delegation.orders.place`); a buyer of several seats invites
//! learners by e-mail; an invitee accepts with the code they were sent; an administrator issues
//! the secret the shop signs its webhook deliveries with.

use anyhow::Context;
use clap::Subcommand;
use lms_api::delegation::v1::{
    AcceptInvitationRequest, BuyerRole, CancelInvitationRequest, Invitation, InvitationState,
    InviteLearnerRequest, ListInvitationsRequest, ListOrdersRequest, Order, PlaceOrderRequest,
    RotateShopWebhookSecretRequest,
};
use lms_client::Client;
use lms_client::output::{Rows, utc_of};

/// What `lmsctl purchases` does.
#[derive(Debug, Subcommand)]
pub enum PurchaseCommand {
    /// Place an order as the shop (idempotent by the shop's order id).
    Order {
        /// The shop's own id of the order.
        shop_order: String,
        /// The course bought.
        course: String,
        /// The buyer's e-mail address.
        buyer_email: String,
        /// Seats bought (several make the buyer a Purchaser).
        #[arg(long, default_value_t = 1)]
        seats: i32,
    },
    /// Your orders (the shop's integration: the tenant's).
    List,
    /// Invite a learner by e-mail to one of your order's seats.
    Invite {
        /// The order.
        order: String,
        /// The learner's e-mail address.
        email: String,
    },
    /// Withdraw a pending invitation of your order, freeing its seat.
    Cancel {
        /// The invitation.
        invitation: String,
    },
    /// An order's invitations.
    Invitations {
        /// The order.
        order: String,
    },
    /// Accept an invitation: with the code you were sent (`-` reads it from standard input,
    /// keeping it out of the shell's history), or by its id from your notification (`--id`).
    Accept {
        /// The invitation's code.
        #[arg(required_unless_present = "id", conflicts_with = "id")]
        code: Option<String>,
        /// The invitation's id, for an invitation sent to your account's address.
        #[arg(long)]
        id: Option<String>,
    },
    /// Issue the tenant's shop webhook secret (the previous one stops working).
    WebhookSecret,
}

fn order_rows(orders: impl IntoIterator<Item = Order>) -> Rows {
    let mut rows = Rows::new(&[
        "order",
        "shop_order",
        "course",
        "buyer",
        "seats",
        "role",
        "placed_by",
        "placed",
    ]);
    for order in orders {
        let role = match order.buyer_role() {
            BuyerRole::Purchaser => "purchaser",
            _ => "student",
        };
        rows.push(vec![
            order.order_id,
            order.shop_order_id,
            order.course_id,
            order.buyer_user_id,
            order.seats.to_string(),
            role.into(),
            order.placed_by,
            utc_of(order.placed_at),
        ]);
    }
    rows
}

fn invitation_rows(invitations: impl IntoIterator<Item = Invitation>, code: &str) -> Rows {
    let mut rows = Rows::new(&["invitation", "order", "email", "state", "invitee", "code"]);
    for invitation in invitations {
        let state = match invitation.state() {
            InvitationState::Accepted => "accepted",
            _ => "pending",
        };
        rows.push(vec![
            invitation.invitation_id,
            invitation.order_id,
            invitation.email,
            state.into(),
            invitation.invitee_user_id,
            code.to_owned(),
        ]);
    }
    rows
}

/// Runs `lmsctl purchases`.
pub async fn run(delegation: &Client, command: PurchaseCommand) -> anyhow::Result<Rows> {
    let mut purchases = delegation.purchases();
    Ok(match command {
        PurchaseCommand::Order {
            shop_order,
            course,
            buyer_email,
            seats,
        } => order_rows(
            purchases
                .place_order(PlaceOrderRequest {
                    shop_order_id: shop_order,
                    course_id: course,
                    buyer_email,
                    seats,
                })
                .await
                .context("place order")?
                .into_inner()
                .order,
        ),
        PurchaseCommand::List => {
            let mut all = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = purchases
                    .list_orders(ListOrdersRequest {
                        page_size: 1000,
                        page_token,
                    })
                    .await
                    .context("list orders")?
                    .into_inner();
                all.extend(page.orders);
                if page.next_page_token.is_empty() {
                    break order_rows(all);
                }
                page_token = page.next_page_token;
            }
        }
        PurchaseCommand::Invite { order, email } => {
            let sent = purchases
                .invite_learner(InviteLearnerRequest {
                    order_id: order,
                    email,
                })
                .await
                .context("invite learner")?
                .into_inner();
            invitation_rows(sent.invitation, &sent.code)
        }
        PurchaseCommand::Cancel { invitation } => invitation_rows(
            purchases
                .cancel_invitation(CancelInvitationRequest {
                    invitation_id: invitation,
                })
                .await
                .context("cancel invitation")?
                .into_inner()
                .invitation,
            "",
        ),
        PurchaseCommand::Invitations { order } => invitation_rows(
            purchases
                .list_invitations(ListInvitationsRequest { order_id: order })
                .await
                .context("list invitations")?
                .into_inner()
                .invitations,
            "",
        ),
        PurchaseCommand::Accept { code, id } => {
            let code = match code.as_deref() {
                Some("-") => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("read the code from standard input")?;
                    line.trim().to_owned()
                }
                _ => code.unwrap_or_default(),
            };
            let taken = purchases
                .accept_invitation(AcceptInvitationRequest {
                    code,
                    invitation_id: id.unwrap_or_default(),
                })
                .await
                .context("accept invitation")?
                .into_inner();
            invitation_rows(taken.invitation, "")
        }
        PurchaseCommand::WebhookSecret => {
            let issued = purchases
                .rotate_shop_webhook_secret(RotateShopWebhookSecretRequest {})
                .await
                .context("issue shop webhook secret")?
                .into_inner();
            // Not `path`: `-o env` would assign PATH.
            let mut rows = Rows::new(&["webhook_path", "webhook_secret"]);
            rows.push(vec![issued.path, issued.secret]);
            rows
        }
    })
}
