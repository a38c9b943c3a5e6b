//! The wire format of an event on a service's stream, in one place for the publisher that
//! writes it and the reader that opens it.
//!
//! An entry's fields are `id`, `tenant`, `sequence` (decimal), `topic`, `payload` (the outbox
//! row's bytes) and `mac`: an HMAC-SHA256 under `redis.events_mac_key` over the stream's key
//! (the place) and the five others as written, each length-prefixed. So an entry cannot be
//! forged without the key, changed, or moved to another stream, tenant or position.

use std::collections::HashMap;

use lms_kernel::TenantId;

use super::{OutboxEvent, PublishedEvent};
use crate::config::ServiceName;
use crate::sealed::Sealer;

/// The services with an outbox, each publishing its events to its own stream.
pub const PUBLISHERS: [ServiceName; 3] = [
    ServiceName::Identity,
    ServiceName::Authorization,
    ServiceName::Delegation,
];

/// The fields the MAC covers, in order.
const SIGNED: [&str; 5] = ["id", "tenant", "sequence", "topic", "payload"];

/// The field carrying the MAC.
const MAC: &str = "mac";

/// An event's fields as the stream holds them.
#[derive(Debug)]
pub struct EntryFields<'a> {
    values: [std::borrow::Cow<'a, [u8]>; 5],
}

impl<'a> EntryFields<'a> {
    /// The fields of `event`.
    pub fn of(event: &'a OutboxEvent) -> Self {
        Self {
            values: [
                event.event_id.to_string().into_bytes().into(),
                event.tenant.to_string().into_bytes().into(),
                event.sequence.to_string().into_bytes().into(),
                event.topic.as_bytes().into(),
                event.payload.as_slice().into(),
            ],
        }
    }

    fn parts(&self) -> [&[u8]; 5] {
        [
            &self.values[0],
            &self.values[1],
            &self.values[2],
            &self.values[3],
            &self.values[4],
        ]
    }

    /// The MAC of these fields on the stream `key`.
    pub fn mac(&self, key: &str, sealer: &Sealer) -> Vec<u8> {
        sealer.tag(key, &self.parts())
    }

    /// Name and value of every field to add to the stream `key`, the MAC last.
    pub fn signed(&self, key: &str, sealer: &Sealer) -> Vec<(&'static str, Vec<u8>)> {
        SIGNED
            .iter()
            .zip(&self.values)
            .map(|(name, value)| (*name, value.to_vec()))
            .chain(std::iter::once((MAC, self.mac(key, sealer))))
            .collect()
    }
}

/// Why an entry is not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unopened {
    /// No MAC, or one that does not hold: not written by the stream's service.
    Forged,
    /// Signed, but a field is missing or unreadable (a publisher of another version).
    Malformed,
}

impl Unopened {
    /// Its name in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Unopened::Forged => "forged",
            Unopened::Malformed => "malformed",
        }
    }
}

/// The event an entry of `service`'s stream `key` carries, if `sealer` finds it signed there.
/// The MAC is checked over the raw values before anything is parsed.
pub fn open_entry(
    service: ServiceName,
    key: &str,
    fields: &HashMap<String, Vec<u8>>,
    sealer: &Sealer,
) -> Result<PublishedEvent, Unopened> {
    let mut values: [&[u8]; 5] = [&[]; 5];
    for (slot, name) in values.iter_mut().zip(SIGNED) {
        *slot = fields.get(name).ok_or(Unopened::Forged)?;
    }
    let mac = fields.get(MAC).ok_or(Unopened::Forged)?;
    if !sealer.verify(key, &values, mac) {
        return Err(Unopened::Forged);
    }
    fn text(value: &[u8]) -> Result<&str, Unopened> {
        std::str::from_utf8(value).map_err(|_| Unopened::Malformed)
    }
    fn parsed<T: std::str::FromStr>(value: &[u8]) -> Result<T, Unopened> {
        text(value)?.parse().map_err(|_| Unopened::Malformed)
    }
    Ok(PublishedEvent {
        service,
        event: OutboxEvent {
            event_id: parsed(values[0])?,
            tenant: TenantId::parse(text(values[1])?).map_err(|_| Unopened::Malformed)?,
            sequence: parsed(values[2])?,
            topic: text(values[3])?.to_owned(),
            payload: values[4].to_vec(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretString;

    fn sealer(key: &str) -> Sealer {
        Sealer::new(&SecretString::new(key))
    }

    fn row() -> OutboxEvent {
        OutboxEvent {
            sequence: 42,
            event_id: "0190f3a2-0000-7000-8000-000000000001".parse().unwrap(),
            tenant: TenantId::parse("0190f3a2-0000-7000-8000-0000000000aa").unwrap(),
            topic: "authorization.facts".into(),
            payload: vec![0, 1, 254, 255],
        }
    }

    fn written(event: &OutboxEvent, key: &str, with: &Sealer) -> HashMap<String, Vec<u8>> {
        EntryFields::of(event)
            .signed(key, with)
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect()
    }

    #[test]
    fn an_entry_opens_as_written_only_with_the_key_on_its_stream() {
        let ours = sealer("the services' events key, 32+ chars");
        let event = row();
        let fields = written(&event, "lms:events:identity", &ours);
        let opened = open_entry(ServiceName::Identity, "lms:events:identity", &fields, &ours);
        assert_eq!(opened.unwrap().event, event);
        assert_eq!(
            open_entry(
                ServiceName::Delegation,
                "lms:events:delegation",
                &fields,
                &ours
            ),
            Err(Unopened::Forged),
            "moved to another stream"
        );
        let theirs = sealer("somebody else's key, 32+ characters");
        assert_eq!(
            open_entry(
                ServiceName::Identity,
                "lms:events:identity",
                &fields,
                &theirs
            ),
            Err(Unopened::Forged)
        );
        for field in ["tenant", "sequence", "payload", "mac"] {
            let mut changed = fields.clone();
            changed.get_mut(field).unwrap().push(b'0');
            assert_eq!(
                open_entry(
                    ServiceName::Identity,
                    "lms:events:identity",
                    &changed,
                    &ours
                ),
                Err(Unopened::Forged),
                "{field} changed"
            );
        }
        let mut unsigned = fields.clone();
        unsigned.remove("mac");
        assert_eq!(
            open_entry(
                ServiceName::Identity,
                "lms:events:identity",
                &unsigned,
                &ours
            ),
            Err(Unopened::Forged)
        );
    }

    /// A known answer: the MAC is HMAC-SHA256 over the key and the fields, each prefixed with
    /// its length as 8 big-endian bytes; another implementation (or a change here) must agree.
    #[test]
    fn the_mac_is_the_documented_hmac() {
        use hmac::{Hmac, Mac};
        let key = "the services' events key, 32+ chars";
        let event = row();
        let mut expected = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        for part in [
            b"lms:events:identity".as_slice(),
            b"0190f3a2-0000-7000-8000-000000000001",
            b"0190f3a2-0000-7000-8000-0000000000aa",
            b"42",
            b"authorization.facts",
            &[0, 1, 254, 255],
        ] {
            expected.update(&(part.len() as u64).to_be_bytes());
            expected.update(part);
        }
        assert_eq!(
            EntryFields::of(&event).mac("lms:events:identity", &sealer(key)),
            expected.finalize().into_bytes().to_vec()
        );
    }
}
