//! Page tokens of the reports: the last row's sort key, with the filters and order it was read
//! under, so a page starts right after it (keyset paging) and a token is refused under other
//! filters (it would skip or repeat rows). Opaque to callers, never trusted to widen anything:
//! a key is only ever bound into a `>` (or `<`) comparison inside the caller's scope.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lms_runtime::ApiError;

/// The token of the page after the row whose key is `key`, read under `fingerprint`.
pub fn encode(fingerprint: &str, key: &[String]) -> String {
    let parts: Vec<&str> = std::iter::once(fingerprint)
        .chain(key.iter().map(String::as_str))
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&parts).unwrap_or_default())
}

/// The token of the page after the row whose key is the one id `id` (listings keyed by id).
pub fn encode_id(fingerprint: &str, id: &str) -> String {
    encode(fingerprint, &[id.to_owned()])
}

/// The id of `token` made by [`encode_id`] under `fingerprint` (empty: the first page, `None`).
pub fn decode_id(token: &str, fingerprint: &str) -> Result<Option<String>, ApiError> {
    Ok(decode(token, fingerprint, 1)?.map(|mut key| key.remove(0)))
}

/// The key of `token` (empty: the first page, `None`), made under `fingerprint` for a key of
/// `parts` values; any other token is INVALID_ARGUMENT naming `page_token`.
pub fn decode(
    token: &str,
    fingerprint: &str,
    parts: usize,
) -> Result<Option<Vec<String>>, ApiError> {
    if token.is_empty() {
        return Ok(None);
    }
    let refused = || {
        ApiError::invalid_field(
            "page_token",
            "is not a token of this report with these filters and order",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| refused())?;
    let mut values: Vec<String> = serde_json::from_slice(&bytes).map_err(|_| refused())?;
    if values.len() != parts + 1 || values[0] != fingerprint {
        return Err(refused());
    }
    Ok(Some(values.split_off(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_comes_back_under_its_own_filters_only() {
        let key = vec!["Smith\n\"x\"".to_owned(), "0193".to_owned()];
        let token = encode("course/a", &key);
        assert_eq!(decode(&token, "course/a", 2).unwrap(), Some(key));
        assert!(decode(&token, "course/b", 2).is_err());
        assert!(decode(&token, "course/a", 3).is_err());
        assert!(decode("not base64!", "course/a", 2).is_err());
        assert_eq!(decode("", "course/a", 2).unwrap(), None);
    }
}
