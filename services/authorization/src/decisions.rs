//! The decision path below the handlers: what a request names (parsed once), how fresh its
//! answer must be, which facts it reads (the cache, else the store) and the kernel's decision.
//! Handlers parse the caller and the message, call in here, and convert the answer.

use std::collections::HashMap;
use std::sync::Arc;

use lms_api::authorization::v1::BatchCheckItem;
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ObjectReference, ObjectType};
use lms_kernel::{Decision, Permission, ResourceFacts, SubjectFacts, TenantId, UserId, decide};
use lms_runtime::ApiError;
use lms_runtime::auth::Caller;

use crate::cache::{CacheKey, Freshness};
use crate::convert;
use crate::core::{Core, as_session};
use crate::store::{Revision, Store};

/// Subjects or resources a BatchCheck reads from the store at once (within the store's pool).
const PREFETCH: usize = 8;
/// Most people other than themselves one person's BatchCheck may ask about: each costs a
/// decision on the caller's right to see them, so a person's batch stays a bounded amount of
/// work (services, which ask for others as their job, have no such cap).
pub const MAX_OTHER_SUBJECTS: usize = 100;

/// Whom a BatchCheck may ask about: decided once per batch for each distinct subject it names.
#[derive(Debug, Default)]
pub struct NamedSubjects {
    /// Subjects the caller may not ask about, with why.
    refused: HashMap<UserId, String>,
}

impl NamedSubjects {
    fn allows(&self, subject: UserId) -> Result<(), ApiError> {
        match self.refused.get(&subject) {
            None => Ok(()),
            Some(why) => Err(ApiError::PermissionDenied {
                reason: "SUBJECT_NOT_VISIBLE",
                message: why.clone(),
                metadata: HashMap::new(),
            }),
        }
    }
}

/// An object reference parsed once: whose it is, what kind and which. The cache key and the
/// fact reader both start from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource {
    /// The tenant the object belongs to (the caller's unless the reference names another).
    pub tenant: TenantId,
    /// Its type.
    pub kind: ObjectType,
    /// Its id.
    pub id: uuid::Uuid,
}

impl Resource {
    /// Parses the reference in request field `field`; errors name the field that is wrong.
    pub fn parse(
        caller_tenant: TenantId,
        field: &str,
        reference: Option<&ObjectReference>,
    ) -> Result<Resource, ApiError> {
        let reference = reference.ok_or_else(|| ApiError::invalid_field(field, "is required"))?;
        let named_tenant = if reference.tenant_id.is_empty() {
            None
        } else {
            Some(convert::id(
                &format!("{field}.tenant_id"),
                &reference.tenant_id,
                TenantId::parse,
            )?)
        };
        let kind = match ObjectType::try_from(reference.r#type) {
            Ok(ObjectType::Unspecified) | Err(_) => {
                return Err(ApiError::invalid_field(
                    format!("{field}.type"),
                    "is required",
                ));
            }
            Ok(kind) => kind,
        };
        if reference.id.is_empty() {
            return Err(ApiError::invalid_field(
                format!("{field}.id"),
                "is required",
            ));
        }
        let id = uuid::Uuid::try_parse(&reference.id)
            .ok()
            .filter(|id| !id.is_nil())
            .ok_or_else(|| {
                ApiError::invalid_field(
                    format!("{field}.id"),
                    format!("{} must be a UUID", id_label(kind)),
                )
            })?;
        let tenant = match (kind, named_tenant) {
            // A tenant is its own owner: `tenant:B` is decided in B, never in the caller's
            // tenant, and a reference that names another owner is contradictory.
            (ObjectType::Tenant, Some(named)) if named.as_uuid() != id => {
                return Err(ApiError::invalid_field(
                    format!("{field}.tenant_id"),
                    "must be empty or equal to id for a tenant",
                ));
            }
            (ObjectType::Tenant, _) => TenantId::from_uuid(id),
            (_, named) => named.unwrap_or(caller_tenant),
        };
        Ok(Resource { tenant, kind, id })
    }

    /// A user of `tenant` as a resource.
    pub fn user(tenant: TenantId, user: UserId) -> Resource {
        Resource {
            tenant,
            kind: ObjectType::User,
            id: user.as_uuid(),
        }
    }

    /// Where its facts are cached.
    pub fn cache_key(&self) -> CacheKey {
        CacheKey::resource(self.tenant, self.kind as i16, self.id)
    }
}

/// How an id of `kind` is named in errors.
fn id_label(kind: ObjectType) -> &'static str {
    match kind {
        ObjectType::Tenant => "tenant id",
        ObjectType::Unit => "unit id",
        ObjectType::User => "user id",
        ObjectType::Group => "group id",
        ObjectType::Course => "course id",
        ObjectType::Lesson => "lesson id",
        ObjectType::Event => "event id",
        _ => "id",
    }
}

/// The freshness a request's consistency requirement asks for (`field` names it in errors).
pub fn freshness(
    field: &str,
    consistency: Option<&Consistency>,
    tenant: TenantId,
) -> Result<Freshness, ApiError> {
    match consistency.and_then(|c| c.requirement.as_ref()) {
        Some(Requirement::AtLeastAsFresh(token)) => {
            convert::revision_of(&format!("{field}.at_least_as_fresh"), token, tenant)
                .map(Freshness::AtLeast)
        }
        Some(Requirement::FullyConsistent(true)) => Ok(Freshness::Full),
        _ => Ok(Freshness::Latency),
    }
}

/// Refuses a token newer than the store: only a token from another deployment could be.
pub fn ahead(freshness: Freshness, revision: Revision) -> Result<(), ApiError> {
    match freshness {
        Freshness::AtLeast(wanted) if wanted > revision => Err(ApiError::FailedPrecondition {
            reason: "TOKEN_AHEAD",
            message: "the consistency token is newer than this store".into(),
        }),
        _ => Ok(()),
    }
}

/// The freshness asked of `resource`'s facts in a request of `tenant`. A token names a revision
/// of the caller's tenant; a resource another tenant owns is counted on that tenant's revision,
/// of which the token says nothing, so its facts come from the store: never older than the
/// token, whatever the two counters read.
pub fn resource_freshness(
    freshness: Freshness,
    tenant: TenantId,
    resource: &Resource,
) -> Freshness {
    match freshness {
        Freshness::AtLeast(_) if resource.tenant != tenant => Freshness::Full,
        other => other,
    }
}

/// A question naming no subject is about the caller: a person, an integration's holder. A
/// service (and an integration an operator made) is nobody and names whom it asks about.
fn unnamed_subject(field: &str) -> ApiError {
    ApiError::invalid_field(
        field,
        "is required when a service asks (or an integration no person holds)",
    )
}

/// The revision of the caller's tenant a decision in `tenant` is at least as fresh as: the
/// older of its inputs counted on that tenant's revision. Facts of another tenant's resource
/// are on their owner's counter (and read as [`resource_freshness`] asks), so they do not count.
fn decided_revision(
    tenant: TenantId,
    subject: Revision,
    resource: &Resource,
    resource_revision: Revision,
) -> Revision {
    if resource.tenant == tenant {
        subject.min(resource_revision)
    } else {
        subject
    }
}

/// A decision with what it was taken on.
#[derive(Debug)]
pub struct Decided {
    /// Allowed or denied, and why.
    pub decision: Decision,
    /// The tenant decided in.
    pub tenant: TenantId,
    /// The decision is at least as fresh as this.
    pub revision: Revision,
    /// The subject's facts as decided on (for explanations).
    pub facts: Arc<SubjectFacts>,
}

/// What a BatchCheck read before deciding its items: each distinct subject and resource once.
#[derive(Debug, Default)]
pub struct Prefetched {
    subjects: HashMap<UserId, (Arc<SubjectFacts>, Revision)>,
    resources: HashMap<CacheKey, (Arc<ResourceFacts>, Revision)>,
    /// Whom the caller may ask about.
    named: NamedSubjects,
}

/// Runs `read(i)` for every `i` below `count`, [`PREFETCH`] at a time (within the store's
/// pool), and answers the reads that succeeded by index; a failed one is read again, and
/// reported, by the item that needs it.
async fn read_concurrently<V, Fut>(count: usize, read: impl Fn(usize) -> Fut) -> Vec<(usize, V)>
where
    V: Send + 'static,
    Fut: std::future::Future<Output = Result<V, ApiError>> + Send + 'static,
{
    let mut done = Vec::with_capacity(count);
    for start in (0..count).step_by(PREFETCH) {
        let mut reads = tokio::task::JoinSet::new();
        for index in start..(start + PREFETCH).min(count) {
            let read = read(index);
            reads.spawn(async move { (index, read.await) });
        }
        while let Some(Ok((index, read))) = reads.join_next().await {
            if let Ok(value) = read {
                done.push((index, value));
            }
        }
    }
    done
}

impl<S: Store> Core<S> {
    /// Who a decision is about: the caller (an integration's holder), or (for services, and
    /// for people who may read the subject's role assignments) the subject the request names
    /// in `field`.
    pub async fn subject_of(
        &self,
        caller: &Caller,
        tenant: TenantId,
        field: &str,
        subject_id: &str,
    ) -> Result<UserId, ApiError> {
        if subject_id.is_empty() {
            return caller.person().ok_or_else(|| unnamed_subject(field));
        }
        let subject = convert::id(field, subject_id, UserId::parse)?;
        // A person, or an integration as its holder, asks about someone else only if they may
        // read that person's role assignments; the platform's services may ask about anyone.
        if caller.person().is_some_and(|asking| asking != subject)
            && let Some(actor) = self.bounding_person(caller).await?
        {
            let target = self.resource(&Resource::user(tenant, subject)).await?;
            self.require(&actor, Permission::RoleAssignmentsRead, &target)?;
        }
        Ok(subject)
    }

    /// Check and Explain: one decision for the subject and the resource a request names.
    pub async fn decide_one(
        &self,
        caller: &Caller,
        subject_id: &str,
        permission: &str,
        resource: Option<&ObjectReference>,
        consistency: Option<&Consistency>,
    ) -> Result<Decided, ApiError> {
        let tenant = lms_runtime::auth::tenant(caller)?;
        let freshness = freshness("consistency", consistency, tenant)?;
        let permission = convert::permission("permission", permission)?;
        let resource = Resource::parse(tenant, "resource", resource)?;
        let subject = self
            .subject_of(caller, tenant, "subject_id", subject_id)
            .await?;
        let ((facts, subject_revision), (resource_facts, resource_revision)) = self
            .decision_facts(tenant, subject, &resource, freshness)
            .await?;
        let facts = as_session(caller, subject, facts);
        let revision = decided_revision(tenant, subject_revision, &resource, resource_revision);
        ahead(freshness, revision)?;
        Ok(Decided {
            decision: decide(&facts, permission, &resource_facts),
            tenant,
            revision,
            facts,
        })
    }

    /// Decides, once per batch, whether a person may ask about each other subject `items` name
    /// (they must be able to read that person's role assignments). Services may ask about
    /// anyone. Runs before anything is prefetched, so a refused batch reads nothing more.
    pub async fn named_subjects(
        &self,
        caller: &Caller,
        tenant: TenantId,
        items: &[BatchCheckItem],
    ) -> Result<NamedSubjects, ApiError> {
        let mut named = NamedSubjects::default();
        let Some(me) = caller.person() else {
            return Ok(named);
        };
        let mut others: Vec<UserId> = items
            .iter()
            .filter_map(|item| UserId::parse(&item.subject_id).ok())
            .filter(|subject| *subject != me)
            .collect();
        others.sort();
        others.dedup();
        if others.is_empty() {
            return Ok(named);
        }
        if others.len() > MAX_OTHER_SUBJECTS {
            return Err(ApiError::invalid_field(
                "items",
                format!(
                    "a person's batch may ask about at most {MAX_OTHER_SUBJECTS} other people; \
                     it names {}",
                    others.len()
                ),
            ));
        }
        // The caller's own facts (an integration's holder's) once for the whole batch.
        let Some(actor) = self.bounding_person(caller).await? else {
            return Ok(named);
        };
        for subject in others {
            let target = self.resource(&Resource::user(tenant, subject)).await?;
            if let Err(denied) = self.require(&actor, Permission::RoleAssignmentsRead, &target) {
                named.refused.insert(subject, denied.to_string());
            }
        }
        Ok(named)
    }

    /// BatchCheck's reads: the distinct subjects and resources of `items`, those this replica
    /// holds taken as they are, the missing ones read concurrently. An item whose read failed
    /// reads again, and reports, when it is decided.
    pub async fn prefetch(
        self: &Arc<Self>,
        tenant: TenantId,
        freshness: Freshness,
        items: &[BatchCheckItem],
        named: NamedSubjects,
    ) -> Prefetched {
        let mut prefetched = Prefetched {
            named,
            ..Prefetched::default()
        };
        let mut distinct: Vec<UserId> = items
            .iter()
            .filter_map(|item| UserId::parse(&item.subject_id).ok())
            .filter(|subject| prefetched.named.allows(*subject).is_ok())
            .collect();
        distinct.sort();
        distinct.dedup();
        let mut missing = Vec::new();
        for subject in distinct {
            let key = CacheKey::subject(tenant, subject);
            match self
                .cache
                .get_local(&key, freshness)
                .and_then(|e| e.subject())
            {
                Some(held) => {
                    prefetched.subjects.insert(subject, held);
                }
                None => missing.push(subject),
            }
        }
        let reads = read_concurrently(missing.len(), |index| {
            let (core, subject) = (self.clone(), missing[index]);
            async move { core.subject_at(tenant, subject, freshness).await }
        });
        for (index, read) in reads.await {
            prefetched.subjects.insert(missing[index], read);
        }
        let mut distinct: Vec<Resource> = items
            .iter()
            .filter_map(|item| Resource::parse(tenant, "resource", item.resource.as_ref()).ok())
            .collect();
        distinct.sort_by_key(Resource::cache_key);
        distinct.dedup_by_key(|resource| resource.cache_key());
        let mut missing = Vec::new();
        for resource in distinct {
            let key = resource.cache_key();
            match self
                .cache
                .get_local(&key, resource_freshness(freshness, tenant, &resource))
                .and_then(|e| e.resource())
            {
                Some(held) => {
                    prefetched.resources.insert(key, held);
                }
                None => missing.push(resource),
            }
        }
        let reads = read_concurrently(missing.len(), |index| {
            let (core, resource) = (self.clone(), missing[index]);
            let freshness = resource_freshness(freshness, tenant, &resource);
            async move { core.resource_at(&resource, freshness).await }
        });
        for (index, read) in reads.await {
            prefetched
                .resources
                .insert(missing[index].cache_key(), read);
        }
        prefetched
    }

    /// One item of a BatchCheck (the `index`th), decided from what was prefetched; answers
    /// the decision and the revision it is at least as fresh as.
    pub async fn decide_item(
        &self,
        caller: &Caller,
        tenant: TenantId,
        freshness: Freshness,
        index: usize,
        item: &BatchCheckItem,
        prefetched: &mut Prefetched,
    ) -> Result<(Decision, Revision), ApiError> {
        let permission =
            convert::permission(&format!("items[{index}].permission"), &item.permission)?;
        let resource = Resource::parse(
            tenant,
            &format!("items[{index}].resource"),
            item.resource.as_ref(),
        )?;
        let field = format!("items[{index}].subject_id");
        let subject = if item.subject_id.is_empty() {
            caller.person().ok_or_else(|| unnamed_subject(&field))?
        } else {
            let subject = convert::id(&field, &item.subject_id, UserId::parse)?;
            prefetched.named.allows(subject)?;
            subject
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = prefetched.subjects.entry(subject)
        {
            slot.insert(self.subject_at(tenant, subject, freshness).await?);
        }
        let (facts, subject_revision) = &prefetched.subjects[&subject];
        let facts = as_session(caller, subject, facts.clone());
        let (resource_facts, resource_revision) =
            match prefetched.resources.get(&resource.cache_key()) {
                Some((facts, revision)) => (facts.clone(), *revision),
                None => {
                    self.resource_at(&resource, resource_freshness(freshness, tenant, &resource))
                        .await?
                }
            };
        let revision = decided_revision(tenant, *subject_revision, &resource, resource_revision);
        ahead(freshness, revision)?;
        Ok((decide(&facts, permission, &resource_facts), revision))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(kind: ObjectType, id: &str) -> ObjectReference {
        ObjectReference {
            r#type: kind as i32,
            id: id.into(),
            tenant_id: String::new(),
        }
    }

    fn field(error: ApiError) -> String {
        match error {
            ApiError::InvalidArgument(violations) => violations[0].field.clone(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_reference_is_parsed_once_with_its_fields_named() {
        let tenant = TenantId::generate();
        let id = uuid::Uuid::now_v7();
        let parsed = Resource::parse(
            tenant,
            "resource",
            Some(&reference(ObjectType::Course, &id.to_string())),
        )
        .unwrap();
        assert_eq!(parsed.tenant, tenant);
        assert_eq!(
            parsed.cache_key(),
            CacheKey::resource(tenant, ObjectType::Course as i16, id)
        );
        let nil = uuid::Uuid::nil().to_string();
        for (bad, named) in [
            (None, "resource"),
            (
                Some(reference(ObjectType::Unspecified, &id.to_string())),
                "resource.type",
            ),
            (Some(reference(ObjectType::User, "")), "resource.id"),
            (Some(reference(ObjectType::User, "nope")), "resource.id"),
            (Some(reference(ObjectType::User, &nil)), "resource.id"),
        ] {
            let error = Resource::parse(tenant, "resource", bad.as_ref()).unwrap_err();
            assert_eq!(field(error), named);
        }
        let mut foreign = reference(ObjectType::User, &id.to_string());
        foreign.tenant_id = "not-a-tenant".into();
        let error = Resource::parse(tenant, "items[3].resource", Some(&foreign)).unwrap_err();
        assert_eq!(field(error), "items[3].resource.tenant_id");
    }

    #[test]
    fn a_token_never_takes_another_tenants_facts_from_the_cache() {
        let (caller, other) = (TenantId::generate(), TenantId::generate());
        let id = uuid::Uuid::now_v7();
        let home = Resource::user(caller, UserId::from_uuid(id));
        let foreign = Resource::user(other, UserId::from_uuid(id));
        let token = Freshness::AtLeast(Revision(5));
        assert_eq!(resource_freshness(token, caller, &home), token);
        assert_eq!(resource_freshness(token, caller, &foreign), Freshness::Full);
        for freshness in [Freshness::Latency, Freshness::Full] {
            assert_eq!(resource_freshness(freshness, caller, &foreign), freshness);
        }
        // The caller's token speaks of the caller's tenant: a foreign resource's revision,
        // on another counter, neither lowers nor raises it.
        assert_eq!(
            decided_revision(caller, Revision(9), &foreign, Revision(2)),
            Revision(9)
        );
        assert_eq!(
            decided_revision(caller, Revision(9), &home, Revision(2)),
            Revision(2)
        );
    }

    #[test]
    fn a_tenant_reference_is_owned_by_the_tenant_it_names() {
        let (caller, other) = (TenantId::generate(), TenantId::generate());
        let named = reference(ObjectType::Tenant, &other.to_string());
        let parsed = Resource::parse(caller, "resource", Some(&named)).unwrap();
        assert_eq!(parsed.tenant, other);
        let mut contradictory = named.clone();
        contradictory.tenant_id = caller.to_string();
        let error = Resource::parse(caller, "resource", Some(&contradictory)).unwrap_err();
        assert_eq!(field(error), "resource.tenant_id");
        let mut agreeing = named;
        agreeing.tenant_id = other.to_string();
        assert_eq!(
            Resource::parse(caller, "resource", Some(&agreeing))
                .unwrap()
                .tenant,
            other
        );
    }
}
