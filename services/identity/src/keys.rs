//! The signing keys of access tokens: stored in identity's database so that every replica signs
//! with the same keys, rotated on a schedule, and published (JWKS) until the last token each
//! one signed has expired.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use lms_kernel::TenantId;
use lms_runtime::ApiError;
use lms_runtime::auth::{Claims, SigningKey, SubjectKind, TokenVerifier, jwks_json};
use lms_runtime::clock::now;
use lms_runtime::config::{AuthConfig, SignInConfig};
use lms_runtime::peers::ServiceTokens;

use crate::store::{Store, StoreError};

/// How often replicas look for a key another replica made.
const RELOAD: Duration = Duration::from_secs(60);

/// The usable keys, never empty: `newest` signs; all are published.
struct KeySet {
    newest: (SigningKey, i64),
    older: Vec<(SigningKey, i64)>,
}

impl KeySet {
    /// The decoded keys in creation order; `None` when there is none.
    fn of(mut keys: Vec<(SigningKey, i64)>) -> Option<KeySet> {
        let newest = keys.pop()?;
        Some(KeySet {
            newest,
            older: keys,
        })
    }

    fn all(&self) -> impl Iterator<Item = &SigningKey> {
        self.older
            .iter()
            .chain(std::iter::once(&self.newest))
            .map(|(key, _)| key)
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

/// The current keys: the newest signs; all are published.
#[derive(Clone)]
pub struct KeyRing {
    keys: Arc<RwLock<KeySet>>,
    issuer: String,
    audience: String,
    rotation_seconds: i64,
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
        let rotation_seconds = (sign_in.signing_key_rotation_hours * 3600) as i64;
        let access_ttl = Duration::from_secs(sign_in.access_token_ttl_seconds);
        let keys = usable_keys(store, rotation_seconds, access_ttl).await?;
        publish(&verifier, &keys);
        Ok(Self {
            keys: Arc::new(RwLock::new(keys)),
            issuer: auth.issuer.clone(),
            audience: auth.audience.clone(),
            rotation_seconds,
            access_ttl,
            verifier,
        })
    }

    /// Re-reads the stored keys and makes a new one when the newest is due for rotation.
    pub async fn refresh<S: Store>(&self, store: &S) -> Result<(), StoreError> {
        let keys = usable_keys(store, self.rotation_seconds, self.access_ttl).await?;
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
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(RELOAD) => {}
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

    /// Signs `claims` with the newest key.
    pub fn sign(&self, claims: &Claims) -> String {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        keys.newest.0.sign(claims)
    }
}

/// The stored keys that decode, after making a new one when the newest usable key is due for
/// rotation or none decodes at all. Rotating past keys that do not decode is safe: they can
/// neither sign nor verify, and older usable keys stay published until they retire.
async fn usable_keys<S: Store>(
    store: &S,
    rotation_seconds: i64,
    access_ttl: Duration,
) -> Result<KeySet, StoreError> {
    let now = now();
    let keys = decoded(store.signing_keys().await?);
    let due = keys
        .last()
        .is_none_or(|(_, created)| now - created >= rotation_seconds);
    if !due && let Some(keys) = KeySet::of(keys) {
        return Ok(keys);
    }
    let key = SigningKey::generate(format!("k{}", uuid::Uuid::now_v7().simple()));
    // A key stays while tokens it signed may live: one rotation period plus a token's life.
    let retire_before = now - rotation_seconds - access_ttl.as_secs() as i64;
    store
        .add_signing_key(key.kid(), key.pkcs8_der(), now, retire_before)
        .await?;
    tracing::info!(kid = key.kid(), "signing key rotated");
    let mut older = decoded(store.signing_keys().await?);
    // Ours signs (even if another replica rotated at the same moment), so the set holds a key
    // whatever the store answered.
    older.retain(|(stored, _)| stored.kid() != key.kid());
    Ok(KeySet {
        newest: (key, now),
        older,
    })
}

fn publish(verifier: &TokenVerifier, keys: &KeySet) {
    if let Err(error) = verifier.replace_published_keys(&jwks_json(keys.all())) {
        tracing::error!(%error, "own signing keys could not be published");
    }
}

/// The service account name identity acts as.
pub const SERVICE_NAME: &str = "identity";

/// Identity signs its own tenant-scoped service tokens with its current key.
impl ServiceTokens for KeyRing {
    fn issue(&self, tenant: TenantId) -> Result<(String, Duration), ApiError> {
        let claims = self.claims(
            SubjectKind::Service,
            SERVICE_NAME.into(),
            Some(tenant.to_string()),
        );
        Ok((self.sign(&claims), self.access_ttl()))
    }
}
