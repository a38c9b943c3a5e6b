//! What delegation tells reporting about courses and enrolments (DESIGN.md §7): after every
//! change, the records as committed, in the same transaction, on delegation's event stream only
//! (`reporting.` topics: the relay settles them without a call to authorization). Reporting
//! keeps the newest of each, so records are complete rather than differences.

use lms_api::reporting::v1::{CourseRecord as CourseEvent, EnrolmentRecords};
use lms_runtime::outbox::NewEvent;
use prost::Message;
use uuid::Uuid;

use crate::convert;
use crate::store::{CourseRecord, EnrolmentRecord};

/// The topic of a course's record.
pub const COURSE: &str = "reporting.course";

/// The topic of enrolments' records.
pub const ENROLMENTS: &str = "reporting.enrolments";

fn event(topic: &'static str, payload: Vec<u8>) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        topic,
        payload,
    }
}

/// The event carrying `course` as committed (`removed` once deleted).
pub fn course_record(course: &CourseRecord, removed: bool) -> NewEvent {
    let record = CourseEvent {
        course: Some(convert::course(course, &[], course.updated_at)),
        removed,
    };
    event(COURSE, record.encode_to_vec())
}

/// The events carrying `enrolments` as committed: none for none.
pub fn enrolment_records(enrolments: &[EnrolmentRecord]) -> Vec<NewEvent> {
    if enrolments.is_empty() {
        return Vec::new();
    }
    let records = EnrolmentRecords {
        enrolments: enrolments.iter().map(convert::enrolment).collect(),
    };
    vec![event(ENROLMENTS, records.encode_to_vec())]
}
