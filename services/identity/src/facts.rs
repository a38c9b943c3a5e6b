//! The relationship facts identity owns and authorization reads (DESIGN.md §2): built here, sent
//! through the outbox as one `WriteRelationshipsRequest` per change.

use lms_api::authorization::v1::{
    Operation, Relation, Relationship, RelationshipUpdate, SubjectStatus, WriteRelationshipsRequest,
};
use lms_api::common::v1::{ObjectReference, ObjectType};

use crate::store::{NewEvent, UserRecord};
use lms_runtime::outbox;

/// A reference to an object of the caller's tenant.
pub fn reference(kind: ObjectType, id: impl ToString) -> ObjectReference {
    ObjectReference {
        r#type: kind as i32,
        id: id.to_string(),
        tenant_id: String::new(),
    }
}

fn update(
    operation: Operation,
    resource: ObjectReference,
    relation: Relation,
    subject: ObjectReference,
    window: (Option<i64>, Option<i64>),
) -> RelationshipUpdate {
    RelationshipUpdate {
        operation: operation as i32,
        relationship: Some(Relationship {
            resource: Some(resource),
            relation: relation as i32,
            subject: Some(subject),
            valid_from: window.0.map(crate::grpc::convert::timestamp),
            valid_until: window.1.map(crate::grpc::convert::timestamp),
        }),
    }
}

/// `resource` has `relation` to `subject` (for all time).
pub fn touch(
    resource: ObjectReference,
    relation: Relation,
    subject: ObjectReference,
) -> RelationshipUpdate {
    update(Operation::Touch, resource, relation, subject, (None, None))
}

/// `resource` has `relation` to `subject` from `starts_at` until `ends_at` (exclusive).
pub fn touch_between(
    resource: ObjectReference,
    relation: Relation,
    subject: ObjectReference,
    starts_at: i64,
    ends_at: Option<i64>,
) -> RelationshipUpdate {
    update(
        Operation::Touch,
        resource,
        relation,
        subject,
        (Some(starts_at), ends_at),
    )
}

/// `resource` no longer has `relation` to `subject`.
pub fn delete(
    resource: ObjectReference,
    relation: Relation,
    subject: ObjectReference,
) -> RelationshipUpdate {
    update(Operation::Delete, resource, relation, subject, (None, None))
}

/// A user's status and booking restriction as decisions see them.
pub fn status(user: &UserRecord) -> SubjectStatus {
    SubjectStatus {
        user_id: user.id.to_string(),
        status: user.status.code().into(),
        restrict_bookings: user.restrict_bookings,
    }
}

/// One batch of facts as an outbox event.
pub fn event(updates: Vec<RelationshipUpdate>, statuses: Vec<SubjectStatus>) -> NewEvent {
    outbox::facts(WriteRelationshipsRequest {
        event_id: String::new(),
        updates,
        tenant_facts: None,
        statuses,
    })
}

/// The batch as events: none when it changes nothing, else one.
pub fn events(updates: Vec<RelationshipUpdate>, statuses: Vec<SubjectStatus>) -> Vec<NewEvent> {
    if updates.is_empty() && statuses.is_empty() {
        return Vec::new();
    }
    vec![event(updates, statuses)]
}
