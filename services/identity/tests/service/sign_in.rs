//! Sign-in, lockout, refresh-token rotation and reuse detection, sign-out, JWKS.

use std::io::{Read, Write};

use lms_api::identity::v1::{
    ChangePasswordRequest, RefreshTokenRequest, SignInRequest, SignOutRequest,
};
use tonic::Code;

use crate::fixture::{ADMIN_EMAIL, ADMIN_PASSWORD, Platform, fields, reason};

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_refusal() {
    let platform = Platform::start().await;
    let wrong = platform
        .sign_in(ADMIN_EMAIL, "not the password at all")
        .await
        .unwrap_err();
    let unknown = platform
        .sign_in("nobody@example.org", ADMIN_PASSWORD)
        .await
        .unwrap_err();
    for status in [&wrong, &unknown] {
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(reason(status), "INVALID_CREDENTIALS");
        assert!(!status.message().contains(ADMIN_PASSWORD));
    }
    assert_eq!(wrong.message(), unknown.message());
}

#[tokio::test]
async fn repeated_failures_lock_the_account_even_against_the_right_password() {
    let platform = Platform::start().await;
    for _ in 0..5 {
        let status = platform
            .sign_in(ADMIN_EMAIL, "a wrong password!!")
            .await
            .unwrap_err();
        assert_eq!(reason(&status), "INVALID_CREDENTIALS");
    }
    // Locked: refused exactly like a wrong password, so a lockout tells no one the address
    // exists (security review H5).
    let status = platform
        .sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn a_malformed_sign_in_names_the_field() {
    let platform = Platform::start().await;
    let status = platform
        .authn()
        .sign_in(SignInRequest {
            tenant_id: platform.tenant.to_string(),
            email: "not-an-email".into(),
            password: "whatever password".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(fields(&status), ["email"]);
}

#[tokio::test]
async fn a_refresh_token_rotates_and_its_replay_revokes_the_whole_session() {
    let platform = Platform::start().await;
    let first = platform.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.unwrap();
    let refresh = |token: String| {
        let mut authn = platform.authn();
        async move {
            authn
                .refresh_token(RefreshTokenRequest {
                    refresh_token: token,
                })
                .await
                .map(|r| r.into_inner().tokens.unwrap())
        }
    };
    let second = refresh(first.refresh_token.clone()).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);

    let replay = refresh(first.refresh_token.clone()).await.unwrap_err();
    assert_eq!(replay.code(), Code::Unauthenticated);
    assert_eq!(reason(&replay), "REFRESH_TOKEN_REUSED");
    // The thief's replay ended the session for the legitimate holder too.
    let after = refresh(second.refresh_token).await.unwrap_err();
    assert_eq!(reason(&after), "REFRESH_TOKEN_REUSED");

    let unknown = refresh("lmsrt_made_up".into()).await.unwrap_err();
    assert_eq!(reason(&unknown), "REFRESH_TOKEN_INVALID");
}

#[tokio::test]
async fn sign_out_ends_the_session_and_a_password_change_ends_the_others() {
    let platform = Platform::start().await;
    let session = platform.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.unwrap();
    let mut authn =
        lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient::new(
            platform.identity.authorized(&session.access_token),
        );
    authn.sign_out(SignOutRequest {}).await.unwrap();
    let status = platform
        .authn()
        .refresh_token(RefreshTokenRequest {
            refresh_token: session.refresh_token,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    let other = platform.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.unwrap();
    let current = platform.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.unwrap();
    let mut authn =
        lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient::new(
            platform.identity.authorized(&current.access_token),
        );
    let wrong = authn
        .change_password(ChangePasswordRequest {
            current_password: "not the current one".into(),
            new_password: "a brand new passphrase".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&wrong), ["current_password"]);
    authn
        .change_password(ChangePasswordRequest {
            current_password: ADMIN_PASSWORD.into(),
            new_password: "a brand new passphrase".into(),
        })
        .await
        .unwrap();
    let status = platform
        .authn()
        .refresh_token(RefreshTokenRequest {
            refresh_token: other.refresh_token,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(platform.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.is_err());
    platform
        .sign_in(ADMIN_EMAIL, "a brand new passphrase")
        .await
        .unwrap();
}

#[tokio::test]
async fn the_jwks_is_served_over_plain_http_at_the_well_known_path() {
    let platform = Platform::start().await;
    let addr = platform.identity.addr();
    let body = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: identity\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    })
    .await
    .unwrap();
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("application/json"), "{body}");
    assert!(body.contains(r#""crv":"Ed25519""#), "{body}");
}
