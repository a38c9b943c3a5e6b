//! What every delegation handler shares: the store, the connections to authorization and
//! identity, and the outbox relay.

use std::sync::Arc;

use lms_api::common::v1::{ConsistencyToken, ObjectReference, ObjectType};
use lms_kernel::{CourseId, GroupId, Permission, TenantId, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Acting, acting};
use lms_runtime::outbox::Relay;
use lms_runtime::peers::{Authorization, Identity};

use crate::convert::{reference, required_id};
use crate::store::{Store, Takeable};

/// Groups one deployment names at most.
pub const MAX_GROUPS: usize = 100;

/// Members read from identity per call (its largest page).
const MEMBERS_PER_PAGE: i32 = 1000;

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
    /// What tenants' shop webhook secrets are derived from; `None` when not configured (the
    /// webhook then answers 503 and no secret is issued).
    pub shop_webhook_key: Option<crate::shop::WebhookKey>,
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

    /// The members of `groups` a deployment reaches besides the `named` users, as identity shows
    /// them to the caller (it refuses a group they may not read or that does not exist), each
    /// person once.
    pub async fn members(
        &self,
        acting: &Acting,
        named: &[UserId],
        groups: &[GroupId],
    ) -> Result<Vec<UserId>, ApiError> {
        let mut seen: std::collections::HashSet<UserId> = named.iter().copied().collect();
        let mut people = Vec::new();
        for group in groups {
            let mut token = String::new();
            loop {
                let page = self
                    .identity
                    .group_members(acting, *group, &token, MEMBERS_PER_PAGE)
                    .await?;
                people.extend(page.users.into_iter().filter(|user| seen.insert(*user)));
                if page.next.is_empty() {
                    break;
                }
                token = page.next;
            }
        }
        Ok(people)
    }

    /// Delivers the tenant's events committed so far (the caller's own among them) and answers
    /// authorization's token; `None` when authorization could not take them in time (the change
    /// is saved; the relay delivers it and decisions see it then).
    pub async fn deliver(&self, tenant: TenantId) -> Option<ConsistencyToken> {
        self.relay.deliver_committed(tenant).await
    }
}

impl<S: Store> Core<S> {
    /// The person acting in `request` and the course named in `course_id` their tenant's people
    /// take (its own, or one granted to it and in effect), once authorization allowed them
    /// `permission` on it where it is: a granted course is decided as its owner's, so the
    /// content grant, not a fact of the client's, lets them. NOT_FOUND only after the decision.
    pub async fn on_takeable_course<T>(
        &self,
        request: &tonic::Request<T>,
        course_id: &str,
        permission: Permission,
    ) -> Result<(Acting, Takeable), ApiError> {
        let acting = acting(request)?;
        let course = required_id("course_id", course_id, CourseId::parse)?;
        let (takeable, resource) = self.takeable(acting.tenant, course).await?;
        self.authorization
            .require(&acting, permission, resource)
            .await?;
        let takeable = takeable.ok_or_else(|| ApiError::not_found("course", course.to_string()))?;
        Ok((acting, takeable))
    }

    /// The course `tenant`'s people take under `course` (none when there is no such course),
    /// and how authorization names it: under its owner when it is granted to the tenant, so
    /// the grant, not a fact of the client's, decides.
    pub async fn takeable(
        &self,
        tenant: TenantId,
        course: CourseId,
    ) -> Result<(Option<Takeable>, ObjectReference), ApiError> {
        let takeable = self
            .store
            .takeable_course(tenant, course, lms_runtime::clock::now())
            .await?;
        let owner = takeable
            .as_ref()
            .and_then(|t| t.granted.as_ref())
            .map(|grant| grant.master);
        Ok((takeable, crate::convert::course_of(owner, course)))
    }
}
