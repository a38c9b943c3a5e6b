//! What the keyset-paged listings share (enrolment requests, competency sign-offs, attendance,
//! purchases): filters, a page token naming the row the last page ended on (refused when made
//! for other filters), one statement over the caller's scope, rows read by column name. Each
//! listing says what differs ([`Listing`]); the gRPC handler pages each the same way.

use lms_runtime::ApiError;

use crate::scope_sql::{ReportScope, Sql};

/// One keyset-paged listing.
pub trait Listing {
    /// What the caller narrows it to.
    type Filters;
    /// The key of the row a page starts after.
    type After;
    /// A row as the statement selects it.
    type Row: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + Send
        + Unpin;

    /// The key a page starts after, from `token` (empty: the first page); a token made for
    /// other filters is refused.
    fn start_after(token: &str, filters: &Self::Filters) -> Result<Option<Self::After>, ApiError>;

    /// The statement of one page: `limit` rows of `scope` under `filters`, after `after`, at
    /// `now`.
    fn statement(
        scope: &ReportScope,
        filters: &Self::Filters,
        after: Option<&Self::After>,
        limit: i64,
        now: i64,
    ) -> Sql;

    /// The token of the page after `row`.
    fn page_token(row: &Self::Row, filters: &Self::Filters) -> String;

    /// Whether `scope` can show any row at all: a listing of people's records needs a reach
    /// over learners.
    fn shows_any(scope: &ReportScope) -> bool {
        scope.reaches_learners()
    }
}

/// Appends ` AND column = value` when the filter `value` is set.
pub fn only(sql: &mut Sql, column: &str, value: Option<&String>) {
    if let Some(value) = value {
        sql.push(" AND ")
            .push(column)
            .push(" = ")
            .text(value.as_str());
    }
}

/// Appends the keyset end of a listing keyed by one time-ordered id `key`, newest first: the
/// rows before `after`, at most `limit`.
pub fn newest_first(sql: &mut Sql, key: &str, after: Option<&String>, limit: i64) {
    if let Some(after) = after {
        sql.push(" AND ").push(key).push(" < ").text(after.as_str());
    }
    sql.push(" ORDER BY ")
        .push(key)
        .push(" DESC LIMIT ")
        .int(limit);
}
