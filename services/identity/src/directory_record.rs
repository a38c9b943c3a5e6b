//! What identity tells reporting about units and groups (DESIGN.md §7): with every change of
//! one (created, renamed, moved, deleted), its whole record as committed, in the same
//! transaction, on identity's event stream only (topic `reporting.directory`). Reporting keeps
//! the newest record of each, so reports can name people's units and teams.

use lms_api::reporting::v1::{DirectoryRecords, GroupRecord, UnitRecord};
use lms_kernel::{GroupId, UnitId};
use lms_runtime::outbox::{NewEvent, RECORDS_PER_EVENT, topic};
use prost::Message;
use uuid::Uuid;

use crate::store;

/// A unit as stored: its name and parent.
pub fn unit(id: UnitId, name: &str, parent: Option<UnitId>) -> UnitRecord {
    UnitRecord {
        unit_id: id.to_string(),
        name: name.to_owned(),
        parent_unit_id: parent.map(|p| p.to_string()).unwrap_or_default(),
        removed: false,
    }
}

/// A unit record as stored.
pub fn unit_of(record: &store::UnitRecord) -> UnitRecord {
    unit(record.id, &record.name, record.parent)
}

/// A unit deleted.
pub fn unit_removed(id: UnitId) -> UnitRecord {
    UnitRecord {
        unit_id: id.to_string(),
        removed: true,
        ..Default::default()
    }
}

/// A group as stored.
pub fn group(id: GroupId, name: &str) -> GroupRecord {
    GroupRecord {
        group_id: id.to_string(),
        name: name.to_owned(),
        removed: false,
    }
}

/// A group deleted.
pub fn group_removed(id: GroupId) -> GroupRecord {
    GroupRecord {
        group_id: id.to_string(),
        name: String::new(),
        removed: true,
    }
}

/// The events carrying `units` and `groups`, at most [`RECORDS_PER_EVENT`] of each an event;
/// none for none.
pub fn directory_records(units: Vec<UnitRecord>, groups: Vec<GroupRecord>) -> Vec<NewEvent> {
    let events = units.len().max(groups.len()).div_ceil(RECORDS_PER_EVENT);
    let (mut units, mut groups) = (units.into_iter(), groups.into_iter());
    (0..events)
        .map(|_| NewEvent {
            event_id: Uuid::now_v7(),
            topic: topic::DIRECTORY,
            payload: DirectoryRecords {
                units: units.by_ref().take(RECORDS_PER_EVENT).collect(),
                groups: groups.by_ref().take(RECORDS_PER_EVENT).collect(),
            }
            .encode_to_vec(),
        })
        .collect()
}
