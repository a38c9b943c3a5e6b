//! Orders and invitations: records into the API's messages.

use lms_api::delegation::v1::{BuyerRole, Invitation, InvitationState as PbInvitationState, Order};
use lms_kernel::Template;
use lms_kernel::user::purchase_roles;
use lms_runtime::request::timestamp;

use crate::store::{InvitationRecord, InvitationState, OrderRecord};

/// An order as the API shows it, with the role it gave its buyer.
pub fn order(record: &OrderRecord) -> Order {
    let buyer_role = match purchase_roles(record.seats, 0).buyer {
        Template::Purchaser => BuyerRole::Purchaser,
        _ => BuyerRole::Student,
    };
    Order {
        order_id: record.id.to_string(),
        shop_order_id: record.shop_order.clone(),
        course_id: record.course.to_string(),
        buyer_user_id: record.buyer.to_string(),
        seats: i32::try_from(record.seats).unwrap_or(i32::MAX),
        buyer_role: buyer_role as i32,
        placed_by: record.placed_by.clone(),
        placed_at: Some(timestamp(record.placed_at)),
    }
}

/// An invitation as the API shows it (never its code).
pub fn invitation(record: &InvitationRecord) -> Invitation {
    let state = match record.state {
        InvitationState::Pending => PbInvitationState::Pending,
        InvitationState::Accepted => PbInvitationState::Accepted,
    };
    Invitation {
        invitation_id: record.id.to_string(),
        order_id: record.order.to_string(),
        email: record.email.clone(),
        state: state as i32,
        invitee_user_id: record.invitee.map(|u| u.to_string()).unwrap_or_default(),
        invited_at: Some(timestamp(record.invited_at)),
        accepted_at: record.accepted_at.map(timestamp),
    }
}
