//! The signing keys of access tokens: stored in identity's database so that every replica signs
//! with the same keys, rotated on a schedule, and published (JWKS) until the last token each
//! one signed has expired.
//!
//! A new key is published the moment it is made but signs only once it is three reload periods
//! old ([`Schedule::promote_after`]): every replica re-reads it from the store within one, every
//! follower (fetching at least once a reload) within the next, and the third absorbs a fetch in
//! flight and timer drift, so no token names a key a verifier has not seen (M10).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use lms_kernel::TenantId;
use lms_runtime::ApiError;
use lms_runtime::auth::{Claims, Scope, Scopes, SigningKey, SubjectKind, TokenVerifier, jwks_json};
use lms_runtime::clock::now;
use lms_runtime::config::{AuthConfig, SignInConfig};
use lms_runtime::peers::ServiceTokens;

use crate::store::{Store, StoreError};

/// When keys are made, start signing and retire, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Schedule {
    /// A new key is made when the newest is this old.
    rotation: i64,
    /// How often replicas re-read the stored keys.
    reload: i64,
    /// A key signs once this old: three reloads, so every replica and follower holds it.
    promote_after: i64,
    /// A key is deleted this long after its successor started signing: replicas may sign with
    /// it for one more reload, and its tokens live a token's lifetime plus leeway after that.
    retire_after: i64,
}

impl Schedule {
    fn new(auth: &AuthConfig, sign_in: &SignInConfig) -> Self {
        let reload = sign_in.signing_key_reload_seconds as i64;
        let promote_after = 3 * reload;
        Self {
            rotation: (sign_in.signing_key_rotation_hours * 3600) as i64,
            reload,
            promote_after,
            retire_after: reload + (sign_in.access_token_ttl_seconds + auth.leeway_seconds) as i64,
        }
    }

    /// Whether a new key is due: none is stored, or the newest is a rotation period old.
    fn rotation_due(&self, created: &[i64], now: i64) -> bool {
        created
            .last()
            .is_none_or(|newest| now - newest >= self.rotation)
    }

    /// The key that signs: the newest old enough to be known everywhere; while none is (the
    /// very first keys), the oldest, which every replica picks alike.
    fn signing(&self, created: &[i64], now: i64) -> usize {
        created
            .iter()
            .rposition(|created| now - created >= self.promote_after)
            .unwrap_or(0)
    }

    /// The keys before this index are retired: a newer key signed long enough ago that no
    /// replica signs with them and no token they signed is still valid.
    fn retired(&self, created: &[i64], now: i64) -> usize {
        created
            .iter()
            .rposition(|created| now - created >= self.promote_after + self.retire_after)
            .map_or(0, |successor| successor.min(self.signing(created, now)))
    }
}

/// The usable keys in creation order, never empty: `signing` signs; all are published.
struct KeySet {
    keys: Vec<(SigningKey, i64)>,
    signing: usize,
}

impl KeySet {
    fn all(&self) -> impl Iterator<Item = &SigningKey> {
        self.keys.iter().map(|(key, _)| key)
    }

    fn signing_key(&self) -> &SigningKey {
        &self.keys[self.signing].0
    }
}

/// The stored keys that decode, in creation order; the others are logged and skipped.
fn decoded(stored: Vec<(String, Vec<u8>, i64)>) -> Vec<(SigningKey, i64)> {
    let mut keys = Vec::with_capacity(stored.len());
    for (kid, der, created) in stored {
        match SigningKey::from_pkcs8_der(&kid, &der) {
            Ok(key) => keys.push((key, created)),
            Err(error) => tracing::error!(%kid, %error, "stored signing key unusable; skipped"),
        }
    }
    keys
}

/// The current keys: one signs; all are published.
#[derive(Clone)]
pub struct KeyRing {
    keys: Arc<RwLock<KeySet>>,
    issuer: String,
    audience: String,
    schedule: Schedule,
    access_ttl: Duration,
    verifier: TokenVerifier,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Loads the stored keys, making a first or a due one, and publishes them into `verifier`
    /// (identity's own, so its tokens verify here without a fetch).
    pub async fn load<S: Store>(
        store: &S,
        auth: &AuthConfig,
        sign_in: &SignInConfig,
        verifier: TokenVerifier,
    ) -> Result<Self, StoreError> {
        let schedule = Schedule::new(auth, sign_in);
        let keys = usable_keys(store, schedule).await?;
        publish(&verifier, &keys);
        Ok(Self {
            keys: Arc::new(RwLock::new(keys)),
            issuer: auth.issuer.clone(),
            audience: auth.audience.clone(),
            schedule,
            access_ttl: Duration::from_secs(sign_in.access_token_ttl_seconds),
            verifier,
        })
    }

    /// Re-reads the stored keys (those other replicas made, promotions) and makes a new one
    /// when the newest is due for rotation.
    pub async fn refresh<S: Store>(&self, store: &S) -> Result<(), StoreError> {
        let keys = usable_keys(store, self.schedule).await?;
        publish(&self.verifier, &keys);
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
        Ok(())
    }

    /// Keeps the keys fresh (rotation, keys other replicas made) until `shutdown`.
    pub fn spawn_refresh<S: Store + Clone>(
        &self,
        store: S,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        let ring = self.clone();
        let every = Duration::from_secs(self.schedule.reload as u64);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
                if let Err(error) = ring.refresh(&store).await {
                    tracing::warn!(%error, "signing keys not refreshed");
                }
            }
        });
    }

    /// The published key set.
    pub fn jwks(&self) -> String {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        jwks_json(keys.all())
    }

    /// How long access tokens live.
    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    /// Claims for `subject`, valid from now for the access-token lifetime.
    pub fn claims(&self, kind: SubjectKind, subject: String, tenant: Option<String>) -> Claims {
        Claims::new(
            &self.issuer,
            &self.audience,
            kind,
            subject,
            tenant,
            self.access_ttl,
        )
    }

    /// Signs `claims` with the current key (never one too new to be known everywhere).
    pub fn sign(&self, claims: &Claims) -> String {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        keys.signing_key().sign(claims)
    }
}

/// The stored keys that decode, after making a new one when the newest usable key is due for
/// rotation or none decodes at all, and which of them signs. Rotating past keys that do not
/// decode is safe: they can neither sign nor verify.
async fn usable_keys<S: Store>(store: &S, schedule: Schedule) -> Result<KeySet, StoreError> {
    let now = now();
    let mut keys = decoded(store.signing_keys().await?);
    let created = |keys: &[(SigningKey, i64)]| keys.iter().map(|(_, at)| *at).collect::<Vec<_>>();
    if schedule.rotation_due(&created(&keys), now) {
        let key = SigningKey::generate(format!("k{}", uuid::Uuid::now_v7().simple()));
        // Stored keys older than the first one still needed go with the new key's insert.
        let retired = schedule.retired(&created(&keys), now);
        let retire_before = keys.get(retired).map_or(i64::MIN, |(_, at)| *at);
        store
            .add_signing_key(key.kid(), key.pkcs8_der(), now, retire_before)
            .await?;
        tracing::info!(
            kid = key.kid(),
            "signing key made; it signs once every replica has it"
        );
        keys = decoded(store.signing_keys().await?);
        // The store answered without it (a racing delete): the key is ours, so keep it.
        if !keys.iter().any(|(stored, _)| stored.kid() == key.kid()) {
            keys.push((key, now));
        }
    }
    let created = created(&keys);
    // Retired keys are no longer published, even before the next rotation deletes them.
    let retired = schedule.retired(&created, now);
    let signing = schedule.signing(&created, now) - retired;
    keys.drain(..retired);
    Ok(KeySet { keys, signing })
}

/// Adds the keys to identity's own verifier. Merged like a follower's: a key another replica
/// made is kept while its tokens may live even after the store dropped it.
fn publish(verifier: &TokenVerifier, keys: &KeySet) {
    if let Err(error) = verifier.merge_published_keys(&jwks_json(keys.all())) {
        tracing::error!(%error, "own signing keys could not be published");
    }
}

/// The service account name identity acts as.
pub const SERVICE_NAME: &str = "identity";

/// What identity's own service tokens may do: push the people facts it owns, assign the roles
/// the people-data feed names, and ask decisions (escalation checks) about its people.
pub const SERVICE_SCOPES: [Scope; 3] = [Scope::PeopleFacts, Scope::AssignRoles, Scope::Decide];

/// Identity signs its own tenant-scoped service tokens with its current key.
#[tonic::async_trait]
impl ServiceTokens for KeyRing {
    async fn issue(&self, tenant: TenantId) -> Result<(String, Duration), ApiError> {
        let mut claims = self.claims(
            SubjectKind::Service,
            SERVICE_NAME.into(),
            Some(tenant.to_string()),
        );
        claims.scope = Some(Scopes::of(SERVICE_SCOPES).to_claim());
        Ok((self.sign(&claims), self.access_ttl()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reload 60 s (promotion at 180 s), rotation a day, retirement 990 s after promotion.
    fn schedule() -> Schedule {
        Schedule::new(&AuthConfig::default(), &SignInConfig::default())
    }

    #[test]
    fn a_new_key_signs_only_once_three_reloads_old() {
        let schedule = schedule();
        let created = [0, 86_400];
        assert_eq!(schedule.signing(&created, 86_400), 0, "published, not used");
        assert_eq!(schedule.signing(&created, 86_400 + 179), 0);
        assert_eq!(schedule.signing(&created, 86_400 + 180), 1);
    }

    #[test]
    fn the_very_first_key_signs_at_once_and_racing_first_keys_agree_on_the_oldest() {
        let schedule = schedule();
        assert_eq!(schedule.signing(&[100], 100), 0);
        assert_eq!(schedule.signing(&[100, 101], 101), 0);
    }

    #[test]
    fn rotation_is_due_when_the_newest_key_is_a_rotation_old_or_none_exists() {
        let schedule = schedule();
        assert!(schedule.rotation_due(&[], 0));
        assert!(!schedule.rotation_due(&[0, 10], 86_409));
        assert!(schedule.rotation_due(&[0, 10], 86_410));
    }

    #[test]
    fn a_key_retires_only_after_its_successor_signed_for_a_reload_and_a_token_lifetime() {
        let schedule = schedule();
        // Successor made at 86,400, signs from 86,580; replicas may use the old key until
        // 86,640, and its last tokens live until 86,640 + 900 + 30.
        let created = [0, 86_400];
        assert_eq!(schedule.retired(&created, 87_569), 0);
        assert_eq!(schedule.retired(&created, 87_570), 1);
    }

    #[test]
    fn the_signing_key_is_never_retired_even_after_a_long_outage() {
        let schedule = schedule();
        // Nobody ran for a week; a new key was just made and is not signing yet.
        let now = 8 * 86_400;
        let created = [0, 86_400, now];
        assert_eq!(schedule.signing(&created, now), 1);
        assert_eq!(schedule.retired(&created, now), 1);
    }
}
