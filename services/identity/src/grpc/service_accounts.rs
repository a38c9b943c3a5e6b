//! Service accounts: client credentials that platform services trade for short-lived access
//! tokens (`kind: service`), so services call each other with tokens identity signs. Operators
//! create, list, rotate and disable them; each account holds scopes its tokens carry (security
//! review M9), the secret is shown once and stored as a hash, and every change is audited.
//!
//! A token carries the id of the secret it was issued against as its session (`sid`): rotating
//! the secret or disabling the account revokes that id, and the revocation feed ends the tokens
//! on every replica within a second, as for a person's sign-out.

use lms_api::identity::v1::{
    CreateServiceAccountRequest, CreateServiceAccountResponse, DisableServiceAccountRequest,
    DisableServiceAccountResponse, IssueServiceTokenRequest, IssueServiceTokenResponse,
    ListServiceAccountsRequest, ListServiceAccountsResponse, RotateServiceAccountSecretRequest,
    RotateServiceAccountSecretResponse, ServiceAccount,
};
use lms_runtime::ApiError;
use lms_runtime::auth::{Scope, Scopes, SubjectKind, operator, verified};
use lms_runtime::clock::now;
use lms_runtime::paging::{page, page_size};
use tonic::Request;
use uuid::Uuid;

use super::authentication::Authentication;
use crate::audit::{Actor, Object};
use crate::convert::{optional_id, required_id, timestamp};
use crate::operator::valid_name;
use crate::sessions;
use crate::store::{ServiceAccountRecord, Store};

/// The scopes a new account asks for: each a known name, at least one.
fn requested_scopes(names: &[String]) -> Result<Scopes, ApiError> {
    let scopes = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            Scope::parse(name.trim()).ok_or_else(|| {
                let known: Vec<_> = Scope::ALL.iter().map(|s| s.name()).collect();
                ApiError::invalid_field(
                    format!("scopes[{i}]"),
                    format!("must be one of {}", known.join(", ")),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if scopes.is_empty() {
        return Err(ApiError::invalid_field("scopes", "name at least one scope"));
    }
    Ok(Scopes::of(scopes))
}

fn account_id(field: &str, value: &str) -> Result<Uuid, ApiError> {
    required_id(field, value, Uuid::try_parse)
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::not_found("service_account", id.to_string())
}

fn to_proto(account: &ServiceAccountRecord) -> ServiceAccount {
    ServiceAccount {
        service_account_id: account.id.to_string(),
        name: account.name.clone(),
        scopes: account.scopes.iter().map(|s| s.name().to_owned()).collect(),
        created_by: account.created_by.clone(),
        created_at: Some(timestamp(account.created_at)),
        secret_created_at: Some(timestamp(account.secret_created_at)),
        disabled_at: account.disabled_at.map(timestamp),
    }
}

impl<S: Store + Clone> Authentication<S> {
    pub(super) async fn create_account(
        &self,
        request: Request<CreateServiceAccountRequest>,
    ) -> Result<CreateServiceAccountResponse, ApiError> {
        let by = Actor::of(&request)?;
        let operator = operator(verified(&request)?, "create service accounts")?;
        let r = request.get_ref();
        let name = r.name.trim();
        if !valid_name(name) {
            return Err(ApiError::invalid_field(
                "name",
                "1 to 64 lower-case letters, digits or dashes, starting with a letter",
            ));
        }
        let scopes = requested_scopes(&r.scopes)?;
        let (secret, secret_hash) = sessions::new_secret(sessions::CLIENT_SECRET);
        let at = now();
        let account = ServiceAccountRecord {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            scopes,
            secret_hash,
            secret_id: Uuid::now_v7(),
            secret_created_at: at,
            created_by: operator,
            created_at: at,
            disabled_at: None,
        };
        self.0
            .store
            .create_service_account(
                &account,
                &by.did(
                    "service_account.created",
                    Object::service_account(account.id),
                ),
            )
            .await?;
        tracing::info!(account = %account.id, name = %account.name, scopes = ?account.scopes, "service account created");
        Ok(CreateServiceAccountResponse {
            service_account_id: account.id.to_string(),
            client_secret: secret,
            service_account: Some(to_proto(&account)),
        })
    }

    pub(super) async fn list_accounts(
        &self,
        request: Request<ListServiceAccountsRequest>,
    ) -> Result<ListServiceAccountsResponse, ApiError> {
        operator(verified(&request)?, "list service accounts")?;
        let r = request.into_inner();
        let after = optional_id("page_token", &r.page_token, Uuid::try_parse)?;
        let limit = page_size(r.page_size, 100, 500);
        let accounts = self.0.store.service_accounts(after, limit + 1).await?;
        let (accounts, next_page_token) = page(accounts, limit, |a| a.id.to_string());
        Ok(ListServiceAccountsResponse {
            service_accounts: accounts.iter().map(to_proto).collect(),
            next_page_token,
        })
    }

    pub(super) async fn rotate_secret(
        &self,
        request: Request<RotateServiceAccountSecretRequest>,
    ) -> Result<RotateServiceAccountSecretResponse, ApiError> {
        let by = Actor::of(&request)?;
        operator(verified(&request)?, "rotate a service account's secret")?;
        let id = account_id("service_account_id", &request.get_ref().service_account_id)?;
        let (secret, secret_hash) = sessions::new_secret(sessions::CLIENT_SECRET);
        let (account, replaced) = self
            .0
            .store
            .rotate_service_account_secret(
                id,
                (Uuid::now_v7(), &secret_hash),
                now(),
                &by.did(
                    "service_account.secret_rotated",
                    Object::service_account(id),
                ),
            )
            .await?
            .ok_or_else(|| not_found(id))?;
        self.end_tokens(replaced).await;
        tracing::info!(account = %id, "service account secret rotated");
        Ok(RotateServiceAccountSecretResponse {
            client_secret: secret,
            service_account: Some(to_proto(&account)),
        })
    }

    pub(super) async fn disable_account(
        &self,
        request: Request<DisableServiceAccountRequest>,
    ) -> Result<DisableServiceAccountResponse, ApiError> {
        let by = Actor::of(&request)?;
        operator(verified(&request)?, "disable service accounts")?;
        let id = account_id("service_account_id", &request.get_ref().service_account_id)?;
        let account = self
            .0
            .store
            .disable_service_account(
                id,
                now(),
                &by.did("service_account.disabled", Object::service_account(id)),
            )
            .await?
            .ok_or_else(|| not_found(id))?;
        self.end_tokens(account.secret_id).await;
        tracing::info!(account = %id, "service account disabled");
        Ok(DisableServiceAccountResponse {
            service_account: Some(to_proto(&account)),
        })
    }

    /// Publishes the end of a secret's tokens now; the store holds the revocation already, and
    /// the republishing loop repeats it should this publication fail.
    async fn end_tokens(&self, secret: Uuid) {
        let at = lms_runtime::clock::now_ms();
        let _ = self.0.revocations.revoke(&[(secret, at)]).await;
    }

    pub(super) async fn issue_token(
        &self,
        r: IssueServiceTokenRequest,
    ) -> Result<IssueServiceTokenResponse, ApiError> {
        let refused = || ApiError::Unauthenticated {
            reason: "INVALID_CLIENT",
            message: "unknown service account or wrong secret".into(),
        };
        let id = account_id("service_account_id", &r.service_account_id)?;
        if r.client_secret.is_empty() {
            return Err(ApiError::invalid_field("client_secret", "is required"));
        }
        let account = self
            .0
            .store
            .service_account(id)
            .await?
            .ok_or_else(refused)?;
        // Hashes of 256-bit secrets: comparing them leaks nothing worth timing.
        if sessions::hash(&r.client_secret) != account.secret_hash {
            tracing::warn!(account = %id, "service token refused: wrong secret");
            return Err(refused());
        }
        // Only the secret's holder learns the account is disabled.
        if account.disabled_at.is_some() {
            return Err(ApiError::Unauthenticated {
                reason: "CLIENT_DISABLED",
                message: "the service account is disabled".into(),
            });
        }
        // Platform-wide: an account bound to no tenant acts in none. (Tokens for one tenant come
        // with accounts that belong to it; a platform account acting for any tenant would let
        // one leaked secret reach them all.)
        let mut claims = self
            .0
            .keys
            .claims(SubjectKind::Service, account.name.clone(), None);
        claims.sid = Some(account.secret_id.to_string());
        claims.scope = Some(account.scopes.to_claim());
        Ok(IssueServiceTokenResponse {
            access_token: self.0.keys.sign(&claims),
            expires_at: Some(timestamp(claims.exp as i64)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_are_simple_slugs() {
        assert!(valid_name("delegation"));
        assert!(valid_name("report-worker-2"));
        assert!(!valid_name(""));
        assert!(!valid_name("Delegation"));
        assert!(!valid_name("2fast"));
        assert!(!valid_name("a b"));
    }

    #[test]
    fn scopes_are_named_and_at_least_one() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            requested_scopes(&names(&["authorization.decide"])).unwrap(),
            Scopes::of([Scope::Decide])
        );
        for bad in [names(&[]), names(&["authorization.decide", "everything"])] {
            assert!(matches!(
                requested_scopes(&bad),
                Err(ApiError::InvalidArgument(_))
            ));
        }
    }
}
