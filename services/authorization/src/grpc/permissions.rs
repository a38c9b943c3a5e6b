//! `PermissionService`: Check, BatchCheck and Explain. Every error on this path denies: a
//! request that cannot be decided answers an error status, never an allow.

use std::collections::HashMap;
use std::sync::Arc;

use tonic::{Request, Response, Status};

use lms_api::authorization::v1::permission_service_server::PermissionService;
use lms_api::authorization::v1::{
    BatchCheckRequest, BatchCheckResponse, BatchCheckResult, CheckRequest, CheckResponse,
    Decision as PbDecision, ExplainRequest, ExplainResponse, Explanation, Grant,
    LookupResourcesRequest, LookupResourcesResponse, LookupSubjectsRequest, LookupSubjectsResponse,
};
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ObjectReference, ObjectType};
use lms_kernel::{
    Decision, Grounds, Permission, ResourceFacts, SubjectFacts, TenantId, UserId, decide,
};
use lms_runtime::ApiError;
use lms_runtime::auth::{Caller, caller_and_message};
use lms_runtime::paging::page_size;

use crate::cache::{CacheKey, Freshness};
use crate::convert;
use crate::core::{Core, as_session, resource_cache_key, tenant_of};
use crate::store::{Revision, Store};

/// Most checks one BatchCheck may carry.
const MAX_BATCH: usize = 1000;
/// Subjects a BatchCheck reads at once.
const PREFETCH: usize = 8;

pub struct Permissions<S>(pub Arc<Core<S>>);

fn to_proto(decision: &Decision) -> i32 {
    match decision {
        Decision::Allowed(_) => PbDecision::Allowed as i32,
        Decision::Denied(_) => PbDecision::Denied as i32,
    }
}

impl<S: Store> Permissions<S> {
    /// Who the decision is about: the caller, or (for services, and for users who may read the
    /// subject's role assignments) the named subject.
    async fn subject(
        &self,
        caller: &Caller,
        tenant: TenantId,
        field: &str,
        subject_id: &str,
    ) -> Result<UserId, ApiError> {
        match (caller, subject_id.is_empty()) {
            (Caller::User { user, .. }, true) => Ok(*user),
            (Caller::Service { .. }, true) => Err(ApiError::invalid_field(
                field,
                "is required when a service asks",
            )),
            (_, false) => {
                let subject = convert::id(field, subject_id, UserId::parse)?;
                if let Caller::User { user, .. } = caller
                    && *user != subject
                {
                    let actor = self.0.actor(caller).await?;
                    let target = self.0.user_resource(tenant, subject).await?;
                    self.0
                        .require(&actor, Permission::RoleAssignmentsRead, &target)?;
                }
                Ok(subject)
            }
        }
    }

    /// Validates the consistency requirement. Decisions here are read from the store, which is
    /// always at least as fresh as any token it issued; a token from the future is refused.
    fn freshness(
        &self,
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

    async fn decide_one(
        &self,
        caller: &Caller,
        subject_id: &str,
        permission: &str,
        resource: Option<&ObjectReference>,
        consistency: Option<&Consistency>,
    ) -> Result<(Decision, TenantId, Revision, Arc<SubjectFacts>), ApiError> {
        let tenant = tenant_of(caller)?;
        let freshness = self.freshness("consistency", consistency, tenant)?;
        let permission = convert::permission("permission", permission)?;
        let subject = self
            .subject(caller, tenant, "subject_id", subject_id)
            .await?;
        let (facts, subject_revision) = self.0.subject_at(tenant, subject, freshness).await?;
        let facts = as_session(caller, subject, facts);
        ahead(freshness, subject_revision)?;
        let (resource, resource_revision) = self
            .0
            .resource_at(
                tenant,
                "resource",
                resource,
                freshness,
                Some(subject_revision),
            )
            .await?;
        ahead(freshness, resource_revision)?;
        // The decision is at least as fresh as the older of its two inputs.
        let revision = subject_revision.min(resource_revision);
        Ok((
            decide(&facts, permission, &resource),
            tenant,
            revision,
            facts,
        ))
    }
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

/// Refuses a token newer than the store: only a token from another deployment could be.
fn ahead(freshness: Freshness, revision: Revision) -> Result<(), ApiError> {
    match freshness {
        Freshness::AtLeast(wanted) if wanted > revision => Err(ApiError::FailedPrecondition {
            reason: "TOKEN_AHEAD",
            message: "the consistency token is newer than this store".into(),
        }),
        _ => Ok(()),
    }
}

/// One page of ordered ids after the page token (the last id of the previous page).
fn page(
    ids: &std::collections::BTreeSet<uuid::Uuid>,
    token: &str,
    size: i32,
) -> Result<(Vec<String>, String), ApiError> {
    use std::ops::Bound;
    let after = match token {
        "" => Bound::Unbounded,
        token => Bound::Excluded(uuid::Uuid::try_parse(token).map_err(|_| {
            ApiError::invalid_field("page_token", "is not a token from this lookup")
        })?),
    };
    let limit = page_size(size, 1000, 10_000) as usize;
    let mut shown: Vec<_> = ids
        .range((after, Bound::Unbounded))
        .take(limit + 1)
        .collect();
    let next = if shown.len() > limit {
        shown.truncate(limit);
        shown.last().map(|id| id.to_string()).unwrap_or_default()
    } else {
        String::new()
    };
    Ok((shown.into_iter().map(|id| id.to_string()).collect(), next))
}

fn explanation(decision: &Decision, facts: &SubjectFacts) -> Explanation {
    let mut explanation = Explanation {
        summary: decision.to_string(),
        ..Default::default()
    };
    match decision {
        Decision::Allowed(Grounds::Role { role, place, reach }) => {
            explanation.role_id = role.to_string();
            explanation.assignment_id = facts
                .roles
                .iter()
                .find(|held| held.role == *role && held.place == *place)
                .and_then(|held| held.assignment)
                .map(|id| id.to_string())
                .unwrap_or_default();
            explanation.grant = Some(Grant {
                permission: String::new(),
                reach: convert::reach_to_proto(*reach),
            });
        }
        Decision::Allowed(Grounds::Responsibility(responsibility)) => {
            explanation.responsibility = responsibility.name().into();
        }
        Decision::Denied(denial) => explanation.denial_reason = denial.code().into(),
    }
    explanation
}

#[tonic::async_trait]
impl<S: Store> PermissionService for Permissions<S> {
    async fn check(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        let (caller, r) = caller_and_message(request)?;
        let (decision, tenant, revision, _) = self
            .decide_one(
                &caller,
                &r.subject_id,
                &r.permission,
                r.resource.as_ref(),
                r.consistency.as_ref(),
            )
            .await?;
        Ok(Response::new(CheckResponse {
            decision: to_proto(&decision),
            checked_at: Some(convert::token(tenant, revision)),
        }))
    }

    async fn explain(
        &self,
        request: Request<ExplainRequest>,
    ) -> Result<Response<ExplainResponse>, Status> {
        let (caller, r) = caller_and_message(request)?;
        let (decision, tenant, revision, facts) = self
            .decide_one(
                &caller,
                &r.subject_id,
                &r.permission,
                r.resource.as_ref(),
                r.consistency.as_ref(),
            )
            .await?;
        let mut explanation = explanation(&decision, &facts);
        if let Some(grant) = explanation.grant.as_mut() {
            grant.permission = r.permission;
        }
        Ok(Response::new(ExplainResponse {
            decision: to_proto(&decision),
            explanation: Some(explanation),
            checked_at: Some(convert::token(tenant, revision)),
        }))
    }

    async fn lookup_resources(
        &self,
        request: Request<LookupResourcesRequest>,
    ) -> Result<Response<LookupResourcesResponse>, Status> {
        let (caller, r) = caller_and_message(request)?;
        let tenant = tenant_of(&caller)?;
        let freshness = self.freshness("consistency", r.consistency.as_ref(), tenant)?;
        let permission = convert::permission("permission", &r.permission)?;
        let kind = match ObjectType::try_from(r.resource_type) {
            Ok(ObjectType::Unspecified) | Err(_) => {
                return Err(ApiError::invalid_field("resource_type", "is required").into());
            }
            Ok(kind) => kind,
        };
        let subject = self
            .subject(&caller, tenant, "subject_id", &r.subject_id)
            .await?;
        // Candidates are read from the store; the subject's facts may come from the cache.
        let (facts, revision) = self.0.subject_at(tenant, subject, freshness).await?;
        let facts = as_session(&caller, subject, facts);
        ahead(freshness, revision)?;
        let found = self.0.lookup_resources(&facts, permission, kind).await?;
        let (resource_ids, next_page_token) = page(&found.ids, &r.page_token, r.page_size)?;
        Ok(Response::new(LookupResourcesResponse {
            resource_ids,
            next_page_token,
            checked_at: Some(convert::token(tenant, revision)),
            all_of_type: found.all_of_type,
        }))
    }

    async fn lookup_subjects(
        &self,
        request: Request<LookupSubjectsRequest>,
    ) -> Result<Response<LookupSubjectsResponse>, Status> {
        let (caller, r) = caller_and_message(request)?;
        let tenant = tenant_of(&caller)?;
        // Who holds access is for services and for those who read role assignments.
        if let Caller::User { .. } = caller {
            let actor = self.0.actor(&caller).await?;
            self.0
                .require_tenant_wide(&actor, Permission::RoleAssignmentsRead)?;
        }
        self.freshness("consistency", r.consistency.as_ref(), tenant)?;
        let permission = convert::permission("permission", &r.permission)?;
        // Read first: everything after it is at least this fresh.
        let revision = self.0.store.revision(tenant).await?;
        let resource = self
            .0
            .resource(tenant, "resource", r.resource.as_ref())
            .await?;
        let subjects = self
            .0
            .lookup_subjects(tenant, permission, &resource)
            .await?;
        let (subject_ids, next_page_token) = page(&subjects, &r.page_token, r.page_size)?;
        Ok(Response::new(LookupSubjectsResponse {
            subject_ids,
            next_page_token,
            checked_at: Some(convert::token(tenant, revision)),
        }))
    }

    async fn batch_check(
        &self,
        request: Request<BatchCheckRequest>,
    ) -> Result<Response<BatchCheckResponse>, Status> {
        let (caller, r) = caller_and_message(request)?;
        if r.items.len() > MAX_BATCH {
            return Err(ApiError::invalid_field(
                "items",
                format!("at most {MAX_BATCH} checks per batch"),
            )
            .into());
        }
        let tenant = tenant_of(&caller)?;
        let freshness = self.freshness("consistency", r.consistency.as_ref(), tenant)?;
        // Each subject's facts are read once per batch; the batch answers at the oldest revision read.
        let mut subjects: HashMap<UserId, (Arc<SubjectFacts>, Revision)> = HashMap::new();
        // Items decide from memory: the distinct subjects this replica holds are taken as they
        // are, the missing ones read concurrently.
        let mut distinct: Vec<UserId> = r
            .items
            .iter()
            .filter_map(|item| UserId::parse(&item.subject_id).ok())
            .collect();
        distinct.sort();
        distinct.dedup();
        let mut missing = Vec::new();
        for subject in distinct {
            let key = CacheKey::subject(tenant, subject);
            match self
                .0
                .cache
                .get_local(&key, freshness)
                .and_then(|e| e.subject())
            {
                Some(held) => {
                    subjects.insert(subject, held);
                }
                None => missing.push(subject),
            }
        }
        let reads = read_concurrently(missing.len(), |index| {
            let (core, subject) = (self.0.clone(), missing[index]);
            async move { core.subject_at(tenant, subject, freshness).await }
        });
        for (index, read) in reads.await {
            subjects.insert(missing[index], read);
        }
        // The distinct resources likewise: read item by item, a cold batch waited for one store
        // round trip per item. Any revision this request read is a floor for what it reads now.
        let read_after = subjects.values().map(|(_, revision)| *revision).min();
        let mut distinct: Vec<(CacheKey, &ObjectReference)> = r
            .items
            .iter()
            .filter_map(|item| item.resource.as_ref())
            .filter_map(|reference| Some((resource_cache_key(tenant, Some(reference))?, reference)))
            .collect();
        distinct.sort_by_key(|(key, _)| *key);
        distinct.dedup_by_key(|(key, _)| *key);
        let mut resources: HashMap<CacheKey, (Arc<ResourceFacts>, Revision)> = HashMap::new();
        let mut missing = Vec::new();
        for (key, reference) in distinct {
            match self
                .0
                .cache
                .get_local(&key, freshness)
                .and_then(|e| e.resource())
            {
                Some(held) => {
                    resources.insert(key, held);
                }
                None => missing.push((key, reference)),
            }
        }
        let reads = read_concurrently(missing.len(), |index| {
            let (core, reference) = (self.0.clone(), missing[index].1.clone());
            async move {
                core.resource_at(tenant, "resource", Some(&reference), freshness, read_after)
                    .await
            }
        });
        for (index, read) in reads.await {
            resources.insert(missing[index].0, read);
        }
        let mut results = Vec::with_capacity(r.items.len());
        let mut checked_at: Option<Revision> = None;
        for (index, item) in r.items.iter().enumerate() {
            let outcome: Result<Decision, ApiError> = async {
                let permission =
                    convert::permission(&format!("items[{index}].permission"), &item.permission)?;
                let subject = self
                    .subject(
                        &caller,
                        tenant,
                        &format!("items[{index}].subject_id"),
                        &item.subject_id,
                    )
                    .await?;
                if let std::collections::hash_map::Entry::Vacant(slot) = subjects.entry(subject) {
                    slot.insert(self.0.subject_at(tenant, subject, freshness).await?);
                }
                let (facts, subject_revision) = &subjects[&subject];
                let facts = as_session(&caller, subject, facts.clone());
                let prefetched = resource_cache_key(tenant, item.resource.as_ref())
                    .and_then(|key| resources.get(&key));
                let (resource, resource_revision) = match prefetched {
                    Some((facts, revision)) => (facts.clone(), *revision),
                    None => {
                        self.0
                            .resource_at(
                                tenant,
                                &format!("items[{index}].resource"),
                                item.resource.as_ref(),
                                freshness,
                                Some(*subject_revision),
                            )
                            .await?
                    }
                };
                let revision = (*subject_revision).min(resource_revision);
                ahead(freshness, revision)?;
                checked_at = Some(checked_at.map_or(revision, |at| at.min(revision)));
                Ok(decide(&facts, permission, &resource))
            }
            .await;
            results.push(match outcome {
                Ok(decision) => BatchCheckResult {
                    decision: to_proto(&decision),
                    error_message: String::new(),
                },
                // Bad items are answered DENIED with the reason; an outage fails the whole batch.
                Err(error @ ApiError::InvalidArgument(_))
                | Err(error @ ApiError::PermissionDenied { .. })
                | Err(error @ ApiError::FailedPrecondition { .. }) => BatchCheckResult {
                    decision: PbDecision::Denied as i32,
                    error_message: error.to_string(),
                },
                Err(other) => return Err(other.into()),
            });
        }
        let checked_at = checked_at.unwrap_or_default();
        Ok(Response::new(BatchCheckResponse {
            results,
            checked_at: Some(convert::token(tenant, checked_at)),
        }))
    }
}
