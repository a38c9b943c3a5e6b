//! Tenant-scoped service tokens from identity, for the services that do not sign their own
//! (delegation, reporting): their platform service account's credentials are traded with
//! `IssueServiceToken` for a token narrowed to one tenant, since authorization takes the tenant
//! of a fact or a question from the token, never from the request.

use std::time::Duration;

use lms_api::identity::v1::IssueServiceTokenRequest;
use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_kernel::TenantId;
use tonic::transport::Channel;

use super::authorization::{ServiceTokens, is_refusal};
use crate::client::Peer;
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
