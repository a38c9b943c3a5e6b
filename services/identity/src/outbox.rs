//! Identity's events for authorization, built on the runtime's outbox
//! ([`lms_runtime::outbox`]: append in the writer's transaction, the relay, dead letters).

use lms_api::authorization::v1::AssignRoleRequest;
use lms_kernel::{RoleId, Template, UserId};
pub use lms_runtime::outbox::facts as facts_event;
use lms_runtime::outbox::{self, NewEvent};

/// A role-assignment event.
pub fn assign_role_event(request: &AssignRoleRequest) -> NewEvent {
    outbox::assign_role(request.clone())
}

/// An event taking `template` back from `user`.
pub fn revoke_role_event(user: UserId, template: Template) -> NewEvent {
    outbox::revoke_role(user, RoleId::BuiltIn(template))
}
