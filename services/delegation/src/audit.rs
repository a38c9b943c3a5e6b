//! The audit trail: every change delegation makes leaves one record, written by the store in
//! the change's own transaction, so a change is never saved without its record nor recorded
//! without being saved. A record names who acted (a person with the sign-in session of their
//! token, or a service by name), what they did (a stable code such as `course.archived`), the
//! object, and its state before and after as JSON of ids, codes and flags: no titles, names or
//! free text, so anonymising a person leaves nothing of theirs here.

use lms_kernel::UserId;
use lms_runtime::ApiError;
use lms_runtime::auth::{Caller, verified};
use serde_json::{Value, json};

use crate::store::{
    BookingRecord, CatalogueRecord, CompetencyRecord, CourseRecord, EnrolmentRecord, EventRecord,
    GrantRecord, InvitationRecord, LessonRecord, OrderRecord, RequestRecord, ResponsibilityRecord,
};

/// Who made a change.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Actor {
    /// A signed-in person, with the session their token belongs to.
    Person {
        /// Who they are.
        user: UserId,
        /// Their sign-in session; `None` for a token not issued by a sign-in.
        session: Option<String>,
    },
    /// A service, by its account name.
    Service(String),
}

impl Actor {
    /// The caller the auth layer verified for `request`.
    pub fn of<T>(request: &tonic::Request<T>) -> Result<Self, ApiError> {
        Ok(match verified(request)? {
            Caller::User { user, session, .. } => Actor::Person {
                user: *user,
                session: session.clone(),
            },
            Caller::Service { name, .. } => Actor::Service(name.clone()),
            Caller::Integration { name, .. } => Actor::Service(format!("integration:{name}")),
        })
    }

    /// How records name the actor when they made something (`created_by`).
    pub fn label(&self) -> String {
        match self {
            Actor::Person { user, .. } => user.to_string(),
            Actor::Service(name) => format!("service:{name}"),
        }
    }

    /// The record of this actor doing `action` to the object `kind` `id`.
    pub fn did(&self, action: &'static str, kind: &'static str, id: impl ToString) -> Audit {
        Audit {
            actor: self.clone(),
            action,
            object_type: kind,
            object_id: id.to_string(),
            before: None,
            after: None,
        }
    }
}

/// One audit record to write.
#[derive(Clone, PartialEq, Debug)]
pub struct Audit {
    /// Who.
    pub actor: Actor,
    /// What, a stable code.
    pub action: &'static str,
    /// The object's kind: `course`, `lesson`, `responsibility`.
    pub object_type: &'static str,
    /// The object's id.
    pub object_id: String,
    /// Its state before, when it had one.
    pub before: Option<Value>,
    /// Its state after, when it still has one.
    pub after: Option<Value>,
}

impl Audit {
    /// The record with the object's state before.
    pub fn before(mut self, state: &impl Audited) -> Self {
        self.before = Some(state.audited());
        self
    }

    /// The record with the object's state after.
    pub fn after(mut self, state: &impl Audited) -> Self {
        self.after = Some(state.audited());
        self
    }

    /// The record about the object `id` (one write may leave a record per object it changed,
    /// such as each enrolment of a deployment).
    pub fn about(mut self, id: impl ToString) -> Self {
        self.object_id = id.to_string();
        self
    }

    /// The record of the action `action` on an object of kind `kind` (the other records of a
    /// write that changes more than one kind of object).
    pub fn named(mut self, action: &'static str, kind: &'static str) -> Self {
        self.action = action;
        self.object_type = kind;
        self
    }

    /// The acting person, if a person acted.
    pub fn actor_user(&self) -> Option<UserId> {
        match &self.actor {
            Actor::Person { user, .. } => Some(*user),
            Actor::Service(_) => None,
        }
    }

    /// The acting person's session.
    pub fn actor_session(&self) -> Option<&str> {
        match &self.actor {
            Actor::Person { session, .. } => session.as_deref(),
            Actor::Service(_) => None,
        }
    }

    /// The acting service.
    pub fn actor_service(&self) -> Option<&str> {
        match &self.actor {
            Actor::Service(name) => Some(name),
            Actor::Person { .. } => None,
        }
    }
}

/// A record's state as the audit trail keeps it: ids, codes and flags only.
pub trait Audited {
    /// The state as JSON.
    fn audited(&self) -> Value;
}

impl Audited for CourseRecord {
    fn audited(&self) -> Value {
        json!({
            "course_id": self.id.to_string(),
            "unit_id": self.unit.map(|u| u.to_string()),
            "status": self.status.name(),
            "requires_approval": self.requires_approval,
        })
    }
}

impl Audited for CatalogueRecord {
    fn audited(&self) -> Value {
        json!({
            "catalogue_id": self.id.to_string(),
            "course_ids": self.courses.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "learner_count": self.learner_count,
        })
    }
}

impl Audited for LessonRecord {
    fn audited(&self) -> Value {
        json!({
            "lesson_id": self.id.to_string(),
            "course_id": self.course.to_string(),
            "position": self.position,
        })
    }
}

impl Audited for ResponsibilityRecord {
    fn audited(&self) -> Value {
        json!({
            "kind": self.kind.name(),
            "object_id": self.object.to_string(),
            "user_id": self.user.to_string(),
            "valid_from": self.window.from,
            "valid_until": self.window.until,
        })
    }
}

impl Audited for GrantRecord {
    fn audited(&self) -> Value {
        json!({
            "grant_id": self.id.to_string(),
            "client_tenant_id": self.client.to_string(),
            "course_id": self.course.to_string(),
            "valid_from": self.window.from,
            "valid_until": self.window.until,
        })
    }
}

impl Audited for EnrolmentRecord {
    fn audited(&self) -> Value {
        let e = &self.enrolment;
        json!({
            "enrolment_id": self.id.to_string(),
            "course_id": self.course.to_string(),
            "user_id": self.user.to_string(),
            "state": e.state.name(),
            "enrolled_at": e.enrolled_at,
            "started_at": e.started_at,
            "completed_at": e.completed_at,
            "withdrawn_at": e.withdrawn_at,
            "score": e.score.map(|s| s.value()),
        })
    }
}

impl Audited for RequestRecord {
    fn audited(&self) -> Value {
        json!({
            "request_id": self.id.to_string(),
            "course_id": self.course.to_string(),
            "user_id": self.user.to_string(),
            "state": self.state.name(),
            "decided_at": self.decided_at,
        })
    }
}

impl Audited for EventRecord {
    fn audited(&self) -> Value {
        json!({
            "event_id": self.id.to_string(),
            "course_id": self.course.to_string(),
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "capacity": self.capacity,
            "requires_approval": self.requires_approval,
            "waitlist": self.waitlist,
            "status": self.status.name(),
        })
    }
}

impl Audited for BookingRecord {
    fn audited(&self) -> Value {
        json!({
            "booking_id": self.id.to_string(),
            "event_id": self.event.to_string(),
            "user_id": self.user.to_string(),
            "state": self.state.name(),
            "arrival": self.arrival,
        })
    }
}

impl Audited for CompetencyRecord {
    fn audited(&self) -> Value {
        json!({
            "check_id": self.id.to_string(),
            "course_id": self.course.to_string(),
            "user_id": self.user.to_string(),
        })
    }
}

impl Audited for OrderRecord {
    fn audited(&self) -> Value {
        json!({
            "order_id": self.id.to_string(),
            "shop_order": self.shop_order,
            "course_id": self.course.to_string(),
            "buyer_id": self.buyer.to_string(),
            "seats": self.seats,
        })
    }
}

// The address is a person's: the record keeps the invitation's id, order and invitee only.
impl Audited for InvitationRecord {
    fn audited(&self) -> Value {
        json!({
            "invitation_id": self.id.to_string(),
            "order_id": self.order.to_string(),
            "state": self.state.code(),
            "invitee_id": self.invitee.map(|u| u.to_string()),
        })
    }
}
