//! TOTP second factor (RFC 6238: HMAC-SHA1, six digits, 30-second steps, one step of clock
//! skew either way). A code is accepted once: the store keeps the last step used and only a
//! later step passes, so a code seen over someone's shoulder is worthless a moment later.

use rand_core::{OsRng, RngCore};
use totp_rs::{Builder, Secret, Totp};

/// Issuer shown by authenticator apps.
const ISSUER: &str = "LMS Access";

/// A fresh 160-bit secret (RFC 4226's recommended length).
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

fn totp(secret: &[u8]) -> Option<Totp> {
    Builder::new()
        .with_secret(Secret::from(secret.to_vec()))
        .build()
        .ok()
}

/// The step `code` belongs to, if it is right for `secret` at `now` (seconds).
pub fn check(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let step = totp(secret)?.check(code, u64::try_from(now).ok()?)?;
    i64::try_from(step).ok()
}

/// The base32 text an authenticator app accepts.
pub fn base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The `otpauth://` URI for enrolling `account` (shown as a QR code by clients).
pub fn otpauth_uri(account: &str, secret: &[u8]) -> String {
    let encode =
        |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        encode(ISSUER).replace('+', "%20"),
        encode(account),
        base32(secret),
        encode(ISSUER).replace('+', "%20"),
    )
}

/// The current code for `secret` (tests and tools that play the authenticator).
pub fn code_at(secret: &[u8], now: i64) -> Option<String> {
    Some(totp(secret)?.generate(u64::try_from(now).ok()?).to_string())
}

/// The code an authenticator holding the base32 `secret` shows at `now` (for tools and tests
/// that play the authenticator).
pub fn code_for_base32(secret: &str, now: i64) -> Option<String> {
    let bytes = Secret::try_from_base32(secret).ok()?.as_bytes().to_vec();
    code_at(&bytes, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_code_passes_and_a_wrong_or_stale_one_does_not() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now).unwrap();
        assert_eq!(check(&secret, &code, now), Some(now / 30));
        assert_eq!(
            check(&secret, &code, now + 30),
            Some(now / 30),
            "one step of skew"
        );
        assert_eq!(check(&secret, &code, now + 120), None, "too old");
        let wrong = if code == "000000" { "000001" } else { "000000" };
        assert_eq!(check(&secret, wrong, now), None);
        assert_eq!(check(&secret, "12345", now), None);
    }

    #[test]
    fn the_rfc_6238_test_vector_matches() {
        // RFC 6238 appendix B, SHA-1, T = 59: 94287082 (eight digits); six digits: 287082.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).unwrap(), "287082");
    }

    #[test]
    fn the_enrolment_uri_names_issuer_account_and_secret() {
        let secret = new_secret();
        let uri = otpauth_uri("ada@example.org", &secret);
        assert!(uri.starts_with("otpauth://totp/LMS%20Access:ada%40example.org?secret="));
        assert!(uri.contains(&base32(&secret)));
    }
}
