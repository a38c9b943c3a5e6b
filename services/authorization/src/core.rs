//! What every RPC of the service shares: the store, decisions, and checks on the caller.

use std::collections::HashMap;
use std::sync::Arc;

use lms_kernel::{
    Decision, Object, Permission, ResourceFacts, SubjectFacts, TenantId, UserId, decide,
};
use lms_runtime::ApiError;
use lms_runtime::auth::Caller;
use lms_runtime::clock::{now, now_ms};

use crate::cache::{CacheKey, Facts, FactsCache, Freshness, Invalidation, Read};
use crate::decisions::{Resource, resource_freshness};
use crate::facts;
use crate::store::{Revision, Store};

/// The service state behind every RPC.
#[derive(Debug)]
pub struct Core<S> {
    /// The store.
    pub store: S,
    /// The decision cache.
    pub cache: Arc<FactsCache>,
    /// The lookups' limits and the sets they keep for paging.
    pub lookups: crate::lookup::Lookups,
}

/// Validity windows are in seconds since the epoch; cache entries count in milliseconds.
fn seconds_to_ms(seconds: i64) -> i64 {
    seconds.saturating_mul(1_000)
}

/// The caller as an actor in one tenant: a user, with their compiled facts.
#[derive(Debug)]
pub struct Actor {
    /// Their tenant.
    pub tenant: TenantId,
    /// Their facts, compiled at `revision`.
    pub facts: Arc<SubjectFacts>,
    /// The revision the facts were read at.
    pub revision: Revision,
}

impl Actor {
    /// The actor's id as audit records name it.
    pub fn id(&self) -> String {
        self.facts.user.to_string()
    }
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

/// The facts a decision uses for `subject` on behalf of `caller`: a person asking about
/// themselves in a password-only session acts without the risky grants of their administrator
/// roles when the tenant requires MFA for admins (DESIGN.md §1), and so does an integration
/// asking about its holder unless the holder set its secret in a session that proved a second
/// factor: an integration is never a way around the holder's second factor (review L5).
/// Services ask about a person's standing rights; identity forwards the person's own token (or
/// the integration's) for their actions.
pub fn as_session(caller: &Caller, subject: UserId, facts: Arc<SubjectFacts>) -> Arc<SubjectFacts> {
    if caller.person() == Some(subject) && !caller.second_factor() && facts.needs_second_factor() {
        return Arc::new(facts.without_second_factor());
    }
    facts
}

impl<S: Store> Core<S> {
    /// The compiled facts of `user`, straight from the store (administration decides on these).
    pub async fn subject(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<(Arc<SubjectFacts>, Revision), ApiError> {
        self.subject_at(tenant, user, Freshness::Full).await
    }

    /// The compiled facts of `user`, from the cache when `freshness` allows.
    pub async fn subject_at(
        &self,
        tenant: TenantId,
        user: UserId,
        freshness: Freshness,
    ) -> Result<(Arc<SubjectFacts>, Revision), ApiError> {
        let key = CacheKey::subject(tenant, user);
        match self
            .cache
            .get(&key, freshness)
            .await
            .and_then(|e| e.subject())
        {
            Some(held) => Ok(held),
            None => self.read_subject(tenant, user).await,
        }
    }

    /// The compiled facts of `user` read from the store, and cached.
    async fn read_subject(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<(Arc<SubjectFacts>, Revision), ApiError> {
        let started_ms = now_ms();
        let (rows, revision) = self.store.subject_rows(tenant, user).await?;
        let facts::Compiled {
            facts,
            revision,
            changes_at,
        } = facts::subject_facts(tenant, user, &rows, revision, now());
        let compiled = Arc::new(facts);
        let read = Read {
            revision,
            started_ms,
            changes_at_ms: changes_at.map(seconds_to_ms),
        };
        let key = CacheKey::subject(tenant, user);
        self.cache.put(key, read, Facts::Subject(compiled.clone()));
        Ok((compiled, revision))
    }

    /// The facts of `resource`, straight from the store.
    pub async fn resource(&self, resource: &Resource) -> Result<ResourceFacts, ApiError> {
        Ok(facts::resource_facts(&self.store, resource, now())
            .await?
            .facts)
    }

    /// The facts of `resource`, from the cache when `freshness` allows, with the revision of its
    /// owner tenant they are at least as fresh as. Facts read from the store carry the revision
    /// read in the same statement, never one read elsewhere: another tenant's counter, or an
    /// earlier read of this one, would claim a freshness the facts may not have (review M6).
    pub async fn resource_at(
        &self,
        resource: &Resource,
        freshness: Freshness,
    ) -> Result<(Arc<ResourceFacts>, Revision), ApiError> {
        let key = resource.cache_key();
        match self
            .cache
            .get(&key, freshness)
            .await
            .and_then(|e| e.resource())
        {
            Some(held) => Ok(held),
            None => self.read_resource(resource).await,
        }
    }

    /// The facts of `resource` read from the store, and cached.
    async fn read_resource(
        &self,
        resource: &Resource,
    ) -> Result<(Arc<ResourceFacts>, Revision), ApiError> {
        let started_ms = now_ms();
        let facts::Compiled {
            facts,
            revision,
            changes_at,
        } = facts::resource_facts(&self.store, resource, now()).await?;
        let facts = Arc::new(facts);
        let read = Read {
            revision,
            started_ms,
            changes_at_ms: changes_at.map(seconds_to_ms),
        };
        self.cache
            .put(resource.cache_key(), read, Facts::Resource(facts.clone()));
        Ok((facts, revision))
    }

    /// What one decision reads: the subject's and the resource's facts, from the cache when
    /// `freshness` allows (both looked up in one Redis round trip), else from the store (both
    /// read at once). Another tenant's resource is read as [`resource_freshness`] asks.
    pub async fn decision_facts(
        &self,
        tenant: TenantId,
        subject: UserId,
        resource: &Resource,
        freshness: Freshness,
    ) -> Result<
        (
            (Arc<SubjectFacts>, Revision),
            (Arc<ResourceFacts>, Revision),
        ),
        ApiError,
    > {
        let keys = [CacheKey::subject(tenant, subject), resource.cache_key()];
        let wanted = [freshness, resource_freshness(freshness, tenant, resource)];
        let [subject_held, resource_held] = self.cache.get_pair(keys, wanted).await;
        let subject_held = subject_held.and_then(|e| e.subject());
        let resource_held = resource_held.and_then(|e| e.resource());
        match (subject_held, resource_held) {
            (Some(s), Some(r)) => Ok((s, r)),
            (Some(s), None) => Ok((s, self.read_resource(resource).await?)),
            (None, Some(r)) => Ok((self.read_subject(tenant, subject).await?, r)),
            (None, None) => {
                let (s, r) = tokio::join!(
                    self.read_subject(tenant, subject),
                    self.read_resource(resource)
                );
                Ok((s?, r?))
            }
        }
    }

    /// Drops cached facts a write at `revision` changed; `tenant_wide` drops all the tenant's.
    /// Every write that bumps a revision calls this (with no keys when it changed no decision
    /// input), so replicas can tell a lost invalidation from a write that needed none.
    pub fn invalidate(
        &self,
        tenant: TenantId,
        keys: Vec<CacheKey>,
        tenant_wide: bool,
        revision: Revision,
    ) {
        self.cache.invalidate(Invalidation {
            tenant: tenant.as_uuid(),
            revision: revision.0,
            keys,
            floor: tenant_wide.then_some(revision.0),
        });
    }

    /// Announces a write at `revision` that changed no cached facts.
    pub fn written(&self, tenant: TenantId, revision: Revision) {
        self.invalidate(tenant, Vec::new(), false, revision);
    }

    /// Drops the cached facts of `user`, whose roles a write at `revision` changed.
    pub fn invalidate_subject(&self, tenant: TenantId, user: UserId, revision: Revision) {
        self.invalidate(
            tenant,
            vec![CacheKey::subject(tenant, user)],
            false,
            revision,
        );
    }

    /// The caller as a user actor; services act through `Check`, not as administrators.
    pub async fn actor(&self, caller: &Caller) -> Result<Actor, ApiError> {
        let (tenant, user) = lms_runtime::auth::user(caller)?;
        self.session_actor(caller, tenant, user).await
    }

    /// The person whose rights bound what `caller` may ask or change: a person themselves; a
    /// tenant's integration its holder, with their standing facts read fresh (a holder no
    /// longer active holds nothing) as the session that set its secret would hold them
    /// ([`as_session`]); `None` for the platform's own services and for integrations an
    /// operator made, which are trusted within their scopes.
    pub async fn bounding_person(&self, caller: &Caller) -> Result<Option<Actor>, ApiError> {
        match (caller.tenant(), caller.person()) {
            (Some(tenant), Some(person)) => {
                Ok(Some(self.session_actor(caller, tenant, person).await?))
            }
            _ => Ok(None),
        }
    }

    async fn session_actor(
        &self,
        caller: &Caller,
        tenant: TenantId,
        person: UserId,
    ) -> Result<Actor, ApiError> {
        let (facts, revision) = self.subject(tenant, person).await?;
        Ok(Actor {
            tenant,
            facts: as_session(caller, person, facts),
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
        self.resource(&Resource::user(tenant, user)).await
    }
}
