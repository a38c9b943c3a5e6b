//! Events, bookings and competency checks: records into the API's messages, and the parse of
//! what a request says about them, each refusal naming its field.

use lms_api::common::v1::AuditStamp;
use lms_api::delegation::v1::{
    Attendance as PbAttendance, Booking, BookingStatus, BookingTransition, CompetencyCheck, Event,
    EventStatus as PbEventStatus,
};
use lms_kernel::{Attendance, BookingState, EventStatus};
use lms_runtime::ApiError;
use lms_runtime::request::timestamp;

use super::count;
use crate::store::{BookingRecord, CompetencyRecord, EventRecord, Tally};

/// The most places one event may have.
pub const MAX_CAPACITY: i32 = 100_000;

/// The longest place text.
const MAX_PLACE: usize = 500;

/// The longest note on a sign-off.
const MAX_NOTE: usize = 2000;

/// An event as the API shows it, with its Event Administrators.
pub fn event(record: &EventRecord, tally: Tally, administrators: Vec<String>) -> Event {
    Event {
        event_id: record.id.to_string(),
        course_id: record.course.to_string(),
        title: record.title.clone(),
        starts_at: Some(timestamp(record.starts_at)),
        ends_at: Some(timestamp(record.ends_at)),
        capacity: i32::try_from(record.capacity).unwrap_or(i32::MAX),
        booking_requires_approval: record.requires_approval,
        administrator_user_ids: administrators,
        place: record.place.clone(),
        status: match record.status {
            EventStatus::Scheduled => PbEventStatus::Scheduled,
            EventStatus::Cancelled => PbEventStatus::Cancelled,
        } as i32,
        booked_count: count(tally.booked as usize),
        waitlisted_count: count(tally.waitlisted as usize),
        requested_count: count(tally.requested as usize),
        created: Some(AuditStamp {
            actor_id: record.created_by.clone(),
            at: Some(timestamp(record.created_at)),
        }),
        cancelled_at: record.cancelled_at.map(timestamp),
        waitlist_disabled: !record.waitlist,
    }
}

fn status(state: BookingState) -> BookingStatus {
    match state {
        BookingState::Requested => BookingStatus::Requested,
        BookingState::Booked => BookingStatus::Booked,
        BookingState::Declined => BookingStatus::Declined,
        BookingState::Waitlisted => BookingStatus::Waitlisted,
        BookingState::Cancelled => BookingStatus::Cancelled,
        BookingState::Attended => BookingStatus::Attended,
        BookingState::PartlyAttended => BookingStatus::PartlyAttended,
        BookingState::NoShow => BookingStatus::NoShow,
    }
}

/// A booking as the API shows it, with every state it reached.
pub fn booking(record: &BookingRecord) -> Booking {
    Booking {
        booking_id: record.id.to_string(),
        event_id: record.event.to_string(),
        user_id: record.user.to_string(),
        booked_by: record.booked_by.clone(),
        status: status(record.state) as i32,
        history: record
            .history()
            .into_iter()
            .map(|(state, at)| BookingTransition {
                status: status(state) as i32,
                at: Some(timestamp(at)),
            })
            .collect(),
        arrival: record.arrival,
    }
}

/// A competency check as the API shows it.
pub fn competency(record: &CompetencyRecord) -> CompetencyCheck {
    CompetencyCheck {
        check_id: record.id.to_string(),
        course_id: record.course.to_string(),
        user_id: record.user.to_string(),
        signed_off: true,
        signed_off_by: Some(AuditStamp {
            actor_id: record.signed_off_by.clone(),
            at: Some(timestamp(record.signed_off_at)),
        }),
        note: record.note.clone(),
    }
}

/// The earliest and latest seconds a protobuf `Timestamp` may hold (0001-01-01 to 9999-12-31).
const TIMESTAMP_RANGE: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;

/// A time `field` must carry, within the range a `Timestamp` may hold.
fn time(field: &str, at: Option<&prost_types::Timestamp>) -> Result<i64, ApiError> {
    let at = at.ok_or_else(|| ApiError::invalid_field(field, "is required"))?;
    if !TIMESTAMP_RANGE.contains(&at.seconds) {
        return Err(ApiError::invalid_field(
            field,
            "must lie between the years 1 and 9999",
        ));
    }
    Ok(at.seconds)
}

/// An event's start and end (`starts_at`, `ends_at`): both required, the end after the start.
pub fn schedule(
    starts_at: Option<&prost_types::Timestamp>,
    ends_at: Option<&prost_types::Timestamp>,
) -> Result<(i64, i64), ApiError> {
    let starts = time("starts_at", starts_at)?;
    let ends = time("ends_at", ends_at)?;
    if ends <= starts {
        return Err(ApiError::invalid_field(
            "ends_at",
            "must be after starts_at",
        ));
    }
    Ok((starts, ends))
}

/// An event's places in `capacity`: zero (unlimited) to [`MAX_CAPACITY`].
pub fn capacity(value: i32) -> Result<u32, ApiError> {
    if !(0..=MAX_CAPACITY).contains(&value) {
        return Err(ApiError::invalid_field(
            "capacity",
            format!("must be 0 (unlimited) to {MAX_CAPACITY}"),
        ));
    }
    Ok(value.unsigned_abs())
}

/// Printable text of at most `max` characters in `field`.
fn short_text(field: &str, text: &str, max: usize) -> Result<String, ApiError> {
    if text.chars().count() > max {
        return Err(ApiError::invalid_field(
            field,
            format!("at most {max} characters"),
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::invalid_field(field, "must be printable"));
    }
    Ok(text.trim().to_owned())
}

/// Where an event takes place.
pub fn place(text: &str) -> Result<String, ApiError> {
    short_text("place", text, MAX_PLACE)
}

/// A sign-off's note.
pub fn note(text: &str) -> Result<String, ApiError> {
    short_text("note", text, MAX_NOTE)
}

/// The mark in `attendance`.
pub fn attendance(value: i32) -> Result<Attendance, ApiError> {
    match PbAttendance::try_from(value) {
        Ok(PbAttendance::Attended) => Ok(Attendance::Attended),
        Ok(PbAttendance::PartlyAttended) => Ok(Attendance::PartlyAttended),
        Ok(PbAttendance::NoShow) => Ok(Attendance::NoShow),
        _ => Err(ApiError::invalid_field(
            "attendance",
            "must be ATTENDANCE_ATTENDED, ATTENDANCE_PARTLY_ATTENDED or ATTENDANCE_NO_SHOW",
        )),
    }
}

/// The booking state a listing asks for in `status`; `None` for every state.
pub fn booking_state(value: i32) -> Result<Option<BookingState>, ApiError> {
    if value == 0 {
        return Ok(None);
    }
    i16::try_from(value)
        .ok()
        .and_then(BookingState::from_code)
        .map(Some)
        .ok_or_else(|| ApiError::invalid_field("status", "is not a booking status"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_numbers_booking_states_as_the_kernel_does() {
        for state in BookingState::ALL {
            assert_eq!(status(state) as i32, i32::from(state.code()));
            assert_eq!(booking_state(status(state) as i32).unwrap(), Some(state));
        }
        assert_eq!(booking_state(0).unwrap(), None);
        assert!(booking_state(99).is_err());
    }

    #[test]
    fn a_schedule_ends_after_it_starts_and_capacity_is_bounded() {
        let at = |seconds| prost_types::Timestamp { seconds, nanos: 0 };
        assert_eq!(schedule(Some(&at(1)), Some(&at(2))).unwrap(), (1, 2));
        for (starts, ends, field) in [
            (None, Some(at(2)), "starts_at"),
            (Some(at(1)), None, "ends_at"),
            (Some(at(2)), Some(at(2)), "ends_at"),
            (Some(at(i64::MIN)), Some(at(2)), "starts_at"),
            (Some(at(1)), Some(at(i64::MAX)), "ends_at"),
        ] {
            let error = schedule(starts.as_ref(), ends.as_ref()).unwrap_err();
            assert!(error.to_string().contains(field), "{error}");
        }
        assert!(capacity(-1).is_err() && capacity(MAX_CAPACITY + 1).is_err());
        assert_eq!(capacity(0).unwrap(), 0);
    }
}
