//! Credentials under attack (security review C1, H4, H5, M14, L2): a sign-in flood costs bounded
//! memory, guesses are counted before they are checked (parallel bursts and fresh challenges buy
//! nothing), a lockout looks like a wrong password and the Access Coordinator can lift it, and an
//! ended session's access tokens stop working everywhere within a second.

use std::time::{Duration, Instant};

use lms_api::authorization::v1::CheckRequest;
use lms_api::common::v1::ObjectType;
use lms_api::identity::v1::{
    BeginTotpEnrolmentRequest, ChangePasswordRequest, ConfirmTotpEnrolmentRequest,
    RefreshTokenRequest, SignInRequest, SignOutRequest, SuspendUserRequest, UnlockSignInRequest,
    VerifyMfaRequest, sign_in_response,
};
use lms_identity::mfa::code_for_base32;
use lms_runtime::auth::{RevocationFeed, Revocations};
use lms_runtime::config::SignInConfig;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tonic_types::StatusExt;

use crate::fixture::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Platform, USER_PASSWORD, object, reason, refused_within_a_second,
};

const WRONG: &str = "not the password at all";

fn no_rate_limits(sign_in: &mut SignInConfig) {
    sign_in.attempts_per_account_per_minute = 600_000;
    sign_in.attempts_per_peer_per_second = 100_000;
}

/// The peak resident memory of this test process, in KiB (each test runs in its own process).
fn peak_memory_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unknown_emails_is_shed_fast_and_stays_inside_the_memory_budget() {
    // Without the per-address limit, so the admission itself is what holds.
    let platform = Platform::start_with_sign_in(no_rate_limits).await;
    let before = peak_memory_kib();
    let started = Instant::now();
    let mut flood = JoinSet::new();
    for i in 0..200 {
        let mut authn = platform.authn();
        let tenant = platform.tenant.to_string();
        flood.spawn(async move {
            authn
                .sign_in(SignInRequest {
                    tenant_id: tenant,
                    email: format!("nobody-{i}@example.org"),
                    password: WRONG.into(),
                })
                .await
                .unwrap_err()
        });
    }
    let (mut busy, mut refused) = (0, 0);
    while let Some(status) = flood.join_next().await {
        let status = status.unwrap();
        match status.code() {
            Code::ResourceExhausted => {
                assert_eq!(reason(&status), "PASSWORD_CHECKS_BUSY");
                assert!(
                    status.get_details_retry_info().is_some(),
                    "says when to retry"
                );
                busy += 1;
            }
            Code::Unauthenticated => refused += 1,
            other => panic!("unexpected {other:?}: {status:?}"),
        }
    }
    assert_eq!(busy + refused, 200);
    assert!(
        busy > 0,
        "past the admission, calls are refused, not queued"
    );
    let grown_mib = (peak_memory_kib() - before) / 1024;
    // 8 slots of 19 MiB; 200 unbounded argon2 runs would take ~3.8 GiB.
    assert!(grown_mib < 400, "peak memory grew by {grown_mib} MiB");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "shed fast: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn one_address_flooding_sign_in_is_rate_limited_before_any_password_is_checked() {
    let platform = Platform::start().await;
    let mut limited = 0;
    for i in 0..60 {
        let status = platform
            .authn()
            .sign_in(SignInRequest {
                tenant_id: platform.tenant.to_string(),
                email: format!("someone-{i}@example.org"),
                // Over the length limit: refused before hashing, so this loop is quick.
                password: "x".repeat(300),
            })
            .await
            .unwrap_err();
        if status.code() == Code::ResourceExhausted {
            assert_eq!(reason(&status), "RATE_LIMITED");
            limited += 1;
        }
    }
    assert!(
        limited > 0,
        "60 calls at once exceed 20/s with a burst of 40"
    );
}

#[tokio::test]
async fn one_account_is_rate_limited_apart_from_others() {
    let platform = Platform::start_with_sign_in(|sign_in| {
        sign_in.attempts_per_peer_per_second = 100_000;
        sign_in.lockout_threshold = 1_000;
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(platform.sign_in(ADMIN_EMAIL, WRONG).await.unwrap_err());
    }
    assert_eq!(reason(&statuses[0]), "INVALID_CREDENTIALS");
    assert_eq!(
        reason(statuses.last().unwrap()),
        "RATE_LIMITED",
        "a burst of 10 per account"
    );
    let other = platform
        .sign_in("someone-else@example.org", WRONG)
        .await
        .unwrap_err();
    assert_eq!(reason(&other), "INVALID_CREDENTIALS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_wrong_passwords_lock_the_account() {
    let platform = Platform::start_with_sign_in(no_rate_limits).await;
    let mut burst = JoinSet::new();
    for _ in 0..50 {
        let mut authn = platform.authn();
        let tenant = platform.tenant.to_string();
        burst.spawn(async move {
            authn
                .sign_in(SignInRequest {
                    tenant_id: tenant,
                    email: ADMIN_EMAIL.into(),
                    password: WRONG.into(),
                })
                .await
                .unwrap_err()
        });
    }
    while let Some(status) = burst.join_next().await {
        let status = status.unwrap();
        // Refused, or turned away before any check (no hashing slot, or the threshold's
        // worth of checks already in flight); never anything telling.
        assert!(
            [
                "INVALID_CREDENTIALS",
                "PASSWORD_CHECKS_BUSY",
                "SIGN_IN_BUSY"
            ]
            .contains(&reason(&status).as_str()),
            "{status:?}"
        );
    }
    let locked = platform
        .sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(
        reason(&locked),
        "INVALID_CREDENTIALS",
        "the burst locked the account, even against the right password"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_at_a_locked_account_never_take_a_password_slot() {
    // One hashing slot, a slow hash, and one failure locks an address.
    let platform = Platform::start_with_sign_in(|sign_in| {
        no_rate_limits(sign_in);
        sign_in.password_memory_mib = 19;
        sign_in.argon2_iterations = 30;
        sign_in.lockout_threshold = 1;
    })
    .await;
    let locked = platform
        .sign_in("locked@example.org", WRONG)
        .await
        .unwrap_err();
    assert_eq!(reason(&locked), "INVALID_CREDENTIALS");

    // Someone keeps the only slot busy with checks of fresh addresses...
    let stop = CancellationToken::new();
    let holder = {
        let (mut authn, tenant, stop) = (platform.authn(), platform.tenant, stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.is_cancelled() {
                i += 1;
                let _ = authn
                    .sign_in(SignInRequest {
                        tenant_id: tenant.to_string(),
                        email: format!("holder-{i}@example.org"),
                        password: WRONG.into(),
                    })
                    .await;
            }
        })
    };
    // ...and guesses at the locked address are refused as locked all the same: the lockout
    // turns them away before they ask for a slot. Repeated until a witness finds the slot
    // taken, so the guesses met a busy slot.
    let mut witnessed = false;
    for i in 0..200 {
        let guess = platform
            .sign_in("locked@example.org", WRONG)
            .await
            .unwrap_err();
        assert_eq!(
            reason(&guess),
            "INVALID_CREDENTIALS",
            "a refused guess needs no slot: {guess:?}"
        );
        let witness = platform
            .sign_in(&format!("witness-{i}@example.org"), WRONG)
            .await
            .unwrap_err();
        if reason(&witness) == "PASSWORD_CHECKS_BUSY" {
            witnessed = true;
            break;
        }
    }
    stop.cancel();
    holder.await.unwrap();
    assert!(witnessed, "the holder never kept the slot busy");
}

#[tokio::test]
async fn a_locked_account_and_an_unknown_email_answer_alike_and_the_coordinator_unlocks() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let user_id = platform
        .create_user(&admin, "learner@example.org", "")
        .await;
    for email in ["learner@example.org", "ghost@example.org"] {
        let answers: Vec<_> = futures_answers(&platform, email, 7).await;
        let first = &answers[0];
        for status in &answers {
            assert_eq!(status.code(), Code::Unauthenticated);
            assert_eq!(reason(status), "INVALID_CREDENTIALS");
            assert_eq!(status.message(), first.message());
        }
    }
    let locked = platform
        .sign_in("learner@example.org", USER_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(reason(&locked), "INVALID_CREDENTIALS");

    // Only the Access Coordinator (the first administrator) lifts it.
    platform
        .authn_as(&admin)
        .unlock_sign_in(UnlockSignInRequest {
            user_id,
            tenant_id: String::new(),
        })
        .await
        .unwrap();
    platform
        .sign_in("learner@example.org", USER_PASSWORD)
        .await
        .unwrap();
}

/// Moves the stored lockouts back in time so that each ends now, as if its time had passed.
async fn lockouts_run_out(platform: &Platform) {
    let identity = sqlx::PgPool::connect(&platform.identity_url).await.unwrap();
    let now = lms_runtime::clock::now();
    let ended = sqlx::query(
        "UPDATE credential_attempts SET last_attempt_at = last_attempt_at - (locked_until - $1), \
         locked_until = $1 WHERE locked_until > $1",
    )
    .bind(now)
    .execute(&identity)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(ended, 1, "one lockout was running");
}

#[tokio::test]
async fn a_guess_in_every_lock_period_does_not_keep_the_owner_out() {
    let platform = Platform::start_with_sign_in(no_rate_limits).await;
    for answer in futures_answers(&platform, ADMIN_EMAIL, 5).await {
        assert_eq!(reason(&answer), "INVALID_CREDENTIALS");
    }
    let locked = platform
        .sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(reason(&locked), "INVALID_CREDENTIALS", "locked");

    // The attacker guesses while the lock runs, and again the moment it ends.
    platform.sign_in(ADMIN_EMAIL, WRONG).await.unwrap_err();
    lockouts_run_out(&platform).await;
    platform.sign_in(ADMIN_EMAIL, WRONG).await.unwrap_err();

    // The owner still gets in: a lone guess after a lock locks nothing by itself.
    platform
        .sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("the owner signs in after the lock, the attacker's guess notwithstanding");
}

async fn futures_answers(platform: &Platform, email: &str, tries: usize) -> Vec<tonic::Status> {
    let mut answers = Vec::new();
    for _ in 0..tries {
        answers.push(platform.sign_in(email, WRONG).await.unwrap_err());
    }
    answers
}

#[tokio::test]
async fn only_the_access_coordinator_or_an_operator_lifts_a_lockout() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let learner = platform
        .create_user(&admin, "learner@example.org", "")
        .await;
    let other = platform.create_user(&admin, "other@example.org", "").await;
    platform
        .assign(&admin, &other, "lms_administrator", "")
        .await;
    let other_token = platform
        .sign_in("other@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let refused = platform
        .authn_as(&other_token)
        .unlock_sign_in(UnlockSignInRequest {
            user_id: learner.clone(),
            tenant_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(reason(&refused), "NOT_ACCESS_COORDINATOR");
    platform
        .authn_as(&platform.operator_token())
        .unlock_sign_in(UnlockSignInRequest {
            user_id: learner,
            tenant_id: platform.tenant.to_string(),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn wrong_current_passwords_count_toward_the_lockout() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    platform
        .create_user(&admin, "learner@example.org", "")
        .await;
    let token = platform
        .sign_in("learner@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    for _ in 0..5 {
        platform
            .authn_as(&token)
            .change_password(ChangePasswordRequest {
                current_password: WRONG.into(),
                new_password: "a brand new passphrase".into(),
            })
            .await
            .unwrap_err();
    }
    let locked = platform
        .authn_as(&token)
        .change_password(ChangePasswordRequest {
            current_password: USER_PASSWORD.into(),
            new_password: "a brand new passphrase".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(locked.code(), Code::InvalidArgument);
    let sign_in = platform
        .sign_in("learner@example.org", USER_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(
        reason(&sign_in),
        "INVALID_CREDENTIALS",
        "the account is locked"
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Enrols the learner in TOTP and answers their base32 secret.
async fn enrolled_learner(platform: &Platform) -> String {
    let admin = platform.admin_token().await;
    platform
        .create_user(&admin, "learner@example.org", "")
        .await;
    let token = platform
        .sign_in("learner@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let secret = platform
        .authn_as(&token)
        .begin_totp_enrolment(BeginTotpEnrolmentRequest {})
        .await
        .unwrap()
        .into_inner()
        .secret;
    platform
        .authn_as(&token)
        .confirm_totp_enrolment(ConfirmTotpEnrolmentRequest {
            code: code_for_base32(&secret, now()).unwrap(),
        })
        .await
        .unwrap();
    secret
}

async fn challenge(platform: &Platform) -> String {
    match platform
        .authn()
        .sign_in(SignInRequest {
            tenant_id: platform.tenant.to_string(),
            email: "learner@example.org".into(),
            password: USER_PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .outcome
    {
        Some(sign_in_response::Outcome::MfaChallenge(challenge)) => challenge,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

/// A code that is not the current one (nor a neighbour's).
fn wrong_code(secret: &str) -> String {
    let right = [-30, 0, 30].map(|skew| code_for_base32(secret, now() + skew).unwrap());
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|code| !right.contains(code))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_at_one_challenge_get_five_tries_in_all() {
    let platform = Platform::start_with_sign_in(|sign_in| {
        no_rate_limits(sign_in);
        sign_in.lockout_threshold = 1_000;
    })
    .await;
    let secret = enrolled_learner(&platform).await;
    let challenge = challenge(&platform).await;
    let mut guesses = JoinSet::new();
    for _ in 0..30 {
        let mut authn = platform.authn();
        let (challenge, code) = (challenge.clone(), wrong_code(&secret));
        guesses.spawn(async move {
            authn
                .verify_mfa(VerifyMfaRequest {
                    mfa_challenge: challenge,
                    code,
                })
                .await
                .unwrap_err()
        });
    }
    let mut checked = 0;
    while let Some(status) = guesses.join_next().await {
        match reason(&status.unwrap()).as_str() {
            "MFA_CODE_INVALID" => checked += 1,
            "MFA_CHALLENGE_INVALID" => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(checked, 5, "thirty parallel guesses, five checked");
    let status = platform
        .authn()
        .verify_mfa(VerifyMfaRequest {
            mfa_challenge: challenge,
            code: code_for_base32(&secret, now()).unwrap(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        reason(&status),
        "MFA_CHALLENGE_INVALID",
        "the challenge is spent"
    );
}

#[tokio::test]
async fn fresh_challenges_do_not_buy_more_second_factor_guesses() {
    let platform = Platform::start_with_sign_in(no_rate_limits).await;
    let secret = enrolled_learner(&platform).await;
    // Four wrong codes, each on a fresh sign-in, and a fifth on a fifth challenge.
    for _ in 0..4 {
        let challenge = challenge(&platform).await;
        let status = platform
            .authn()
            .verify_mfa(VerifyMfaRequest {
                mfa_challenge: challenge,
                code: wrong_code(&secret),
            })
            .await
            .unwrap_err();
        assert_eq!(reason(&status), "MFA_CODE_INVALID");
    }
    let last = challenge(&platform).await;
    let answer = |code: String| {
        let mut authn = platform.authn();
        let challenge = last.clone();
        async move {
            authn
                .verify_mfa(VerifyMfaRequest {
                    mfa_challenge: challenge,
                    code,
                })
                .await
                .unwrap_err()
        }
    };
    assert_eq!(
        reason(&answer(wrong_code(&secret)).await),
        "MFA_CODE_INVALID"
    );
    // The challenge could take more guesses, but the user's second factor is locked: even the
    // right code is refused, exactly like a wrong one.
    let status = answer(code_for_base32(&secret, now()).unwrap()).await;
    assert_eq!(reason(&status), "MFA_CODE_INVALID");
    // A fresh sign-in buys nothing: its challenge meets the same lock.
    let fresh = challenge(&platform).await;
    let status = platform
        .authn()
        .verify_mfa(VerifyMfaRequest {
            mfa_challenge: fresh,
            code: code_for_base32(&secret, now()).unwrap(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "MFA_CODE_INVALID");
}

async fn allowed_to_read_self(
    platform: &Platform,
    token: &str,
    user: &str,
) -> Result<(), tonic::Status> {
    platform
        .decisions(token)
        .check(CheckRequest {
            permission: "users.read".into(),
            resource: Some(object(ObjectType::User, user)),
            ..Default::default()
        })
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_signed_out_token_is_refused_by_every_service_and_on_other_processes() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let learner = platform
        .create_user(&admin, "learner@example.org", "")
        .await;
    let session = platform
        .sign_in("learner@example.org", USER_PASSWORD)
        .await
        .unwrap();
    allowed_to_read_self(&platform, &session.access_token, &learner)
        .await
        .unwrap();
    // Another process: its own set, following the shared one in Redis.
    let elsewhere = Revocations::default();
    let follower = RevocationFeed::new(
        elsewhere.clone(),
        Some((
            &lms_runtime::redis::RedisEndpoint::new(platform.redis_url()),
            platform.redis_prefix(),
            &lms_runtime::SecretString::new(lms_testkit::TEST_REVOCATIONS_MAC_KEY),
        )),
        Duration::from_secs(900),
    )
    .unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(follower.follow(stop.clone()));

    platform
        .authn_as(&session.access_token)
        .sign_out(SignOutRequest {})
        .await
        .unwrap();
    let status = allowed_to_read_self(&platform, &session.access_token, &learner)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), "TOKEN_REVOKED");
    let sid = session_of(&session.access_token);
    let deadline = Instant::now() + Duration::from_secs(1);
    while !elsewhere.is_revoked(&sid) {
        assert!(
            Instant::now() < deadline,
            "not seen by another process within a second"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
}

/// Waits until `follower` knows `sid` revoked (at most a second).
async fn seen_within_a_second(follower: &Revocations, sid: &str) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while !follower.is_revoked(sid) {
        assert!(Instant::now() < deadline, "not seen within a second");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sessions_planted_in_redis_are_not_revoked_and_one_removed_there_stays_revoked() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let learner = platform
        .create_user(&admin, "learner@example.org", "")
        .await;
    let sign_in = || platform.sign_in("learner@example.org", USER_PASSWORD);
    let (victim, first, second) = (
        sign_in().await.unwrap(),
        sign_in().await.unwrap(),
        sign_in().await.unwrap(),
    );
    let elsewhere = Revocations::default();
    let follower = RevocationFeed::new(
        elsewhere.clone(),
        Some((
            &lms_runtime::redis::RedisEndpoint::new(platform.redis_url()),
            platform.redis_prefix(),
            &lms_runtime::SecretString::new(lms_testkit::TEST_REVOCATIONS_MAC_KEY),
        )),
        Duration::from_secs(900),
    )
    .unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(follower.follow(stop.clone()));

    // Someone who can write to Redis adds the victim's session: bare, and with a made-up MAC.
    let set = format!("{}revoked-sessions", platform.redis_prefix());
    let mut redis = redis::Client::open(platform.redis_url().expose())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let victim_sid = session_of(&victim.access_token);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for planted in [
        victim_sid.clone(),
        format!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.{victim_sid}:{now_ms}"),
    ] {
        let _: () = redis::cmd("ZADD")
            .arg(&set)
            .arg(now_ms)
            .arg(planted)
            .query_async(&mut redis)
            .await
            .unwrap();
    }
    // A genuine revocation published after them: once it is seen, the planted ones were read.
    platform
        .authn_as(&first.access_token)
        .sign_out(SignOutRequest {})
        .await
        .unwrap();
    seen_within_a_second(&elsewhere, &session_of(&first.access_token)).await;
    assert!(
        !elsewhere.is_revoked(&victim_sid),
        "a planted member revoked a session"
    );
    allowed_to_read_self(&platform, &victim.access_token, &learner)
        .await
        .expect("the victim's token still works at authorization");

    // Someone deletes the whole set: a process that saw a revocation keeps refusing it.
    let _: () = redis::cmd("DEL")
        .arg(&set)
        .query_async(&mut redis)
        .await
        .unwrap();
    platform
        .authn_as(&second.access_token)
        .sign_out(SignOutRequest {})
        .await
        .unwrap();
    seen_within_a_second(&elsewhere, &session_of(&second.access_token)).await;
    assert!(elsewhere.is_revoked(&session_of(&first.access_token)));
    let status = allowed_to_read_self(&platform, &first.access_token, &learner)
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "TOKEN_REVOKED");
    stop.cancel();
}

/// The `sid` claim of an access token.
fn session_of(token: &str) -> String {
    use base64::Engine;
    let claims = token.split('.').nth(1).unwrap();
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&claims).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn suspension_ends_live_access_within_a_second() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let learner = platform
        .create_user(&admin, "learner@example.org", "")
        .await;
    let token = platform
        .sign_in("learner@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    platform
        .users(&admin)
        .suspend_user(SuspendUserRequest {
            user_id: learner.clone(),
            reason: "test".into(),
        })
        .await
        .unwrap();
    refused_within_a_second(|| allowed_to_read_self(&platform, &token, &learner)).await;
    refused_within_a_second(|| async {
        platform
            .authn_as(&token)
            .begin_totp_enrolment(BeginTotpEnrolmentRequest {})
            .await
            .map(|_| ())
    })
    .await;
}

#[tokio::test]
async fn a_password_change_keeps_the_callers_session_and_ends_the_others() {
    let platform = Platform::start().await;
    let other = platform.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.unwrap();
    let current = platform.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.unwrap();
    platform
        .authn_as(&current.access_token)
        .change_password(ChangePasswordRequest {
            current_password: ADMIN_PASSWORD.into(),
            new_password: "a brand new passphrase".into(),
        })
        .await
        .unwrap();
    platform
        .authn()
        .refresh_token(RefreshTokenRequest {
            refresh_token: current.refresh_token,
        })
        .await
        .expect("the caller's own session goes on");
    let admin = platform.admin.to_string();
    refused_within_a_second(|| allowed_to_read_self(&platform, &other.access_token, &admin)).await;
}

#[tokio::test]
async fn refreshing_never_takes_a_session_past_its_absolute_lifetime() {
    let platform = Platform::start_with_sign_in(|sign_in| {
        sign_in.access_token_ttl_seconds = 1;
        sign_in.session_max_seconds = 2;
    })
    .await;
    let mut tokens = platform.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.unwrap();
    let started = Instant::now();
    loop {
        let refreshed = platform
            .authn()
            .refresh_token(RefreshTokenRequest {
                refresh_token: tokens.refresh_token.clone(),
            })
            .await;
        match refreshed {
            Ok(response) => tokens = response.into_inner().tokens.unwrap(),
            Err(status) => {
                assert_eq!(reason(&status), "REFRESH_TOKEN_EXPIRED");
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "refreshing kept the session alive past its lifetime"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(started.elapsed() >= Duration::from_secs(1));
}
