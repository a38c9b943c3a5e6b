//! `PermissionService`: Check, BatchCheck and Explain. Every error on this path denies: a
//! request that cannot be decided answers an error status, never an allow.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use lms_api::authorization::v1::permission_service_server::PermissionService;
use lms_api::authorization::v1::{
    BatchCheckRequest, BatchCheckResponse, BatchCheckResult, CheckEscalationRequest,
    CheckEscalationResponse, CheckRequest, CheckResponse, Decision as PbDecision, ExplainRequest,
    ExplainResponse, Explanation, Grant, HeldGrant, ListGrantsRequest, ListGrantsResponse,
    LookupResourcesRequest, LookupResourcesResponse, LookupSubjectsRequest, LookupSubjectsResponse,
};
use lms_api::common::v1::ObjectType;
use lms_kernel::{Decision, Grounds, Permission, SubjectFacts, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Caller, Scope, caller_and_message, require_scope, tenant};

use crate::convert;
use crate::core::{Core, as_session};
use crate::decisions::{Resource, ahead, freshness};
use crate::escalation::Question;
use crate::lookup::{Computed, Token};
use crate::store::{Revision, Store};

/// Most checks one BatchCheck may carry.
const MAX_BATCH: usize = 1000;

pub struct Permissions<S>(pub Arc<Core<S>>);

/// The caller and message of a decision request: a service asks only with the decide scope.
/// People may always ask about themselves, and about others as far as their rights go; an
/// integration likewise about its holder, whose rights it acts within (identity asks so before
/// an integration's import, whatever its scopes), and about others only with the decide scope.
fn asked<T>(
    request: Request<T>,
    about_holder: impl FnOnce(&T, UserId) -> bool,
) -> Result<(Caller, T), Status> {
    let (caller, message) = caller_and_message(request)?;
    let own = match &caller {
        Caller::Integration {
            holder: Some(holder),
            ..
        } => about_holder(&message, *holder),
        _ => false,
    };
    if !own {
        require_scope(&caller, Scope::Decide)?;
    }
    Ok((caller, message))
}

/// CheckEscalation from a caller no person bounds (a platform service, an integration an
/// operator made): trusted, it has no rule to ask.
fn nobody_to_bound() -> ApiError {
    ApiError::PermissionDenied {
        reason: "USER_REQUIRED",
        message: "the escalation rule bounds a person (or an integration's holder); trusted \
                  services ask nothing here"
            .into(),
        metadata: Default::default(),
    }
}

/// Whether a request's `subject_id` names `holder`'s own rights: none named, or them.
fn names_only(subject_id: &str, holder: UserId) -> bool {
    subject_id.is_empty() || UserId::parse(subject_id) == Ok(holder)
}

fn to_proto(decision: &Decision) -> i32 {
    match decision {
        Decision::Allowed(_) => PbDecision::Allowed as i32,
        Decision::Denied(_) => PbDecision::Denied as i32,
    }
}

/// Who asks, as far as it changes a lookup's answer: the person and whether their session
/// proved a second factor, or the service. Not the token: a client that renews its token while
/// paging keeps its cursor.
fn asker(caller: &Caller) -> String {
    match caller {
        Caller::User {
            tenant, user, mfa, ..
        } => format!("user {tenant} {user} mfa={mfa}"),
        Caller::Service { name, tenant, .. } => format!("service {name} {tenant:?}"),
        Caller::Integration {
            name, tenant, mfa, ..
        } => format!("integration {tenant} {name} mfa={mfa}"),
    }
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
        // The summary says so: neither is a role, grant or responsibility.
        Decision::Allowed(
            Grounds::AccessCoordinator | Grounds::Catalogue | Grounds::ContentGrant,
        ) => {}
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
        let (caller, r) = asked(request, |r, holder| names_only(&r.subject_id, holder))?;
        let decided = self
            .0
            .decide_one(
                &caller,
                &r.subject_id,
                &r.permission,
                r.resource.as_ref(),
                r.consistency.as_ref(),
            )
            .await?;
        Ok(Response::new(CheckResponse {
            decision: to_proto(&decided.decision),
            checked_at: Some(convert::token(decided.tenant, decided.revision)),
        }))
    }

    async fn explain(
        &self,
        request: Request<ExplainRequest>,
    ) -> Result<Response<ExplainResponse>, Status> {
        let (caller, r) = asked(request, |r, holder| names_only(&r.subject_id, holder))?;
        let decided = self
            .0
            .decide_one(
                &caller,
                &r.subject_id,
                &r.permission,
                r.resource.as_ref(),
                r.consistency.as_ref(),
            )
            .await?;
        let mut explanation = explanation(&decided.decision, &decided.facts);
        if let Some(grant) = explanation.grant.as_mut() {
            grant.permission = r.permission;
        }
        Ok(Response::new(ExplainResponse {
            decision: to_proto(&decided.decision),
            explanation: Some(explanation),
            checked_at: Some(convert::token(decided.tenant, decided.revision)),
        }))
    }

    async fn list_grants(
        &self,
        request: Request<ListGrantsRequest>,
    ) -> Result<Response<ListGrantsResponse>, Status> {
        let (caller, r) = asked(request, |r, holder| names_only(&r.subject_id, holder))?;
        let tenant = tenant(&caller)?;
        let freshness = freshness("consistency", r.consistency.as_ref(), tenant)?;
        let permission = convert::permission("permission", &r.permission)?;
        let subject = self
            .0
            .subject_of(&caller, tenant, "subject_id", &r.subject_id)
            .await?;
        let (facts, revision) = self.0.subject_at(tenant, subject, freshness).await?;
        // As the session asking holds them (an administrator without a second factor holds
        // the harmless grants only), like every other answer about the caller.
        let facts = as_session(&caller, subject, facts);
        ahead(freshness, revision)?;
        let held = lms_kernel::holdings(&facts, permission);
        let clients = match facts.settings.clients_enabled {
            true => facts.clients.iter().map(ToString::to_string).collect(),
            false => Vec::new(),
        };
        Ok(Response::new(ListGrantsResponse {
            grants: held
                .reaches
                .iter()
                .map(|holding| HeldGrant {
                    reach: convert::reach_to_proto(holding.reach),
                    unit_id: match holding.place {
                        lms_kernel::Place::Unit(unit) => unit.to_string(),
                        lms_kernel::Place::Tenant => String::new(),
                    },
                    role_id: holding
                        .role
                        .map(|role| role.to_string())
                        .unwrap_or_default(),
                })
                .collect(),
            responsibilities: held
                .responsibilities
                .iter()
                .map(|r| r.name().to_owned())
                .collect(),
            client_tenant_ids: clients,
            checked_at: Some(convert::token(tenant, revision)),
        }))
    }

    async fn lookup_resources(
        &self,
        request: Request<LookupResourcesRequest>,
    ) -> Result<Response<LookupResourcesResponse>, Status> {
        let (caller, r) = asked(request, |r, holder| names_only(&r.subject_id, holder))?;
        let tenant = tenant(&caller)?;
        let freshness = freshness("consistency", r.consistency.as_ref(), tenant)?;
        let permission = convert::permission("permission", &r.permission)?;
        let kind = match ObjectType::try_from(r.resource_type) {
            Ok(ObjectType::Unspecified) | Err(_) => {
                return Err(ApiError::invalid_field("resource_type", "is required").into());
            }
            Ok(kind) => kind,
        };
        let subject = self
            .0
            .subject_of(&caller, tenant, "subject_id", &r.subject_id)
            .await?;
        let token = Token::parse(&r.page_token)?;
        // Who asks, about whom and what: a cursor answers only the request that made it.
        let question = format!(
            "resources {} {subject} {} {kind:?}",
            asker(&caller),
            permission.name()
        );
        let lookups = &self.0.lookups;
        let floor = self.0.page_floor(tenant, token, freshness).await?;
        let (cursor, set) = match lookups.cursors.resume(token, &question, floor) {
            Some((cursor, set)) => (Some(cursor), set),
            None => {
                // Candidates are read from the store; the subject's facts may come from the
                // cache.
                let (facts, revision) = self.0.subject_at(tenant, subject, freshness).await?;
                let facts = as_session(&caller, subject, facts);
                ahead(freshness, revision)?;
                let found = self.0.lookup_resources(&facts, permission, kind).await?;
                let set = Computed {
                    question,
                    all_of_type: found.all_of_type,
                    ids: found.ids,
                    truncated: found.truncated,
                    revision,
                };
                (None, Arc::new(set))
            }
        };
        let (all_of_type, truncated, revision) = (set.all_of_type, set.truncated, set.revision);
        let (resource_ids, next_page_token) = lookups.cursors.page(set, cursor, token, r.page_size);
        Ok(Response::new(LookupResourcesResponse {
            resource_ids,
            next_page_token,
            checked_at: Some(convert::token(tenant, revision)),
            all_of_type,
            truncated,
        }))
    }

    async fn lookup_subjects(
        &self,
        request: Request<LookupSubjectsRequest>,
    ) -> Result<Response<LookupSubjectsResponse>, Status> {
        let (caller, r) = asked(request, |_, _| false)?;
        let tenant = tenant(&caller)?;
        // Who holds access is for the platform's services and for those who read role
        // assignments (an integration as its holder).
        if let Some(actor) = self.0.bounding_person(&caller).await? {
            self.0
                .require_tenant_wide(&actor, Permission::RoleAssignmentsRead)?;
        }
        let freshness = freshness("consistency", r.consistency.as_ref(), tenant)?;
        let permission = convert::permission("permission", &r.permission)?;
        let parsed = Resource::parse(tenant, "resource", r.resource.as_ref())?;
        let token = Token::parse(&r.page_token)?;
        let question = format!(
            "subjects {} {:?} {}",
            asker(&caller),
            r.resource,
            permission.name()
        );
        let lookups = &self.0.lookups;
        let floor = self.0.page_floor(tenant, token, freshness).await?;
        let (cursor, set) = match lookups.cursors.resume(token, &question, floor) {
            Some((cursor, set)) => (Some(cursor), set),
            None => {
                // Read first: everything after it is at least this fresh.
                let revision = self.0.store.revision(tenant).await?;
                ahead(freshness, revision)?;
                let resource = self.0.resource(&parsed).await?;
                let found = self
                    .0
                    .lookup_subjects(tenant, permission, &resource, freshness)
                    .await?;
                let set = Computed {
                    question,
                    all_of_type: false,
                    ids: found.ids,
                    truncated: found.truncated,
                    revision,
                };
                (None, Arc::new(set))
            }
        };
        let (truncated, revision) = (set.truncated, set.revision);
        let (subject_ids, next_page_token) = lookups.cursors.page(set, cursor, token, r.page_size);
        Ok(Response::new(LookupSubjectsResponse {
            subject_ids,
            next_page_token,
            checked_at: Some(convert::token(tenant, revision)),
            truncated,
        }))
    }

    async fn batch_check(
        &self,
        request: Request<BatchCheckRequest>,
    ) -> Result<Response<BatchCheckResponse>, Status> {
        let (caller, r) = asked(request, |r, holder| {
            r.items
                .iter()
                .all(|item| names_only(&item.subject_id, holder))
        })?;
        if r.items.len() > MAX_BATCH {
            return Err(ApiError::invalid_field(
                "items",
                format!("at most {MAX_BATCH} checks per batch"),
            )
            .into());
        }
        let tenant = tenant(&caller)?;
        let freshness = freshness("consistency", r.consistency.as_ref(), tenant)?;
        // Whom the caller may ask about is decided once per batch, before anything is read;
        // then each subject's and resource's facts are read once. The batch answers at the
        // oldest revision read.
        let named = self.0.named_subjects(&caller, tenant, &r.items).await?;
        let mut prefetched = self.0.prefetch(tenant, freshness, &r.items, named).await;
        let mut results = Vec::with_capacity(r.items.len());
        let mut checked_at: Option<Revision> = None;
        for (index, item) in r.items.iter().enumerate() {
            let outcome = self
                .0
                .decide_item(&caller, tenant, freshness, index, item, &mut prefetched)
                .await;
            results.push(match outcome {
                Ok((decision, revision)) => {
                    checked_at = Some(checked_at.map_or(revision, |at| at.min(revision)));
                    BatchCheckResult {
                        decision: to_proto(&decision),
                        error_message: String::new(),
                        // A caller told apart "no such user" from "not yours" answers
                        // NOT_FOUND without asking once per item (Explain says the same).
                        denial_reason: match decision {
                            Decision::Denied(denial) => denial.code().into(),
                            Decision::Allowed(_) => String::new(),
                        },
                    }
                }
                // Bad items are answered DENIED with the reason; an outage fails the whole batch.
                Err(error @ ApiError::InvalidArgument(_))
                | Err(error @ ApiError::PermissionDenied { .. })
                | Err(error @ ApiError::FailedPrecondition { .. }) => BatchCheckResult {
                    decision: PbDecision::Denied as i32,
                    error_message: error.to_string(),
                    denial_reason: String::new(),
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

    async fn check_escalation(
        &self,
        request: Request<CheckEscalationRequest>,
    ) -> Result<Response<CheckEscalationResponse>, Status> {
        // The rule is about what the caller's person holds: their own, an integration's
        // holder's. Services, and integrations an operator made, are trusted and ask nothing.
        let (caller, r) = asked(request, |_, _| true)?;
        let actor = self
            .0
            .bounding_person(&caller)
            .await?
            .ok_or_else(nobody_to_bound)?;
        let question = convert::escalation_question(r.question.as_ref())?;
        let answer = self.0.escalation(&actor, question).await?;
        // About another person, the details name what they hold (grants past the caller's,
        // which duties their roles allow): only someone who may read that person's role
        // assignments sees them; anyone else learns the answer and its reason.
        let other = match question {
            Question::Administer(user) | Question::Give(user, _) => Some(user),
            Question::Assign(..) => None,
        };
        let details_hidden = match other {
            Some(user) => {
                let target = self.0.user_resource(actor.tenant, user).await?;
                self.0
                    .require(&actor, Permission::RoleAssignmentsRead, &target)
                    .is_err()
            }
            None => false,
        };
        let (decision, denial_reason, message) = match answer {
            Ok(()) => (PbDecision::Allowed, String::new(), String::new()),
            Err(refusal) if details_hidden => (
                PbDecision::Denied,
                refusal.reason.to_owned(),
                format!("refused: {}", refusal.reason),
            ),
            Err(refusal) => (
                PbDecision::Denied,
                refusal.reason.to_owned(),
                refusal.message,
            ),
        };
        Ok(Response::new(CheckEscalationResponse {
            decision: decision as i32,
            denial_reason,
            message,
            checked_at: Some(convert::token(actor.tenant, actor.revision)),
        }))
    }
}
