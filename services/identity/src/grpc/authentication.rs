//! `AuthenticationService`: sign-in with lockout, access tokens signed by the key ring,
//! rotating refresh tokens with reuse detection, sign-out, password change, the JWKS. The
//! second factor lives in `second_factor`, service accounts in `service_accounts`.

use std::sync::Arc;

use lms_api::identity::v1::authentication_service_server::AuthenticationService;
use lms_api::identity::v1::{
    BeginTotpEnrolmentRequest, BeginTotpEnrolmentResponse, ChangePasswordRequest,
    ChangePasswordResponse, ConfirmTotpEnrolmentRequest, ConfirmTotpEnrolmentResponse,
    CreateServiceAccountRequest, CreateServiceAccountResponse, DisableServiceAccountRequest,
    DisableServiceAccountResponse, GetJwksRequest, GetJwksResponse, IssueServiceTokenRequest,
    IssueServiceTokenResponse, ListServiceAccountsRequest, ListServiceAccountsResponse,
    RefreshTokenRequest, RefreshTokenResponse, RotateServiceAccountSecretRequest,
    RotateServiceAccountSecretResponse, SignInRequest, SignInResponse, SignOutRequest,
    SignOutResponse, TokenPair, UnlockSignInRequest, UnlockSignInResponse, VerifyMfaRequest,
    VerifyMfaResponse, sign_in_response,
};
use lms_kernel::{Email, TenantId, UserId, UserStatus};
use lms_runtime::ApiError;
use lms_runtime::auth::user as user_caller;
use lms_runtime::auth::{Caller, SubjectKind, caller};
use lms_runtime::clock::now;
use tonic::{Request, Response, Status};

use crate::audit::{Actor, Object};
use crate::convert::timestamp;
use crate::core::Core;
use crate::lockout;
use crate::password::{MAX_LENGTH, Passwords};
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

    /// When a refresh token issued now in `session` expires: after the idle timeout, but never
    /// past the session's absolute lifetime from its sign-in.
    fn refresh_expiry(&self, session: uuid::Uuid, now: i64) -> i64 {
        let config = &self.0.sign_in;
        (now + config.refresh_token_ttl_seconds as i64)
            .min(sessions::started_at(session) + config.session_max_seconds as i64)
    }

    /// Issues a session's tokens after every credential was shown: the attempts at them are
    /// forgotten and the sign-in recorded only now, so a right password without the second
    /// factor neither resets the count nor makes a dormant account look used.
    pub(super) async fn signed_in(
        &self,
        tenant: TenantId,
        user: &UserRecord,
        amr: &str,
    ) -> Result<TokenPair, ApiError> {
        let id = user.id;
        if let Some(email) = &user.email {
            self.0
                .store
                .clear_attempts(&lockout::password_key(tenant, email))
                .await?;
        }
        self.0
            .store
            .clear_attempts(&lockout::second_factor_key(tenant, id))
            .await?;
        self.0.store.record_sign_in(tenant, id, now()).await?;
        self.new_session(tenant, id, amr).await
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
                expires_at: self.refresh_expiry(session, now()),
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
        if r.password.chars().count() > MAX_LENGTH {
            return Err(ApiError::invalid_field(
                "password",
                format!("must be at most {MAX_LENGTH} characters"),
            )
            .into());
        }
        // The order bounds what a flood can cost: an admission (or RESOURCE_EXHAUSTED at once,
        // before the store is asked anything), the account's rate and lockout (counted before
        // the check, so parallel guesses cannot slip past it), then a hashing slot, and only
        // then argon2. A guess the lockout refuses never holds a slot, so guesses at locked
        // accounts cannot keep the slots from everyone else. Unknown addresses take the same
        // path, lockout included, so no answer or delay tells which addresses exist.
        let _admitted = self.0.passwords.admit()?;
        let user = self.0.store.user_by_email(tenant, &email).await?;
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let checked = self
            .0
            .attempts
            .check(
                &self.0.store,
                lockout::password_key(tenant, &email),
                self.0.passwords.check(r.password, hash),
            )
            .await?;
        let Some(right) = checked else {
            tracing::info!(%tenant, "sign-in refused: locked out");
            return Err(bad_credentials().into());
        };
        let Some(user) = user.filter(|_| right) else {
            return Err(bad_credentials().into());
        };
        if let Some(barrier) = sign_in_barrier(&user) {
            return Err(barrier.into());
        }
        if let Some(challenge) = self.challenge_if_enrolled(tenant, user.id).await? {
            tracing::info!(%tenant, user = %user.id, "password accepted; second factor due");
            return Ok(Response::new(SignInResponse {
                outcome: Some(sign_in_response::Outcome::MfaChallenge(challenge)),
            }));
        }
        let tokens = self.signed_in(tenant, &user, "pwd").await?;
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
            .redeem_refresh_token(&sessions::hash(&presented), &next_hash, now, |family| {
                self.refresh_expiry(family, now)
            })
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
        // This process refuses the token at once; the others within the feed's period.
        let _ = self
            .0
            .revocations
            .revoke(&[(session, lms_runtime::clock::now_ms())])
            .await;
        tracing::info!(%tenant, %user, "signed out");
        Ok(Response::new(SignOutResponse {}))
    }

    async fn change_password(
        &self,
        request: Request<ChangePasswordRequest>,
    ) -> Result<Response<ChangePasswordResponse>, Status> {
        let by = Actor::of(&request)?;
        let caller = caller(&request)?;
        let (tenant, user_id) = user_caller(caller)?;
        let own_session = match caller {
            Caller::User { session, .. } => session
                .as_deref()
                .and_then(|s| uuid::Uuid::try_parse(s).ok()),
            Caller::Service { .. } | Caller::Integration { .. } => None,
        };
        let r = request.into_inner();
        Passwords::validate(&r.new_password)
            .map_err(|e| ApiError::invalid_field("new_password", e.to_string()))?;
        let user = self
            .0
            .store
            .user(tenant, user_id)
            .await?
            .ok_or_else(|| ApiError::not_found("user", user_id.to_string()))?;
        if let Some(barrier) = sign_in_barrier(&user) {
            return Err(barrier.into());
        }
        let wrong = || ApiError::invalid_field("current_password", "is wrong");
        let email = user.email.as_ref().ok_or_else(wrong)?;
        crate::password_policy::check(
            &r.new_password,
            email.as_str(),
            &[&user.given_name, &user.family_name],
        )
        .map_err(|e| ApiError::invalid_field("new_password", e.to_string()))?;
        // A wrong current password counts toward the account's lockout like a failed sign-in,
        // so a stolen access token cannot be used to guess the password.
        let _admitted = self.0.passwords.admit()?;
        let key = lockout::password_key(tenant, email);
        let checked = self
            .0
            .attempts
            .check(
                &self.0.store,
                key,
                self.0
                    .passwords
                    .check(r.current_password, user.password_hash.clone()),
            )
            .await?;
        if checked != Some(true) {
            return Err(wrong().into());
        }
        self.0.store.clear_attempts(&key).await?;
        let hash = self.0.passwords.hash(&r.new_password).await?;
        self.0
            .store
            .set_password(
                tenant,
                user_id,
                &hash,
                &by.did("user.password_changed", Object::user(user_id)),
            )
            .await?;
        // Every other session ends: whoever knew the old password is signed out. The caller's
        // own session goes on: they just proved the password.
        let ended = self
            .0
            .store
            .revoke_user_sessions(tenant, user_id, own_session, now(), "password changed")
            .await?;
        let at = lms_runtime::clock::now_ms();
        let ended: Vec<_> = ended.into_iter().map(|session| (session, at)).collect();
        let _ = self.0.revocations.revoke(&ended).await;
        tracing::info!(%tenant, user = %user_id, sessions_ended = ended.len(), "password changed");
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

    async fn list_service_accounts(
        &self,
        request: Request<ListServiceAccountsRequest>,
    ) -> Result<Response<ListServiceAccountsResponse>, Status> {
        Ok(Response::new(self.list_accounts(request).await?))
    }

    async fn rotate_service_account_secret(
        &self,
        request: Request<RotateServiceAccountSecretRequest>,
    ) -> Result<Response<RotateServiceAccountSecretResponse>, Status> {
        Ok(Response::new(self.rotate_secret(request).await?))
    }

    async fn disable_service_account(
        &self,
        request: Request<DisableServiceAccountRequest>,
    ) -> Result<Response<DisableServiceAccountResponse>, Status> {
        Ok(Response::new(self.disable_account(request).await?))
    }

    async fn unlock_sign_in(
        &self,
        request: Request<UnlockSignInRequest>,
    ) -> Result<Response<UnlockSignInResponse>, Status> {
        Ok(Response::new(self.unlock(request).await?))
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
