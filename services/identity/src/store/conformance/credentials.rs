//! Refresh tokens and TOTP steps: each may be used once.

use super::*;

pub(super) async fn a_refresh_token_redeemed_twice_revokes_its_session(store: impl Store) {
    let (tenant, _, user) = tenant(&store).await;
    let family = Uuid::now_v7();
    let record = RefreshRecord {
        family,
        tenant,
        user,
        amr: "pwd".into(),
        expires_at: 1_000,
        used_at: None,
        revoked: false,
    };
    store.add_refresh_token(b"first", &record, 1).await.unwrap();
    let rotated = store
        .redeem_refresh_token(b"first", b"second", 10, |_| 2_000)
        .await
        .unwrap();
    assert!(
        matches!(&rotated, Redeemed::Rotated(r) if r.family == family),
        "{rotated:?}"
    );
    let reused = store
        .redeem_refresh_token(b"first", b"third", 11, |_| 2_000)
        .await
        .unwrap();
    assert!(
        matches!(&reused, Redeemed::Reused(r) if r.family == family),
        "{reused:?}"
    );
    let successor = store
        .redeem_refresh_token(b"second", b"fourth", 12, |_| 2_000)
        .await
        .unwrap();
    assert!(
        matches!(&successor, Redeemed::Reused(r) if r.revoked),
        "reuse revoked the whole session, so its current token is dead too: {successor:?}"
    );
    assert_eq!(
        store
            .redeem_refresh_token(b"third", b"fifth", 13, |_| 2_000)
            .await
            .unwrap(),
        Redeemed::Unknown,
        "a reuse stores no successor"
    );
}

pub(super) async fn a_totp_step_is_accepted_once(store: impl Store) {
    let (tenant, _, user) = tenant(&store).await;
    store.begin_totp(tenant, user, b"secret").await.unwrap();
    assert!(
        store
            .confirm_totp(tenant, user, 100, &super::audit())
            .await
            .unwrap()
    );
    assert!(
        !store
            .confirm_totp(tenant, user, 101, &super::audit())
            .await
            .unwrap(),
        "nothing is pending any more"
    );
    assert!(
        !store.use_totp_step(tenant, user, 100).await.unwrap(),
        "confirming used the step"
    );
    assert!(store.use_totp_step(tenant, user, 101).await.unwrap());
    assert!(
        !store.use_totp_step(tenant, user, 101).await.unwrap(),
        "the same step twice"
    );
    assert!(
        !store.use_totp_step(tenant, user, 100).await.unwrap(),
        "an earlier step"
    );
    assert!(store.use_totp_step(tenant, user, 102).await.unwrap());
    let state = store.totp(tenant, user).await.unwrap();
    assert_eq!(
        (state.secret.as_deref(), state.last_step),
        (Some(&b"secret"[..]), Some(102))
    );
}

const LOCKOUT: crate::lockout::Lockout = crate::lockout::Lockout {
    threshold: 5,
    base_seconds: 30,
    max_seconds: 3600,
};

pub(super) async fn a_burst_of_parallel_attempts_gets_exactly_the_threshold_through(
    store: impl Store + Clone,
) {
    let key = [7u8; 32];
    let attempts: Vec<_> = (0..40)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.reserve_attempt(&key, 1_000, &LOCKOUT).await })
        })
        .collect();
    let mut allowed = 0;
    for attempt in attempts {
        match attempt.await.unwrap().unwrap() {
            Attempt::Allowed => allowed += 1,
            other => assert_eq!(other, Attempt::Busy),
        }
    }
    assert_eq!(allowed, 5, "five checks in flight fill the threshold");
    // Four right answers settle without counting; the room is back.
    for _ in 0..4 {
        store
            .settle_attempt(&key, 1_000, false, &LOCKOUT)
            .await
            .unwrap();
    }
    assert_eq!(
        store.reserve_attempt(&key, 1_000, &LOCKOUT).await.unwrap(),
        Attempt::Allowed
    );
    // Five failures lock the key for the base time, even against a check in flight.
    for _ in 0..5 {
        store
            .settle_attempt(&key, 1_000, true, &LOCKOUT)
            .await
            .unwrap();
    }
    assert_eq!(
        store.reserve_attempt(&key, 1_001, &LOCKOUT).await.unwrap(),
        Attempt::Locked { until: 1_030 }
    );
    // Once the lock ends the key has a fresh threshold of checks; the next lock takes that
    // many failures and lasts twice as long.
    for _ in 0..5 {
        assert_eq!(
            store.reserve_attempt(&key, 1_030, &LOCKOUT).await.unwrap(),
            Attempt::Allowed
        );
    }
    assert_eq!(
        store.reserve_attempt(&key, 1_030, &LOCKOUT).await.unwrap(),
        Attempt::Busy
    );
    for _ in 0..4 {
        store
            .settle_attempt(&key, 1_031, true, &LOCKOUT)
            .await
            .unwrap();
    }
    assert_eq!(
        store.reserve_attempt(&key, 1_032, &LOCKOUT).await.unwrap(),
        Attempt::Busy,
        "four failures and a check in flight"
    );
    store
        .settle_attempt(&key, 1_031, true, &LOCKOUT)
        .await
        .unwrap();
    assert_eq!(
        store.reserve_attempt(&key, 1_032, &LOCKOUT).await.unwrap(),
        Attempt::Locked { until: 1_091 }
    );
    // A clear forgets everything; keys count apart.
    store.clear_attempts(&key).await.unwrap();
    assert_eq!(
        store.reserve_attempt(&key, 1_032, &LOCKOUT).await.unwrap(),
        Attempt::Allowed
    );
    assert_eq!(
        store
            .reserve_attempt(&[8u8; 32], 1_032, &LOCKOUT)
            .await
            .unwrap(),
        Attempt::Allowed
    );
    // A check left in flight by a process that died stops holding a place after half a
    // minute without attempts.
    for _ in 0..4 {
        store
            .reserve_attempt(&[9u8; 32], 2_000, &LOCKOUT)
            .await
            .unwrap();
    }
    store
        .reserve_attempt(&[9u8; 32], 2_000, &LOCKOUT)
        .await
        .unwrap();
    assert_eq!(
        store
            .reserve_attempt(&[9u8; 32], 2_001, &LOCKOUT)
            .await
            .unwrap(),
        Attempt::Busy
    );
    assert_eq!(
        store
            .reserve_attempt(&[9u8; 32], 2_031, &LOCKOUT)
            .await
            .unwrap(),
        Attempt::Allowed
    );
}

pub(super) async fn challenge_guesses_are_counted_before_the_check_and_one_challenge_is_open(
    store: impl Store + Clone,
) {
    let (tenant, _, user) = tenant(&store).await;
    let challenge = MfaChallenge {
        tenant,
        user,
        expires_at: 2_000,
        failures: 0,
    };
    store.add_mfa_challenge(b"old", &challenge).await.unwrap();
    store.add_mfa_challenge(b"new", &challenge).await.unwrap();
    assert_eq!(
        store.take_mfa_guess(b"old", 1_000, 5).await.unwrap(),
        None,
        "a new challenge replaces the user's open one"
    );
    let guesses: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take_mfa_guess(b"new", 1_000, 5).await })
        })
        .collect();
    let mut taken = 0;
    for guess in guesses {
        if guess.await.unwrap().unwrap().is_some() {
            taken += 1;
        }
    }
    assert_eq!(
        taken, 5,
        "parallel guesses at one challenge get five through"
    );
    store.add_mfa_challenge(b"late", &challenge).await.unwrap();
    assert_eq!(
        store.take_mfa_guess(b"late", 2_000, 5).await.unwrap(),
        None,
        "an expired challenge takes no guess"
    );
}

pub(super) async fn a_password_change_ends_every_other_session_and_reports_them(
    store: impl Store + Clone,
) {
    let (tenant, _, user) = tenant(&store).await;
    let sessions = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
    for (i, family) in sessions.iter().enumerate() {
        let record = RefreshRecord {
            family: *family,
            tenant,
            user,
            amr: "pwd".into(),
            expires_at: 5_000,
            used_at: None,
            revoked: false,
        };
        store
            .add_refresh_token(format!("token {i}").as_bytes(), &record, 1)
            .await
            .unwrap();
    }
    let mut ended = store
        .revoke_user_sessions(tenant, user, Some(sessions[0]), 100, "password changed")
        .await
        .unwrap();
    ended.sort();
    let mut others = sessions[1..].to_vec();
    others.sort();
    assert_eq!(ended, others, "the caller's own session goes on");
    let mut revoked: Vec<Uuid> = store
        .sessions_revoked_since(100)
        .await
        .unwrap()
        .into_iter()
        .map(|(session, at)| {
            assert_eq!(at, 100);
            session
        })
        .collect();
    revoked.sort();
    assert_eq!(revoked, others);
    assert!(store.sessions_revoked_since(101).await.unwrap().is_empty());
    // Past every token's expiry, tokens and their revocations are pruned.
    assert!(store.prune_credentials(5_000, 200).await.unwrap() >= 5);
    assert!(store.sessions_revoked_since(0).await.unwrap().is_empty());
    assert_eq!(
        store
            .redeem_refresh_token(b"token 0", b"next", 5_001, |_| 6_000)
            .await
            .unwrap(),
        Redeemed::Unknown
    );
}

/// An account named `name` belonging to `owner`, not yet stored.
fn service_account(name: &str, owner: AccountOwner) -> ServiceAccountRecord {
    ServiceAccountRecord {
        id: Uuid::now_v7(),
        name: name.into(),
        owner,
        scopes: lms_runtime::auth::Scopes::of([lms_runtime::auth::Scope::Decide]),
        secret_hash: vec![1; 32],
        secret_id: Uuid::now_v7(),
        secret_created_at: 1,
        secret_second_factor: owner.holder().is_some(),
        created_by: "test".into(),
        created_at: 1,
        disabled_at: None,
    }
}

pub(super) async fn service_account_names_are_unique_per_owner_and_a_tenant_reaches_its_own(
    store: impl Store,
) {
    let (ours, _, holder) = tenant(&store).await;
    let theirs = TenantId::generate();
    let held = AccountOwner::Tenant {
        tenant: ours,
        holder: Some(holder),
    };
    let platform = service_account("shop", AccountOwner::Platform);
    let own = service_account("shop", held);
    let other = service_account(
        "shop",
        AccountOwner::Tenant {
            tenant: theirs,
            holder: None,
        },
    );
    for account in [&platform, &own, &other] {
        store
            .create_service_account(account, &audit())
            .await
            .unwrap();
    }
    for taken in [
        service_account("shop", AccountOwner::Platform),
        service_account("shop", held),
    ] {
        assert!(matches!(
            store.create_service_account(&taken, &audit()).await,
            Err(StoreError::Duplicate { field: "name", .. })
        ));
    }
    assert_eq!(
        store.service_account(own.id).await.unwrap(),
        Some(own.clone())
    );

    let reached = |reach| store.service_accounts(reach, None, 10);
    assert_eq!(
        reached(AccountReach::Tenant(ours)).await.unwrap(),
        std::slice::from_ref(&own)
    );
    assert_eq!(reached(AccountReach::Every).await.unwrap().len(), 3);
    // Another tenant's account and the platform's do not exist for a tenant's reach.
    for account in [&platform, &other] {
        let at_ours = AccountReach::Tenant(ours);
        let secret = AccountSecret {
            id: Uuid::now_v7(),
            hash: &[2; 32],
            second_factor: false,
        };
        let rotated = store
            .rotate_service_account_secret(account.id, at_ours, secret, 5, &audit())
            .await
            .unwrap();
        assert_eq!(rotated, None);
        let disabled = store
            .disable_service_account(account.id, at_ours, 5, &audit())
            .await
            .unwrap();
        assert_eq!(disabled, None);
        assert_eq!(
            store.service_account(account.id).await.unwrap().as_ref(),
            Some(account),
            "untouched"
        );
    }
    // Whether the holder's session proved a second factor goes with each secret.
    let (rotated, replaced) = store
        .rotate_service_account_secret(
            own.id,
            AccountReach::Tenant(ours),
            AccountSecret {
                id: Uuid::now_v7(),
                hash: &[3; 32],
                second_factor: false,
            },
            5,
            &audit(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(replaced, own.secret_id);
    assert!(own.secret_second_factor && !rotated.secret_second_factor);
    assert_eq!(store.service_account(own.id).await.unwrap(), Some(rotated));
    let disabled = store
        .disable_service_account(own.id, AccountReach::Tenant(ours), 5, &audit())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(disabled.disabled_at, Some(5));
    assert_eq!(disabled.owner, held);
}
