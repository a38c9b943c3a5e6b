//! The learner progress report: enrolments not started, in progress or completed, with the
//! learner and course as the projections hold them, inside the caller's [`ReportScope`], one
//! page at a time in a stable order (keyset paging: a page starts after the last row of the
//! one before, so rows added meanwhile neither repeat nor push others off).

use lms_runtime::{ApiError, Database};

use lms_api::authorization::v1::Relation;
use lms_api::common::v1::ObjectType;

use crate::scope_sql::{Columns, ReportScope, Sql, bind_all, units_below};

const USER: i16 = ObjectType::User as i16;
const GROUP: i16 = ObjectType::Group as i16;
const UNIT: i16 = ObjectType::Unit as i16;
const EMPLOYEE: i16 = Relation::Employee as i16;
const PRIMARY_MEMBER: i16 = Relation::PrimaryMember as i16;
const MEMBER: i16 = Relation::Member as i16;

/// The enrolment states a progress report shows (delegation's numbers, which the report's
/// progress states share): enrolled, in progress, completed. Requests and withdrawals are other
/// reports.
pub const SHOWN_STATES: [i16; 3] = [1, 2, 3];

/// The order of the rows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Order {
    /// Learner's family and given name, then the enrolment.
    Learner,
    /// Course title, then the learner.
    Course,
}

impl Order {
    /// The sort key, column by column; the enrolment id last breaks every tie.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Order::Learner => &[
                "p.family_name",
                "p.given_name",
                "e.user_id",
                "e.enrolment_id",
            ],
            Order::Course => &[
                "COALESCE(c.title, '')",
                "e.course_id",
                "p.family_name",
                "p.given_name",
                "e.enrolment_id",
            ],
        }
    }
}

/// What one report asks besides the scope: filters, order, and where the page starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// Only this course.
    pub course: Option<String>,
    /// Only this learner.
    pub user: Option<String>,
    /// Only members (primary or not) of this group.
    pub group: Option<String>,
    /// Only people employed at this unit or below.
    pub unit: Option<String>,
    /// Only this state.
    pub state: Option<i16>,
}

/// One row: an enrolment with its learner and course.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ProgressRow {
    /// The learner's tenant.
    pub tenant_id: uuid::Uuid,
    /// The enrolment.
    pub enrolment_id: String,
    /// The learner.
    pub user_id: String,
    /// The course.
    pub course_id: String,
    /// Delegation's enrolment state.
    pub state: i16,
    /// When enrolled, started, completed (seconds).
    pub enrolled_at: Option<i64>,
    /// When started.
    pub started_at: Option<i64>,
    /// When completed.
    pub completed_at: Option<i64>,
    /// The score, if any.
    pub score: Option<f32>,
    /// The learner's names and e-mail; empty for the anonymised.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// E-mail.
    pub email: String,
    /// The course title; empty while the course's record has not arrived.
    pub title: String,
}

impl ProgressRow {
    /// The row's values of `order`'s key, as a page token keeps them.
    pub fn key(&self, order: Order) -> Vec<String> {
        match order {
            Order::Learner => vec![
                self.family_name.clone(),
                self.given_name.clone(),
                self.user_id.clone(),
                self.enrolment_id.clone(),
            ],
            Order::Course => vec![
                self.title.clone(),
                self.course_id.clone(),
                self.family_name.clone(),
                self.given_name.clone(),
                self.enrolment_id.clone(),
            ],
        }
    }
}

/// The filters and order a token is for, spelt out field by field.
fn fingerprint(filters: &Filters, order: Order) -> String {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let order = match order {
        Order::Learner => "learner",
        Order::Course => "course",
    };
    [
        "progress".to_owned(),
        text(&filters.course),
        text(&filters.user),
        text(&filters.group),
        text(&filters.unit),
        filters.state.map(|s| s.to_string()).unwrap_or_default(),
        order.to_owned(),
    ]
    .join("/")
}

/// The token of the page after `row`.
pub fn page_token(row: &ProgressRow, filters: &Filters, order: Order) -> String {
    crate::page_token::encode(&fingerprint(filters, order), &row.key(order))
}

/// The key a page starts after, from `token` (empty: the first page). A token made for other
/// filters or another order is refused: it would skip or repeat rows.
pub fn start_after(
    token: &str,
    filters: &Filters,
    order: Order,
) -> Result<Option<Vec<String>>, ApiError> {
    crate::page_token::decode(token, &fingerprint(filters, order), order.keys().len())
}

/// The statement of one page: `limit` rows of `scope` under `filters`, in `order`, after
/// `after`, at `now`.
pub fn statement(
    scope: &ReportScope,
    filters: &Filters,
    order: Order,
    after: Option<&[String]>,
    limit: i64,
    now: i64,
) -> Sql {
    let mut sql = scoped(scope, filters, now, ROW_COLUMNS);
    let keys = order.keys();
    if let Some(after) = after {
        sql.push(&format!(" AND ({}) > (", keys.join(", ")));
        for (i, value) in after.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.text(value.clone());
        }
        sql.push(")");
    }
    sql.push(&format!(" ORDER BY {} LIMIT ", keys.join(", ")))
        .int(limit);
    sql
}

/// The statement counting the rows of `scope` under `filters` at `now`.
pub fn count_statement(scope: &ReportScope, filters: &Filters, now: i64) -> Sql {
    scoped(scope, filters, now, "COUNT(*)")
}

/// What a row statement selects.
const ROW_COLUMNS: &str = "e.tenant_id, e.enrolment_id, e.user_id, e.course_id, e.state, \
     e.enrolled_at, e.started_at, e.completed_at, e.score, p.given_name, p.family_name, p.email, \
     COALESCE(c.title, '') AS title";

/// `SELECT columns FROM ... WHERE ...`: the rows of `scope` under `filters` at `now`, with the
/// common table expressions they need before it.
fn scoped(scope: &ReportScope, filters: &Filters, now: i64, columns: &str) -> Sql {
    let mut sql = Sql::default();
    let tenant = scope.tenants().next().expect("a scope has its tenant");
    match (scope.needs_cte(), &filters.unit) {
        (false, None) => {}
        (true, None) => {
            sql.push("WITH RECURSIVE ");
            scope.cte(&mut sql);
            sql.push(" ");
        }
        (needs_scope_cte, Some(unit)) => {
            sql.push("WITH RECURSIVE ");
            if needs_scope_cte {
                scope.cte(&mut sql);
                sql.push(", ");
            }
            sql.push("filter_units(unit_id) AS (SELECT column1 FROM (VALUES (")
                .text(unit.clone())
                .push(")) AS seed UNION ");
            units_below(&mut sql, "filter_units", tenant);
            sql.push(") ");
        }
    }
    sql.push("SELECT ").push(columns).push(
        " FROM projected_enrolments e \
         JOIN projected_people p ON p.tenant_id = e.tenant_id AND p.user_id = e.user_id \
         LEFT JOIN projected_courses c ON c.course_id = e.course_id AND NOT c.removed \
         WHERE NOT p.removed AND e.state IN ",
    );
    let states: Vec<String> = SHOWN_STATES.iter().map(ToString::to_string).collect();
    sql.push(&format!("({}) AND ", states.join(", ")));
    let columns = Columns {
        tenant: "e.tenant_id",
        user: "e.user_id",
        course: "e.course_id",
        event: None,
    };
    scope.condition(&mut sql, columns, now);
    if let Some(course) = &filters.course {
        sql.push(" AND e.course_id = ").text(course.clone());
    }
    if let Some(user) = &filters.user {
        sql.push(" AND e.user_id = ").text(user.clone());
    }
    if let Some(state) = filters.state {
        sql.push(" AND e.state = ").int(i64::from(state));
    }
    if let Some(group) = &filters.group {
        // Members now, as the group shows them: primary or not, in their window.
        sql.push(&format!(
            " AND e.user_id IN (SELECT gm.subject_id FROM projected_facts gm \
             WHERE gm.tenant_id = e.tenant_id AND gm.resource_type = {GROUP} AND gm.resource_id = "
        ))
        .text(group.clone())
        .push(&format!(
            " AND gm.resource_tenant = '' AND gm.relation IN ({PRIMARY_MEMBER}, {MEMBER}) \
             AND gm.subject_type = {USER} AND gm.subject_tenant = '' AND "
        ))
        .live("gm", now)
        .push(")");
    }
    if filters.unit.is_some() {
        // Employed now at the unit or below it.
        sql.push(&format!(
            " AND e.user_id IN (SELECT ue.subject_id FROM projected_facts ue \
             WHERE ue.tenant_id = e.tenant_id AND ue.resource_type = {UNIT} \
             AND ue.resource_tenant = '' AND ue.relation = {EMPLOYEE} AND ue.subject_type = {USER} \
             AND ue.subject_tenant = '' AND "
        ))
        .live("ue", now)
        .push(" AND ue.resource_id IN (SELECT unit_id FROM filter_units))");
    }
    sql
}

/// Runs the count `sql` on `database`.
pub async fn count(database: &Database, sql: &Sql) -> Result<i64, sqlx::Error> {
    macro_rules! fetch {
        ($pool:expr) => {{
            // Every value is a placeholder; the text holds only constants (see scope_sql::Sql).
            let query = bind_all!(
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql.text.as_str())),
                &sql.args
            );
            query.fetch_one($pool).await
        }};
    }
    match database {
        Database::Postgres(pool) => fetch!(pool),
        Database::Sqlite(pool) => fetch!(pool),
    }
}

/// Runs `sql` on `database` and reads its progress rows.
pub async fn rows(database: &Database, sql: &Sql) -> Result<Vec<ProgressRow>, sqlx::Error> {
    crate::scope_sql::fetch_all(database, sql).await
}
