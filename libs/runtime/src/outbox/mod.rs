//! The transactional outbox (DESIGN.md §2), shared by every service that owns facts.
//!
//! A write commits its data and its events in one transaction ([`append`]); the [`Relay`] then
//! delivers the tenant's events to authorization, in commit order, before the handler answers
//! (so the answer carries authorization's consistency token) and again from a background loop
//! for whatever could not be delivered then.
//!
//! Order: every transaction that appends takes its tenant's order lock first (a
//! transaction-scoped advisory lock on PostgreSQL; the database write lock on SQLite, whose
//! write transactions begin `IMMEDIATE`), so a tenant's sequence numbers follow commit order.
//! Delivery of one tenant runs one turn at a time across replicas (another advisory lock on
//! PostgreSQL, held by the turn's transaction; one process owns a SQLite file). Authorization
//! applies each event once by its id, so a turn cut short and delivered again changes nothing.
//! An event authorization refuses for good, or one that cannot be read, goes to the
//! `outbox_dead_letters` table (counted by the `lms.outbox.dead_letters` metric) instead of
//! blocking its tenant; delivered rows are pruned after [`relay::KEEP_DELIVERED`].

mod relay;
mod store;

use lms_api::authorization::v1::{AssignRoleRequest, RevokeRoleRequest, WriteRelationshipsRequest};
use lms_kernel::TenantId;
use prost::Message;
use uuid::Uuid;

pub use relay::{DeliveryError, KEEP_DELIVERED, REQUEST_DEADLINE, Relay};
pub use store::{AppendEvents, DeadLetter, OutboxStore, Turn, append, commit_alone};

/// What an event asks of authorization.
pub mod topic {
    /// Facts: a `WriteRelationshipsRequest`.
    pub const FACTS: &str = "authorization.facts";
    /// A role given by the service: an `AssignRoleRequest`.
    pub const ASSIGN_ROLE: &str = "authorization.assign_role";
    /// A role taken back: a `RevokeRoleRequest` naming the holder and the role.
    pub const REVOKE_ROLE: &str = "authorization.revoke_role";
}

/// An event to append in the writer's transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// Unique; authorization applies each id once.
    pub event_id: Uuid,
    /// One of [`topic`].
    pub topic: &'static str,
    /// The encoded request.
    pub payload: Vec<u8>,
}

/// An appended event as the relay reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEvent {
    /// Position in commit order (per tenant).
    pub sequence: i64,
    /// The event's id.
    pub event_id: Uuid,
    /// Whose change it is.
    pub tenant: TenantId,
    /// What it asks.
    pub topic: String,
    /// The encoded request.
    pub payload: Vec<u8>,
}

/// A facts event; its id travels inside the request, which authorization applies once.
pub fn facts(mut request: WriteRelationshipsRequest) -> NewEvent {
    let event_id = Uuid::now_v7();
    request.event_id = event_id.to_string();
    NewEvent {
        event_id,
        topic: topic::FACTS,
        payload: request.encode_to_vec(),
    }
}

/// A role-assignment event; the assignment takes the event's id, so it is made once.
pub fn assign_role(mut request: AssignRoleRequest) -> NewEvent {
    let event_id = Uuid::now_v7();
    request.event_id = event_id.to_string();
    NewEvent {
        event_id,
        topic: topic::ASSIGN_ROLE,
        payload: request.encode_to_vec(),
    }
}

/// An event taking every assignment of `role` back from `user` (taking back twice is taking
/// back once).
pub fn revoke_role(user: lms_kernel::UserId, role: lms_kernel::RoleId) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        topic: topic::REVOKE_ROLE,
        payload: RevokeRoleRequest {
            assignment_id: String::new(),
            user_id: user.to_string(),
            role_id: role.to_string(),
        }
        .encode_to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_their_id_inside_the_request() {
        let event = assign_role(AssignRoleRequest::default());
        let request = AssignRoleRequest::decode(event.payload.as_slice()).expect("decodes");
        assert_eq!(request.event_id, event.event_id.to_string());
        let event = facts(WriteRelationshipsRequest::default());
        let request = WriteRelationshipsRequest::decode(event.payload.as_slice()).expect("decodes");
        assert_eq!(request.event_id, event.event_id.to_string());
    }
}
