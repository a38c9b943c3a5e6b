use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lms_kernel::{TenantId, UserId};

use super::claims::{Caller, Claims, SubjectKind};
use super::revocations::Revocations;
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
}

/// The keys a verifier trusts: those configured (`auth.jwks`) and those identity publishes.
#[derive(Default)]
struct KeySets {
    configured: HashMap<String, DecodingKey>,
    published: HashMap<String, DecodingKey>,
}

impl KeySets {
    fn get(&self, kid: &str) -> Option<&DecodingKey> {
        self.configured.get(kid).or_else(|| self.published.get(kid))
    }

    fn kids(&self) -> Vec<String> {
        self.configured
            .keys()
            .chain(self.published.keys())
            .cloned()
            .collect()
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
        };
        verifier.replace_keys(jwks)?;
        Ok(verifier)
    }

    /// Replaces the configured key set (rotation). Tokens signed by a removed key stop verifying.
    pub fn replace_keys(&self, jwks: &str) -> Result<(), JwksError> {
        let keys = parse_jwks(jwks)?;
        self.update(|sets| sets.configured = keys);
        Ok(())
    }

    /// Replaces the keys identity publishes (fetched from it, or set by identity itself).
    /// Answers whether the set changed; an unchanged set keeps remembered tokens.
    pub fn replace_published_keys(&self, jwks: &str) -> Result<bool, JwksError> {
        let keys = parse_jwks(jwks)?;
        // Key ids are never reused with other material, so equal ids mean an equal set.
        let unchanged = {
            let published = &self
                .keys
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .published;
            published.len() == keys.len() && keys.keys().all(|kid| published.contains_key(kid))
        };
        if unchanged {
            return Ok(false);
        }
        self.update(|sets| sets.published = keys);
        Ok(true)
    }

    fn update(&self, change: impl FnOnce(&mut KeySets)) {
        change(
            &mut self
                .keys
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        // Tokens verified against the old keys must be verified again.
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.verified.invalidate_all();
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
        if let Caller::User {
            session: Some(session),
            ..
        } = &caller
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
            let Some(key) = keys.get(&kid) else {
                self.unknown_key.notify_one();
                return Err(TokenError::Invalid("unknown signing key"));
            };
            jsonwebtoken::decode::<Claims>(token, key, &self.validation)
                .map_err(|error| match error.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    ErrorKind::InvalidSignature => TokenError::Invalid("bad signature"),
                    ErrorKind::InvalidIssuer => TokenError::Invalid("wrong issuer"),
                    ErrorKind::InvalidAudience => TokenError::Invalid("wrong audience"),
                    ErrorKind::ImmatureSignature => TokenError::Invalid("not yet valid"),
                    ErrorKind::InvalidAlgorithm => TokenError::Invalid("wrong algorithm"),
                    _ => TokenError::Malformed,
                })?
                .claims
        };
        let expires = claims.exp;
        Ok((caller_from(claims)?, expires))
    }
}

fn caller_from(claims: Claims) -> Result<Caller, TokenError> {
    match claims.kind {
        SubjectKind::User => {
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
        SubjectKind::Service => Ok(Caller::Service {
            tenant: match claims.tid.as_deref() {
                Some(tid) => Some(TenantId::parse(tid).map_err(|_| TokenError::Malformed)?),
                None => None,
            },
            name: claims.sub,
            token_id: claims.jti,
        }),
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

    fn verifier_for(issuer: &TokenIssuer) -> TokenVerifier {
        TokenVerifier::new(&jwks_json([issuer.key()]), "lms-identity", "lms-access", 0).unwrap()
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
        let verifier = verifier_for(&old);
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
