//! `AuthenticationService`: sign-in with lockout, access tokens signed by the key ring,
//! rotating refresh tokens with reuse detection, sign-out, password change, the JWKS. The
//! second factor lives in `second_factor`, service accounts in `service_accounts`.

use std::sync::Arc;

use lms_api::identity::v1::authentication_service_server::AuthenticationService;
use lms_api::identity::v1::{
    BeginTotpEnrolmentRequest, BeginTotpEnrolmentResponse, ChangePasswordRequest,
    ChangePasswordResponse, ConfirmTotpEnrolmentRequest, ConfirmTotpEnrolmentResponse,
    CreateServiceAccountRequest, CreateServiceAccountResponse, GetJwksRequest, GetJwksResponse,
    IssueServiceTokenRequest, IssueServiceTokenResponse, RefreshTokenRequest, RefreshTokenResponse,
    SignInRequest, SignInResponse, SignOutRequest, SignOutResponse, TokenPair, VerifyMfaRequest,
    VerifyMfaResponse, sign_in_response,
};
use lms_kernel::{Email, TenantId, UserId, UserStatus};
use lms_runtime::ApiError;
use lms_runtime::auth::user as user_caller;
use lms_runtime::auth::{Caller, SubjectKind, caller};
use lms_runtime::clock::now;
use tonic::{Request, Response, Status};

use crate::convert::timestamp;
use crate::core::Core;
use crate::password::Passwords;
use crate::sessions;
use crate::store::{Redeemed, RefreshRecord, Store, UserRecord};

pub struct Authentication<S>(pub Arc<Core<S>>);

/// The one answer for a wrong email or password, so neither can be probed.
fn bad_credentials() -> ApiError {
    ApiError::Unauthenticated {
        reason: "INVALID_CREDENTIALS",
        message: "email or password is wrong".into(),
    }
}

fn refused_refresh(reason: &'static str, message: &str) -> ApiError {
    ApiError::Unauthenticated {
        reason,
        message: message.into(),
    }
}

/// Why a user may not sign in now, if they may not.
pub(super) fn sign_in_barrier(user: &UserRecord) -> Option<ApiError> {
    let (reason, message) = match user.status {
        UserStatus::Active => return None,
        UserStatus::PendingApproval => (
            "ACCOUNT_PENDING_APPROVAL",
            "the account waits for the Access Coordinator's approval",
        ),
        UserStatus::Suspended => ("ACCOUNT_SUSPENDED", "the account is suspended"),
        UserStatus::Anonymised => return Some(bad_credentials()),
    };
    Some(ApiError::FailedPrecondition {
        reason,
        message: message.into(),
    })
}

impl<S: Store + Clone> Authentication<S> {
    /// A new sign-in session: its first access and refresh tokens.
    pub(super) async fn new_session(
        &self,
        tenant: TenantId,
        user: UserId,
        amr: &str,
    ) -> Result<TokenPair, ApiError> {
        self.token_pair(
            tenant,
            user,
            uuid::Uuid::now_v7(),
            amr,
            sessions::new_refresh_token(),
            true,
        )
        .await
    }

    /// The lockout after the `failures`-th failure in a row: none below the threshold, then
    /// the base doubling per further failure, capped.
    fn lockout(&self, failures: u32) -> Option<i64> {
        let config = &self.0.sign_in;
        let beyond = failures.checked_sub(config.lockout_threshold)?;
        let seconds = config
            .lockout_base_seconds
            .saturating_mul(1u64.checked_shl(beyond.min(32)).unwrap_or(u64::MAX))
            .min(config.lockout_max_seconds);
        Some(now() + seconds as i64)
    }

    /// A new access token and refresh token for a session.
    async fn token_pair(
        &self,
        tenant: TenantId,
        user: UserId,
        session: uuid::Uuid,
        amr: &str,
        refresh: (String, Vec<u8>),
        store_refresh: bool,
    ) -> Result<TokenPair, ApiError> {
        let mut claims = self.0.keys.claims(
            SubjectKind::User,
            user.to_string(),
            Some(tenant.to_string()),
        );
        claims.amr = amr.split(',').map(str::to_owned).collect();
        claims.sid = Some(session.to_string());
        let (refresh_token, refresh_hash) = refresh;
        if store_refresh {
            let record = RefreshRecord {
                family: session,
                tenant,
                user,
                amr: amr.to_owned(),
                expires_at: now() + self.0.sign_in.refresh_token_ttl_seconds as i64,
                used_at: None,
                revoked: false,
            };
            self.0
                .store
                .add_refresh_token(&refresh_hash, &record, now())
                .await?;
        }
        Ok(TokenPair {
            access_token: self.0.keys.sign(&claims),
            access_token_expires_at: Some(timestamp(claims.exp as i64)),
            refresh_token,
        })
    }
}

#[tonic::async_trait]
impl<S: Store + Clone> AuthenticationService for Authentication<S> {
    async fn sign_in(
        &self,
        request: Request<SignInRequest>,
    ) -> Result<Response<SignInResponse>, Status> {
        let r = request.into_inner();
        let tenant = TenantId::parse(&r.tenant_id)
            .map_err(|e| ApiError::invalid_field("tenant_id", e.to_string()))?;
        let email =
            Email::parse(&r.email).map_err(|e| ApiError::invalid_field("email", e.to_string()))?;
        if r.password.is_empty() {
            return Err(ApiError::invalid_field("password", "is required").into());
        }
        let user = self.0.store.user_by_email(tenant, &email).await?;
        let now = now();
        if let Some(user) = &user
            && let Some(until) = user.locked_until
            && until > now
        {
            // Locked: the password is not even checked, so guessing gains nothing.
            return Err(ApiError::FailedPrecondition {
                reason: "ACCOUNT_LOCKED",
                message: format!("too many failed sign-ins; try again in {} s", until - now),
            }
            .into());
        }
        let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
        // Unknown users cost the same argon2 run as known ones.
        if !self.0.passwords.verify(&r.password, hash).await {
            if let Some(user) = &user {
                let failures = user.failed_sign_ins.max(0) as u32 + 1;
                self.0
                    .store
                    .record_failed_sign_in(tenant, user.id, self.lockout(failures))
                    .await?;
                tracing::info!(%tenant, user = %user.id, failures, "sign-in failed");
            }
            return Err(bad_credentials().into());
        }
        let user = user.expect("a verified password belongs to a user");
        if let Some(barrier) = sign_in_barrier(&user) {
            return Err(barrier.into());
        }
        self.0.store.record_sign_in(tenant, user.id, now).await?;
        if let Some(challenge) = self.challenge_if_enrolled(tenant, user.id).await? {
            tracing::info!(%tenant, user = %user.id, "password accepted; second factor due");
            return Ok(Response::new(SignInResponse {
                outcome: Some(sign_in_response::Outcome::MfaChallenge(challenge)),
            }));
        }
        let tokens = self.new_session(tenant, user.id, "pwd").await?;
        tracing::info!(%tenant, user = %user.id, "signed in");
        Ok(Response::new(SignInResponse {
            outcome: Some(sign_in_response::Outcome::Tokens(tokens)),
        }))
    }

    async fn refresh_token(
        &self,
        request: Request<RefreshTokenRequest>,
    ) -> Result<Response<RefreshTokenResponse>, Status> {
        let presented = request.into_inner().refresh_token;
        if presented.is_empty() {
            return Err(ApiError::invalid_field("refresh_token", "is required").into());
        }
        let now = now();
        let (next, next_hash) = sessions::new_refresh_token();
        let redeemed = self
            .0
            .store
            .redeem_refresh_token(
                &sessions::hash(&presented),
                &next_hash,
                now,
                now + self.0.sign_in.refresh_token_ttl_seconds as i64,
            )
            .await?;
        let record = match redeemed {
            Redeemed::Unknown => {
                return Err(
                    refused_refresh("REFRESH_TOKEN_INVALID", "unknown refresh token").into(),
                );
            }
            Redeemed::Reused(record) => {
                tracing::warn!(tenant = %record.tenant, user = %record.user, session = %record.family, "refresh token reused; session revoked");
                return Err(refused_refresh(
                    "REFRESH_TOKEN_REUSED",
                    "this refresh token was already used; the session is revoked, sign in again",
                )
                .into());
            }
            Redeemed::Rotated(record) => record,
        };
        if record.expires_at <= now {
            return Err(refused_refresh(
                "REFRESH_TOKEN_EXPIRED",
                "the session has expired; sign in again",
            )
            .into());
        }
        // A user suspended since sign-in gets no new access token.
        let user = self
            .0
            .store
            .user(record.tenant, record.user)
            .await?
            .ok_or_else(bad_credentials)?;
        if let Some(barrier) = sign_in_barrier(&user) {
            return Err(barrier.into());
        }
        let tokens = self
            .token_pair(
                record.tenant,
                record.user,
                record.family,
                &record.amr,
                (next, next_hash),
                false,
            )
            .await?;
        Ok(Response::new(RefreshTokenResponse {
            tokens: Some(tokens),
        }))
    }

    async fn sign_out(
        &self,
        request: Request<SignOutRequest>,
    ) -> Result<Response<SignOutResponse>, Status> {
        let Caller::User {
            session: Some(session),
            tenant,
            user,
            ..
        } = caller(&request)?
        else {
            return Err(ApiError::FailedPrecondition {
                reason: "NO_SESSION",
                message: "the token does not belong to a sign-in session".into(),
            }
            .into());
        };
        let session = uuid::Uuid::try_parse(session).map_err(|_| ApiError::FailedPrecondition {
            reason: "NO_SESSION",
            message: "the token's session id is malformed".into(),
        })?;
        self.0
            .store
            .revoke_session(session, now(), "signed out")
            .await?;
        tracing::info!(%tenant, %user, "signed out");
        Ok(Response::new(SignOutResponse {}))
    }

    async fn change_password(
        &self,
        request: Request<ChangePasswordRequest>,
    ) -> Result<Response<ChangePasswordResponse>, Status> {
        let (tenant, user_id) = user_caller(caller(&request)?)?;
        let r = request.into_inner();
        Passwords::validate(&r.new_password)
            .map_err(|e| ApiError::invalid_field("new_password", e.to_string()))?;
        let user = self
            .0
            .store
            .user(tenant, user_id)
            .await?
            .ok_or_else(|| ApiError::not_found("user", user_id.to_string()))?;
        if !self
            .0
            .passwords
            .verify(&r.current_password, user.password_hash.as_deref())
            .await
        {
            return Err(ApiError::invalid_field("current_password", "is wrong").into());
        }
        let hash = self.0.passwords.hash(&r.new_password).await;
        self.0.store.set_password(tenant, user_id, &hash).await?;
        // Every other session ends: whoever knew the old password is signed out.
        self.0
            .store
            .revoke_user_sessions(tenant, user_id, now(), "password changed")
            .await?;
        tracing::info!(%tenant, user = %user_id, "password changed");
        Ok(Response::new(ChangePasswordResponse {}))
    }

    async fn verify_mfa(
        &self,
        request: Request<VerifyMfaRequest>,
    ) -> Result<Response<VerifyMfaResponse>, Status> {
        let tokens = self.verify(request.into_inner()).await?;
        Ok(Response::new(VerifyMfaResponse {
            tokens: Some(tokens),
        }))
    }

    async fn begin_totp_enrolment(
        &self,
        request: Request<BeginTotpEnrolmentRequest>,
    ) -> Result<Response<BeginTotpEnrolmentResponse>, Status> {
        Ok(Response::new(self.begin_enrolment(request).await?))
    }

    async fn confirm_totp_enrolment(
        &self,
        request: Request<ConfirmTotpEnrolmentRequest>,
    ) -> Result<Response<ConfirmTotpEnrolmentResponse>, Status> {
        Ok(Response::new(self.confirm_enrolment(request).await?))
    }

    async fn create_service_account(
        &self,
        request: Request<CreateServiceAccountRequest>,
    ) -> Result<Response<CreateServiceAccountResponse>, Status> {
        Ok(Response::new(self.create_account(request).await?))
    }

    async fn issue_service_token(
        &self,
        request: Request<IssueServiceTokenRequest>,
    ) -> Result<Response<IssueServiceTokenResponse>, Status> {
        Ok(Response::new(self.issue_token(request.into_inner()).await?))
    }

    async fn get_jwks(
        &self,
        _request: Request<GetJwksRequest>,
    ) -> Result<Response<GetJwksResponse>, Status> {
        Ok(Response::new(GetJwksResponse {
            jwks_json: self.0.keys.jwks(),
        }))
    }
}
