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
    /// The learner's main role; empty when they hold none (or its record has not arrived).
    pub main_role_id: String,
    /// The learner's team's name; empty when they have none.
    pub team_name: String,
    /// The name of the learner's main account's unit; empty when they have none.
    pub unit_name: String,
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

/// How a page's rows are found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Plan {
    /// From what the scope reaches (its people, its courses), then sorted: for a scope of a
    /// few thousand rows (a team, a course, a small unit).
    ByScope,
    /// By walking the tenant's people in name order, keeping the enrolments the scope reaches
    /// and stopping once the page is full: for a scope holding much of the tenant (the whole
    /// tenant, a large subtree), where sorting everything it reaches would be the cost.
    ByName,
}

/// People and course learners a scope may reach beyond which its pages are read by name.
/// Sorting a few thousand rows costs a few milliseconds; walking names costs about what the
/// page holds divided by the share of the tenant the scope reaches.
pub const READ_BY_NAME_FROM: i64 = 2_000;

/// How to read the pages of `scope` under `filters` in `order` at `now`: by name when the
/// scope is the whole tenant, or a unit or subtree reaching more than [`READ_BY_NAME_FROM`]
/// people and learners; from the scope otherwise (and always in course order, with a course,
/// learner, group or unit filter, or across client tenants, where the scope's side is the
/// narrow one).
pub async fn plan(
    database: &Database,
    scope: &ReportScope,
    filters: &Filters,
    order: Order,
    now: i64,
) -> Result<Plan, sqlx::Error> {
    let narrowed = filters.course.is_some()
        || filters.user.is_some()
        || filters.group.is_some()
        || filters.unit.is_some();
    if order != Order::Learner || narrowed || scope.has_clients() {
        return Ok(Plan::ByScope);
    }
    if scope.is_everyone() {
        return Ok(Plan::ByName);
    }
    if !scope.may_be_wide() {
        return Ok(Plan::ByScope);
    }
    let reach = count(database, &scope.reach_statement(now, READ_BY_NAME_FROM + 1)).await?;
    Ok(match reach > READ_BY_NAME_FROM {
        true => Plan::ByName,
        false => Plan::ByScope,
    })
}

/// One stretch of the tenant's people in name order: from a person's name key (inclusive or
/// not; the start when none) up to and including another (the end when none).
#[derive(Clone, Copy, Debug)]
struct Walk<'a> {
    from: Option<&'a [String]>,
    inclusive: bool,
    to: Option<&'a [String]>,
}

/// People read in the first stretch of a by-name page, per row it holds; each further stretch
/// reads twice as many, up to [`MOST_PEOPLE_A_STRETCH`].
const PEOPLE_PER_ROW: i64 = 4;
const MOST_PEOPLE_A_STRETCH: i64 = 50_000;
/// People a by-name page walks at most before it reads from the scope instead: a scope too
/// sparse for its size (a last page far from its rows) costs one sort, not a tenant's walk.
const MOST_PEOPLE_A_PAGE: i64 = 200_000;

/// One page: `limit` rows of `scope` under `filters`, in `order`, after `after`, at `now`,
/// read as `plan` says (by name in learner order only). By name, the tenant's people are read
/// in stretches in name order, each stretch's enrolments kept when the scope reaches them,
/// until the page is full or the people run out: every statement reads a bounded stretch
/// through the name index, whatever the planner would guess of the scope's size.
#[allow(clippy::too_many_arguments)]
pub async fn page(
    database: &Database,
    scope: &ReportScope,
    filters: &Filters,
    order: Order,
    after: Option<&[String]>,
    limit: i64,
    now: i64,
    plan: Plan,
) -> Result<Vec<ProgressRow>, sqlx::Error> {
    page_in_stretches(
        database,
        scope,
        filters,
        order,
        after,
        limit,
        now,
        plan,
        limit * PEOPLE_PER_ROW,
    )
    .await
}

/// [`page`], its first by-name stretch `first_stretch` people long (tests walk one at a time).
#[allow(clippy::too_many_arguments)]
pub async fn page_in_stretches(
    database: &Database,
    scope: &ReportScope,
    filters: &Filters,
    order: Order,
    after: Option<&[String]>,
    limit: i64,
    now: i64,
    plan: Plan,
    first_stretch: i64,
) -> Result<Vec<ProgressRow>, sqlx::Error> {
    let from_scope = || async {
        rows(
            database,
            &statement(scope, filters, order, after, limit, now),
        )
        .await
    };
    if plan == Plan::ByScope || order != Order::Learner {
        return from_scope().await;
    }
    let mut found: Vec<ProgressRow> = Vec::new();
    // The page may start inside a person's enrolments: their stretch starts with them.
    let mut from: Option<Vec<String>> = after.map(|key| key[..3].to_vec());
    let mut inclusive = true;
    let (mut people, mut walked) = (first_stretch.clamp(1, MOST_PEOPLE_A_STRETCH), 0);
    loop {
        if walked > MOST_PEOPLE_A_PAGE {
            return from_scope().await;
        }
        // The stretch's end is fixed first, then its rows read up to it: a person added
        // meanwhile is either in this stretch or the next, never skipped nor read twice.
        let to = stretch_end(database, scope, from.as_deref(), inclusive, people).await?;
        let walk = Walk {
            from: from.as_deref(),
            inclusive,
            to: to.as_deref(),
        };
        let mut sql = scoped(scope, filters, now, Select::Rows, Some(walk));
        page_end(&mut sql, Order::Learner, after, limit - found.len() as i64);
        found.extend(rows(database, &sql).await?);
        if found.len() as i64 >= limit {
            found.truncate(limit as usize);
            return Ok(found);
        }
        match to {
            Some(to) => from = Some(to),
            None => return Ok(found),
        }
        inclusive = false;
        walked += people;
        people = (people * 2).min(MOST_PEOPLE_A_STRETCH);
    }
}

/// The name key of the `people`-th person from `from` (inclusive or not); `None` when fewer
/// are left (the stretch runs to the end).
async fn stretch_end(
    database: &Database,
    scope: &ReportScope,
    from: Option<&[String]>,
    inclusive: bool,
    people: i64,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    let tenant = scope.tenants().next().expect("a scope has its tenant");
    let mut sql = Sql::default();
    sql.push("SELECT w.family_name, w.given_name, w.user_id FROM projected_people w");
    let walk = Walk {
        from,
        inclusive,
        to: None,
    };
    stretch(&mut sql, tenant, walk);
    sql.push(" ORDER BY w.family_name, w.given_name, w.user_id LIMIT 1 OFFSET ")
        .int(people - 1);
    // The text holds only constants (see scope_sql::Sql).
    macro_rules! fetch {
        ($pool:expr) => {{
            bind_all!(
                sqlx::query_as::<_, (String, String, String)>(sqlx::AssertSqlSafe(
                    sql.text.as_str()
                )),
                &sql.args
            )
            .fetch_optional($pool)
            .await?
        }};
    }
    let last = match database {
        Database::Postgres(pool) => fetch!(pool),
        Database::Sqlite(pool) => fetch!(pool),
    };
    Ok(last.map(|(family, given, user)| vec![family, given, user]))
}

/// ` WHERE ...`: the people of `walk`.
fn stretch(sql: &mut Sql, tenant: lms_kernel::TenantId, walk: Walk<'_>) {
    sql.push(" WHERE w.tenant_id = ")
        .bind(crate::scope_sql::Arg::Tenant(tenant.as_uuid()))
        .push(" AND NOT w.removed");
    if let Some(from) = walk.from {
        let operator = if walk.inclusive { ">=" } else { ">" };
        sql.push(&format!(
            " AND (w.family_name, w.given_name, w.user_id) {operator} ("
        ));
        for (i, value) in from.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.text(value.clone());
        }
        sql.push(")");
    }
    if let Some(to) = walk.to {
        sql.push(" AND (w.family_name, w.given_name, w.user_id) <= (");
        for (i, value) in to.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.text(value.clone());
        }
        sql.push(")");
    }
}

/// The statement of one page read from the scope: `limit` rows of `scope` under `filters`, in
/// `order`, after `after`, at `now`.
pub fn statement(
    scope: &ReportScope,
    filters: &Filters,
    order: Order,
    after: Option<&[String]>,
    limit: i64,
    now: i64,
) -> Sql {
    let mut sql = scoped(scope, filters, now, Select::Rows, None);
    page_end(&mut sql, order, after, limit);
    sql
}

/// Appends the page's keyset start, its order and its size.
fn page_end(sql: &mut Sql, order: Order, after: Option<&[String]>, limit: i64) {
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
}

/// The statement counting the rows of `scope` under `filters` at `now`.
pub fn count_statement(scope: &ReportScope, filters: &Filters, now: i64) -> Sql {
    scoped(scope, filters, now, Select::Count, None)
}

/// What a statement selects.
#[derive(Clone, Copy)]
enum Select {
    /// How many rows.
    Count,
    /// The rows.
    Rows,
}

/// Appends what a row statement selects: the enrolment, the learner, the course's title, and
/// what names the learner at `now`: their main role, their team's name, their main account's
/// unit's name (the role and the main account as in force then).
fn row_columns(sql: &mut Sql, now: i64) {
    use lms_api::authorization::v1::Relation;
    use lms_api::common::v1::ObjectType;
    sql.push(
        "e.tenant_id, e.enrolment_id, e.user_id, e.course_id, e.state, e.enrolled_at, \
         e.started_at, e.completed_at, e.score, p.given_name, p.family_name, p.email, \
         COALESCE(c.title, '') AS title, \
         COALESCE((SELECT r.role_id FROM projected_role_assignments r \
           WHERE r.tenant_id = e.tenant_id AND r.user_id = e.user_id AND r.main_role \
           AND (r.valid_from IS NULL OR r.valid_from <= ",
    )
    .int(now)
    .push(") AND (r.valid_until IS NULL OR ")
    .int(now)
    .push(
        " < r.valid_until) LIMIT 1), '') AS main_role_id, \
         COALESCE((SELECT g.name FROM projected_groups g WHERE g.tenant_id = p.tenant_id \
           AND g.group_id = p.primary_group_id AND NOT g.removed), '') AS team_name, \
         COALESCE((SELECT u.name FROM projected_facts f JOIN projected_units u \
           ON u.tenant_id = f.tenant_id AND u.unit_id = f.resource_id AND NOT u.removed \
           WHERE f.tenant_id = e.tenant_id AND f.subject_type = ",
    )
    .push(&(ObjectType::User as i16).to_string())
    .push(" AND f.subject_id = e.user_id AND f.relation = ")
    .push(&(Relation::MainAccount as i16).to_string())
    .push(" AND f.resource_tenant = '' AND ")
    .live("f", now)
    .push(" LIMIT 1), '') AS unit_name");
}

/// `SELECT columns FROM ... WHERE ...`: the rows of `scope` under `filters` at `now`, with the
/// common table expressions they need before it; with `walk`, of that stretch of people only.
fn scoped(
    scope: &ReportScope,
    filters: &Filters,
    now: i64,
    select: Select,
    walk: Option<Walk<'_>>,
) -> Sql {
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
    sql.push("SELECT ");
    match select {
        Select::Count => {
            sql.push("COUNT(*)");
        }
        Select::Rows => row_columns(&mut sql, now),
    }
    match walk {
        None => sql.push(
            " FROM projected_enrolments e \
             JOIN projected_people p ON p.tenant_id = e.tenant_id AND p.user_id = e.user_id \
             LEFT JOIN projected_courses c ON c.course_id = e.course_id AND NOT c.removed \
             WHERE NOT p.removed AND e.state IN ",
        ),
        Some(walk) => {
            // A bounded stretch of people in name order (read through the name index), each
            // one's enrolments then looked up and kept when the scope reaches them.
            sql.push(" FROM (SELECT * FROM projected_people w");
            stretch(&mut sql, tenant, walk);
            sql.push(
                ") p \
                 JOIN projected_enrolments e ON e.tenant_id = p.tenant_id AND e.user_id = p.user_id \
                 LEFT JOIN projected_courses c ON c.course_id = e.course_id AND NOT c.removed \
                 WHERE e.state IN ",
            )
        }
    };
    let states: Vec<String> = SHOWN_STATES.iter().map(ToString::to_string).collect();
    sql.push(&format!("({}) AND ", states.join(", ")));
    let columns = Columns {
        tenant: "e.tenant_id",
        user: "e.user_id",
        course: Some("e.course_id"),
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
