//! Sessions and the opaque secrets handed to clients (refresh tokens, MFA challenges,
//! service-account secrets): 256 random bits behind a prefix that says what they are (and lets
//! secret scanners find leaks), shown once, stored only as a SHA-256 hash. Also the two
//! housekeeping loops: revoked sessions published to every service, and expired credentials
//! pruned.

use std::sync::Arc;
use std::time::Duration;

use lms_runtime::clock::now;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::core::Core;
use crate::store::Store;

/// How often the store's revocations are republished: with the followers' own period, a
/// session ended by any path (sign-out, suspension, anonymisation, deletion, reuse) is refused
/// everywhere within about half a second.
const REPUBLISH_EVERY: Duration = Duration::from_millis(250);
/// How far behind the newest revocation seen the next read starts: longer than a write
/// transaction can stay open (the request deadline), so none commits unseen behind the cursor.
const REPUBLISH_OVERLAP: i64 = 30;
/// How often every revocation a live token could need is published again, in seconds.
const FULL_REPUBLISH_SECONDS: i64 = 60;
/// How often expired credentials are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// Attempt counts idle this long (and not locked) are forgotten.
const ATTEMPTS_KEPT: i64 = 24 * 3600;

/// The prefix of refresh tokens.
const PREFIX: &str = "lmsrt_";
/// The prefix of MFA challenges.
pub const CHALLENGE: &str = "lmsmfa_";
/// The prefix of service-account client secrets.
pub const CLIENT_SECRET: &str = "lmscs_";

/// A fresh secret with `prefix`, and its hash.
pub fn new_secret(prefix: &str) -> (String, Vec<u8>) {
    let token = format!("{prefix}{}", lms_runtime::secret::random_token(32));
    let hash = hash(&token);
    (token, hash)
}

/// A fresh refresh token and its hash.
pub fn new_refresh_token() -> (String, Vec<u8>) {
    new_secret(PREFIX)
}

/// The stored form of a token.
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// When the sign-in of session `family` happened (its id is a UUIDv7, stamped at sign-in); a
/// family without a time is treated as ancient, so it cannot outlive the session limit.
pub fn started_at(family: Uuid) -> i64 {
    family
        .get_timestamp()
        .map_or(0, |stamp| stamp.to_unix().0 as i64)
}

/// Publishes the revocations the store holds, again and again: the store is the truth and the
/// feed (this process, and Redis for the others) follows it, whatever path revoked a session
/// and whether or not an earlier publication failed.
pub async fn republish_revocations<S: Store + Clone>(
    core: Arc<Core<S>>,
    shutdown: CancellationToken,
) {
    let lifetime = core.sign_in.access_token_ttl_seconds as i64 + 60;
    let mut since = now() - lifetime;
    let mut last_full = now();
    loop {
        // Now and then everything still relevant again: Redis members can be removed by anyone
        // who can write there, and a process starting after that learns them from this.
        if now() - last_full >= FULL_REPUBLISH_SECONDS {
            since = now() - lifetime;
            last_full = now();
        }
        match core.store.sessions_revoked_since(since).await {
            Ok(revoked) => {
                let newest = revoked.iter().map(|(_, at)| *at).max();
                let sessions: Vec<(Uuid, i64)> =
                    revoked.into_iter().map(|(s, at)| (s, at * 1000)).collect();
                if core.revocations.revoke(&sessions).await.is_ok()
                    && let Some(newest) = newest
                {
                    // Re-read a window behind the newest seen: a revocation stamped earlier may
                    // commit later (its transaction still open when this one was read), and
                    // times are whole seconds.
                    since = since.max(newest.min(now()) - REPUBLISH_OVERLAP);
                }
            }
            Err(error) => tracing::warn!(%error, "cannot read revoked sessions"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(REPUBLISH_EVERY) => {}
        }
    }
}

/// Deletes expired challenges, refresh tokens, their revocations and idle attempt counts.
pub async fn prune_credentials<S: Store + Clone>(core: Arc<Core<S>>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(PRUNE_EVERY) => {}
        }
        let now = now();
        // Kept at least as long as an access token of the revoked session (or service secret)
        // may still be presented, whatever the configured lifetime.
        let idle_before = now
            - ATTEMPTS_KEPT
                .max(core.sign_in.lockout_max_seconds as i64)
                .max(core.sign_in.access_token_ttl_seconds as i64 + 60);
        match core.store.prune_credentials(now, idle_before).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "expired credentials pruned"),
            Err(error) => tracing::warn!(%error, "cannot prune expired credentials"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_only_their_hash_matches() {
        let (a, hash_a) = new_refresh_token();
        let (b, hash_b) = new_refresh_token();
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 43);
        assert_eq!(hash(&a), hash_a);
        assert_ne!(hash_a, hash_b);
    }

    #[test]
    fn a_session_starts_when_its_family_id_was_made() {
        let before = now();
        let started = started_at(Uuid::now_v7());
        assert!(started >= before && started <= now());
        assert_eq!(started_at(Uuid::new_v4()), 0);
    }
}
