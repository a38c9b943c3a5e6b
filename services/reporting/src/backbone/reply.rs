//! Redis stream replies, read into plain values: which entries a reply holds, with their raw
//! fields, and the fields of an `XINFO` answer. Both RESP2 (arrays) and RESP3 (maps) shapes.

use std::collections::HashMap;

use redis::Value;

/// One stream entry as read.
#[derive(Debug)]
pub struct RawEntry {
    /// The stream's key.
    pub key: String,
    /// The entry's id (`<ms>-<n>`).
    pub id: String,
    /// Its fields; `None` when the entry was trimmed away while it was pending.
    pub fields: Option<HashMap<String, Vec<u8>>>,
}

/// The entries of an `XREADGROUP` reply: `[[key, [[id, fields], ...]], ...]` or a map of key to
/// entries; nil when nothing is new.
pub fn read_reply(reply: &Value) -> Vec<RawEntry> {
    match reply {
        Value::Array(streams) => streams
            .iter()
            .flat_map(|stream| match stream {
                Value::Array(pair) if pair.len() == 2 => match text(&pair[0]) {
                    Some(key) => entries(&key, &pair[1]),
                    None => Vec::new(),
                },
                _ => Vec::new(),
            })
            .collect(),
        Value::Map(streams) => streams
            .iter()
            .flat_map(|(key, list)| match text(key) {
                Some(key) => entries(&key, list),
                None => Vec::new(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// An `XAUTOCLAIM` reply of stream `key`: the cursor to go on from, the entries taken over, and
/// how many pending entries had been trimmed away (their ids, Redis 7).
pub fn autoclaim_reply(key: &str, reply: &Value) -> (String, Vec<RawEntry>, usize) {
    match reply {
        Value::Array(parts) if parts.len() >= 2 => (
            text(&parts[0]).unwrap_or_else(|| "0-0".to_owned()),
            entries(key, &parts[1]),
            match parts.get(2) {
                Some(Value::Array(deleted)) => deleted.len(),
                _ => 0,
            },
        ),
        _ => ("0-0".to_owned(), Vec::new(), 0),
    }
}

/// `[[id, fields], ...]` of stream `key`.
fn entries(key: &str, list: &Value) -> Vec<RawEntry> {
    let Value::Array(list) = list else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|entry| match entry {
            Value::Array(pair) if pair.len() == 2 => Some(RawEntry {
                key: key.to_owned(),
                id: text(&pair[0])?,
                fields: match &pair[1] {
                    Value::Nil => None,
                    fields => Some(raw_fields(fields)),
                },
            }),
            _ => None,
        })
        .collect()
}

/// Alternating names and values (or a map), the values as bytes.
fn raw_fields(value: &Value) -> HashMap<String, Vec<u8>> {
    info_fields(value)
        .into_iter()
        .filter_map(|(name, value)| match value {
            Value::BulkString(bytes) => Some((name, bytes)),
            Value::SimpleString(text) => Some((name, text.into_bytes())),
            _ => None,
        })
        .collect()
}

/// Alternating names and values (or a map), as an `XINFO` answer gives them.
pub fn info_fields(value: &Value) -> HashMap<String, Value> {
    match value {
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|pair| Some((text(pair.first()?)?, pair.get(1)?.clone())))
            .collect(),
        Value::Map(items) => items
            .iter()
            .filter_map(|(name, value)| Some((text(name)?, value.clone())))
            .collect(),
        _ => HashMap::new(),
    }
}

/// A bulk or simple string as text.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    }
}

/// A stream entry id as numbers, so ids compare in stream order.
pub fn entry_order(id: &str) -> Option<(u64, u64)> {
    let (ms, n) = id.split_once('-')?;
    Some((ms.parse().ok()?, n.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn a_read_reply_gives_each_entry_with_its_stream_and_a_trimmed_one_without_fields() {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("lms:events:identity"),
            Value::Array(vec![
                Value::Array(vec![
                    bulk("1-0"),
                    Value::Array(vec![bulk("id"), bulk("x"), bulk("payload"), bulk("\u{1}")]),
                ]),
                Value::Array(vec![bulk("2-0"), Value::Nil]),
            ]),
        ])]);
        let entries = read_reply(&reply);
        assert_eq!(entries.len(), 2);
        assert_eq!(
            (entries[0].key.as_str(), entries[0].id.as_str()),
            ("lms:events:identity", "1-0")
        );
        let fields = entries[0].fields.as_ref().unwrap();
        assert_eq!(fields["id"], b"x");
        assert_eq!(fields["payload"], [1]);
        assert!(entries[1].fields.is_none(), "trimmed while pending");
        assert!(read_reply(&Value::Nil).is_empty());
        let map = Value::Map(vec![(
            bulk("lms:events:delegation"),
            Value::Array(vec![Value::Array(vec![bulk("3-1"), Value::Array(vec![])])]),
        )]);
        assert_eq!(read_reply(&map)[0].id, "3-1");
    }

    #[test]
    fn entry_ids_order_by_time_then_number() {
        assert!(entry_order("10-0") > entry_order("9-5"));
        assert!(entry_order("10-2") > entry_order("10-1"));
        assert_eq!(entry_order("nonsense"), None);
    }
}
