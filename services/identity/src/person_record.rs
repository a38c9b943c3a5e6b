//! What identity tells reporting about people (DESIGN.md §7): after every change of what
//! reports show (names, e-mail, status, primary group, external id), each changed person's whole
//! record as committed, in the same transaction, on identity's event stream only (topic
//! `reporting.people`: the relay settles it without a call to authorization). Reporting keeps
//! the newest record of each person, so records are complete rather than differences.
//!
//! Nothing personal leaves for a person who is anonymised or deleted: their record carries
//! their id and status alone, whatever the stored row still holds.

use lms_api::reporting::v1::{PersonRecord, PersonRecords};
use lms_kernel::{UserId, UserStatus};
use lms_runtime::outbox::{NewEvent, RECORDS_PER_EVENT, topic};
use prost::Message;
use uuid::Uuid;

use crate::store::UserRecord;

fn record_of(user: &UserRecord) -> PersonRecord {
    if user.status == UserStatus::Anonymised {
        return PersonRecord {
            user_id: user.id.to_string(),
            status: user.status.code().into(),
            ..Default::default()
        };
    }
    PersonRecord {
        user_id: user.id.to_string(),
        given_name: user.given_name.clone(),
        family_name: user.family_name.clone(),
        email: user
            .email
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
        status: user.status.code().into(),
        primary_group_id: user
            .primary_group
            .map(|g| g.to_string())
            .unwrap_or_default(),
        external_id: user.external_id.clone().unwrap_or_default(),
        removed: false,
    }
}

fn events(people: Vec<PersonRecord>) -> Vec<NewEvent> {
    people
        .chunks(RECORDS_PER_EVENT)
        .map(|chunk| NewEvent {
            event_id: Uuid::now_v7(),
            topic: topic::PEOPLE,
            payload: PersonRecords {
                people: chunk.to_vec(),
            }
            .encode_to_vec(),
        })
        .collect()
}

/// The events carrying `users` as committed: none for none.
pub fn people_records<'a>(users: impl IntoIterator<Item = &'a UserRecord>) -> Vec<NewEvent> {
    events(users.into_iter().map(record_of).collect())
}

/// The event saying `user` was deleted.
pub fn person_removed(user: UserId) -> Vec<NewEvent> {
    events(vec![PersonRecord {
        user_id: user.to_string(),
        removed: true,
        ..Default::default()
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_personal_leaves_for_an_anonymised_person() {
        let user = UserRecord {
            id: UserId::generate(),
            email: None,
            given_name: "Still".into(),
            family_name: "Stored".into(),
            status: UserStatus::Anonymised,
            account_kind: Default::default(),
            restrict_bookings: false,
            primary_group: None,
            custom_fields: "{}".into(),
            external_id: Some("HR-1".into()),
            password_hash: None,
            last_sign_in_at: None,
            created_by: "test".into(),
            created_at: 0,
        };
        let sent = record_of(&user);
        assert_eq!(
            (
                sent.given_name.as_str(),
                sent.family_name.as_str(),
                sent.external_id.as_str()
            ),
            ("", "", "")
        );
        assert_eq!(sent.status, UserStatus::Anonymised.code() as i32);
    }

    #[test]
    fn records_go_a_thousand_to_an_event() {
        let many = vec![PersonRecord::default(); RECORDS_PER_EVENT + 1];
        assert_eq!(events(many).len(), 2);
        assert!(events(Vec::new()).is_empty());
    }
}
