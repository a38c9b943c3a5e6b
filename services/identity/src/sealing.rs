//! Secrets sealed at rest: signing keys (PKCS#8) and TOTP secrets are stored encrypted with
//! XChaCha20-Poly1305 under a key-encryption key (KEK) from configuration
//! (`sign_in.key_encryption_keys`), so a leaked backup, a read replica or a database reader
//! gets neither (security review H7, "at rest").
//!
//! Each sealed value names the KEK that sealed it, and its associated data binds it to where it
//! lives (a signing key to its key id, a TOTP secret to its tenant and user): a sealed value
//! copied to another row does not open there, so nobody who can only write the database can
//! hand a user someone else's second factor or rename a key.
//!
//! Stored form: `LMSK1` · KEK id length (one byte) · KEK id · 24-byte random nonce ·
//! ciphertext and tag. Anything else is not sealed (a row from before sealing) and is opened
//! only by the reseal pass at start, never by a read.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use lms_kernel::{TenantId, UserId};
use lms_runtime::SecretString;
use rand_core::{OsRng, RngCore};

/// The configuration key that holds the KEKs.
pub const SETTING: &str = "sign_in.key_encryption_keys";

const MAGIC: &[u8] = b"LMSK1";
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;
/// Longest KEK id: it is stored in every sealed value.
const MAX_ID_LEN: usize = 32;

/// Where a sealed value lives: part of its associated data, so it opens only there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place<'a> {
    /// `signing_keys.private_key` of the key with this id.
    SigningKey(&'a str),
    /// `users.totp_secret` or `users.totp_pending_secret` of this user (the pending secret
    /// becomes the confirmed one in place, so both share a place).
    Totp(TenantId, UserId),
}

impl Place<'_> {
    fn associated_data(&self, kek_id: &str) -> Vec<u8> {
        let mut data = b"lms-identity sealed v1\0".to_vec();
        match self {
            Place::SigningKey(kid) => {
                data.extend_from_slice(b"signing_keys.private_key\0");
                data.extend_from_slice(&(kid.len() as u64).to_be_bytes());
                data.extend_from_slice(kid.as_bytes());
            }
            Place::Totp(tenant, user) => {
                data.extend_from_slice(b"users.totp_secret\0");
                data.extend_from_slice(tenant.as_uuid().as_bytes());
                data.extend_from_slice(user.as_uuid().as_bytes());
            }
        }
        data.extend_from_slice(kek_id.as_bytes());
        data
    }
}

/// Why a stored value could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unopened {
    /// Not sealed at all: stored before sealing (or written around identity).
    #[error("the stored value is not sealed")]
    Plaintext,
    /// Sealed under a KEK no longer (or never) configured.
    #[error("sealed under key-encryption key {0:?}, which is not configured")]
    UnknownKek(String),
    /// The seal does not verify: moved from another row, or changed.
    #[error("the seal does not verify (moved from another row, or changed)")]
    Refused,
}

/// A value opened: its plaintext, and whether it should be sealed again under the current KEK.
#[derive(PartialEq, Eq)]
pub struct Opened {
    /// The secret.
    pub plain: Vec<u8>,
    /// Sealed under an older KEK, or not sealed at all.
    pub reseal: bool,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("reseal", &self.reseal)
            .finish_non_exhaustive()
    }
}

/// Why the configured KEKs are unusable. Never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KekConfigError(String);

/// The configured KEKs: the first seals, every one opens.
#[derive(Clone)]
pub struct Sealer {
    keys: Arc<[(String, XChaCha20Poly1305)]>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Sealer").field("kek_ids", &ids).finish()
    }
}

impl Sealer {
    /// Reads `<id>=<32 bytes, base64>[,<id>=<key>…]` (for example from
    /// `openssl rand -base64 32`); ids are 1 to 32 letters, digits, `-` or `_`, all different.
    pub fn from_config(text: &SecretString) -> Result<Sealer, KekConfigError> {
        let mut keys: Vec<(String, XChaCha20Poly1305)> = Vec::new();
        for (index, entry) in text.expose().split(',').map(str::trim).enumerate() {
            let position = index + 1;
            let Some((id, key)) = entry.split_once('=') else {
                return Err(KekConfigError(format!(
                    "entry {position} must be <id>=<base64 key>"
                )));
            };
            let id = id.trim();
            if id.is_empty()
                || id.len() > MAX_ID_LEN
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(KekConfigError(format!(
                    "entry {position}: the id must be 1 to {MAX_ID_LEN} letters, digits, - or _"
                )));
            }
            if keys.iter().any(|(known, _)| known == id) {
                return Err(KekConfigError(format!("key id {id:?} appears twice")));
            }
            // Never echo the key, not even in part.
            let bytes = STANDARD
                .decode(key.trim())
                .map_err(|_| KekConfigError(format!("key {id:?} is not valid base64")))?;
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
                .ok()
                .filter(|_| bytes.len() == KEY_LEN)
                .ok_or_else(|| {
                    KekConfigError(format!("key {id:?} must decode to {KEY_LEN} bytes"))
                })?;
            keys.push((id.to_owned(), cipher));
        }
        Ok(Sealer { keys: keys.into() })
    }

    /// A configuration value with one fresh random KEK named `id` (for `lms dev` and tests).
    pub fn generate_config(id: &str) -> SecretString {
        let mut key = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut key);
        SecretString::new(format!("{id}={}", STANDARD.encode(key)))
    }

    /// The id of the KEK that seals.
    pub fn current_kek(&self) -> &str {
        &self.keys[0].0
    }

    /// The first bytes of every value sealed under the current KEK: stored values that do not
    /// start with them need resealing.
    pub fn current_prefix(&self) -> Vec<u8> {
        let id = self.current_kek().as_bytes();
        let mut prefix = MAGIC.to_vec();
        prefix.push(id.len() as u8);
        prefix.extend_from_slice(id);
        prefix
    }

    /// `plain` sealed under the current KEK for `place`.
    pub fn seal(&self, place: Place<'_>, plain: &[u8]) -> Vec<u8> {
        let (id, cipher) = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let aad = place.associated_data(id);
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 seals any message under 256 GiB");
        let mut stored = self.current_prefix();
        stored.extend_from_slice(&nonce);
        stored.extend_from_slice(&sealed);
        stored
    }

    /// The secret `stored` at `place`, if it was sealed there under a configured KEK.
    pub fn open(&self, place: Place<'_>, stored: &[u8]) -> Result<Opened, Unopened> {
        let rest = stored.strip_prefix(MAGIC).ok_or(Unopened::Plaintext)?;
        let (&id_len, rest) = rest.split_first().ok_or(Unopened::Plaintext)?;
        let id_len = usize::from(id_len);
        if id_len == 0 || id_len > MAX_ID_LEN || rest.len() < id_len + NONCE_LEN {
            return Err(Unopened::Plaintext);
        }
        let (id, rest) = rest.split_at(id_len);
        let id = std::str::from_utf8(id).map_err(|_| Unopened::Plaintext)?;
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let position = self
            .keys
            .iter()
            .position(|(known, _)| known == id)
            .ok_or_else(|| Unopened::UnknownKek(id.to_owned()))?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| Unopened::Plaintext)?;
        let aad = place.associated_data(id);
        let plain = self.keys[position]
            .1
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| Unopened::Refused)?;
        Ok(Opened {
            plain,
            reseal: position != 0,
        })
    }

    /// Like [`Sealer::open`], but a value stored before sealing is taken as it is (and marked
    /// for resealing): only the reseal pass at start reads values this way.
    pub fn open_or_adopt(&self, place: Place<'_>, stored: &[u8]) -> Result<Opened, Unopened> {
        match self.open(place, stored) {
            Err(Unopened::Plaintext) => Ok(Opened {
                plain: stored.to_vec(),
                reseal: true,
            }),
            other => other,
        }
    }
}

/// A sealer with one fixed test KEK `id` (unit tests).
#[cfg(test)]
pub(crate) fn test_sealer(id: &str) -> Sealer {
    Sealer::from_config(&Sealer::generate_config(id)).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totp_place() -> (TenantId, UserId) {
        (TenantId::generate(), UserId::generate())
    }

    #[test]
    fn a_sealed_value_is_not_its_plaintext_and_opens_only_where_it_was_sealed() {
        let sealer = test_sealer("a");
        let (tenant, user) = totp_place();
        let secret = b"twenty bytes secret!";
        let sealed = sealer.seal(Place::Totp(tenant, user), secret);
        assert!(!sealed.windows(secret.len()).any(|w| w == secret));
        let opened = sealer.open(Place::Totp(tenant, user), &sealed).unwrap();
        assert_eq!(opened.plain, secret);
        assert!(!opened.reseal);
        assert_eq!(
            sealer.open(Place::Totp(tenant, UserId::generate()), &sealed),
            Err(Unopened::Refused)
        );
        assert_eq!(
            sealer.open(Place::Totp(TenantId::generate(), user), &sealed),
            Err(Unopened::Refused)
        );
        assert_eq!(
            sealer.open(Place::SigningKey("k1"), &sealed),
            Err(Unopened::Refused)
        );
        let mut changed = sealed.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert_eq!(
            sealer.open(Place::Totp(tenant, user), &changed),
            Err(Unopened::Refused)
        );
    }

    #[test]
    fn plaintext_opens_only_by_adoption_and_is_marked_for_resealing() {
        let sealer = test_sealer("a");
        assert_eq!(
            sealer.open(Place::SigningKey("k1"), b"0\x2e plain der"),
            Err(Unopened::Plaintext)
        );
        let adopted = sealer
            .open_or_adopt(Place::SigningKey("k1"), b"0\x2e plain der")
            .unwrap();
        assert_eq!(adopted.plain, b"0\x2e plain der");
        assert!(adopted.reseal);
    }

    #[test]
    fn after_rotation_old_values_open_and_ask_for_resealing_and_dropped_keks_do_not_open() {
        let old = SecretString::new(format!(
            "old={}",
            Sealer::generate_config("x")
                .expose()
                .split_once('=')
                .unwrap()
                .1
        ));
        let new = Sealer::generate_config("new");
        let before = Sealer::from_config(&old).unwrap();
        let sealed = before.seal(Place::SigningKey("k1"), b"der");
        let rotated = Sealer::from_config(&SecretString::new(format!(
            "{},{}",
            new.expose(),
            old.expose()
        )))
        .unwrap();
        let opened = rotated.open(Place::SigningKey("k1"), &sealed).unwrap();
        assert_eq!(opened.plain, b"der");
        assert!(opened.reseal);
        let resealed = rotated.seal(Place::SigningKey("k1"), &opened.plain);
        assert!(resealed.starts_with(&rotated.current_prefix()));
        let dropped = Sealer::from_config(&new).unwrap();
        assert_eq!(
            dropped.open(Place::SigningKey("k1"), &sealed),
            Err(Unopened::UnknownKek("old".into()))
        );
        assert!(
            !dropped
                .open(Place::SigningKey("k1"), &resealed)
                .unwrap()
                .reseal
        );
    }

    #[test]
    fn bad_configuration_is_refused_without_echoing_keys() {
        let key = STANDARD.encode([7u8; 32]);
        for (text, needle) in [
            (String::new(), "entry 1"),
            (format!("a={key},a={key}"), "twice"),
            (format!("bad id={key}"), "id must be"),
            ("a=c2hvcnQ=".to_owned(), "32 bytes"),
            ("a=***".to_owned(), "base64"),
        ] {
            let error = Sealer::from_config(&SecretString::new(text)).unwrap_err();
            assert!(error.to_string().contains(needle), "{error}");
            assert!(!error.to_string().contains(&key));
        }
        let sealer = Sealer::from_config(&SecretString::new(format!("a={key}"))).unwrap();
        assert!(!format!("{sealer:?}").contains(&key));
    }
}
