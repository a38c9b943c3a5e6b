//! Signing keys and TOTP secrets are sealed at rest under the configured key-encryption keys
//! (H7): what the database holds is neither, a sealed value copied to another row is refused,
//! and after a KEK rotation old rows still open and are sealed again at start. Each case runs
//! with identity on PostgreSQL and on SQLite.

use lms_api::common::v1::ObjectType;
use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::{
    GetJwksRequest, SignInRequest, TokenPair, VerifyMfaRequest, sign_in_response,
};
use lms_identity::mfa::code_for_base32;
use lms_runtime::SecretString;
use lms_runtime::auth::SigningKey;
use lms_testkit::TEST_KEK;
use sqlx::{PgPool, SqlitePool};
use tonic::Code;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::fixture::{ADMIN_EMAIL, ADMIN_PASSWORD, Platform, USER_PASSWORD, now, object};

/// A second KEK, for rotation: id `new`, 32 bytes in base64.
const NEW_KEK: &str = "new=bmV3LWtleS1lbmNyeXB0aW9uLWtleS0wMDAwMDAwMDI=";

/// Identity's database read and written around identity, as a leaked backup or a writer with
/// database access would.
enum Raw {
    Pg(PgPool),
    Lite(SqlitePool),
}

impl Raw {
    async fn open(platform: &Platform) -> Raw {
        if platform.identity_url.starts_with("sqlite:") {
            Raw::Lite(SqlitePool::connect(&platform.identity_url).await.unwrap())
        } else {
            Raw::Pg(PgPool::connect(&platform.identity_url).await.unwrap())
        }
    }

    async fn signing_keys(&self) -> Vec<(String, Vec<u8>, i64)> {
        let sql = "SELECT kid, private_key, created_at FROM signing_keys ORDER BY kid";
        match self {
            Raw::Pg(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
            Raw::Lite(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        }
    }

    async fn add_signing_key(&self, kid: &str, stored: &[u8], created_at: i64) {
        let sql = "INSERT INTO signing_keys (kid, private_key, created_at) VALUES ($1, $2, $3)";
        match self {
            Raw::Pg(pool) => sqlx::query(sql)
                .bind(kid)
                .bind(stored)
                .bind(created_at)
                .execute(pool)
                .await
                .map(drop),
            Raw::Lite(pool) => sqlx::query(sql)
                .bind(kid)
                .bind(stored)
                .bind(created_at)
                .execute(pool)
                .await
                .map(drop),
        }
        .unwrap();
    }

    async fn totp_secret(&self, user: Uuid) -> Vec<u8> {
        let sql = "SELECT totp_secret FROM users WHERE user_id = $1";
        let stored: Option<Vec<u8>> = match self {
            Raw::Pg(pool) => sqlx::query_scalar(sql).bind(user).fetch_one(pool).await,
            Raw::Lite(pool) => sqlx::query_scalar(sql).bind(user).fetch_one(pool).await,
        }
        .unwrap();
        stored.expect("the user has a second factor")
    }

    async fn set_totp_secret(&self, user: Uuid, stored: &[u8]) {
        let sql = "UPDATE users SET totp_secret = $2 WHERE user_id = $1";
        match self {
            Raw::Pg(pool) => sqlx::query(sql)
                .bind(user)
                .bind(stored)
                .execute(pool)
                .await
                .map(drop),
            Raw::Lite(pool) => sqlx::query(sql)
                .bind(user)
                .bind(stored)
                .execute(pool)
                .await
                .map(drop),
        }
        .unwrap();
    }
}

async fn platform(sqlite: bool) -> Platform {
    if sqlite {
        Platform::start_on_sqlite_with(|_| {}).await
    } else {
        Platform::start().await
    }
}

/// Signs in with a password at `identity`: the challenge the second factor answers.
async fn challenge(
    identity: Channel,
    platform: &Platform,
    email: &str,
    password: &str,
) -> Result<String, tonic::Status> {
    let outcome = AuthenticationServiceClient::new(identity)
        .sign_in(SignInRequest {
            tenant_id: platform.tenant.to_string(),
            email: email.into(),
            password: password.into(),
        })
        .await?
        .into_inner()
        .outcome;
    match outcome {
        Some(sign_in_response::Outcome::MfaChallenge(challenge)) => Ok(challenge),
        other => panic!("expected a challenge, got {other:?}"),
    }
}

/// Answers `challenge` with the next step's code (the enrolment used the current one).
async fn verify_next(identity: Channel, challenge: String, secret: &str) -> TokenPair {
    AuthenticationServiceClient::new(identity)
        .verify_mfa(VerifyMfaRequest {
            mfa_challenge: challenge,
            code: code_for_base32(secret, now() + 30).unwrap(),
        })
        .await
        .expect("the second factor opens and the code passes")
        .into_inner()
        .tokens
        .unwrap()
}

fn base32_bytes(secret: &str) -> Vec<u8> {
    totp_rs::Secret::try_from_base32(secret)
        .unwrap()
        .as_bytes()
        .to_vec()
}

async fn jwks_kids(identity: Channel) -> String {
    AuthenticationServiceClient::new(identity)
        .get_jwks(GetJwksRequest {})
        .await
        .unwrap()
        .into_inner()
        .jwks_json
}

async fn stored_bytes_are_neither_key_nor_secret_and_totp_sign_in_still_works(sqlite: bool) {
    let platform = platform(sqlite).await;
    let raw = Raw::open(&platform).await;
    let admin = platform.admin_token().await;
    let secret = platform.enrol_totp(&admin).await;

    let stored = raw.totp_secret(platform.admin.as_uuid()).await;
    let plain = base32_bytes(&secret);
    assert!(
        !stored
            .windows(plain.len())
            .any(|window| window == plain.as_slice()),
        "the TOTP secret is stored in the clear"
    );
    let keys = raw.signing_keys().await;
    assert!(!keys.is_empty());
    for (kid, stored, _) in &keys {
        assert!(
            SigningKey::from_pkcs8_der(kid, stored).is_err(),
            "signing key {kid} is stored in the clear"
        );
    }

    // End to end: the sealed secret still answers the challenge, and the token it earns (signed
    // with a sealed key) is accepted by authorization.
    let challenge = challenge(
        platform.identity.channel(),
        &platform,
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    .await
    .unwrap();
    let tokens = verify_next(platform.identity.channel(), challenge, &secret).await;
    assert!(
        platform
            .allowed(
                &tokens.access_token,
                "users.read",
                object(ObjectType::User, &platform.admin.to_string()),
                None,
            )
            .await,
        "the token is accepted: its holder reads their own profile"
    );
}

async fn a_sealed_value_moved_to_another_row_is_refused_not_used(sqlite: bool) {
    let platform = platform(sqlite).await;
    let raw = Raw::open(&platform).await;
    let admin = platform.admin_token().await;
    platform.enrol_totp(&admin).await;
    // Mallory enrols her own authenticator, then copies her sealed secret onto the
    // administrator's row, hoping to answer the administrator's second factor with it.
    let mallory = platform
        .create_user(&admin, "mallory@example.org", "")
        .await;
    let mallory_token = platform
        .sign_in("mallory@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    platform.enrol_totp(&mallory_token).await;
    let mallory = Uuid::parse_str(&mallory).unwrap();
    let hers = raw.totp_secret(mallory).await;
    raw.set_totp_secret(platform.admin.as_uuid(), &hers).await;
    let refused = challenge(
        platform.identity.channel(),
        &platform,
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    .await
    .expect_err("a moved secret must not open");
    assert_eq!(refused.code(), Code::Internal, "{refused:?}");

    // A sealed signing key copied under another key id does not open there: a replica neither
    // publishes nor signs with it.
    let (kid, stored, created_at) = raw.signing_keys().await.remove(0);
    raw.add_signing_key("kcopied", &stored, created_at).await;
    let replica = platform.identity_replica().await;
    let jwks = jwks_kids(replica.channel()).await;
    assert!(jwks.contains(&kid), "{jwks}");
    assert!(!jwks.contains("kcopied"), "{jwks}");
}

async fn after_kek_rotation_old_rows_open_and_are_resealed(sqlite: bool) {
    let platform = platform(sqlite).await;
    let raw = Raw::open(&platform).await;
    let admin = platform.admin_token().await;
    let admin_secret = platform.enrol_totp(&admin).await;
    let user = platform.create_user(&admin, "otto@example.org", "").await;
    let user_token = platform
        .sign_in("otto@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let user_secret = platform.enrol_totp(&user_token).await;
    let user = Uuid::parse_str(&user).unwrap();
    // A row from before sealing: the secret in the clear.
    raw.set_totp_secret(user, &base32_bytes(&user_secret)).await;
    let kids_before: Vec<String> = raw.signing_keys().await.into_iter().map(|k| k.0).collect();

    // Rotation, step 1: the new KEK first, the old one still listed; restart.
    let both = format!("{NEW_KEK},{TEST_KEK}");
    let rotated = platform
        .identity_replica_with(|context| {
            context.sign_in.key_encryption_keys = Some(SecretString::new(both.as_str()));
        })
        .await;
    let under_new = b"LMSK1\x03new";
    for (kid, stored, _) in raw.signing_keys().await {
        assert!(stored.starts_with(under_new), "key {kid} not resealed");
    }
    assert!(
        raw.totp_secret(platform.admin.as_uuid())
            .await
            .starts_with(under_new)
    );
    assert!(
        raw.totp_secret(user).await.starts_with(under_new),
        "plaintext row sealed"
    );
    let challenge_ = challenge(rotated.channel(), &platform, ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    verify_next(rotated.channel(), challenge_, &admin_secret).await;

    // Step 2: the old KEK dropped. Everything opens, and the same keys are kept.
    let only_new = platform
        .identity_replica_with(|context| {
            context.sign_in.key_encryption_keys = Some(SecretString::new(NEW_KEK));
        })
        .await;
    let jwks = jwks_kids(only_new.channel()).await;
    for kid in &kids_before {
        assert!(jwks.contains(kid.as_str()), "{kid} lost: {jwks}");
    }
    let challenge_ = challenge(
        only_new.channel(),
        &platform,
        "otto@example.org",
        USER_PASSWORD,
    )
    .await
    .unwrap();
    verify_next(only_new.channel(), challenge_, &user_secret).await;
}

#[tokio::test]
async fn identity_refuses_to_start_without_a_key_encryption_key() {
    let platform = Platform::start().await;
    let auth = lms_testkit::TestAuth::new();
    let mut context = lms_testkit::service_context(
        lms_runtime::ServiceName::Identity,
        &platform.identity_url,
        None,
        &auth,
    );
    context.sign_in.key_encryption_keys = None;
    let error = lms_identity::build(context).await.unwrap_err();
    assert!(
        error.to_string().contains("sign_in.key_encryption_keys"),
        "{error}"
    );
}

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod on_postgres {
            $(#[tokio::test]
            async fn $case() {
                super::$case(false).await;
            })*
        }
        mod on_sqlite {
            $(#[tokio::test]
            async fn $case() {
                super::$case(true).await;
            })*
        }
    };
}

on_both_backends!(
    stored_bytes_are_neither_key_nor_secret_and_totp_sign_in_still_works,
    a_sealed_value_moved_to_another_row_is_refused_not_used,
    after_kek_rotation_old_rows_open_and_are_resealed,
);
