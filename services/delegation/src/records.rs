//! What delegation tells reporting about courses, enrolments, events, bookings and shop orders
//! (DESIGN.md §7): after every
//! change, the records as committed, in the same transaction, on delegation's event stream only
//! (`reporting.` topics: the relay settles them without a call to authorization). Reporting
//! keeps the newest of each, so records are complete rather than differences. A course's tutor
//! and administrators travel as facts, not in its record.

use lms_api::reporting::v1::{
    BookingRecords, CompetencyRecord as CompetencyEvent, CourseRecord as CourseEvent,
    EnrolmentRecords, EnrolmentRequestRecord, EventRecord as EventEvent, OrderRecord as OrderEvent,
};
use lms_runtime::outbox::{NewEvent, RECORDS_PER_EVENT, topic};
use prost::Message;
use uuid::Uuid;

use crate::convert;
use crate::store::{
    BookingRecord, CompetencyRecord, CourseRecord, EnrolmentRecord, EventRecord, OrderRecord,
    RequestRecord, Tally,
};

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
    event(topic::COURSE, record.encode_to_vec())
}

/// The event carrying a course's `event` as committed (its counts and administrators unset).
pub fn event_record(event: &EventRecord) -> NewEvent {
    let record = EventEvent {
        event: Some(convert::event(event, Tally::default(), Vec::new())),
    };
    self::event(topic::EVENT, record.encode_to_vec())
}

/// The events carrying `bookings` as committed, a thousand to an event: none for none.
pub fn booking_records(bookings: &[BookingRecord]) -> Vec<NewEvent> {
    bookings
        .chunks(RECORDS_PER_EVENT)
        .map(|chunk| {
            let records = BookingRecords {
                bookings: chunk.iter().map(convert::booking).collect(),
            };
            event(topic::BOOKINGS, records.encode_to_vec())
        })
        .collect()
}

/// The event carrying a competency check as signed off.
pub fn competency_record(check: &CompetencyRecord) -> NewEvent {
    let record = CompetencyEvent {
        check: Some(convert::competency(check)),
    };
    event(topic::COMPETENCY, record.encode_to_vec())
}

/// The event carrying an enrolment request as committed (asked, or decided).
pub fn request_record(request: &RequestRecord) -> NewEvent {
    let record = EnrolmentRequestRecord {
        request: Some(convert::enrolment_request(request)),
    };
    event(topic::ENROLMENT_REQUEST, record.encode_to_vec())
}

/// The event carrying a shop order as committed, with how many of its invitations are
/// `waiting` and `taken`.
pub fn order_record(order: &OrderRecord, waiting: i64, taken: i64) -> NewEvent {
    let count = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    let record = OrderEvent {
        order: Some(convert::order(order)),
        waiting: count(waiting),
        taken: count(taken),
    };
    event(topic::ORDER, record.encode_to_vec())
}

/// The events carrying `enrolments` as committed, a thousand to an event: none for none.
pub fn enrolment_records(enrolments: &[EnrolmentRecord]) -> Vec<NewEvent> {
    enrolments
        .chunks(RECORDS_PER_EVENT)
        .map(|chunk| {
            let records = EnrolmentRecords {
                enrolments: chunk.iter().map(convert::enrolment).collect(),
            };
            event(topic::ENROLMENTS, records.encode_to_vec())
        })
        .collect()
}
