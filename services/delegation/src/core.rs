//! What every delegation handler shares: the store, the connections to authorization and
//! identity, and the outbox relay.

use std::sync::Arc;

use lms_api::common::v1::{ConsistencyToken, ObjectType};
use lms_kernel::{CourseId, Permission, TenantId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Acting, acting};
use lms_runtime::outbox::Relay;
use lms_runtime::peers::{Authorization, Identity};

use crate::convert::{reference, required_id};

/// The shared state of the delegation handlers.
#[derive(Debug)]
pub struct Core<S> {
    /// The delegation store.
    pub store: S,
    /// Decisions (asked as the caller) and fact delivery (as delegation).
    pub authorization: Authorization,
    /// What identity owns that delegation acts on (a group's members), asked as the caller.
    pub identity: Identity,
    /// The outbox relay.
    pub relay: Arc<Relay>,
}

impl<S> Core<S> {
    /// The person acting in `request` and the course named in `course_id`, once authorization
    /// allowed them `permission` on it: decided before the course is read, so nobody learns
    /// which ids exist.
    pub async fn on_course<T>(
        &self,
        request: &tonic::Request<T>,
        course_id: &str,
        permission: Permission,
    ) -> Result<(Acting, CourseId), ApiError> {
        let acting = acting(request)?;
        let course = required_id("course_id", course_id, CourseId::parse)?;
        self.authorization
            .require(&acting, permission, reference(ObjectType::Course, course))
            .await?;
        Ok((acting, course))
    }

    /// Delivers the tenant's events committed so far (the caller's own among them) and answers
    /// authorization's token; `None` when authorization could not take them in time (the change
    /// is saved; the relay delivers it and decisions see it then).
    pub async fn deliver(&self, tenant: TenantId) -> Option<ConsistencyToken> {
        self.relay.deliver_committed(tenant).await
    }
}
