use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lms_kernel::{TenantId, UserId};

use super::claims::{Caller, Claims, SubjectKind};
use super::revocations::Revocations;
use super::scope::Scopes;
use crate::error::ApiError;

/// Why a token was refused. Each maps to UNAUTHENTICATED with its own `ErrorInfo` reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No `authorization: Bearer …` header.
    #[error("missing bearer token")]
    Missing,
    /// Not a JWT, or claims of the wrong shape.
    #[error("malformed bearer token")]
    Malformed,
    /// Past its `exp`.
    #[error("bearer token expired")]
    Expired,
    /// Bad signature, unknown key, wrong issuer or audience, not yet valid.
    #[error("bearer token rejected: {0}")]
    Invalid(&'static str),
    /// Its sign-in session ended (sign-out, password change, suspension, ...).
    #[error("bearer token's session has ended; sign in again")]
    Revoked,
}

impl TokenError {
    /// The `ErrorInfo.reason` clients branch on.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::Missing => "TOKEN_MISSING",
            TokenError::Malformed => "TOKEN_MALFORMED",
            TokenError::Expired => "TOKEN_EXPIRED",
            TokenError::Invalid(_) => "TOKEN_INVALID",
            TokenError::Revoked => "TOKEN_REVOKED",
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> Self {
        ApiError::Unauthenticated {
            reason: error.reason(),
            message: error.to_string(),
        }
    }
}

/// The configuration a JWKS could not be read from.
#[derive(Debug, thiserror::Error)]
#[error("invalid JWKS: {0}")]
pub struct JwksError(String);

/// Verifies access tokens against a key set. Cheap to clone; key rotation replaces the set in place.
///
/// Verified tokens are remembered (by their exact text) for at most [`VERIFIED_TTL`] and never
/// past their own expiry, so a caller's repeated requests skip the signature check; rotating the
/// keys forgets them all.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: Arc<RwLock<KeySets>>,
    validation: Arc<Validation>,
    verified: moka::sync::Cache<Arc<str>, (Caller, u64, u64)>,
    /// Bumped on every key rotation; remembered tokens of an older generation are ignored.
    generation: Arc<std::sync::atomic::AtomicU64>,
    /// Signalled when a token names a key not in the set, so published keys are fetched early.
    unknown_key: Arc<tokio::sync::Notify>,
    /// Sessions ended before their tokens expire: their user tokens are refused.
    revocations: Revocations,
    /// How long published keys are kept without being seen in identity's answers.
    retention: PublishedRetention,
    /// Whether the verifier holds any key at all (readiness waits for one).
    holds_keys: Arc<tokio::sync::watch::Sender<bool>>,
}

/// How long a key identity published stays trusted after it was last seen in an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishedRetention {
    /// While identity answers without it: a token's lifetime plus leeway, so tokens it signed
    /// before identity retired it still verify, and a stale replica's answer removes nothing
    /// another replica published a moment ago.
    pub absent: Duration,
    /// While identity does not answer at all: one rotation period plus a token's lifetime, after
    /// which no token it signed can still be valid, so a partitioned replica stops trusting a
    /// key identity has long retired.
    pub unrefreshed: Duration,
}

impl PublishedRetention {
    /// The retention for access tokens living `token_lifetime` (leeway included), signed by keys
    /// that rotate every `rotation`.
    pub fn new(token_lifetime: Duration, rotation: Duration) -> Self {
        Self {
            absent: token_lifetime,
            unrefreshed: rotation + token_lifetime,
        }
    }
}

impl Default for PublishedRetention {
    /// The platform defaults: 15-minute tokens, 30 s leeway, daily rotation.
    fn default() -> Self {
        Self::new(Duration::from_secs(930), Duration::from_secs(24 * 3600))
    }
}

/// A key identity publishes and when an answer last held it.
struct Published {
    key: DecodingKey,
    seen: Instant,
}

/// Where a key came from decides which tokens it may sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// `auth.jwks`: the operator key, trusted for operator tokens only.
    Configured,
    /// Identity's signing keys: trusted for every token identity issues.
    Published,
}

/// The keys a verifier trusts: those configured (`auth.jwks`) and those identity publishes.
#[derive(Default)]
struct KeySets {
    configured: HashMap<String, DecodingKey>,
    published: HashMap<String, Published>,
}

impl KeySets {
    /// The key named `kid`; a published key not refreshed within `unrefreshed` is no longer
    /// trusted even before a sweep removes it.
    fn get(&self, kid: &str, unrefreshed: Duration) -> Option<(&DecodingKey, Source)> {
        if let Some(published) = self.published.get(kid)
            && published.seen.elapsed() <= unrefreshed
        {
            return Some((&published.key, Source::Published));
        }
        self.configured
            .get(kid)
            .map(|key| (key, Source::Configured))
    }

    fn kids(&self) -> Vec<String> {
        self.configured
            .keys()
            .chain(self.published.keys())
            .cloned()
            .collect()
    }

    fn is_empty(&self) -> bool {
        self.configured.is_empty() && self.published.is_empty()
    }
}

fn parse_jwks(jwks: &str) -> Result<HashMap<String, DecodingKey>, JwksError> {
    let set: JwkSet = serde_json::from_str(jwks).map_err(|e| JwksError(e.to_string()))?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let kid = jwk
            .common
            .key_id
            .clone()
            .ok_or_else(|| JwksError("every key needs a kid".into()))?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| JwksError(e.to_string()))?;
        keys.insert(kid, key);
    }
    Ok(keys)
}

/// How long a verified token is remembered.
pub const VERIFIED_TTL: std::time::Duration = std::time::Duration::from_secs(60);

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<String> = self.keys.read().map(|keys| keys.kids()).unwrap_or_default();
        f.debug_struct("TokenVerifier")
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// A verifier for tokens of `issuer` and `audience`, signed by a key of `jwks`.
    pub fn new(
        jwks: &str,
        issuer: &str,
        audience: &str,
        leeway_seconds: u64,
    ) -> Result<Self, JwksError> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = leeway_seconds;
        validation.validate_nbf = true;
        let verifier = Self {
            keys: Arc::default(),
            validation: Arc::new(validation),
            verified: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(VERIFIED_TTL)
                .build(),
            generation: Arc::default(),
            unknown_key: Arc::default(),
            revocations: Revocations::shared(),
            retention: PublishedRetention::default(),
            holds_keys: Arc::new(tokio::sync::watch::Sender::new(false)),
        };
        verifier.replace_keys(jwks)?;
        Ok(verifier)
    }

    /// Keeps published keys for `retention` after they were last seen (set before cloning).
    pub fn with_published_retention(mut self, retention: PublishedRetention) -> Self {
        self.retention = retention;
        self
    }

    /// Replaces the configured key set (rotation). Tokens signed by a removed key stop verifying.
    pub fn replace_keys(&self, jwks: &str) -> Result<(), JwksError> {
        let keys = parse_jwks(jwks)?;
        self.update(|sets| {
            sets.configured = keys;
            true
        });
        Ok(())
    }

    /// Replaces the keys identity publishes with exactly `jwks` (a test standing in for
    /// identity). Followers and identity itself merge instead ([`Self::merge_published_keys`]).
    pub fn replace_published_keys(&self, jwks: &str) -> Result<bool, JwksError> {
        let keys = parse_jwks(jwks)?;
        let seen = Instant::now();
        Ok(self.update(|sets| {
            // Key ids are never reused with other material, so equal ids mean an equal set.
            let changed = sets.published.len() != keys.len()
                || keys.keys().any(|kid| !sets.published.contains_key(kid));
            sets.published = keys
                .into_iter()
                .map(|(kid, key)| (kid, Published { key, seen }))
                .collect();
            changed
        }))
    }

    /// Merges one answer of identity's published keys into those held: every key it names is
    /// (re)trusted, and a key it does not name is dropped only once it has been missing for
    /// the retention's `absent` time. Replicas answer one after another behind one address, so
    /// a stale or partial answer must never remove a key another replica published (M10).
    /// Answers whether the set changed.
    pub fn merge_published_keys(&self, jwks: &str) -> Result<bool, JwksError> {
        let keys = parse_jwks(jwks)?;
        Ok(self.merge_published_at(keys, Instant::now()))
    }

    fn merge_published_at(&self, keys: HashMap<String, DecodingKey>, now: Instant) -> bool {
        let absent = self.retention.absent;
        self.update(|sets| {
            let mut changed = false;
            for (kid, key) in keys {
                changed |= sets
                    .published
                    .insert(kid, Published { key, seen: now })
                    .is_none();
            }
            let before = sets.published.len();
            sets.published
                .retain(|_, published| now.saturating_duration_since(published.seen) <= absent);
            changed || sets.published.len() != before
        })
    }

    /// Drops the published keys no answer has held for the retention's `unrefreshed` time
    /// (identity unreachable: a partitioned service stops trusting retired keys).
    pub fn expire_published_keys(&self) -> bool {
        self.expire_published_at(Instant::now())
    }

    fn expire_published_at(&self, now: Instant) -> bool {
        let unrefreshed = self.retention.unrefreshed;
        self.update(|sets| {
            let before = sets.published.len();
            sets.published.retain(|_, published| {
                now.saturating_duration_since(published.seen) <= unrefreshed
            });
            sets.published.len() != before
        })
    }

    /// Applies `change` to the key sets; when it reports a change, tokens remembered as
    /// verified are forgotten (a removed key must stop verifying) and key presence is updated.
    fn update(&self, change: impl FnOnce(&mut KeySets) -> bool) -> bool {
        let (changed, holds) = {
            let mut sets = self
                .keys
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            (change(&mut sets), !sets.is_empty())
        };
        if changed {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.verified.invalidate_all();
        }
        self.holds_keys.send_if_modified(|held| {
            let modified = *held != holds;
            *held = holds;
            modified
        });
        changed
    }

    /// Whether any key is held to verify tokens with (configured or published).
    pub fn holds_keys(&self) -> bool {
        *self.holds_keys.borrow()
    }

    /// Follows [`Self::holds_keys`]: readiness waits on it.
    pub fn key_presence(&self) -> tokio::sync::watch::Receiver<bool> {
        self.holds_keys.subscribe()
    }

    /// Completes when a token named a key this verifier does not know.
    pub async fn unknown_key_seen(&self) {
        self.unknown_key.notified().await;
    }

    /// The revoked sessions this verifier refuses (the process's set unless replaced).
    pub fn revocations(&self) -> &Revocations {
        &self.revocations
    }

    /// Refuses the sessions of `revocations` instead of the process's set (tests).
    pub fn with_revocations(mut self, revocations: Revocations) -> Self {
        self.revocations = revocations;
        self
    }

    /// Verifies a compact JWT and answers the caller it names; a user token whose session was
    /// revoked is refused even while its signature and expiry are good.
    pub fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        let caller = self.verify_unrevoked(token)?;
        if let Some(session) = caller.session()
            && self.revocations.is_revoked(session)
        {
            return Err(TokenError::Revoked);
        }
        Ok(caller)
    }

    fn verify_unrevoked(&self, token: &str) -> Result<Caller, TokenError> {
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        if let Some((caller, expires, remembered)) = self.verified.get(token)
            && remembered == generation
        {
            return if unix_now() < expires + self.validation.leeway {
                Ok(caller)
            } else {
                Err(TokenError::Expired)
            };
        }
        let (caller, expires) = self.verify_signature(token)?;
        self.verified
            .insert(token.into(), (caller.clone(), expires, generation));
        Ok(caller)
    }

    fn verify_signature(&self, token: &str) -> Result<(Caller, u64), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        let kid = header
            .kid
            .ok_or(TokenError::Invalid("token names no key"))?;
        let claims = {
            let keys = self
                .keys
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let Some((key, source)) = keys.get(&kid, self.retention.unrefreshed) else {
                self.unknown_key.notify_one();
                return Err(TokenError::Invalid("unknown signing key"));
            };
            let claims = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
                .map_err(|error| match error.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    ErrorKind::InvalidSignature => TokenError::Invalid("bad signature"),
                    ErrorKind::InvalidIssuer => TokenError::Invalid("wrong issuer"),
                    ErrorKind::InvalidAudience => TokenError::Invalid("wrong audience"),
                    ErrorKind::ImmatureSignature => TokenError::Invalid("not yet valid"),
                    ErrorKind::InvalidAlgorithm => TokenError::Invalid("wrong algorithm"),
                    _ => TokenError::Malformed,
                })?
                .claims;
            // The configured key is the operator's (M9): it vouches for platform operators,
            // never for people or for a tenant's services, which only identity's keys sign.
            if source == Source::Configured
                && (claims.kind != SubjectKind::Service || claims.tid.is_some())
            {
                return Err(TokenError::Invalid(
                    "configured keys verify only operator tokens",
                ));
            }
            claims
        };
        let expires = claims.exp;
        Ok((caller_from(claims)?, expires))
    }
}

fn caller_from(claims: Claims) -> Result<Caller, TokenError> {
    match claims.kind {
        SubjectKind::User => {
            // A holder bounds an integration; a person is bounded by themselves.
            if claims.hld.is_some() {
                return Err(TokenError::Malformed);
            }
            let tenant = claims
                .tid
                .as_deref()
                .and_then(|tid| TenantId::parse(tid).ok())
                .ok_or(TokenError::Malformed)?;
            let user = UserId::parse(&claims.sub).map_err(|_| TokenError::Malformed)?;
            Ok(Caller::User {
                tenant,
                user,
                mfa: claims.amr.iter().any(|method| method == "otp"),
                token_id: claims.jti,
                session: claims.sid,
            })
        }
        SubjectKind::Service => {
            let tenant = match claims.tid.as_deref() {
                Some(tid) => Some(TenantId::parse(tid).map_err(|_| TokenError::Malformed)?),
                None => None,
            };
            let scopes = claims
                .scope
                .as_deref()
                .map_or(Scopes::NONE, Scopes::from_claim);
            match (tenant, claims.sid) {
                // A tenant's account: an integration (see `Claims::sid`), unless a platform
                // account's token was narrowed to the tenant.
                (Some(tenant), Some(session)) if !claims.plt => {
                    let holder = claims
                        .hld
                        .as_deref()
                        .map(UserId::parse)
                        .transpose()
                        .map_err(|_| TokenError::Malformed)?;
                    Ok(Caller::Integration {
                        name: claims.sub,
                        tenant,
                        token_id: claims.jti,
                        session,
                        // Issuance already keeps tenant accounts to these; a row edited by hand
                        // or an issuance bug still gives an integration nothing more.
                        scopes: scopes.only_for_tenant_accounts(),
                        // Without a holder no person's session bounds it.
                        mfa: holder.is_some() && claims.amr.iter().any(|m| m == "otp"),
                        holder,
                    })
                }
                // A holder bounds only an integration, which a tenant's account secret makes.
                _ if claims.hld.is_some() => Err(TokenError::Malformed),
                // Narrowing is for platform accounts' secrets, which a token without one is not.
                (_, None) if claims.plt => Err(TokenError::Malformed),
                (tenant, session) => Ok(Caller::Service {
                    tenant,
                    name: claims.sub,
                    token_id: claims.jti,
                    session,
                    scopes,
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::auth::{SigningKey, TokenIssuer, jwks_json};

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(SigningKey::generate("k1"), "lms-identity", "lms-access")
    }

    /// A verifier trusting `issuer` as identity (a published key).
    fn verifier_for(issuer: &TokenIssuer) -> TokenVerifier {
        let verifier = TokenVerifier::new(NO_KEYS, "lms-identity", "lms-access", 0).unwrap();
        verifier
            .replace_published_keys(&jwks_json([issuer.key()]))
            .unwrap();
        verifier
    }

    const NO_KEYS: &str = r#"{"keys":[]}"#;

    fn keys_of(issuer: &TokenIssuer) -> HashMap<String, DecodingKey> {
        parse_jwks(&jwks_json([issuer.key()])).unwrap()
    }

    fn named_issuer(kid: &str) -> TokenIssuer {
        TokenIssuer::new(SigningKey::generate(kid), "lms-identity", "lms-access")
    }

    fn user_token(issuer: &TokenIssuer) -> String {
        issuer.sign(&issuer.claims(
            SubjectKind::User,
            UserId::generate().to_string(),
            Some(TenantId::generate().to_string()),
            Duration::from_secs(60),
        ))
    }

    fn following(retention: PublishedRetention) -> TokenVerifier {
        TokenVerifier::new(NO_KEYS, "lms-identity", "lms-access", 0)
            .unwrap()
            .with_published_retention(retention)
    }

    const RETENTION: PublishedRetention = PublishedRetention {
        absent: Duration::from_secs(100),
        unrefreshed: Duration::from_secs(1000),
    };

    #[test]
    fn an_answer_without_a_key_another_replica_published_keeps_it() {
        let (old, new) = (named_issuer("old"), named_issuer("new"));
        let verifier = following(RETENTION);
        let start = Instant::now();
        // One replica already publishes the new key, a stale one does not yet.
        let both = parse_jwks(&jwks_json([old.key(), new.key()])).unwrap();
        assert!(verifier.merge_published_at(both, start));
        assert!(!verifier.merge_published_at(keys_of(&old), start + Duration::from_secs(1)));
        assert!(verifier.verify(&user_token(&new)).is_ok());
        assert!(verifier.verify(&user_token(&old)).is_ok());
    }

    #[test]
    fn a_key_missing_from_answers_longer_than_a_token_lifetime_is_dropped() {
        let (old, new) = (named_issuer("old"), named_issuer("new"));
        let verifier = following(RETENTION);
        let start = Instant::now();
        let token = user_token(&old);
        verifier.merge_published_at(keys_of(&old), start);
        assert!(verifier.verify(&token).is_ok());
        // Identity retired it: still trusted while its tokens may live ...
        verifier.merge_published_at(keys_of(&new), start + Duration::from_secs(100));
        assert!(verifier.verify(&token).is_ok());
        // ... then gone, and the remembered verification with it.
        assert!(verifier.merge_published_at(keys_of(&new), start + Duration::from_secs(101)));
        assert_eq!(
            verifier.verify(&token).unwrap_err(),
            TokenError::Invalid("unknown signing key")
        );
        assert!(verifier.verify(&user_token(&new)).is_ok());
    }

    #[test]
    fn published_keys_not_refreshed_for_rotation_and_token_lifetime_expire() {
        let key = named_issuer("k");
        let verifier = following(RETENTION);
        let start = Instant::now();
        verifier.merge_published_at(keys_of(&key), start);
        assert!(!verifier.expire_published_at(start + Duration::from_secs(1000)));
        assert!(verifier.verify(&user_token(&key)).is_ok());
        assert!(verifier.holds_keys());
        assert!(verifier.expire_published_at(start + Duration::from_secs(1001)));
        assert_eq!(
            verifier.verify(&user_token(&key)).unwrap_err(),
            TokenError::Invalid("unknown signing key")
        );
        assert!(!verifier.holds_keys(), "nothing left to verify with");
    }

    #[test]
    fn key_presence_follows_the_first_key_learned() {
        let verifier = following(RETENTION);
        let presence = verifier.key_presence();
        assert!(!verifier.holds_keys());
        verifier
            .merge_published_keys(&jwks_json([named_issuer("k").key()]))
            .unwrap();
        assert!(presence.has_changed().unwrap());
        assert!(*presence.borrow());
    }

    #[test]
    fn configured_keys_verify_only_operator_tokens() {
        let operator = named_issuer("operator");
        let verifier = TokenVerifier::new(
            &jwks_json([operator.key()]),
            "lms-identity",
            "lms-access",
            0,
        )
        .unwrap();
        assert!(verifier.holds_keys());
        let ops = operator.sign(&operator.claims(
            SubjectKind::Service,
            "ops",
            None,
            Duration::from_secs(60),
        ));
        assert!(matches!(
            verifier.verify(&ops),
            Ok(Caller::Service { tenant: None, .. })
        ));
        let tenant_service = operator.sign(&operator.claims(
            SubjectKind::Service,
            "ops",
            Some(TenantId::generate().to_string()),
            Duration::from_secs(60),
        ));
        for token in [user_token(&operator), tenant_service] {
            assert_eq!(
                verifier.verify(&token).unwrap_err(),
                TokenError::Invalid("configured keys verify only operator tokens")
            );
        }
    }

    #[test]
    fn a_user_token_verifies_to_its_tenant_and_user() {
        let issuer = issuer();
        let (tenant, user) = (TenantId::generate(), UserId::generate());
        let claims = issuer.claims(
            SubjectKind::User,
            user.to_string(),
            Some(tenant.to_string()),
            Duration::from_secs(60),
        );
        let caller = verifier_for(&issuer).verify(&issuer.sign(&claims)).unwrap();
        assert_eq!(caller.tenant(), Some(tenant));
        assert_eq!(caller.user(), Some(user));
    }

    #[test]
    fn expired_tokens_are_refused_as_expired() {
        let issuer = issuer();
        let mut claims = issuer.claims(SubjectKind::Service, "delegation", None, Duration::ZERO);
        claims.exp -= 120;
        let error = verifier_for(&issuer)
            .verify(&issuer.sign(&claims))
            .unwrap_err();
        assert_eq!(error, TokenError::Expired);
    }

    #[test]
    fn tokens_from_another_key_are_refused() {
        let (ours, theirs) = (issuer(), issuer());
        let claims = theirs.claims(SubjectKind::Service, "x", None, Duration::from_secs(60));
        // Same kid, different key: the signature does not verify.
        let error = verifier_for(&ours)
            .verify(&theirs.sign(&claims))
            .unwrap_err();
        assert_eq!(error, TokenError::Invalid("bad signature"));
    }

    #[test]
    fn wrong_audience_and_garbage_are_refused() {
        let issuer = issuer();
        let mut claims = issuer.claims(SubjectKind::Service, "x", None, Duration::from_secs(60));
        claims.aud = "someone-else".into();
        let verifier = verifier_for(&issuer);
        assert_eq!(
            verifier.verify(&issuer.sign(&claims)).unwrap_err(),
            TokenError::Invalid("wrong audience")
        );
        assert_eq!(
            verifier.verify("not.a.jwt").unwrap_err(),
            TokenError::Malformed
        );
    }

    #[test]
    fn rotating_the_keys_forgets_tokens_verified_before() {
        let (old, new) = (issuer(), issuer());
        // Configured keys (operator tokens), replaced under the same key id.
        let verifier =
            TokenVerifier::new(&jwks_json([old.key()]), "lms-identity", "lms-access", 0).unwrap();
        let token = old.sign(&old.claims(SubjectKind::Service, "x", None, Duration::from_secs(60)));
        assert!(verifier.verify(&token).is_ok());
        assert!(verifier.verify(&token).is_ok(), "remembered");
        verifier.replace_keys(&jwks_json([new.key()])).unwrap();
        assert_eq!(
            verifier.verify(&token).unwrap_err(),
            TokenError::Invalid("bad signature")
        );
    }

    #[test]
    fn a_platform_accounts_token_narrowed_to_a_tenant_is_a_platform_service() {
        let issuer = issuer();
        let verifier = verifier_for(&issuer);
        let tenant = TenantId::generate();
        let narrowed = |sid: bool, hld: Option<&str>| {
            let mut claims = issuer.claims(
                SubjectKind::Service,
                "delegation",
                Some(tenant.to_string()),
                Duration::from_secs(60),
            );
            claims.sid = sid.then(|| "secret-1".to_owned());
            claims.hld = hld.map(str::to_owned);
            claims.plt = true;
            issuer.sign(&claims)
        };
        let caller = verifier.verify(&narrowed(true, None)).unwrap();
        assert!(
            matches!(&caller, Caller::Service { tenant: Some(t), session: Some(s), .. } if *t == tenant && s == "secret-1"),
            "{caller:?}"
        );
        // A narrowed token always comes from an account's secret, and no person bounds it.
        assert_eq!(
            verifier.verify(&narrowed(false, None)).unwrap_err(),
            TokenError::Malformed
        );
        let holder = UserId::generate().to_string();
        assert_eq!(
            verifier.verify(&narrowed(true, Some(&holder))).unwrap_err(),
            TokenError::Malformed
        );
    }

    #[test]
    fn a_tenant_accounts_token_is_an_integration_never_a_platform_service() {
        let issuer = issuer();
        let verifier = verifier_for(&issuer);
        let (tenant, holder) = (TenantId::generate(), UserId::generate());
        let account = |tenant: Option<TenantId>, sid: bool, hld: Option<&str>, amr: &[&str]| {
            let mut claims = issuer.claims(
                SubjectKind::Service,
                "identity",
                tenant.map(|t| t.to_string()),
                Duration::from_secs(60),
            );
            claims.sid = sid.then(|| "secret-1".to_owned());
            claims.hld = hld.map(str::to_owned);
            claims.amr = amr.iter().map(|m| m.to_string()).collect();
            issuer.sign(&claims)
        };
        let held = verifier
            .verify(&account(Some(tenant), true, Some(&holder.to_string()), &[]))
            .unwrap();
        let Caller::Integration {
            name,
            tenant: acts_for,
            session,
            holder: bounded_by,
            mfa,
            ..
        } = &held
        else {
            panic!("named like a platform service, still an integration: {held:?}");
        };
        assert_eq!(
            (
                name.as_str(),
                *acts_for,
                session.as_str(),
                *bounded_by,
                *mfa
            ),
            ("identity", tenant, "secret-1", Some(holder), false)
        );
        assert_eq!(held.person(), Some(holder));
        assert_eq!(held.user(), None, "an integration, not the person");
        let with_otp = verifier
            .verify(&account(
                Some(tenant),
                true,
                Some(&holder.to_string()),
                &["otp"],
            ))
            .unwrap();
        assert!(with_otp.second_factor());
        // An operator-made account: no holder, so no person's second factor either.
        let trusted = verifier
            .verify(&account(Some(tenant), true, None, &["otp"]))
            .unwrap();
        assert!(matches!(
            trusted,
            Caller::Integration {
                holder: None,
                mfa: false,
                ..
            }
        ));
        assert_eq!(trusted.person(), None);
        // Identity's own token for a tenant comes from no account: a platform service.
        assert!(matches!(
            verifier.verify(&account(Some(tenant), false, None, &[])),
            Ok(Caller::Service {
                tenant: Some(_),
                ..
            })
        ));
        for token in [
            account(None, true, Some(&holder.to_string()), &[]),
            account(Some(tenant), false, Some(&holder.to_string()), &[]),
            account(Some(tenant), true, Some("not-a-user-id"), &[]),
        ] {
            assert_eq!(verifier.verify(&token).unwrap_err(), TokenError::Malformed);
        }
        let mut person = issuer.claims(
            SubjectKind::User,
            UserId::generate().to_string(),
            Some(tenant.to_string()),
            Duration::from_secs(60),
        );
        person.hld = Some(holder.to_string());
        assert_eq!(
            verifier.verify(&issuer.sign(&person)).unwrap_err(),
            TokenError::Malformed
        );
        assert!(matches!(
            verifier.verify(&account(None, true, None, &[])),
            Ok(Caller::Service { tenant: None, .. })
        ));
    }

    #[test]
    fn a_user_token_without_tenant_is_malformed() {
        let issuer = issuer();
        let claims = issuer.claims(
            SubjectKind::User,
            UserId::generate().to_string(),
            None,
            Duration::from_secs(60),
        );
        let error = verifier_for(&issuer)
            .verify(&issuer.sign(&claims))
            .unwrap_err();
        assert_eq!(error, TokenError::Malformed);
    }
}
