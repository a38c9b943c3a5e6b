//! The second factor (TOTP): enrolment, sign-in challenges, codes accepted once, and MFA
//! required of administrators when the tenant asks.

use lms_api::common::v1::ObjectType;
use lms_api::identity::v1::{
    BeginTotpEnrolmentRequest, ConfirmTotpEnrolmentRequest, CreateUserRequest, NewUser,
    SignInRequest, TenantSettings, TokenPair, VerifyMfaRequest, sign_in_response,
};
use lms_identity::mfa::code_for_base32;
use tonic::Code;

use crate::fixture::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Platform, USER_PASSWORD, fields, now, object, reason,
};

async fn challenge(platform: &Platform, email: &str, password: &str) -> String {
    let outcome = platform
        .authn()
        .sign_in(SignInRequest {
            tenant_id: platform.tenant.to_string(),
            email: email.into(),
            password: password.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .outcome;
    match outcome {
        Some(sign_in_response::Outcome::MfaChallenge(challenge)) => challenge,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

async fn verify(
    platform: &Platform,
    challenge: &str,
    code: String,
) -> Result<TokenPair, tonic::Status> {
    Ok(platform
        .authn()
        .verify_mfa(VerifyMfaRequest {
            mfa_challenge: challenge.into(),
            code,
        })
        .await?
        .into_inner()
        .tokens
        .unwrap())
}

#[tokio::test]
async fn an_enrolled_user_signs_in_only_with_a_right_code_and_each_code_works_once() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    platform.create_user(&admin, "otto@example.org", "").await;
    let password_session = platform
        .sign_in("otto@example.org", USER_PASSWORD)
        .await
        .unwrap();

    let begun = platform
        .authn_as(&password_session.access_token)
        .begin_totp_enrolment(BeginTotpEnrolmentRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(begun.otpauth_uri.starts_with("otpauth://totp/"));
    // A code no step near now shows.
    let near: Vec<String> = [-30, 0, 30]
        .iter()
        .map(|skew| code_for_base32(&begun.secret, now() + skew).unwrap())
        .collect();
    let wrong_code = (0..10)
        .map(|d| format!("{d}{d}{d}{d}{d}{d}"))
        .find(|code| !near.contains(code))
        .unwrap();
    let wrong = platform
        .authn_as(&password_session.access_token)
        .confirm_totp_enrolment(ConfirmTotpEnrolmentRequest { code: wrong_code })
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::InvalidArgument);
    assert_eq!(fields(&wrong), ["code"]);
    let confirming_code = code_for_base32(&begun.secret, now()).unwrap();
    platform
        .authn_as(&password_session.access_token)
        .confirm_totp_enrolment(ConfirmTotpEnrolmentRequest {
            code: confirming_code.clone(),
        })
        .await
        .unwrap();

    // A password alone no longer signs in: it earns a challenge.
    let challenge = challenge(&platform, "otto@example.org", USER_PASSWORD).await;
    let refused = verify(&platform, &challenge, "not-a-code".into())
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "MFA_CODE_INVALID");
    // The code that confirmed enrolment was used: replaying it is refused.
    let replayed = verify(&platform, &challenge, confirming_code)
        .await
        .unwrap_err();
    assert_eq!(reason(&replayed), "MFA_CODE_REPLAYED");
    // The next step's code (one step of skew is allowed) signs in, once.
    let next = code_for_base32(&begun.secret, now() + 30).unwrap();
    verify(&platform, &challenge, next.clone()).await.unwrap();
    let again = verify(&platform, &challenge, next).await.unwrap_err();
    assert_eq!(again.code(), Code::Unauthenticated);

    // Swapping the authenticator takes a session that showed the second factor.
    let swap = platform
        .authn_as(&password_session.access_token)
        .begin_totp_enrolment(BeginTotpEnrolmentRequest {})
        .await
        .unwrap_err();
    assert_eq!(reason(&swap), "MFA_REQUIRED");
}

#[tokio::test]
async fn an_administrator_does_nothing_risky_without_a_second_factor_when_the_tenant_requires_it() {
    let platform = Platform::start_with(TenantSettings {
        mfa_required_for_admins: true,
        ..Default::default()
    })
    .await;
    let password_only = platform.admin_token().await;
    let refused = platform
        .users(&password_only)
        .create_user(CreateUserRequest {
            user: Some(NewUser {
                email: "new@example.org".into(),
                given_name: "New".into(),
                family_name: "Person".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        !platform
            .allowed(
                &password_only,
                "security_settings.update",
                object(ObjectType::Tenant, &platform.tenant.to_string()),
                None
            )
            .await
    );
    // Their own profile is still theirs.
    assert!(
        platform
            .allowed(
                &password_only,
                "users.read",
                object(ObjectType::User, &platform.admin.to_string()),
                None
            )
            .await
    );

    let secret = platform.enrol_totp(&password_only).await;
    let challenge = challenge(&platform, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let with_mfa = verify(
        &platform,
        &challenge,
        code_for_base32(&secret, now() + 30).unwrap(),
    )
    .await
    .unwrap()
    .access_token;
    platform.create_user(&with_mfa, "new@example.org", "").await;
}
