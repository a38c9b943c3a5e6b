//! The enrolment request report: requests to join courses that need approval, waiting or
//! decided, newest first, inside the caller's [`ReportScope`]: a request shows when the caller
//! may report on its learner or on its course. Keyset pages by request id, descending (ids are
//! time-ordered).

use lms_runtime::ApiError;

use crate::listing::{Listing, newest_first, only};
use crate::scope_sql::{Columns, ReportScope, Sql};

/// A request waiting for the Course Tutor (delegation's status number).
pub const WAITING: i16 = 1;

/// One request with its learner and course.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct RequestRow {
    /// The learner's tenant.
    pub tenant_id: uuid::Uuid,
    /// The request.
    pub request_id: String,
    /// The course.
    pub course_id: String,
    /// The course title; empty while the course's record has not arrived.
    pub title: String,
    /// The learner.
    pub user_id: String,
    /// The learner's names; empty for the anonymised.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Delegation's status number (1 waiting, 2 approved, 3 rejected).
    pub status: i16,
    /// When asked (seconds).
    pub requested_at: i64,
    /// When decided.
    pub decided_at: Option<i64>,
}

/// Only this course, only this learner, only waiting requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// Only this course.
    pub course: Option<String>,
    /// Only this learner.
    pub user: Option<String>,
    /// Only requests still waiting.
    pub waiting_only: bool,
}

fn fingerprint(filters: &Filters) -> String {
    format!(
        "requests/{}/{}/{}",
        filters.course.clone().unwrap_or_default(),
        filters.user.clone().unwrap_or_default(),
        filters.waiting_only
    )
}

/// The enrolment request listing.
#[derive(Clone, Copy, Debug)]
pub struct Requests;

impl Listing for Requests {
    type Filters = Filters;
    type After = String;
    type Row = RequestRow;

    /// The request a page starts after, from `token` (empty: the first page); a token made for
    /// other filters is refused.
    fn start_after(token: &str, filters: &Filters) -> Result<Option<String>, ApiError> {
        crate::page_token::decode_id(token, &fingerprint(filters))
    }

    /// The statement of one page: `limit` requests of `scope` under `filters`, before `after`
    /// (newest first), at `now`.
    fn statement(
        scope: &ReportScope,
        filters: &Filters,
        after: Option<&String>,
        limit: i64,
        now: i64,
    ) -> Sql {
        let columns = Columns {
            tenant: "r.tenant_id",
            user: "r.user_id",
            course: Some("r.course_id"),
            event: None,
        };
        let mut sql = scope.select(
            "SELECT r.tenant_id, r.request_id, r.course_id, COALESCE(c.title, '') AS title, \
             r.user_id, p.given_name, p.family_name, r.status, r.requested_at, r.decided_at \
             FROM projected_enrolment_requests r \
             JOIN projected_people p ON p.tenant_id = r.tenant_id AND p.user_id = r.user_id \
             LEFT JOIN projected_courses c ON c.course_id = r.course_id AND NOT c.removed \
             WHERE NOT p.removed AND ",
            columns,
            now,
        );
        only(&mut sql, "r.course_id", filters.course.as_ref());
        only(&mut sql, "r.user_id", filters.user.as_ref());
        if filters.waiting_only {
            sql.push(" AND r.status = ").int(i64::from(WAITING));
        }
        newest_first(&mut sql, "r.request_id", after, limit);
        sql
    }

    /// The token of the page after `row`.
    fn page_token(row: &RequestRow, filters: &Filters) -> String {
        crate::page_token::encode_id(&fingerprint(filters), &row.request_id)
    }
}
