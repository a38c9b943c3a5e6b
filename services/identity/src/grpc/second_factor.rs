//! The TOTP half of `AuthenticationService`: enrolment, the challenge SignIn hands out when a
//! second factor is due, and its answer. Every guess is counted before the code is checked,
//! twice: on the challenge (five and it is gone; a user has one open at a time) and on the user
//! across all their challenges (the same lockout as passwords), so neither parallel guesses nor
//! fresh sign-ins buy more tries. A code is accepted once.

use lms_api::identity::v1::{
    BeginTotpEnrolmentRequest, BeginTotpEnrolmentResponse, ConfirmTotpEnrolmentRequest,
    ConfirmTotpEnrolmentResponse, TokenPair, VerifyMfaRequest,
};
use lms_kernel::{TenantId, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::Caller;
use lms_runtime::auth::{user as user_caller, verified};
use lms_runtime::clock::now;
use tonic::Request;

use super::authentication::{Authentication, sign_in_barrier};
use crate::audit::{Actor, Object};
use crate::lockout;
use crate::mfa;
use crate::sessions;
use crate::store::{MfaChallenge, Store};

/// Wrong codes a challenge survives.
const MAX_CODE_FAILURES: i32 = 5;

fn refused(reason: &'static str, message: &str) -> ApiError {
    ApiError::Unauthenticated {
        reason,
        message: message.into(),
    }
}

impl<S: Store + Clone> Authentication<S> {
    /// After the right password: a challenge when the user has a second factor, else `None`.
    pub(super) async fn challenge_if_enrolled(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Option<String>, ApiError> {
        if self.0.store.totp(tenant, user).await?.secret.is_none() {
            return Ok(None);
        }
        let (challenge, hash) = sessions::new_secret(sessions::CHALLENGE);
        let record = MfaChallenge {
            tenant,
            user,
            expires_at: now() + self.0.sign_in.mfa_challenge_ttl_seconds as i64,
            failures: 0,
        };
        self.0.store.add_mfa_challenge(&hash, &record).await?;
        Ok(Some(challenge))
    }

    /// Answers a challenge with a code: tokens whose `amr` says a second factor was shown.
    pub(super) async fn verify(&self, r: VerifyMfaRequest) -> Result<TokenPair, ApiError> {
        if r.mfa_challenge.is_empty() {
            return Err(ApiError::invalid_field("mfa_challenge", "is required"));
        }
        if r.code.trim().is_empty() {
            return Err(ApiError::invalid_field("code", "is required"));
        }
        let now = now();
        let hash = sessions::hash(&r.mfa_challenge);
        let unknown = || {
            refused(
                "MFA_CHALLENGE_INVALID",
                "the challenge is unknown or expired; sign in again",
            )
        };
        let wrong = || refused("MFA_CODE_INVALID", "the code is wrong");
        let challenge = self
            .0
            .store
            .take_mfa_guess(&hash, now, MAX_CODE_FAILURES)
            .await?
            .ok_or_else(unknown)?;
        let (tenant, user) = (challenge.tenant, challenge.user);
        let secret = self
            .0
            .store
            .totp(tenant, user)
            .await?
            .secret
            .ok_or_else(unknown)?;
        let code = r.code;
        let matched = {
            let (secret, code) = (secret.clone(), code.clone());
            async move { Ok(mfa::check(&secret, &code, now).is_some()) }
        };
        let key = lockout::second_factor_key(tenant, user);
        // A locked second factor answers like a wrong code: the guesser learns nothing.
        let checked = self.0.attempts.check(&self.0.store, key, matched).await?;
        let step = match (checked, mfa::check(&secret, &code, now)) {
            (Some(true), Some(step)) => step,
            (None, _) => {
                tracing::info!(%tenant, %user, "second factor locked out");
                return Err(wrong());
            }
            _ => {
                tracing::info!(%tenant, %user, "wrong second-factor code");
                return Err(wrong());
            }
        };
        if !self.0.store.use_totp_step(tenant, user, step).await? {
            return Err(refused(
                "MFA_CODE_REPLAYED",
                "that code was used already; wait for the next one",
            ));
        }
        // Of two answers racing with different good codes, one takes the challenge.
        if !self.0.store.delete_mfa_challenge(&hash).await? {
            return Err(unknown());
        }
        let record = self.0.store.user(tenant, user).await?.ok_or_else(unknown)?;
        if let Some(barrier) = sign_in_barrier(&record) {
            return Err(barrier);
        }
        tracing::info!(%tenant, %user, "signed in with a second factor");
        self.signed_in(tenant, &record, "pwd,otp").await
    }

    /// Refuses enrolment changes for a user who may not sign in (suspended, anonymised): their
    /// token may still be live for a moment, and must not put a secret back on an erased record.
    async fn may_enrol(&self, tenant: TenantId, user: UserId) -> Result<(), ApiError> {
        let record = self
            .0
            .store
            .user(tenant, user)
            .await?
            .ok_or_else(|| ApiError::not_found("user", user.to_string()))?;
        match sign_in_barrier(&record) {
            Some(barrier) => Err(barrier),
            None => Ok(()),
        }
    }

    /// Starts enrolment. Replacing a confirmed second factor takes a session that showed it,
    /// so a stolen password cannot swap the authenticator.
    pub(super) async fn begin_enrolment(
        &self,
        request: Request<BeginTotpEnrolmentRequest>,
    ) -> Result<BeginTotpEnrolmentResponse, ApiError> {
        let caller = verified(&request)?;
        let (tenant, user) = user_caller(caller)?;
        let showed_second_factor = matches!(caller, Caller::User { mfa: true, .. });
        self.may_enrol(tenant, user).await?;
        if self.0.store.totp(tenant, user).await?.secret.is_some() && !showed_second_factor {
            return Err(ApiError::FailedPrecondition {
                reason: "MFA_REQUIRED",
                message: "sign in with your current authenticator to replace it".into(),
            });
        }
        let account = self
            .0
            .store
            .user(tenant, user)
            .await?
            .and_then(|u| u.email)
            .map(|e| e.as_str().to_owned())
            .unwrap_or_else(|| user.to_string());
        let secret = mfa::new_secret();
        self.0.store.begin_totp(tenant, user, &secret).await?;
        tracing::info!(%tenant, %user, "second-factor enrolment started");
        Ok(BeginTotpEnrolmentResponse {
            secret: mfa::base32(&secret),
            otpauth_uri: mfa::otpauth_uri(&account, &secret),
        })
    }

    /// Confirms enrolment with the authenticator's first code.
    pub(super) async fn confirm_enrolment(
        &self,
        request: Request<ConfirmTotpEnrolmentRequest>,
    ) -> Result<ConfirmTotpEnrolmentResponse, ApiError> {
        let by = Actor::of(&request)?;
        let caller = verified(&request)?;
        let (tenant, user) = user_caller(caller)?;
        self.may_enrol(tenant, user).await?;
        let Some(pending) = self.0.store.totp(tenant, user).await?.pending else {
            return Err(ApiError::FailedPrecondition {
                reason: "NO_ENROLMENT",
                message: "start with BeginTotpEnrolment".into(),
            });
        };
        let step = mfa::check(&pending, &request.get_ref().code, now()).ok_or_else(|| {
            ApiError::invalid_field("code", "does not match the authenticator's current code")
        })?;
        if !self
            .0
            .store
            .confirm_totp(
                tenant,
                user,
                step,
                &by.did("user.totp_enrolled", Object::user(user)),
            )
            .await?
        {
            return Err(ApiError::FailedPrecondition {
                reason: "NO_ENROLMENT",
                message: "the enrolment was replaced; start again".into(),
            });
        }
        tracing::info!(%tenant, %user, "second factor enrolled");
        Ok(ConfirmTotpEnrolmentResponse {})
    }
}
