//! What every RPC of the service shares: the store, decisions, and checks on the caller.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use lms_api::common::v1::ObjectReference;
use lms_kernel::{
    Decision, Object, Permission, ResourceFacts, SubjectFacts, TenantId, UserId, decide,
};
use lms_runtime::ApiError;
use lms_runtime::auth::Caller;

use crate::facts;
use crate::store::{Revision, Store};

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

/// The service state behind every RPC.
#[derive(Debug)]
pub struct Core<S> {
    /// The store.
    pub store: S,
}

/// The caller as an actor in one tenant: a user, with their compiled facts.
#[derive(Debug)]
pub struct Actor {
    /// Their tenant.
    pub tenant: TenantId,
    /// Their facts, compiled at `revision`.
    pub facts: SubjectFacts,
    /// The revision the facts were read at.
    pub revision: Revision,
}

impl Actor {
    /// The actor's id as audit records name it.
    pub fn id(&self) -> String {
        self.facts.user.to_string()
    }
}

/// The tenant a caller acts in; services need a tenant-scoped token.
pub fn tenant_of(caller: &Caller) -> Result<TenantId, ApiError> {
    caller.tenant().ok_or_else(|| ApiError::PermissionDenied {
        reason: "TENANT_REQUIRED",
        message: "this call needs a token issued for a tenant".into(),
        metadata: HashMap::new(),
    })
}

fn denied(permission: Permission, decision: Decision) -> ApiError {
    let Decision::Denied(denial) = decision else {
        unreachable!("only denials are turned into errors")
    };
    ApiError::PermissionDenied {
        reason: denial.code(),
        message: format!("missing {permission}: {decision}"),
        metadata: HashMap::from([("permission".to_owned(), permission.name().to_owned())]),
    }
}

impl<S: Store> Core<S> {
    /// The compiled facts of `user`, read at one revision.
    pub async fn subject(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<(SubjectFacts, Revision), ApiError> {
        let (rows, revision) = self.store.subject_rows(tenant, user).await?;
        Ok((facts::subject_facts(tenant, user, &rows, now()), revision))
    }

    /// The facts of the object `reference` names (in `field` of the request).
    pub async fn resource(
        &self,
        tenant: TenantId,
        field: &str,
        reference: Option<&ObjectReference>,
    ) -> Result<ResourceFacts, ApiError> {
        facts::resource_facts(&self.store, tenant, field, reference, now()).await
    }

    /// The caller as a user actor; services act through `Check`, not as administrators.
    pub async fn actor(&self, caller: &Caller) -> Result<Actor, ApiError> {
        let Caller::User { tenant, user, .. } = caller else {
            return Err(ApiError::PermissionDenied {
                reason: "USER_REQUIRED",
                message: "administration is done by users, not service accounts".into(),
                metadata: HashMap::new(),
            });
        };
        let (facts, revision) = self.subject(*tenant, *user).await?;
        Ok(Actor {
            tenant: *tenant,
            facts,
            revision,
        })
    }

    /// Fails with PERMISSION_DENIED, naming the permission and why, unless the actor may.
    pub fn require(
        &self,
        actor: &Actor,
        permission: Permission,
        resource: &ResourceFacts,
    ) -> Result<(), ApiError> {
        match decide(&actor.facts, permission, resource) {
            Decision::Allowed(_) => Ok(()),
            denial => Err(denied(permission, denial)),
        }
    }

    /// Like [`Core::require`] on the tenant as a whole (role definitions, audit).
    pub fn require_tenant_wide(
        &self,
        actor: &Actor,
        permission: Permission,
    ) -> Result<(), ApiError> {
        self.require(
            actor,
            permission,
            &ResourceFacts::new(actor.tenant, Object::TenantWide),
        )
    }

    /// The facts of a user as a resource.
    pub async fn user_resource(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<ResourceFacts, ApiError> {
        let reference = ObjectReference {
            r#type: lms_api::common::v1::ObjectType::User as i32,
            id: user.to_string(),
            tenant_id: String::new(),
        };
        self.resource(tenant, "user_id", Some(&reference)).await
    }
}
