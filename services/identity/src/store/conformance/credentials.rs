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
        .redeem_refresh_token(b"first", b"second", 10, 2_000)
        .await
        .unwrap();
    assert!(
        matches!(&rotated, Redeemed::Rotated(r) if r.family == family),
        "{rotated:?}"
    );
    let reused = store
        .redeem_refresh_token(b"first", b"third", 11, 2_000)
        .await
        .unwrap();
    assert!(
        matches!(&reused, Redeemed::Reused(r) if r.family == family),
        "{reused:?}"
    );
    let successor = store
        .redeem_refresh_token(b"second", b"fourth", 12, 2_000)
        .await
        .unwrap();
    assert!(
        matches!(&successor, Redeemed::Reused(r) if r.revoked),
        "reuse revoked the whole session, so its current token is dead too: {successor:?}"
    );
    assert_eq!(
        store
            .redeem_refresh_token(b"third", b"fifth", 13, 2_000)
            .await
            .unwrap(),
        Redeemed::Unknown,
        "a reuse stores no successor"
    );
}

pub(super) async fn a_totp_step_is_accepted_once(store: impl Store) {
    let (tenant, _, user) = tenant(&store).await;
    store.begin_totp(tenant, user, b"secret").await.unwrap();
    assert!(store.confirm_totp(tenant, user, 100).await.unwrap());
    assert!(
        !store.confirm_totp(tenant, user, 101).await.unwrap(),
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
