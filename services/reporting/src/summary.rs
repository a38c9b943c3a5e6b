//! The tenant summary: learners by course and state, read from `progress_totals`, the running
//! totals the projection keeps with every enrolment change, so the summary of a tenant with
//! millions of enrolments reads a few rows per course instead of counting them. Only courses
//! whose every learner the caller may see are summed ([`ReportScope::course_condition`]).

use lms_runtime::Database;
use sqlx::Row;

use crate::scope_sql::{Arg, ReportScope, Sql, bind_all};

/// One course's learners in each state (delegation's numbers: 1 enrolled, 2 in progress,
/// 3 completed, 4 withdrawn), or the sum over courses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// The course's tenant (nil in a sum).
    pub tenant_id: uuid::Uuid,
    /// The course (empty in a sum).
    pub course_id: String,
    /// Its title (empty in a sum, or before the course's record arrived).
    pub title: String,
    /// Learners by state number; index 0 is unused.
    pub by_state: [i64; 5],
}

impl Totals {
    fn add(&mut self, state: i16, learners: i64) {
        if let Some(slot) = usize::try_from(state)
            .ok()
            .and_then(|i| self.by_state.get_mut(i))
        {
            *slot += learners;
        }
    }
}

/// `WITH [RECURSIVE scope_units ...,] shown(tenant_id, course_id) AS (the courses in scope)`.
fn shown(scope: &ReportScope, sql: &mut Sql, now: i64) {
    sql.push("WITH RECURSIVE ");
    if scope.needs_cte() {
        scope.cte(sql);
        sql.push(", ");
    }
    sql.push("shown(tenant_id, course_id) AS (SELECT DISTINCT t.tenant_id, t.course_id FROM progress_totals t WHERE ");
    scope.course_condition(sql, "t.tenant_id", "t.course_id", now);
    sql.push(") ");
}

/// The statement of one page: `limit` courses after `after` (a course id and its tenant: a
/// course granted to clients has totals under each), each with a row per state.
pub fn page_statement(
    scope: &ReportScope,
    after: Option<&(String, uuid::Uuid)>,
    limit: i64,
    now: i64,
) -> Sql {
    let mut sql = Sql::default();
    shown(scope, &mut sql, now);
    sql.push(", page(tenant_id, course_id) AS (SELECT tenant_id, course_id FROM shown");
    if let Some((course, tenant)) = after {
        sql.push(" WHERE (course_id, tenant_id) > (")
            .text(course.clone())
            .push(", ")
            .bind(Arg::Tenant(*tenant))
            .push(")");
    }
    sql.push(" ORDER BY course_id, tenant_id LIMIT ").int(limit);
    sql.push(
        ") SELECT t.tenant_id, t.course_id, COALESCE(c.title, '') AS title, t.state, t.learners \
         FROM progress_totals t \
         JOIN page ON page.tenant_id = t.tenant_id AND page.course_id = t.course_id \
         LEFT JOIN projected_courses c ON c.course_id = t.course_id AND NOT c.removed \
         ORDER BY t.course_id, t.tenant_id, t.state",
    );
    sql
}

/// The statement summing every course in scope by state.
pub fn total_statement(scope: &ReportScope, now: i64) -> Sql {
    let mut sql = Sql::default();
    shown(scope, &mut sql, now);
    sql.push(
        "SELECT t.state, CAST(SUM(t.learners) AS BIGINT) AS learners FROM progress_totals t \
         JOIN shown ON shown.tenant_id = t.tenant_id AND shown.course_id = t.course_id \
         GROUP BY t.state",
    );
    sql
}

/// The courses of a page statement, in order.
pub async fn courses(database: &Database, sql: &Sql) -> Result<Vec<Totals>, sqlx::Error> {
    macro_rules! fetch {
        ($pool:expr) => {{
            // Every value is a placeholder; the text holds only constants (see scope_sql::Sql).
            let query = bind_all!(
                sqlx::query(sqlx::AssertSqlSafe(sql.text.as_str())),
                &sql.args
            );
            let mut courses: Vec<Totals> = Vec::new();
            for row in query.fetch_all($pool).await? {
                let tenant_id: uuid::Uuid = row.try_get("tenant_id")?;
                let course_id: String = row.try_get("course_id")?;
                let title: String = row.try_get("title")?;
                let state: i16 = row.try_get("state")?;
                let learners: i64 = row.try_get("learners")?;
                if courses
                    .last()
                    .is_none_or(|last| (&last.course_id, last.tenant_id) != (&course_id, tenant_id))
                {
                    courses.push(Totals {
                        tenant_id,
                        course_id,
                        title,
                        ..Totals::default()
                    });
                }
                if let Some(course) = courses.last_mut() {
                    course.add(state, learners);
                }
            }
            Ok(courses)
        }};
    }
    match database {
        Database::Postgres(pool) => fetch!(pool),
        Database::Sqlite(pool) => fetch!(pool),
    }
}

/// The token of the page after `course`.
pub fn page_token(course: &Totals) -> String {
    crate::page_token::encode(
        "summary",
        &[course.course_id.clone(), course.tenant_id.to_string()],
    )
}

/// The course a page starts after, from `token` (empty: the first page).
pub fn start_after(token: &str) -> Result<Option<(String, uuid::Uuid)>, lms_runtime::ApiError> {
    let Some(mut key) = crate::page_token::decode(token, "summary", 2)? else {
        return Ok(None);
    };
    let tenant = uuid::Uuid::parse_str(&key[1]).map_err(|_| {
        lms_runtime::ApiError::invalid_field("page_token", "is not a token of this report")
    })?;
    Ok(Some((key.remove(0), tenant)))
}

/// The sum of a total statement.
pub async fn total(database: &Database, sql: &Sql) -> Result<Totals, sqlx::Error> {
    macro_rules! fetch {
        ($pool:expr) => {{
            let query = bind_all!(
                sqlx::query_as::<_, (i16, i64)>(sqlx::AssertSqlSafe(sql.text.as_str())),
                &sql.args
            );
            let mut total = Totals::default();
            for (state, learners) in query.fetch_all($pool).await? {
                total.add(state, learners);
            }
            Ok(total)
        }};
    }
    match database {
        Database::Postgres(pool) => fetch!(pool),
        Database::Sqlite(pool) => fetch!(pool),
    }
}
