//! Values kept in Redis, authenticated: each is stored as `<mac>.<payload>`, the MAC an
//! HMAC-SHA256 over the Redis key (or channel) and the payload. Redis sits inside the decision
//! path, so without this anyone able to write to it (another service sharing it, a pod on its
//! network) could plant what the readers trust (security review H8). Authorization seals its
//! cached facts and invalidations with `redis.mac_key`; identity seals ended sessions with
//! `redis.revocations_mac_key`, which every verifier holds. A value that fails the check is not
//! used, and its reader counts it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::SecretString;

/// Seals and opens values with one key.
#[derive(Clone)]
pub struct Sealer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer with `key` (a configured MAC key).
    pub fn new(key: &SecretString) -> Sealer {
        Sealer {
            key: key.expose().as_bytes().to_vec(),
        }
    }

    fn mac(&self, place: &str, json: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        // The place is part of the MAC, so a value cannot be moved to another key.
        mac.update(&(place.len() as u64).to_be_bytes());
        mac.update(place.as_bytes());
        mac.update(json.as_bytes());
        mac
    }

    /// `json` (any text) sealed for `place` (a Redis key or channel).
    pub fn seal(&self, place: &str, json: &str) -> String {
        let tag = self.mac(place, json).finalize().into_bytes();
        format!("{}.{json}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The MAC of `parts` (bytes, each length-prefixed so no two lists read alike) for `place`.
    pub fn tag(&self, place: &str, parts: &[&[u8]]) -> Vec<u8> {
        self.bytes_mac(place, parts)
            .finalize()
            .into_bytes()
            .to_vec()
    }

    /// Whether `tag` is the MAC of `parts` for `place` with this key (in constant time).
    pub fn verify(&self, place: &str, parts: &[&[u8]], tag: &[u8]) -> bool {
        self.bytes_mac(place, parts).verify_slice(tag).is_ok()
    }

    fn bytes_mac(&self, place: &str, parts: &[&[u8]]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        for part in std::iter::once(place.as_bytes()).chain(parts.iter().copied()) {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }

    /// The JSON of `sealed` if it was sealed for `place` with this key.
    pub fn open<'a>(&self, place: &str, sealed: &'a str) -> Option<&'a str> {
        let (tag, json) = sealed.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // Constant time, so a forger learns nothing from how long a refusal takes.
        self.mac(place, json).verify_slice(&tag).ok()?;
        Some(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(key: &str) -> Sealer {
        Sealer::new(&SecretString::new(key))
    }

    #[test]
    fn a_tag_holds_only_for_its_key_place_and_parts_as_split() {
        let ours = sealer("the services' events key, 32+ chars");
        let tag = ours.tag("lms:events:identity", &[b"id", b"payload"]);
        assert!(ours.verify("lms:events:identity", &[b"id", b"payload"], &tag));
        assert!(!ours.verify("lms:events:delegation", &[b"id", b"payload"], &tag));
        assert!(!ours.verify("lms:events:identity", &[b"id", b"payloaD"], &tag));
        assert!(
            !ours.verify("lms:events:identity", &[b"idp", b"ayload"], &tag),
            "the same bytes split elsewhere"
        );
        assert!(!sealer("another key entirely, also 32+ chars").verify(
            "lms:events:identity",
            &[b"id", b"payload"],
            &tag
        ));
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_at_its_place_unchanged() {
        let ours = sealer("the replicas' shared key, 32+ chars");
        let sealed = ours.seal("lms:authz:s:1", r#"{"revision":3}"#);
        assert_eq!(
            ours.open("lms:authz:s:1", &sealed),
            Some(r#"{"revision":3}"#)
        );
        assert_eq!(
            ours.open("lms:authz:s:2", &sealed),
            None,
            "moved to another key"
        );
        let tampered = sealed.replace("3}", "4}");
        assert_eq!(ours.open("lms:authz:s:1", &tampered), None, "changed");
        assert_eq!(
            sealer("another key entirely, also 32+ chars").open("lms:authz:s:1", &sealed),
            None
        );
        assert_eq!(
            ours.open("lms:authz:s:1", r#"{"revision":3}"#),
            None,
            "unsealed"
        );
    }
}
