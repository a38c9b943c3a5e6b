//! Service accounts: platform-wide client credentials that services trade for short-lived
//! access tokens (`kind: service`, no tenant), so services call each other with tokens
//! identity signs. Operators create them; the secret is shown once and stored as a hash.

use lms_api::identity::v1::{
    CreateServiceAccountRequest, CreateServiceAccountResponse, IssueServiceTokenRequest,
    IssueServiceTokenResponse,
};
use lms_runtime::ApiError;
use lms_runtime::auth::{Caller, SubjectKind};
use lms_runtime::clock::now;
use tonic::Request;
use uuid::Uuid;

use super::authentication::Authentication;
use crate::audit::{Actor, Object};
use crate::convert::timestamp;
use crate::sessions;
use crate::store::{ServiceAccountRecord, Store};

/// Service names: lower-case letters, digits and dashes, starting with a letter.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl<S: Store + Clone> Authentication<S> {
    pub(super) async fn create_account(
        &self,
        request: Request<CreateServiceAccountRequest>,
    ) -> Result<CreateServiceAccountResponse, ApiError> {
        let by = Actor::of(&request)?;
        let operator = match lms_runtime::auth::caller(&request) {
            Ok(Caller::Service {
                name, tenant: None, ..
            }) => format!("service:{name}"),
            _ => {
                return Err(ApiError::PermissionDenied {
                    reason: "PLATFORM_OPERATOR_REQUIRED",
                    message: "service accounts are created by platform operators".into(),
                    metadata: Default::default(),
                });
            }
        };
        let name = request.get_ref().name.trim();
        if !valid_name(name) {
            return Err(ApiError::invalid_field(
                "name",
                "1 to 64 lower-case letters, digits or dashes, starting with a letter",
            ));
        }
        let (secret, secret_hash) = sessions::new_secret(sessions::CLIENT_SECRET);
        let account = ServiceAccountRecord {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            secret_hash,
            created_by: operator,
            created_at: now(),
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
        tracing::info!(account = %account.id, name = %account.name, "service account created");
        Ok(CreateServiceAccountResponse {
            service_account_id: account.id.to_string(),
            client_secret: secret,
        })
    }

    pub(super) async fn issue_token(
        &self,
        r: IssueServiceTokenRequest,
    ) -> Result<IssueServiceTokenResponse, ApiError> {
        let refused = || ApiError::Unauthenticated {
            reason: "INVALID_CLIENT",
            message: "unknown service account or wrong secret".into(),
        };
        let id = Uuid::try_parse(&r.service_account_id)
            .map_err(|_| ApiError::invalid_field("service_account_id", "must be a UUID"))?;
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
        let claims = self
            .0
            .keys
            .claims(SubjectKind::Service, account.name.clone(), None);
        Ok(IssueServiceTokenResponse {
            access_token: self.0.keys.sign(&claims),
            expires_at: Some(timestamp(claims.exp as i64)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn service_names_are_simple_slugs() {
        assert!(valid_name("delegation"));
        assert!(valid_name("report-worker-2"));
        assert!(!valid_name(""));
        assert!(!valid_name("Delegation"));
        assert!(!valid_name("2fast"));
        assert!(!valid_name("a b"));
    }
}
