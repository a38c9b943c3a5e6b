//! Sessions ended before their access tokens expire: sign-out, a password change, suspension,
//! anonymisation, a reused refresh token. Access tokens are verified offline, so without this a
//! token would stay good for its whole lifetime (`sign_in.access_token_ttl_seconds`) after its
//! session ended. Identity records the revocation and [publishes](RevocationFeed::revoke) it;
//! every service's auth layer refuses user tokens of a revoked session (`TOKEN_REVOKED`).
//!
//! Each process keeps the revoked sessions it knows in memory ([`Revocations`], one per process,
//! so all services of `lms dev` see identity's revocations at once). With Redis configured,
//! identity adds each revocation to a sorted set (`<prefix>revoked-sessions`, scored by when) and
//! every process [follows](RevocationFeed::follow) it, reading what is new four times a second:
//! a revocation reaches every replica within about 250 ms, needs no subscription that could be
//! lost unnoticed, and a process that starts (or reconnects) reads everything still relevant.
//! A revocation is forgotten once every token of its session has expired.
//!
//! Anyone able to write to Redis could add or remove members (review finding 8). So each member
//! is `<mac>.<session>:<revoked at, ms>`, sealed for the set's key with `redis.revocations_mac_key`
//! ([`Sealer`]): a member without a valid MAC is ignored and counted
//! (`lms.auth.revocations.rejected`), so planting ids cannot deny anyone service, and the time a
//! revocation is remembered from is the authenticated one, not the score. A MAC cannot show that
//! a member was removed; instead a process never forgets a revocation it has seen before the
//! session's tokens expire (removing it from Redis does not un-revoke there), and identity
//! republishes every revocation still relevant from its store once a minute, so a process that
//! starts after a removal learns it within that minute.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::clock::now_ms;
use crate::redis::RedisEndpoint;
use crate::sealed::Sealer;
use crate::secret::SecretString;

/// How often followers read the shared set.
const FOLLOW_EVERY: Duration = Duration::from_millis(250);
/// Re-read this far back on every poll: writers' clocks may lag a little behind the reader's.
const CLOCK_OVERLAP_MS: i64 = 10_000;
/// The sorted set's key, after the deployment's prefix.
const KEY: &str = crate::redis_acl::REVOCATIONS_KEY;

/// The revoked sessions this process knows, each with when it may be forgotten (ms).
#[derive(Clone, Debug, Default)]
pub struct Revocations {
    sessions: Arc<RwLock<HashMap<String, i64>>>,
}

impl Revocations {
    /// The process's set, shared by every service it runs.
    pub fn shared() -> Revocations {
        static SHARED: OnceLock<Revocations> = OnceLock::new();
        SHARED.get_or_init(Revocations::default).clone()
    }

    /// Whether `session` was revoked.
    pub fn is_revoked(&self, session: &str) -> bool {
        let sessions = self.sessions.read().unwrap_or_else(|p| p.into_inner());
        !sessions.is_empty() && sessions.contains_key(session)
    }

    /// Records `session` as revoked until `forget_at_ms`.
    pub fn insert(&self, session: Uuid, forget_at_ms: i64) {
        let mut sessions = self.sessions.write().unwrap_or_else(|p| p.into_inner());
        let now = now_ms();
        // Forgetting expired entries here keeps the map bounded without a sweeper.
        if sessions.len() > 1024 && sessions.len().is_power_of_two() {
            sessions.retain(|_, forget| *forget > now);
        }
        sessions.insert(session.to_string(), forget_at_ms);
    }

    /// How many sessions are known revoked.
    pub fn len(&self) -> usize {
        self.sessions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A Redis connection made on first use and remade after failures, so Redis being down at start
/// delays propagation instead of stopping the service.
#[derive(Clone)]
struct LazyRedis {
    client: redis::Client,
    connection: Arc<OnceCell<ConnectionManager>>,
    key: Arc<str>,
    /// Seals the members identity adds and checks those every process reads.
    sealer: Sealer,
    rejected: opentelemetry::metrics::Counter<u64>,
}

impl LazyRedis {
    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(1);
        self.connection
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
            .await
            .cloned()
    }
}

/// Where revocations go and come from: this process's [`Revocations`], and the shared set in
/// Redis when one is configured.
#[derive(Clone)]
pub struct RevocationFeed {
    local: Revocations,
    redis: Option<LazyRedis>,
    /// How long after its revocation a session's tokens may still be presented.
    remember_ms: i64,
}

impl std::fmt::Debug for RevocationFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationFeed")
            .field("redis", &self.redis.is_some())
            .field("known", &self.local.len())
            .finish()
    }
}

impl RevocationFeed {
    /// A feed into `local`, shared through Redis at `endpoint` under `prefix` when given, its
    /// members authenticated with `mac_key`. Tokens live at most `token_lifetime` (plus
    /// verification leeway, included by the caller).
    pub fn new(
        local: Revocations,
        redis: Option<(&RedisEndpoint, &str, &SecretString)>,
        token_lifetime: Duration,
    ) -> Result<Self, redis::RedisError> {
        let redis = redis
            .map(|(endpoint, prefix, mac_key)| {
                Ok::<_, redis::RedisError>(LazyRedis {
                    client: endpoint.client()?,
                    connection: Arc::default(),
                    key: format!("{prefix}{KEY}").into(),
                    sealer: Sealer::new(mac_key),
                    rejected: opentelemetry::global::meter("lms")
                        .u64_counter("lms.auth.revocations.rejected")
                        .with_description(
                            "Ended-session entries read from Redis that failed their MAC \
                             (planted or corrupted), ignored",
                        )
                        .build(),
                })
            })
            .transpose()?;
        Ok(Self {
            local,
            redis,
            remember_ms: token_lifetime.as_millis() as i64,
        })
    }

    /// The process's set this feed fills.
    pub fn local(&self) -> &Revocations {
        &self.local
    }

    /// Revokes `sessions` (revoked at `revoked_at_ms`) here at once and, with Redis, everywhere.
    /// A Redis failure is logged and returned; the caller's store keeps the revocation, and
    /// identity republishes what its store holds.
    pub async fn revoke(&self, sessions: &[(Uuid, i64)]) -> Result<(), redis::RedisError> {
        for (session, revoked_at_ms) in sessions {
            self.local
                .insert(*session, revoked_at_ms + self.remember_ms);
        }
        let Some(redis) = &self.redis else {
            return Ok(());
        };
        if sessions.is_empty() {
            return Ok(());
        }
        let result = async {
            let mut connection = redis.connection().await?;
            let mut pipe = redis::pipe();
            for (session, revoked_at_ms) in sessions {
                let member = redis
                    .sealer
                    .seal(&redis.key, &format!("{session}:{revoked_at_ms}"));
                pipe.zadd(&*redis.key, member, *revoked_at_ms).ignore();
            }
            // Forget what no token can need any more.
            pipe.zrembyscore(
                &*redis.key,
                "-inf",
                now_ms() - self.remember_ms - CLOCK_OVERLAP_MS,
            )
            .ignore();
            pipe.query_async::<()>(&mut connection).await
        }
        .await;
        if let Err(error) = &result {
            tracing::warn!(%error, "could not publish session revocations; other processes learn them on republish");
        }
        result
    }

    /// Reads the revocations published since `since_ms` (minus a clock overlap) into this
    /// process; answers the newest time seen.
    async fn read_since(&self, since_ms: i64) -> redis::RedisResult<i64> {
        let Some(redis) = &self.redis else {
            return Ok(since_ms);
        };
        let mut connection = redis.connection().await?;
        let from = since_ms.saturating_sub(CLOCK_OVERLAP_MS).max(0);
        let found: Vec<(String, i64)> = redis::cmd("ZRANGEBYSCORE")
            .arg(&*redis.key)
            .arg(from)
            .arg("+inf")
            .arg("WITHSCORES")
            .query_async(&mut connection)
            .await?;
        let mut newest = since_ms;
        // A time ahead of this clock (a writer whose clock runs fast) is neither trusted to move
        // the cursor nor remembered past a token's life from now.
        let now = now_ms();
        let mut rejected = 0u64;
        for (member, score) in found {
            let Some((session, revoked_at_ms)) = open_member(&redis.sealer, &redis.key, &member)
            else {
                rejected += 1;
                continue;
            };
            // Identity scores a member with its sealed time: only those move the cursor.
            let revoked_at_ms = revoked_at_ms.min(now).min(score);
            self.local.insert(session, revoked_at_ms + self.remember_ms);
            newest = newest.max(revoked_at_ms);
        }
        if rejected > 0 {
            redis.rejected.add(rejected, &[]);
            tracing::warn!(
                rejected,
                "ended-session entries in Redis without a valid MAC ignored"
            );
        }
        Ok(newest)
    }

    /// Follows the shared set until `shutdown`: every process runs this when Redis is configured.
    pub async fn follow(self, shutdown: CancellationToken) {
        if self.redis.is_none() {
            return;
        }
        // Start with everything a live token could still need.
        let mut since = now_ms() - self.remember_ms;
        let mut failing = false;
        loop {
            match self.read_since(since).await {
                Ok(newest) => {
                    since = newest;
                    if failing {
                        tracing::info!("following session revocations again");
                        failing = false;
                    }
                }
                Err(error) if !failing => {
                    tracing::warn!(%error, "cannot read session revocations; retrying");
                    failing = true;
                }
                Err(_) => {}
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(FOLLOW_EVERY) => {}
            }
        }
    }
}

/// The session and revocation time a member names, if it was sealed for `key` with this key.
fn open_member(sealer: &Sealer, key: &str, member: &str) -> Option<(Uuid, i64)> {
    let (session, revoked_at_ms) = sealer.open(key, member)?.split_once(':')?;
    Some((Uuid::try_parse(session).ok()?, revoked_at_ms.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_members_sealed_with_the_key_for_this_set_name_a_revoked_session() {
        let sealer = Sealer::new(&SecretString::new("the revocations key, 32+ characters"));
        let session = Uuid::now_v7();
        let member = sealer.seal("lms:revoked-sessions", &format!("{session}:1234"));
        assert_eq!(
            open_member(&sealer, "lms:revoked-sessions", &member),
            Some((session, 1234))
        );
        assert_eq!(
            open_member(&sealer, "lms:revoked-sessions", &session.to_string()),
            None
        );
        assert_eq!(
            open_member(&sealer, "other:revoked-sessions", &member),
            None
        );
        let later = member.replace(":1234", ":9999");
        assert_eq!(open_member(&sealer, "lms:revoked-sessions", &later), None);
    }

    #[test]
    fn a_revoked_session_is_known_until_forgotten() {
        let revocations = Revocations::default();
        let session = Uuid::now_v7();
        assert!(!revocations.is_revoked(&session.to_string()));
        revocations.insert(session, now_ms() + 60_000);
        assert!(revocations.is_revoked(&session.to_string()));
        assert!(!revocations.is_revoked(&Uuid::now_v7().to_string()));
    }
}
