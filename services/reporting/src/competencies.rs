//! The competency sign-off report: checks Course Tutors signed off, newest first, inside the
//! caller's [`ReportScope`]: a sign-off shows when the caller may report on its learner or on
//! its course. Keyset pages by check id, descending (ids are time-ordered).

use lms_runtime::ApiError;

use crate::listing::{Listing, newest_first, only};
use crate::scope_sql::{Columns, ReportScope, Sql};

/// One sign-off with its learner and course.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct SignOffRow {
    /// The learner's tenant.
    pub tenant_id: uuid::Uuid,
    /// The check.
    pub check_id: String,
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
    /// Who signed it off.
    pub signed_off_by: String,
    /// When (seconds).
    pub signed_off_at: i64,
    /// The tutor's note.
    pub note: String,
}

/// Only this course, only this learner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// Only this course.
    pub course: Option<String>,
    /// Only this learner.
    pub user: Option<String>,
}

fn fingerprint(filters: &Filters) -> String {
    let [course, user] =
        [&filters.course, &filters.user].map(|value| value.clone().unwrap_or_default());
    format!("competencies/{course}/{user}")
}

/// The competency sign-off listing.
#[derive(Clone, Copy, Debug)]
pub struct SignOffs;

impl Listing for SignOffs {
    type Filters = Filters;
    type After = String;
    type Row = SignOffRow;

    /// The check a page starts after, from `token` (empty: the first page); a token made for
    /// other filters is refused.
    fn start_after(token: &str, filters: &Filters) -> Result<Option<String>, ApiError> {
        crate::page_token::decode_id(token, &fingerprint(filters))
    }

    /// The statement of one page: `limit` sign-offs of `scope` under `filters`, before `after`
    /// (newest first), at `now`.
    fn statement(
        scope: &ReportScope,
        filters: &Filters,
        after: Option<&String>,
        limit: i64,
        now: i64,
    ) -> Sql {
        let columns = Columns {
            tenant: "k.tenant_id",
            user: "k.user_id",
            course: Some("k.course_id"),
            event: None,
        };
        let mut sql = scope.select(
            "SELECT k.tenant_id, k.check_id, k.course_id, COALESCE(c.title, '') AS title, \
             k.user_id, p.given_name, p.family_name, k.signed_off_by, k.signed_off_at, k.note \
             FROM projected_competencies k \
             JOIN projected_people p ON p.tenant_id = k.tenant_id AND p.user_id = k.user_id \
             LEFT JOIN projected_courses c ON c.course_id = k.course_id AND NOT c.removed \
             WHERE NOT p.removed AND ",
            columns,
            now,
        );
        only(&mut sql, "k.course_id", filters.course.as_ref());
        only(&mut sql, "k.user_id", filters.user.as_ref());
        newest_first(&mut sql, "k.check_id", after, limit);
        sql
    }

    /// The token of the page after `row`.
    fn page_token(row: &SignOffRow, filters: &Filters) -> String {
        crate::page_token::encode_id(&fingerprint(filters), &row.check_id)
    }
}
