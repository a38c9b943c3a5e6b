//! The authorization client every service uses: decisions on a person's actions (asked with
//! the person's own token), what a person may see, and the delivery of facts and role changes
//! (asked with the calling service's tenant-scoped token).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lms_api::authorization::v1::check_escalation_request::Question;
use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::relationship_service_client::RelationshipServiceClient;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::{
    AssignRoleRequest, BatchCheckItem, BatchCheckRequest, CheckEscalationRequest, Decision,
    ExplainRequest, ListGrantsRequest, ListGrantsResponse, ListUserRolesRequest,
    LookupResourcesRequest, ResponsibilityHolder, RevokeRoleRequest, RoleAssignment, RolePlacement,
    WriteRelationshipsBatchRequest, WriteRelationshipsRequest,
};
use lms_api::common::v1::{
    Consistency, ConsistencyToken, ObjectReference, ObjectType, consistency,
};
use lms_kernel::{Permission, Responsibility, RoleId, TenantId, UnitId, UserId};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::auth::{Acting, Asker};
use crate::client::{CallCredentials, Peer};
use crate::clock;
use crate::error::ApiError;

/// Longest a call to authorization may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Where a service gets its own tenant-scoped service tokens (identity signs them itself; other
/// services obtain them from identity: [`super::IdentityTokens`]).
#[tonic::async_trait]
pub trait ServiceTokens: Send + Sync + 'static {
    /// A token for acting in `tenant`, and how long it lives.
    async fn issue(&self, tenant: TenantId) -> Result<(String, Duration), ApiError>;
}

/// The issuer of a service that asks authorization only as its callers, with their own tokens
/// (reporting): it has no platform account, so it has no token of its own to give.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallersOnly;

#[tonic::async_trait]
impl ServiceTokens for CallersOnly {
    async fn issue(&self, _tenant: TenantId) -> Result<(String, Duration), ApiError> {
        Err(ApiError::Unavailable {
            dependency: "a service account (this service asks only as its callers)",
        })
    }
}

/// One page of what a caller may see of one kind of object.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Visible {
    /// Every object of the kind in the tenant.
    All,
    /// Only these, in id order; `next` asks for the ids after them (empty: there are none).
    Only {
        /// The page's ids.
        ids: Vec<uuid::Uuid>,
        /// The token of the next page.
        next: String,
    },
}

/// A connection to authorization with a cache of the service's tenant-scoped tokens.
#[derive(Clone)]
pub struct Authorization {
    channel: Channel,
    issuer: Arc<dyn ServiceTokens>,
    /// Per tenant: a service token and when to stop using it (half way through its life).
    tokens: Arc<Mutex<HashMap<TenantId, (String, i64)>>>,
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorization").finish_non_exhaustive()
    }
}

/// Maps a failed call to authorization: its refusals and its own failures pass through (they
/// are answers, and retrying a bug does not fix it), anything else is UNAVAILABLE (it may work
/// later), so nothing is allowed and nothing is half-done silently.
pub fn refusal_or_unavailable(status: tonic::Status) -> ApiError {
    if is_refusal(status.code()) || is_failure(status.code()) {
        return ApiError::Forwarded(Box::new(status));
    }
    tracing::warn!(code = ?status.code(), error = %status.message(), "authorization call failed");
    ApiError::Unavailable {
        dependency: "authorization",
    }
}

/// Whether `code` is authorization answering "no" for good (retrying changes nothing), as
/// opposed to failing to answer.
pub fn is_refusal(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::InvalidArgument
            | tonic::Code::NotFound
            | tonic::Code::PermissionDenied
            | tonic::Code::FailedPrecondition
            | tonic::Code::AlreadyExists
    )
}

/// Whether `code` is authorization failing on its own account (a bug), as opposed to refusing
/// or being out of reach: retrying may not help, so it is counted. UNIMPLEMENTED is not one:
/// a proxy answering 404 during a deploy, or an older authorization, reads that way, and both
/// pass.
pub fn is_failure(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::Internal
            | tonic::Code::Unknown
            | tonic::Code::DataLoss
            | tonic::Code::OutOfRange
    )
}

/// How errors name an object of `kind` (NOT_FOUND's resource type).
fn kind_name(kind: i32) -> &'static str {
    match ObjectType::try_from(kind) {
        Ok(ObjectType::Tenant) => "tenant",
        Ok(ObjectType::Unit) => "unit",
        Ok(ObjectType::User) => "user",
        Ok(ObjectType::Group) => "group",
        Ok(ObjectType::Course) => "course",
        Ok(ObjectType::Lesson) => "lesson",
        Ok(ObjectType::Event) => "event",
        _ => "object",
    }
}

fn fully_consistent() -> Option<Consistency> {
    at_least_as_fresh(None)
}

/// At least as fresh as `at` (which authorization may answer from its cache); without a token,
/// fully consistent, so an action never rides on a revoked role.
fn at_least_as_fresh(at: Option<ConsistencyToken>) -> Option<Consistency> {
    let requirement = match at {
        Some(token) => consistency::Requirement::AtLeastAsFresh(token),
        None => consistency::Requirement::FullyConsistent(true),
    };
    Some(Consistency {
        requirement: Some(requirement),
    })
}

impl Authorization {
    /// Authorization at `peer`, connected lazily so the services may start in any order.
    pub fn new(peer: &Peer, issuer: Arc<dyn ServiceTokens>) -> Result<Self, String> {
        let channel = peer
            .endpoint()
            .map_err(|error| error.to_string())?
            .connect_timeout(CALL_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .connect_lazy();
        Ok(Self {
            channel,
            issuer,
            tokens: Arc::default(),
        })
    }

    /// The service's own token narrowed to `tenant`, from the cache while it is fresh (also
    /// for the service's calls to identity, which take the same token).
    pub async fn service_token(&self, tenant: TenantId) -> Result<String, ApiError> {
        let now = clock::now();
        {
            let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((token, until)) = tokens.get(&tenant)
                && now < *until
            {
                return Ok(token.clone());
            }
        }
        // Two calls racing here both ask for a token; the later one is kept. Cheaper than
        // holding a lock across a call to identity.
        let (token, ttl) = self.issuer.issue(tenant).await?;
        let until = now + (ttl.as_secs() / 2) as i64;
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant, (token.clone(), until));
        Ok(token)
    }

    fn with_token(
        &self,
        token: &str,
    ) -> Result<InterceptedService<Channel, CallCredentials>, ApiError> {
        let credentials =
            CallCredentials::bearer(token).map_err(|_| ApiError::Unauthenticated {
                reason: "TOKEN_MALFORMED",
                message: "the bearer token is not ASCII".into(),
            })?;
        Ok(InterceptedService::new(self.channel.clone(), credentials))
    }

    async fn as_service(
        &self,
        tenant: TenantId,
    ) -> Result<InterceptedService<Channel, CallCredentials>, ApiError> {
        self.with_token(&self.service_token(tenant).await?)
    }

    /// Maps a failed call made as the service ([`refusal_or_unavailable`]). UNAUTHENTICATED
    /// means the cached token no longer holds (the account's secret rotated, the account
    /// disabled, the signing key retired): it is dropped, so the next call asks identity for a
    /// new one instead of failing until the cached one would have expired.
    fn as_service_failed(&self, tenant: TenantId, status: tonic::Status) -> ApiError {
        if status.code() == tonic::Code::Unauthenticated {
            self.tokens
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&tenant);
        }
        refusal_or_unavailable(status)
    }

    /// Fails with PERMISSION_DENIED, naming the permission and authorization's reason, unless
    /// the acting person (or integration, as its holder) may do `permission` on `resource`.
    /// Asked with their own token, so the decision sees their session; fully consistent, so an
    /// action never rides on a revoked role. Explain answers the decision and the reason in one
    /// call. A trusted integration (see [`Asker`]) is asked nothing.
    pub async fn require(
        &self,
        acting: &impl Asker,
        permission: Permission,
        resource: ObjectReference,
    ) -> Result<(), ApiError> {
        self.require_at(acting, permission, resource, None).await
    }

    /// Whether the acting person may do `permission` on `resource` (as [`Authorization::require`]
    /// decides it): a denial is `false`, authorization unreachable an error.
    pub async fn allows(
        &self,
        acting: &impl Asker,
        permission: Permission,
        resource: ObjectReference,
    ) -> Result<bool, ApiError> {
        match self.require(acting, permission, resource).await {
            Ok(()) => Ok(true),
            Err(ApiError::PermissionDenied { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// [`Authorization::require`] at least as fresh as `at` (a token a write answered, such as
    /// the Access Coordinator hand-over's), which may be answered from authorization's cache;
    /// without one, fully consistent.
    pub async fn require_at(
        &self,
        acting: &impl Asker,
        permission: Permission,
        resource: ObjectReference,
        at: Option<ConsistencyToken>,
    ) -> Result<(), ApiError> {
        let Some(token) = acting.asks_with() else {
            return Ok(());
        };
        let response = PermissionServiceClient::new(self.with_token(token)?)
            .explain(ExplainRequest {
                subject_id: String::new(),
                permission: permission.name().into(),
                resource: Some(resource),
                consistency: at_least_as_fresh(at),
            })
            .await
            .map_err(refusal_or_unavailable)?
            .into_inner();
        if response.decision() == Decision::Allowed {
            return Ok(());
        }
        let reason = response
            .explanation
            .map(|e| e.denial_reason)
            .filter(|reason| !reason.is_empty())
            .unwrap_or_else(|| "DENIED".into());
        // A missing second factor is the one denial the person can act on at once (sign in
        // again with it), so it is the reason itself rather than a detail.
        let top = match reason.as_str() {
            "MFA_REQUIRED" => "MFA_REQUIRED",
            _ => "PERMISSION_MISSING",
        };
        Err(ApiError::PermissionDenied {
            reason: top,
            message: format!("requires {} ({reason})", permission.name()),
            metadata: HashMap::from([
                ("permission".to_owned(), permission.name().to_owned()),
                ("denial".to_owned(), reason),
            ]),
        })
    }

    /// Like [`Authorization::require`] for many objects in one BatchCheck: fails with
    /// PERMISSION_DENIED naming the request `field` and the id of every denied object, so
    /// nothing is done for any of them; NOT_FOUND naming the ids authorization was never told
    /// of.
    pub async fn require_each(
        &self,
        acting: &impl Asker,
        permission: Permission,
        field: &str,
        resources: Vec<ObjectReference>,
    ) -> Result<(), ApiError> {
        let Some(token) = acting.asks_with() else {
            return Ok(());
        };
        let checked = self.check_each(token, permission, &resources).await?;
        checked.unknown_as_not_found()?;
        if checked.denied.is_empty() {
            return Ok(());
        }
        let denied = checked.denied.join(", ");
        Err(ApiError::PermissionDenied {
            reason: "PERMISSION_MISSING",
            message: format!("requires {} on {field} {denied}", permission.name()),
            metadata: HashMap::from([
                ("permission".to_owned(), permission.name().to_owned()),
                ("field".to_owned(), field.to_owned()),
                ("denied".to_owned(), checked.denied.join(",")),
            ]),
        })
    }

    /// The ids of those of `resources` the acting person may not do `permission` on (as
    /// [`Authorization::require_each`] decides them, in one BatchCheck per thousand): for a
    /// listing that shows only what is allowed. A trusted integration is denied nothing.
    pub async fn denied_among(
        &self,
        acting: &impl Asker,
        permission: Permission,
        resources: &[ObjectReference],
    ) -> Result<Vec<String>, ApiError> {
        let Some(token) = acting.asks_with() else {
            return Ok(Vec::new());
        };
        let checked = self.check_each(token, permission, resources).await?;
        let mut denied = checked.denied;
        denied.extend(checked.unknown.iter().map(|resource| resource.id.clone()));
        Ok(denied)
    }

    /// Fails with NOT_FOUND naming the `resources` authorization was never told of (people no
    /// service announced, say), whatever the acting person may do with them: for a caller whose
    /// right over the whole (a course they administer) already covers every one. The decision
    /// says "unknown" before it looks at any grant, so asking `permission` costs nothing more.
    pub async fn require_known(
        &self,
        acting: &impl Asker,
        permission: Permission,
        resources: Vec<ObjectReference>,
    ) -> Result<(), ApiError> {
        let Some(token) = acting.asks_with() else {
            return Ok(());
        };
        self.check_each(token, permission, &resources)
            .await?
            .unknown_as_not_found()
    }

    /// Asks `permission` on each of `resources` with `token`, a BatchCheck per thousand, at
    /// least as fresh as `at` (fully consistent without it).
    async fn check_each<'r>(
        &self,
        token: &str,
        permission: Permission,
        resources: &'r [ObjectReference],
    ) -> Result<Checked<'r>, ApiError> {
        let mut client = PermissionServiceClient::new(self.with_token(token)?);
        let mut checked = Checked {
            denied: Vec::new(),
            unknown: Vec::new(),
        };
        // BatchCheck answers at most this many items per call.
        const BATCH: usize = 1000;
        for chunk in resources.chunks(BATCH) {
            let items = chunk
                .iter()
                .map(|resource| BatchCheckItem {
                    subject_id: String::new(),
                    permission: permission.name().into(),
                    resource: Some(resource.clone()),
                })
                .collect();
            let response = client
                .batch_check(BatchCheckRequest {
                    items,
                    consistency: fully_consistent(),
                })
                .await
                .map_err(refusal_or_unavailable)?
                .into_inner();
            if response.results.len() != chunk.len() {
                return Err(ApiError::Internal(
                    "BatchCheck answered a different number of items".into(),
                ));
            }
            for (result, resource) in response.results.iter().zip(chunk) {
                if result.decision() == Decision::Allowed {
                    continue;
                }
                if result.denial_reason == "RESOURCE_UNKNOWN" {
                    checked.unknown.push(resource);
                } else {
                    checked.denied.push(resource.id.clone());
                }
            }
        }
        Ok(checked)
    }

    /// Fails with PERMISSION_DENIED (reason `OUTRANKED`) unless the acting person could have
    /// assigned every role `user` holds, where it is held: nobody suspends, edits, anonymises
    /// or moves someone above them.
    pub async fn require_outranks(
        &self,
        acting: &impl Asker,
        user: UserId,
    ) -> Result<(), ApiError> {
        self.escalation(acting, Question::AdministeredUserId(user.to_string()))
            .await
    }

    /// Fails with PERMISSION_DENIED (reason `ESCALATION`) unless the acting person could assign
    /// `role` at `unit` (the tenant when `None`) themselves: what a service assigns on their
    /// behalf, they must be able to hand out.
    pub async fn require_assignable(
        &self,
        acting: &impl Asker,
        role: RoleId,
        unit: Option<UnitId>,
    ) -> Result<(), ApiError> {
        let placement = RolePlacement {
            role_id: role.to_string(),
            unit_id: unit.map(|u| u.to_string()).unwrap_or_default(),
        };
        self.escalation(acting, Question::AssignedRole(placement))
            .await
    }

    /// Fails with FAILED_PRECONDITION (reason `RESPONSIBILITY_NOT_ALLOWED`) unless `user`'s roles
    /// allow `responsibility` (the responsibility matrix), so the change is refused before it is
    /// saved rather than saved and never honoured.
    pub async fn require_eligible(
        &self,
        acting: &Acting,
        user: UserId,
        responsibility: Responsibility,
    ) -> Result<(), ApiError> {
        let holder = ResponsibilityHolder {
            user_id: user.to_string(),
            responsibility: responsibility.name().into(),
        };
        self.escalation(acting, Question::GivenResponsibility(holder))
            .await
    }

    async fn escalation(&self, acting: &impl Asker, question: Question) -> Result<(), ApiError> {
        // The escalation rule bounds a person; nobody bounds a trusted integration.
        let Some(token) = acting.asks_with() else {
            return Ok(());
        };
        let response = PermissionServiceClient::new(self.with_token(token)?)
            .check_escalation(CheckEscalationRequest {
                question: Some(question),
            })
            .await
            .map_err(refusal_or_unavailable)?
            .into_inner();
        if response.decision() == Decision::Allowed {
            return Ok(());
        }
        // The reason codes are authorization's, stable and few; anything else is a denial all
        // the same.
        let reason = match response.denial_reason.as_str() {
            "OUTRANKED" => "OUTRANKED",
            "RESPONSIBILITY_NOT_ALLOWED" => {
                return Err(ApiError::FailedPrecondition {
                    reason: "RESPONSIBILITY_NOT_ALLOWED",
                    message: response.message,
                });
            }
            "TENANT_PRECONDITION" => {
                return Err(ApiError::FailedPrecondition {
                    reason: "TENANT_PRECONDITION",
                    message: response.message,
                });
            }
            _ => "ESCALATION",
        };
        Err(ApiError::PermissionDenied {
            reason,
            message: response.message,
            metadata: HashMap::new(),
        })
    }

    /// Which objects of `kind` the acting person may act on with `permission`, a page at a
    /// time: all of them (a tenant-wide grant), or at most `size` ids in id order from where
    /// `token` says (empty: the start; an id: after it; a `next` answered before: the same
    /// lookup's next page). A listing pages this in step with its own rows, so no set is
    /// capped nor bound whole into a query. A lookup authorization cut at its fan-out limit is
    /// refused rather than listed short.
    pub async fn visible(
        &self,
        acting: &Acting,
        permission: Permission,
        kind: ObjectType,
        token: &str,
        size: usize,
    ) -> Result<Visible, ApiError> {
        let page = PermissionServiceClient::new(self.with_token(acting.token())?)
            .lookup_resources(LookupResourcesRequest {
                subject_id: String::new(),
                permission: permission.name().into(),
                resource_type: kind as i32,
                consistency: fully_consistent(),
                page_size: i32::try_from(size).unwrap_or(i32::MAX),
                page_token: token.into(),
            })
            .await
            .map_err(refusal_or_unavailable)?
            .into_inner();
        if page.all_of_type {
            return Ok(Visible::All);
        }
        if page.truncated {
            return Err(ApiError::FailedPrecondition {
                reason: "LOOKUP_TRUNCATED",
                message: "you may see more than authorization lists in one lookup; nothing is \
                          listed rather than a part"
                    .into(),
            });
        }
        Ok(Visible::Only {
            ids: page
                .resource_ids
                .iter()
                .filter_map(|id| uuid::Uuid::try_parse(id).ok())
                .collect(),
            next: page.next_page_token,
        })
    }

    /// What the acting person holds `permission` through, as reach and place, with the
    /// responsibilities and client tenants those reach (ListGrants): what a report is scoped
    /// by. Asked with their own token, so the answer is what their session holds; fully
    /// consistent, so a report never rides on a revoked role.
    pub async fn grants(
        &self,
        acting: &Acting,
        permission: Permission,
    ) -> Result<ListGrantsResponse, ApiError> {
        Ok(
            PermissionServiceClient::new(self.with_token(acting.token())?)
                .list_grants(ListGrantsRequest {
                    subject_id: String::new(),
                    permission: permission.name().into(),
                    consistency: fully_consistent(),
                })
                .await
                .map_err(refusal_or_unavailable)?
                .into_inner(),
        )
    }

    /// Applies a batch of facts (idempotent by its event id) and answers authorization's token.
    pub async fn write(
        &self,
        tenant: TenantId,
        request: WriteRelationshipsRequest,
    ) -> Result<ConsistencyToken, ApiError> {
        let response = RelationshipServiceClient::new(self.as_service(tenant).await?)
            .write_relationships(request)
            .await
            .map_err(|status| self.as_service_failed(tenant, status))?;
        Ok(response.into_inner().written_at.unwrap_or_default())
    }

    /// Writes several events' facts in order in one call, each applied once by its event id.
    pub async fn write_batch(
        &self,
        tenant: TenantId,
        events: Vec<WriteRelationshipsRequest>,
    ) -> Result<ConsistencyToken, ApiError> {
        let response = RelationshipServiceClient::new(self.as_service(tenant).await?)
            .write_relationships_batch(WriteRelationshipsBatchRequest { events })
            .await
            .map_err(|status| self.as_service_failed(tenant, status))?;
        Ok(response.into_inner().written_at.unwrap_or_default())
    }

    /// Assigns a role as the calling service (trusted: no escalation check, tenant
    /// preconditions still apply); idempotent by the request's event id.
    pub async fn assign(
        &self,
        tenant: TenantId,
        request: AssignRoleRequest,
    ) -> Result<ConsistencyToken, ApiError> {
        let response = RoleAssignmentServiceClient::new(self.as_service(tenant).await?)
            .assign_role(request)
            .await
            .map_err(|status| self.as_service_failed(tenant, status))?;
        Ok(response.into_inner().written_at.unwrap_or_default())
    }

    /// The assignment by which `user` holds `role` tenant-wide now, if any, read as the calling
    /// service, with a token that sees what was read.
    pub async fn held_tenant_wide(
        &self,
        tenant: TenantId,
        user: UserId,
        role: RoleId,
    ) -> Result<(Option<RoleAssignment>, Option<ConsistencyToken>), ApiError> {
        let listed = RoleAssignmentServiceClient::new(self.as_service(tenant).await?)
            .list_user_roles(ListUserRolesRequest {
                user_id: user.to_string(),
                include_inactive: false,
            })
            .await
            .map_err(|status| self.as_service_failed(tenant, status))?
            .into_inner();
        let role = role.to_string();
        let held = listed
            .assignments
            .into_iter()
            .filter(|a| a.role_id == role && a.unit_id.is_empty())
            .min_by(|a, b| a.assignment_id.cmp(&b.assignment_id));
        Ok((held, listed.read_at))
    }

    /// Takes back what the request names (an assignment, or every assignment of a role its
    /// holder has); idempotent by the request's event id.
    pub async fn revoke(
        &self,
        tenant: TenantId,
        request: RevokeRoleRequest,
    ) -> Result<ConsistencyToken, ApiError> {
        let response = RoleAssignmentServiceClient::new(self.as_service(tenant).await?)
            .revoke_role(request)
            .await
            .map_err(|status| self.as_service_failed(tenant, status))?;
        Ok(response.into_inner().written_at.unwrap_or_default())
    }
}

/// Rounds one listing makes at most: past them it answers what it found with a token that
/// continues after the last visible id examined, so a caller who may see few of many objects
/// costs bounded work per call.
const LISTING_ROUNDS: usize = 20;

/// Visible ids read per round of a listing: twice the page, at least 500 (so a small page whose
/// filters pass few rows does not cost a round per handful of ids), and never more than 2,000
/// ids bound into one query.
fn visible_chunk(limit: i64) -> usize {
    (usize::try_from(limit).unwrap_or(1000) + 1)
        .saturating_mul(2)
        .clamp(500, 2_000)
}

/// What a BatchCheck over many objects found.
struct Checked<'r> {
    /// Ids of the objects denied.
    denied: Vec<String>,
    /// The objects authorization was never told of.
    unknown: Vec<&'r ObjectReference>,
}

impl Checked<'_> {
    /// NOT_FOUND naming the unknown objects, if any.
    fn unknown_as_not_found(&self) -> Result<(), ApiError> {
        match self.unknown.first() {
            None => Ok(()),
            Some(first) => {
                let ids: Vec<_> = self.unknown.iter().map(|r| r.id.as_str()).collect();
                Err(ApiError::not_found(kind_name(first.r#type), ids.join(", ")))
            }
        }
    }
}

/// A page of a listing of what the caller may see: which permission on which kind, from where
/// and how many.
#[derive(Clone, Copy, Debug)]
pub struct Listing {
    /// The permission each row needs (for example `courses.read`).
    pub permission: Permission,
    /// The kind of object listed.
    pub kind: ObjectType,
    /// The page starts after this id.
    pub after: Option<uuid::Uuid>,
    /// The page's size.
    pub limit: i64,
}

impl Authorization {
    /// One page of a listing that shows only what the acting person may see, never one Check
    /// per row: the visible ids are read a chunk at a time from where the page starts, in id
    /// order like the page, and `read(only, wanted)` reads at most `wanted` of the owner's rows
    /// after the page's start, restricted to `only` (`None`: the caller sees them all), until
    /// the page is full or nobody visible is left. Answers the rows and the next page's token
    /// (empty on the last page).
    pub async fn visible_page<T, F, Fut>(
        &self,
        acting: &Acting,
        listing: Listing,
        id_of: impl Fn(&T) -> uuid::Uuid,
        mut read: F,
    ) -> Result<(Vec<T>, String), ApiError>
    where
        F: FnMut(Option<Vec<uuid::Uuid>>, i64) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<T>, ApiError>>,
    {
        let Listing {
            permission,
            kind,
            after,
            limit,
        } = listing;
        let mut token = after.map(|id| id.to_string()).unwrap_or_default();
        let mut rows = Vec::new();
        let mut examined_up_to = None;
        for round in 1..=LISTING_ROUNDS {
            let (only, next) = match self
                .visible(acting, permission, kind, &token, visible_chunk(limit))
                .await?
            {
                Visible::All => (None, String::new()),
                Visible::Only { ids, next } => {
                    examined_up_to = ids.iter().max().copied();
                    (Some(ids), next)
                }
            };
            let wanted = limit + 1 - rows.len() as i64;
            rows.extend(read(only, wanted).await?);
            if rows.len() as i64 > limit || next.is_empty() {
                break;
            }
            if round == LISTING_ROUNDS {
                // A short page that says where to go on, rather than unbounded work.
                let next = examined_up_to.map(|id| id.to_string()).unwrap_or_default();
                return Ok((rows, next));
            }
            token = next;
        }
        Ok(crate::paging::page(rows, limit, |row| {
            id_of(row).to_string()
        }))
    }
}
