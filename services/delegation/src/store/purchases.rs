//! Shop purchases: the orders a tenant's shop placed, the invitations a Purchaser sends for the
//! seats, and the generation of each tenant's shop webhook secret.

use std::future::Future;

use lms_kernel::{CourseId, InvitationId, OrderId, TenantId, UserId};

use super::{EnrolmentRecord, NewEvent, StoreError};
use crate::audit::Audit;

/// An order as kept: the shop's own id beside delegation's.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OrderRecord {
    /// Delegation's id.
    pub id: OrderId,
    /// The shop's id; one order per shop id and tenant.
    pub shop_order: String,
    /// The course bought.
    pub course: CourseId,
    /// Who bought it.
    pub buyer: UserId,
    /// Their address as the shop sent it, lower-cased.
    pub buyer_email: String,
    /// How many seats (at least one).
    pub seats: u32,
    /// Who placed it (`service:<integration>` or `webhook`).
    pub placed_by: String,
    /// When.
    pub placed_at: i64,
}

impl OrderRecord {
    /// Whether `other` is the same order sent again (its contents as the shop states them,
    /// whenever and by whom).
    pub fn same_order(&self, other: &OrderRecord) -> bool {
        (&self.shop_order, self.course, &self.buyer_email, self.seats)
            == (
                &other.shop_order,
                other.course,
                &other.buyer_email,
                other.seats,
            )
    }
}

/// Whether a delivery seen before placed exactly the shop orders `asked` names (a delivery id
/// reused for other orders is no retry).
pub fn same_delivery<'a>(placed: &[OrderRecord], asked: impl IntoIterator<Item = &'a str>) -> bool {
    let mut placed: Vec<&str> = placed.iter().map(|o| o.shop_order.as_str()).collect();
    let mut asked: Vec<&str> = asked.into_iter().collect();
    placed.sort_unstable();
    asked.sort_unstable();
    placed == asked
}

/// What placing an order did (one per order of a call).
#[derive(Clone, PartialEq, Debug)]
pub struct Placed {
    /// The order as kept (the first one, when it was placed before).
    pub order: OrderRecord,
    /// Whether this call placed it.
    pub created: bool,
    /// The buyer's enrolment, when this call made one (a single seat for oneself).
    pub enrolled: Option<EnrolmentRecord>,
}

impl Placed {
    /// `order`, placed before: answered as it stands, nothing made.
    pub fn before(order: OrderRecord) -> Self {
        Placed {
            order,
            created: false,
            enrolled: None,
        }
    }
}

/// Whether an invitation waits for its invitee or was taken.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum InvitationState {
    /// Sent; waits for its invitee (the address's holder by its id, or anyone by its code).
    Pending,
    /// Taken by a person, who is the Purchaser's invitee.
    Accepted,
}

impl InvitationState {
    /// How the `state` column numbers it.
    pub const fn code(self) -> i16 {
        match self {
            InvitationState::Pending => 1,
            InvitationState::Accepted => 2,
        }
    }

    /// The state a stored number names.
    pub fn from_code(code: i16) -> Result<Self, StoreError> {
        match code {
            1 => Ok(InvitationState::Pending),
            2 => Ok(InvitationState::Accepted),
            _ => Err(StoreError::Corrupt(format!("invitation state {code}"))),
        }
    }
}

/// A Purchaser's invitation to take one of an order's seats.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct InvitationRecord {
    /// Its id.
    pub id: InvitationId,
    /// The order whose seat it offers.
    pub order: OrderId,
    /// The address invited, lower-cased.
    pub email: String,
    /// Whose account the address was when it was sent (told by a notification; never shown
    /// to the Purchaser, so an invitation says nothing of who has an account).
    pub addressee: Option<UserId>,
    /// Waiting or taken.
    pub state: InvitationState,
    /// Who took it.
    pub invitee: Option<UserId>,
    /// When it was sent.
    pub invited_at: i64,
    /// When it was taken.
    pub accepted_at: Option<i64>,
}

/// An invitation to send, pending.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ToInvite<'a> {
    /// The invitation, as it will be kept.
    pub invitation: InvitationRecord,
    /// SHA-256 of the code it is accepted with.
    pub code_hash: &'a [u8],
    /// Whoever sends it must be the order's buyer.
    pub purchaser: UserId,
}

/// How an invitation is taken.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Acceptance<'a> {
    /// By the code sent with it (its SHA-256 here): whoever holds it.
    Code(&'a [u8]),
    /// By its id, as the notification names it: only its addressee.
    Addressed(InvitationId),
}

/// What sending or accepting an invitation did.
#[derive(Clone, PartialEq, Debug)]
pub struct Invited {
    /// The invitation as it now stands.
    pub invitation: InvitationRecord,
    /// Its order.
    pub order: OrderRecord,
    /// The invitee's enrolment, when one was made (they were not enrolled already).
    pub enrolled: Option<EnrolmentRecord>,
}

/// Orders, invitations and the shop webhook. Every write that makes an enrolment or an invitee
/// appends the events its `events` builds, in the same transaction; every write that places an
/// order or changes its invitations (placing, inviting, withdrawing, accepting) appends the
/// order's record for reporting (`reporting.order`, its invitations counted), likewise.
pub trait PurchaseStore: Send + Sync + 'static {
    /// The orders the webhook delivery `webhook` placed (none when it was not seen).
    fn delivered(
        &self,
        tenant: TenantId,
        webhook: &str,
    ) -> impl Future<Output = Result<Vec<OrderRecord>, StoreError>> + Send;

    /// The order the shop placed under `shop_order`.
    fn order_by_shop_id(
        &self,
        tenant: TenantId,
        shop_order: &str,
    ) -> impl Future<Output = Result<Option<OrderRecord>, StoreError>> + Send;

    /// Places `orders` (a delivery's line items) all or none, in one transaction. A delivery
    /// seen before answers the orders it placed, `created` false, changing nothing (one that
    /// placed other shop ids is `Refused`, `DELIVERY_CONFLICT`); an order
    /// the shop placed before answers the first the same way; the same shop id with other
    /// contents is `Refused` (`ORDER_CONFLICT`). A single seat enrols the buyer on the course
    /// (unless enrolled already). A missing course is `Missing`, an archived one `Refused`.
    fn place_orders<F>(
        &self,
        tenant: TenantId,
        orders: &[OrderRecord],
        webhook: Option<&str>,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Vec<Placed>, StoreError>> + Send
    where
        F: FnOnce(&[Placed]) -> Vec<NewEvent> + Send;

    /// An order.
    fn order(
        &self,
        tenant: TenantId,
        order: OrderId,
    ) -> impl Future<Output = Result<Option<OrderRecord>, StoreError>> + Send;

    /// A page of orders in id order, at most `limit`: only `buyer`'s when given.
    fn orders(
        &self,
        tenant: TenantId,
        buyer: Option<UserId>,
        after: Option<OrderId>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<OrderRecord>, StoreError>> + Send;

    /// Sends a pending invitation for one of its order's seats (the kernel's
    /// `check_invitation`) and tells its addressee, if any: `Missing` without the order,
    /// `Refused` when the sender is not its buyer (`NOT_THE_PURCHASER`), the order is a single
    /// seat (`NOT_A_SEAT_PURCHASE`), every seat is offered (`NO_SEATS_LEFT`) or the address was
    /// invited to it already (`ALREADY_INVITED`).
    fn invite(
        &self,
        tenant: TenantId,
        to: ToInvite<'_>,
        audit: &Audit,
    ) -> impl Future<Output = Result<InvitationRecord, StoreError>> + Send;

    /// The order's buyer `purchaser` withdraws a pending invitation, freeing its seat (its code
    /// and id no longer take it): `Missing` when the order has no such invitation or is not
    /// theirs, `Refused` (`INVITATION_ACCEPTED`) when it was taken.
    fn cancel_invitation(
        &self,
        tenant: TenantId,
        purchaser: UserId,
        invitation: InvitationId,
        audit: &Audit,
    ) -> impl Future<Output = Result<InvitationRecord, StoreError>> + Send;

    /// `user` takes a pending invitation at `at` and is enrolled on its course: `Missing` when
    /// no invitation has that code, or none with that id is addressed to `user`; `Refused`
    /// when it was taken (`INVITATION_ACCEPTED`) or `user` holds a seat of the order already
    /// (`ALREADY_INVITED`). Taking it again as its invitee answers it, changing nothing.
    fn accept<F>(
        &self,
        tenant: TenantId,
        how: Acceptance<'_>,
        user: UserId,
        at: i64,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Invited, StoreError>> + Send
    where
        F: FnOnce(&Invited) -> Vec<NewEvent> + Send;

    /// An order's invitations, in the order they were sent.
    fn invitations(
        &self,
        tenant: TenantId,
        order: OrderId,
    ) -> impl Future<Output = Result<Vec<InvitationRecord>, StoreError>> + Send;

    /// The generation of the tenant's shop webhook secret; `None` before the first is issued.
    fn webhook_generation(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Option<u32>, StoreError>> + Send;

    /// Moves the tenant's webhook secret to its next generation (the first is 1) and answers it.
    fn rotate_webhook(
        &self,
        tenant: TenantId,
        at: i64,
        audit: &Audit,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;
}
