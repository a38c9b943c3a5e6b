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
//! Every relay sends a tenant's events in sequence order and authorization applies each event
//! once by its id (facts, role assignments and revocations alike), so the first application of
//! each event follows commit order even when two replicas send the same events: a replica only
//! sends an event after sending every earlier one. That is why no lock is held while calling
//! authorization (it would pin a pooled connection per tenant for as long as authorization is
//! slow); each event is marked delivered as soon as authorization acknowledged it, so a turn
//! cut short repeats at most the event in flight.
//! An event authorization refuses for good, or one that cannot be read, goes to the
//! `outbox_dead_letters` table (counted by the `lms.outbox.dead_letters` metric) instead of
//! blocking its tenant; delivered rows are pruned after [`relay::KEEP_DELIVERED`]. The gauges
//! `lms.outbox.pending` and `lms.outbox.oldest_pending_seconds` show how far delivery is behind.
//!
//! The same events also go to the service's event stream for reporting ([`Publisher`]), on
//! their own schedule; a row is pruned once it is both delivered and published.

mod entry;
mod publish;
pub mod rebuild;
pub mod receipt;
mod relay;
mod store;

use lms_api::authorization::v1::{
    AssignRoleRequest, AssignmentSource, RevokeRoleRequest, WriteRelationshipsRequest,
};
use lms_kernel::TenantId;
use prost::Message;
use uuid::Uuid;

pub use entry::{EntryFields, PUBLISHERS, Unopened, open_entry};
pub use publish::{
    EventBus, EventSink, PublishError, PublishedEvent, Publisher, STREAM_MAX_LEN, stream_key,
};
pub use relay::{DeliveryError, KEEP_DELIVERED, REQUEST_DEADLINE, Relay};
pub use store::{AppendEvents, Backlog, DeadLetter, OutboxStore, append, commit_alone};

/// What an event asks of authorization.
pub mod topic {
    /// Facts: a `WriteRelationshipsRequest`.
    pub const FACTS: &str = "authorization.facts";
    /// A role given by the service: an `AssignRoleRequest`.
    pub const ASSIGN_ROLE: &str = "authorization.assign_role";
    /// A role taken back: a `RevokeRoleRequest` naming the holder, the role, the source and
    /// the event.
    pub const REVOKE_ROLE: &str = "authorization.revoke_role.v2";
    /// Rows appended before `v2` carry an `AssignRoleRequest` naming the holder and the role;
    /// the relay still delivers them.
    pub const REVOKE_ROLE_V1: &str = "authorization.revoke_role";
    /// Topics under this prefix tell reporting what decisions never read (names, titles,
    /// states): they travel on the event stream only, and the relay settles them without a
    /// call to authorization.
    pub const FOR_REPORTING: &str = "reporting.";
    /// Identity's records of people (`lms.reporting.v1.PersonRecords`).
    pub const PEOPLE: &str = "reporting.people";
    /// Delegation's record of a course (`lms.reporting.v1.CourseRecord`).
    pub const COURSE: &str = "reporting.course";
    /// Delegation's records of enrolments (`lms.reporting.v1.EnrolmentRecords`).
    pub const ENROLMENTS: &str = "reporting.enrolments";
    /// Delegation's record of an event of a course (`lms.reporting.v1.EventRecord`).
    pub const EVENT: &str = "reporting.event";
    /// Delegation's records of bookings (`lms.reporting.v1.BookingRecords`).
    pub const BOOKINGS: &str = "reporting.bookings";
    /// Delegation's record of a competency signed off (`lms.reporting.v1.CompetencyRecord`).
    pub const COMPETENCY: &str = "reporting.competency";
    /// Delegation's record of an enrolment request (`lms.reporting.v1.EnrolmentRequestRecord`).
    pub const ENROLMENT_REQUEST: &str = "reporting.enrolment_request";
    /// Delegation's record of a shop order with its seats offered and taken
    /// (`lms.reporting.v1.OrderRecord`).
    pub const ORDER: &str = "reporting.order";
    /// Identity's records of units and groups (`lms.reporting.v1.DirectoryRecords`).
    pub const DIRECTORY: &str = "reporting.directory";
    /// Authorization's records of who holds which role (`lms.reporting.v1.RoleRecords`): each
    /// holder's assignments whole, as committed.
    pub const ROLES: &str = "reporting.roles";
    /// Facts an owner re-sends as they hold (`lms.authorization.v1.WriteRelationshipsRequest`,
    /// touches and statuses, see [`super::rebuild`]): for reporting alone, authorization has
    /// them already.
    pub const FACTS_RESENT: &str = "reporting.facts";
    /// An owner's mark before and after re-sending every record of a tenant
    /// (`lms.reporting.v1.RebuildMark`, see [`super::rebuild`]).
    pub const REBUILD: &str = "reporting.rebuild";
    /// Every record topic.
    pub const RECORDS: [&str; 10] = [
        PEOPLE,
        DIRECTORY,
        ROLES,
        COURSE,
        ENROLMENTS,
        EVENT,
        BOOKINGS,
        COMPETENCY,
        ENROLMENT_REQUEST,
        ORDER,
    ];
}

/// Records for reporting go in events of at most this many, so no outbox row or stream entry
/// grows with a deployment's or an import's size.
pub const RECORDS_PER_EVENT: usize = 1000;

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

/// An event taking back what `user` holds of `role` from `source` (every source when
/// `Unspecified`); applied once by its id.
pub fn revoke_role(
    user: lms_kernel::UserId,
    role: lms_kernel::RoleId,
    source: AssignmentSource,
) -> NewEvent {
    let event_id = Uuid::now_v7();
    NewEvent {
        event_id,
        topic: topic::REVOKE_ROLE,
        payload: RevokeRoleRequest {
            assignment_id: String::new(),
            user_id: user.to_string(),
            role_id: role.to_string(),
            event_id: event_id.to_string(),
            source: source as i32,
            ..Default::default()
        }
        .encode_to_vec(),
    }
}

/// An event taking back every role `user` holds, from every source (their account is
/// deleted); applied once by its id.
pub fn revoke_every_role(user: lms_kernel::UserId) -> NewEvent {
    let event_id = Uuid::now_v7();
    NewEvent {
        event_id,
        topic: topic::REVOKE_ROLE,
        payload: RevokeRoleRequest {
            assignment_id: String::new(),
            user_id: user.to_string(),
            role_id: String::new(),
            event_id: event_id.to_string(),
            source: AssignmentSource::Unspecified as i32,
            ..Default::default()
        }
        .encode_to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_topic_is_for_reporting_alone() {
        for record in topic::RECORDS
            .iter()
            .chain([&topic::REBUILD, &topic::FACTS_RESENT])
        {
            assert!(record.starts_with(topic::FOR_REPORTING), "{record}");
        }
    }

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
