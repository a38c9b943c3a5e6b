//! Identity's calls to authorization: decisions on admin actions (asked as the `identity`
//! service about the calling user), and the delivery of access-relevant changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::relationship_service_client::RelationshipServiceClient;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::{
    AssignRoleRequest, Decision, ExplainRequest, ListUserRolesRequest, LookupResourcesRequest,
    RevokeRoleRequest, WriteRelationshipsRequest,
};
use lms_api::common::v1::{
    Consistency, ConsistencyToken, ObjectReference, ObjectType, consistency,
};
use lms_kernel::{Permission, TenantId};
use lms_runtime::ApiError;
use lms_runtime::auth::SubjectKind;
use lms_runtime::client::CallCredentials;
use tonic::transport::{Channel, Endpoint};

use crate::clock::now;
use crate::core::Acting;
use crate::keys::KeyRing;

/// The service account name identity acts as.
pub const SERVICE_NAME: &str = "identity";
/// Longest a call to authorization may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Most ids a listing filters by when the caller does not see every object of a kind.
pub const MAX_VISIBLE: usize = 20_000;

/// What a caller may see of one kind of object.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Visible {
    /// Every object of the kind in the tenant.
    All,
    /// Only these.
    Only(Vec<uuid::Uuid>),
}

/// A connection to authorization, with identity's tenant-scoped service tokens.
#[derive(Clone)]
pub struct Authorization {
    channel: Channel,
    keys: KeyRing,
    /// Per tenant: a service token and when to stop using it (well before it expires).
    tokens: Arc<Mutex<HashMap<TenantId, (String, i64)>>>,
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorization").finish_non_exhaustive()
    }
}

/// Maps a failed call to authorization: its own refusals pass through, anything else is
/// UNAVAILABLE, so nothing is allowed and nothing is half-done silently.
fn unavailable(status: tonic::Status) -> ApiError {
    match status.code() {
        tonic::Code::InvalidArgument
        | tonic::Code::NotFound
        | tonic::Code::PermissionDenied
        | tonic::Code::FailedPrecondition
        | tonic::Code::AlreadyExists => ApiError::Forwarded(Box::new(status)),
        _ => {
            tracing::warn!(code = ?status.code(), error = %status.message(), "authorization call failed");
            ApiError::Unavailable {
                dependency: "authorization",
            }
        }
    }
}

impl Authorization {
    /// Authorization at `endpoint` (connected lazily, so the services may start in any order).
    pub fn new(endpoint: &str, keys: KeyRing) -> Result<Self, String> {
        let channel = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|error| format!("authorization endpoint {endpoint:?}: {error}"))?
            .tcp_nodelay(true)
            .connect_timeout(CALL_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .connect_lazy();
        Ok(Self {
            channel,
            keys,
            tokens: Arc::default(),
        })
    }

    fn token(&self, tenant: TenantId) -> String {
        let now = now();
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((token, until)) = tokens.get(&tenant)
            && now < *until
        {
            return token.clone();
        }
        let claims = self.keys.claims(
            SubjectKind::Service,
            SERVICE_NAME.into(),
            Some(tenant.to_string()),
        );
        let token = self.keys.sign(&claims);
        let until = now + (self.keys.access_ttl().as_secs() / 2) as i64;
        tokens.insert(tenant, (token.clone(), until));
        token
    }

    fn credentials(
        &self,
        tenant: TenantId,
    ) -> tonic::service::interceptor::InterceptedService<Channel, CallCredentials> {
        let credentials =
            CallCredentials::bearer(&self.token(tenant)).expect("signed tokens are ASCII");
        tonic::service::interceptor::InterceptedService::new(self.channel.clone(), credentials)
    }

    /// Calls made with the acting person's own token.
    fn as_person(
        &self,
        acting: &Acting,
    ) -> Result<tonic::service::interceptor::InterceptedService<Channel, CallCredentials>, ApiError>
    {
        let credentials =
            CallCredentials::bearer(acting.token()).map_err(|_| ApiError::Unauthenticated {
                reason: "TOKEN_MALFORMED",
                message: "the bearer token is not ASCII".into(),
            })?;
        Ok(tonic::service::interceptor::InterceptedService::new(
            self.channel.clone(),
            credentials,
        ))
    }

    /// Fails with PERMISSION_DENIED, naming the permission and authorization's reason, unless
    /// the acting person may do `permission` on `resource`. Asked with their own token, so the
    /// decision sees their session; fully consistent, so an admin action never rides on a
    /// revoked role. Explain answers the decision and the reason in one call.
    pub async fn require(
        &self,
        acting: &Acting,
        permission: Permission,
        resource: ObjectReference,
    ) -> Result<(), ApiError> {
        let response = PermissionServiceClient::new(self.as_person(acting)?)
            .explain(ExplainRequest {
                subject_id: String::new(),
                permission: permission.name().into(),
                resource: Some(resource),
                consistency: Some(Consistency {
                    requirement: Some(consistency::Requirement::FullyConsistent(true)),
                }),
            })
            .await
            .map_err(unavailable)?
            .into_inner();
        if response.decision() == Decision::Allowed {
            return Ok(());
        }
        let reason = response
            .explanation
            .map(|e| e.denial_reason)
            .filter(|reason| !reason.is_empty())
            .unwrap_or_else(|| "DENIED".into());
        Err(ApiError::PermissionDenied {
            reason: "PERMISSION_MISSING",
            message: format!("requires {} ({reason})", permission.name()),
            metadata: HashMap::from([
                ("permission".to_owned(), permission.name().to_owned()),
                ("denial".to_owned(), reason),
            ]),
        })
    }

    /// Revokes every assignment of `role_id` that `user_id` holds (the request names both);
    /// answers the last revocation's token, `None` when there was nothing to revoke.
    pub async fn revoke_role_of(
        &self,
        tenant: TenantId,
        held: AssignRoleRequest,
    ) -> Result<Option<ConsistencyToken>, ApiError> {
        let mut client = RoleAssignmentServiceClient::new(self.credentials(tenant));
        let assignments = client
            .list_user_roles(ListUserRolesRequest {
                user_id: held.user_id,
                include_inactive: true,
            })
            .await
            .map_err(unavailable)?
            .into_inner()
            .assignments;
        let mut token = None;
        for assignment in assignments
            .into_iter()
            .filter(|a| a.role_id == held.role_id)
        {
            match client
                .revoke_role(RevokeRoleRequest {
                    assignment_id: assignment.assignment_id,
                })
                .await
            {
                Ok(response) => token = response.into_inner().written_at,
                // Revoked meanwhile: what was asked holds.
                Err(status) if status.code() == tonic::Code::NotFound => {}
                Err(status) => return Err(unavailable(status)),
            }
        }
        Ok(token)
    }

    /// Which objects of `kind` `user` may act on with `permission`: all of them (a tenant-wide
    /// grant), or the ids authorization lists, at most `MAX_VISIBLE`.
    pub async fn visible(
        &self,
        acting: &Acting,
        permission: Permission,
        kind: ObjectType,
    ) -> Result<Visible, ApiError> {
        let mut client = PermissionServiceClient::new(self.as_person(acting)?);
        let mut ids = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = client
                .lookup_resources(LookupResourcesRequest {
                    subject_id: String::new(),
                    permission: permission.name().into(),
                    resource_type: kind as i32,
                    consistency: Some(Consistency {
                        requirement: Some(consistency::Requirement::FullyConsistent(true)),
                    }),
                    page_size: 10_000,
                    page_token,
                })
                .await
                .map_err(unavailable)?
                .into_inner();
            if page.all_of_type {
                return Ok(Visible::All);
            }
            ids.extend(
                page.resource_ids
                    .iter()
                    .filter_map(|id| uuid::Uuid::try_parse(id).ok()),
            );
            if page.next_page_token.is_empty() || ids.len() >= MAX_VISIBLE {
                ids.truncate(MAX_VISIBLE);
                return Ok(Visible::Only(ids));
            }
            page_token = page.next_page_token;
        }
    }

    /// Applies a batch of facts (idempotent by its event id) and answers authorization's token.
    pub async fn write(
        &self,
        tenant: TenantId,
        request: WriteRelationshipsRequest,
    ) -> Result<ConsistencyToken, ApiError> {
        let response = RelationshipServiceClient::new(self.credentials(tenant))
            .write_relationships(request)
            .await
            .map_err(unavailable)?;
        Ok(response.into_inner().written_at.unwrap_or_default())
    }

    /// Assigns a role as the identity service (trusted: no escalation check, tenant
    /// preconditions still apply).
    pub async fn assign(
        &self,
        tenant: TenantId,
        request: AssignRoleRequest,
    ) -> Result<ConsistencyToken, ApiError> {
        let response = RoleAssignmentServiceClient::new(self.credentials(tenant))
            .assign_role(request)
            .await
            .map_err(unavailable)?;
        Ok(response.into_inner().written_at.unwrap_or_default())
    }
}
