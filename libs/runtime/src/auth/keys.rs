use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use super::claims::{Claims, SubjectKind};

/// An Ed25519 key that signs access tokens, with the id (`kid`) verifiers look it up by.
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    public_x: String,
    /// The private key as PKCS#8 DER, for the key store.
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh key from the operating system's random source.
    pub fn generate(kid: impl Into<String>) -> Self {
        Self::from_dalek(
            kid.into(),
            ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng),
        )
    }

    /// A key read back from its PKCS#8 DER form ([`SigningKey::pkcs8_der`]).
    pub fn from_pkcs8_der(kid: impl Into<String>, der: &[u8]) -> Result<Self, KeyError> {
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        let key = ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(|_| KeyError)?;
        Ok(Self::from_dalek(kid.into(), key))
    }

    fn from_dalek(kid: String, key: ed25519_dalek::SigningKey) -> Self {
        let der = key
            .to_pkcs8_der()
            .expect("an Ed25519 key always encodes as PKCS#8");
        Self {
            kid,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            public_x: URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
            pkcs8: der.as_bytes().to_vec(),
        }
    }

    /// The private key as PKCS#8 DER: secret, for the key store only.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs claims as a compact JWT naming this key.
    pub fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .expect("signing with a valid Ed25519 key cannot fail")
    }

    /// The public half as a JWK (RFC 8037, `OKP`/`Ed25519`).
    pub fn public_jwk(&self) -> serde_json::Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": self.public_x,
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }
}

/// Stored bytes that are not an Ed25519 private key.
#[derive(Debug, thiserror::Error)]
#[error("not an Ed25519 PKCS#8 private key")]
pub struct KeyError;

/// A JWKS document holding the public halves of `keys`.
pub fn jwks_json<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> String {
    let keys: Vec<_> = keys.into_iter().map(SigningKey::public_jwk).collect();
    json!({ "keys": keys }).to_string()
}

/// Signs access tokens for one issuer and audience.
#[derive(Debug)]
pub struct TokenIssuer {
    key: SigningKey,
    issuer: String,
    audience: String,
}

impl TokenIssuer {
    /// An issuer signing with `key`.
    pub fn new(key: SigningKey, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            key,
            issuer: issuer.into(),
            audience: audience.into(),
        }
    }

    /// The signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// Claims for a subject, valid from now for `ttl`.
    pub fn claims(
        &self,
        kind: SubjectKind,
        subject: impl Into<String>,
        tenant: Option<String>,
        ttl: Duration,
    ) -> Claims {
        Claims {
            amr: vec!["pwd".into()],
            ..Claims::new(
                &self.issuer,
                &self.audience,
                kind,
                subject.into(),
                tenant,
                ttl,
            )
        }
    }

    /// Signs claims as a compact JWT.
    pub fn sign(&self, claims: &Claims) -> String {
        self.key.sign(claims)
    }
}
