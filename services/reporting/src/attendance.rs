//! The attendance report: bookings by event with their state, the learner and the event, inside
//! the caller's [`ReportScope`]: a booking shows when the caller may report on its learner, on
//! its event's course, or on the event itself (one they administer). Keyset pages by event,
//! then booking (both ids are time-ordered, so events come roughly by creation and bookings by
//! arrival).

use lms_runtime::ApiError;

use crate::listing::Listing;
use crate::scope_sql::{Columns, ReportScope, Sql};

/// One booking with its learner and event.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct AttendanceRow {
    /// The learner's tenant.
    pub tenant_id: uuid::Uuid,
    /// The booking.
    pub booking_id: String,
    /// The event.
    pub event_id: String,
    /// The learner.
    pub user_id: String,
    /// Delegation's booking status number.
    pub status: i16,
    /// The event's course.
    pub course_id: String,
    /// The event's title.
    pub title: String,
    /// When the event starts (seconds).
    pub starts_at: i64,
    /// The learner's names and e-mail; empty for the anonymised.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// E-mail.
    pub email: String,
}

/// Only this event, only this course's events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// Only this event.
    pub event: Option<String>,
    /// Only events of this course.
    pub course: Option<String>,
}

fn fingerprint(filters: &Filters) -> String {
    let [event, course] =
        [&filters.event, &filters.course].map(|value| value.clone().unwrap_or_default());
    format!("attendance/{event}/{course}")
}

/// The attendance listing. Bookings also show to the administrators of their events and
/// courses, so any grant may show some.
#[derive(Clone, Copy, Debug)]
pub struct Attendance;

impl Listing for Attendance {
    type Filters = Filters;
    type After = (String, String);
    type Row = AttendanceRow;

    /// The (event, booking) a page starts after, from `token` (empty: the first page); a token
    /// made for other filters is refused.
    fn start_after(token: &str, filters: &Filters) -> Result<Option<(String, String)>, ApiError> {
        Ok(crate::page_token::decode(token, &fingerprint(filters), 2)?
            .map(|mut key| (key.remove(0), key.remove(0))))
    }

    /// The statement of one page: `limit` bookings of `scope` under `filters`, after `after`, at
    /// `now`.
    fn statement(
        scope: &ReportScope,
        filters: &Filters,
        after: Option<&(String, String)>,
        limit: i64,
        now: i64,
    ) -> Sql {
        let columns = Columns {
            tenant: "b.tenant_id",
            user: "b.user_id",
            course: Some("ev.course_id"),
            event: Some("b.event_id"),
        };
        let mut sql = scope.select(
            "SELECT b.tenant_id, b.booking_id, b.event_id, b.user_id, b.status, ev.course_id, \
             ev.title, ev.starts_at, p.given_name, p.family_name, p.email \
             FROM projected_bookings b \
             JOIN projected_events ev ON ev.tenant_id = b.tenant_id AND ev.event_id = b.event_id \
             JOIN projected_people p ON p.tenant_id = b.tenant_id AND p.user_id = b.user_id \
             WHERE NOT p.removed AND ",
            columns,
            now,
        );
        if let Some(event) = &filters.event {
            sql.push(" AND b.event_id = ").text(event.clone());
        }
        if let Some(course) = &filters.course {
            sql.push(" AND ev.course_id = ").text(course.clone());
        }
        if let Some((event, booking)) = after {
            sql.push(" AND (b.event_id, b.booking_id) > (")
                .text(event.clone())
                .push(", ")
                .text(booking.clone())
                .push(")");
        }
        sql.push(" ORDER BY b.event_id, b.booking_id LIMIT ")
            .int(limit);
        sql
    }

    /// The token of the page after `row`.
    fn page_token(row: &AttendanceRow, filters: &Filters) -> String {
        crate::page_token::encode(
            &fingerprint(filters),
            &[row.event_id.clone(), row.booking_id.clone()],
        )
    }
}
