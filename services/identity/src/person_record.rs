//! What identity tells reporting about a person (DESIGN.md §7): after every change of what
//! reports show (names, e-mail, status, primary group, external id), the person's whole record
//! as committed, in the same transaction, on identity's event stream only (a `reporting.`
//! topic: the relay settles it without a call to authorization). Reporting keeps the newest
//! record of each person, so records are complete rather than differences.

use lms_api::reporting::v1::PersonRecord;
use lms_kernel::UserStatus;
use lms_runtime::outbox::NewEvent;
use prost::Message;
use uuid::Uuid;

use crate::store::UserRecord;

/// The topic of a person's record.
pub const TOPIC: &str = "reporting.person";

/// The event carrying `user` as committed. An anonymised person goes without name and e-mail,
/// whatever the record still holds.
pub fn person_record(user: &UserRecord) -> NewEvent {
    let anonymised = user.status == UserStatus::Anonymised;
    let personal = |value: &str| match anonymised {
        true => String::new(),
        false => value.to_owned(),
    };
    let record = PersonRecord {
        user_id: user.id.to_string(),
        given_name: personal(&user.given_name),
        family_name: personal(&user.family_name),
        email: personal(user.email.as_ref().map_or("", |e| e.as_str())),
        status: user.status.code().into(),
        primary_group_id: user
            .primary_group
            .map(|g| g.to_string())
            .unwrap_or_default(),
        external_id: user.external_id.clone().unwrap_or_default(),
    };
    NewEvent {
        event_id: Uuid::now_v7(),
        topic: TOPIC,
        payload: record.encode_to_vec(),
    }
}
