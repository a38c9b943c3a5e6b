//! Signing keys that no longer decode: identity keeps signing with a fresh key, never panics.

use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::{GetJwksRequest, SignInRequest, sign_in_response};
use sqlx::postgres::PgPool;

use crate::fixture::{ADMIN_EMAIL, ADMIN_PASSWORD, Platform};

#[tokio::test]
async fn a_replica_whose_stored_keys_all_fail_to_decode_rotates_and_still_signs_in() {
    let platform = Platform::start().await;
    let identity = PgPool::connect(&platform.identity_url).await.unwrap();
    // Every stored key corrupted, none due for rotation.
    sqlx::query("UPDATE signing_keys SET private_key = '\\x00'")
        .execute(&identity)
        .await
        .unwrap();
    let replica = platform.identity_replica().await;
    let response = AuthenticationServiceClient::new(replica.channel())
        .sign_in(SignInRequest {
            tenant_id: platform.tenant.to_string(),
            email: ADMIN_EMAIL.into(),
            password: ADMIN_PASSWORD.into(),
        })
        .await
        .expect("sign-in answers")
        .into_inner();
    let Some(sign_in_response::Outcome::Tokens(tokens)) = response.outcome else {
        panic!("expected tokens, got {:?}", response.outcome);
    };
    assert!(!tokens.access_token.is_empty());
    // The replica publishes the fresh key it signs with, and only keys that decode.
    let jwks = AuthenticationServiceClient::new(replica.channel())
        .get_jwks(GetJwksRequest {})
        .await
        .unwrap()
        .into_inner()
        .jwks_json;
    assert_eq!(jwks.matches("\"kid\"").count(), 1, "{jwks}");
}
