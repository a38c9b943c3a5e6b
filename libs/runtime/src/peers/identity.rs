//! Calls to identity from the services that do not own people: tenant-scoped service tokens
//! for those that do not sign their own (delegation, reporting), traded with
//! `IssueServiceToken` for a token narrowed to one tenant, since authorization takes the tenant
//! of a fact or a question from the token, never from the request; and what identity owns that
//! they act on, read as the person acting ([`Identity`]).

use std::time::Duration;

use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::group_service_client::GroupServiceClient;
use lms_api::identity::v1::user_service_client::UserServiceClient;
use lms_api::identity::v1::{
    FindUserByEmailRequest, IssueServiceTokenRequest, ListGroupMembersRequest,
    ListNamedManagersRequest,
};
use lms_kernel::{GroupId, TenantId, UserId, UserStatus};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::authorization::{ServiceTokens, is_failure, is_refusal};
use crate::auth::Acting;
use crate::client::{CallCredentials, Peer};
use crate::config::ServiceAccountConfig;
use crate::error::ApiError;

/// Longest a token request to identity may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Trades a platform service account's credentials for tenant-scoped tokens at identity.
pub struct IdentityTokens {
    channel: Channel,
    account: ServiceAccountConfig,
}

impl std::fmt::Debug for IdentityTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityTokens")
            .field("account", &self.account.id)
            .finish_non_exhaustive()
    }
}

impl IdentityTokens {
    /// Tokens of `account` from identity at `peer`, connected lazily so the services may start
    /// in any order.
    pub fn new(peer: &Peer, account: ServiceAccountConfig) -> Result<Self, String> {
        let channel = peer
            .endpoint()
            .map_err(|error| error.to_string())?
            .connect_timeout(CALL_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .connect_lazy();
        Ok(Self { channel, account })
    }
}

#[tonic::async_trait]
impl ServiceTokens for IdentityTokens {
    async fn issue(&self, tenant: TenantId) -> Result<(String, Duration), ApiError> {
        let response = AuthenticationServiceClient::new(self.channel.clone())
            .issue_service_token(IssueServiceTokenRequest {
                service_account_id: self.account.id.clone(),
                client_secret: self.account.secret.expose().to_owned(),
                tenant_id: tenant.to_string(),
            })
            .await
            .map_err(|status| {
                // A wrong or disabled account is the operator's to fix; either way nothing is
                // written without a token, and the relay retries what waits in the outbox.
                if is_refusal(status.code()) || status.code() == tonic::Code::Unauthenticated {
                    tracing::error!(
                        account = %self.account.id,
                        code = ?status.code(),
                        error = %status.message(),
                        "identity refused this service's account"
                    );
                } else {
                    tracing::warn!(code = ?status.code(), error = %status.message(), "identity unreachable for a service token");
                }
                ApiError::Unavailable {
                    dependency: "identity",
                }
            })?
            .into_inner();
        let now = crate::clock::now();
        let expires = response.expires_at.map_or(now, |t| t.seconds);
        let ttl = Duration::from_secs(u64::try_from(expires - now).unwrap_or(0));
        Ok((response.access_token, ttl))
    }
}

/// Identity as the person acting: what it owns that another service acts on (a group's members
/// when a course is deployed to the group), asked with their own token so identity decides what
/// they may see, exactly as if they asked it themselves.
#[derive(Clone)]
pub struct Identity {
    channel: Channel,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

/// One page of a group's members.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Members {
    /// The members, in id order.
    pub users: Vec<UserId>,
    /// The token of the next page; empty on the last.
    pub next: String,
}

impl Identity {
    /// Identity at `peer`, connected lazily so the services may start in any order.
    pub fn new(peer: &Peer) -> Result<Self, String> {
        let channel = peer
            .endpoint()
            .map_err(|error| error.to_string())?
            .connect_timeout(CALL_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .connect_lazy();
        Ok(Self { channel })
    }

    fn as_person(
        &self,
        acting: &Acting,
    ) -> Result<InterceptedService<Channel, CallCredentials>, ApiError> {
        self.with_token(acting.token())
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

    /// One page (up to `size`, identity caps it at 1000) of `group`'s members from where `token`
    /// says (empty: the start), as the acting person sees them: identity refuses a group they
    /// may not read, or one that does not exist, and that refusal is answered as it stands.
    pub async fn group_members(
        &self,
        acting: &Acting,
        group: GroupId,
        token: &str,
        size: i32,
    ) -> Result<Members, ApiError> {
        let page = GroupServiceClient::new(self.as_person(acting)?)
            .list_group_members(ListGroupMembersRequest {
                group_id: group.to_string(),
                page_size: size,
                page_token: token.into(),
            })
            .await
            .map_err(forwarded_or_unavailable)?
            .into_inner();
        let users = page
            .user_ids
            .iter()
            .map(|id| UserId::parse(id))
            .collect::<Result<_, _>>()
            .map_err(ApiError::internal)?;
        Ok(Members {
            users,
            next: page.next_page_token,
        })
    }
}

impl Identity {
    /// The person of the token's tenant with `email`, and their status; `None` when nobody has
    /// it. Asked with the service's own token narrowed to the tenant (scope
    /// `identity.people.lookup`), since no person acts (a shop's order) or the one acting may
    /// not see whom they name (a Purchaser's invitee).
    pub async fn user_by_email(
        &self,
        service_token: &str,
        email: &str,
    ) -> Result<Option<(UserId, UserStatus)>, ApiError> {
        let found = UserServiceClient::new(self.with_token(service_token)?)
            .find_user_by_email(FindUserByEmailRequest {
                email: email.to_owned(),
            })
            .await;
        let found = match found {
            Ok(found) => found.into_inner(),
            Err(status) if status.code() == tonic::Code::NotFound => return Ok(None),
            Err(status) => return Err(forwarded_or_unavailable(status)),
        };
        let user = UserId::parse(&found.user_id).map_err(ApiError::internal)?;
        let status = i16::try_from(found.status)
            .ok()
            .and_then(UserStatus::from_code)
            .ok_or_else(|| ApiError::Internal(format!("user status {}", found.status).into()))?;
        Ok(Some((user, status)))
    }

    /// Who is named over `user` now (to hear of their learning), asked with the service's own
    /// token narrowed to the tenant (scope `identity.people.lookup`).
    pub async fn named_managers(
        &self,
        service_token: &str,
        user: UserId,
    ) -> Result<Vec<UserId>, ApiError> {
        UserServiceClient::new(self.with_token(service_token)?)
            .list_named_managers(ListNamedManagersRequest {
                user_id: user.to_string(),
            })
            .await
            .map_err(forwarded_or_unavailable)?
            .into_inner()
            .user_ids
            .iter()
            .map(|id| UserId::parse(id).map_err(ApiError::internal))
            .collect()
    }
}

/// Identity's refusals (and its own failures) are its answer; anything else means it could not
/// answer now.
fn forwarded_or_unavailable(status: tonic::Status) -> ApiError {
    if is_refusal(status.code())
        || is_failure(status.code())
        || status.code() == tonic::Code::Unauthenticated
    {
        return ApiError::Forwarded(Box::new(status));
    }
    tracing::warn!(code = ?status.code(), error = %status.message(), "identity call failed");
    ApiError::Unavailable {
        dependency: "identity",
    }
}
