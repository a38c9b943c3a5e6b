//! A report's scope in SQL: the caller's grants of the report permission (authorization's
//! ListGrants: reach and place, responsibilities, client tenants) turned into conditions over
//! the projections, ORed, so a report reads only the rows the caller may see and never asks one
//! Check per row. Each reach follows the relations the kernel's scope table names for it
//! (`lms_kernel::scope::of_reach`), and reads them as `decide` does: a relationship counts while
//! it is present and in its window, a unit's subtree follows PARENT_UNIT downwards.
//!
//! Two sides make a row visible:
//! - **people**: the learner is one the caller may report on (`reports.read` on the person):
//!   themselves, their invitees, their team, the members of groups they oversee, the
//!   employees of their units or subtrees, everyone in their tenant or its clients;
//! - **courses**: the course is one the caller may report on through a duty or a unit: tutored
//!   or administered, or owned by their unit or a unit below it. Every learner on it shows.
//!   A learner's own enrolment reaches their own rows only (the people side), never their
//!   fellow learners'.
//!
//! No grant, no side: the report answers nothing, never everything.

use lms_api::authorization::v1::{ListGrantsResponse, Reach};
use lms_api::common::v1::ObjectType;
use lms_kernel::{Responsibility, TenantId, UnitId, UserId};
use lms_runtime::{ApiError, Database};

/// The relations reports follow, as the projections store them (the proto's numbers).
mod relation {
    use lms_api::authorization::v1::Relation;

    pub const PARENT_UNIT: i16 = Relation::ParentUnit as i16;
    pub const EMPLOYEE: i16 = Relation::Employee as i16;
    pub const PRIMARY_MEMBER: i16 = Relation::PrimaryMember as i16;
    pub const MEMBER: i16 = Relation::Member as i16;
    pub const MANAGER: i16 = Relation::Manager as i16;
    pub const ADMINISTRATOR: i16 = Relation::Administrator as i16;
    pub const COURSE_TUTOR: i16 = Relation::CourseTutor as i16;
    pub const COURSE_ADMINISTRATOR: i16 = Relation::CourseAdministrator as i16;
    pub const INVITEE: i16 = Relation::Invitee as i16;
    pub const OWNING_UNIT: i16 = Relation::OwningUnit as i16;
    pub const EVENT_ADMINISTRATOR: i16 = Relation::EventAdministrator as i16;
}

const USER: i16 = ObjectType::User as i16;
const GROUP: i16 = ObjectType::Group as i16;
const UNIT: i16 = ObjectType::Unit as i16;
const COURSE: i16 = ObjectType::Course as i16;
const EVENT: i16 = ObjectType::Event as i16;

/// Binds a statement's [`Sql::args`] to `query` in order (a macro: the same on either backend's
/// query type).
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                $crate::scope_sql::Arg::Tenant(id) => query.bind(*id),
                $crate::scope_sql::Arg::Text(text) => query.bind(text.as_str()),
                $crate::scope_sql::Arg::Int(n) => query.bind(*n),
            };
        }
        query
    }};
}
pub(crate) use bind_all;

/// Runs `sql` on `database` and reads each row as `T`, whose fields are named as the columns
/// the statement selects.
pub async fn fetch_all<T>(database: &Database, sql: &Sql) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + Send
        + Unpin,
{
    // Every value is a placeholder; the text holds only constants (see [`Sql`]).
    let text = sqlx::AssertSqlSafe(sql.text.as_str());
    match database {
        Database::Postgres(pool) => {
            bind_all!(sqlx::query_as::<_, T>(text), &sql.args)
                .fetch_all(pool)
                .await
        }
        Database::Sqlite(pool) => {
            bind_all!(sqlx::query_as::<_, T>(text), &sql.args)
                .fetch_all(pool)
                .await
        }
    }
}

/// Appends the recursive step of a unit subtree named `cte`: the units whose parent is in it.
pub fn units_below(sql: &mut Sql, cte: &str, tenant: TenantId) {
    sql.push(&format!(
        "SELECT below.resource_id FROM projected_facts below \
         JOIN {cte} ON below.subject_id = {cte}.unit_id WHERE below.tenant_id = "
    ))
    .bind(Arg::Tenant(tenant.as_uuid()))
    .push(&format!(
        " AND below.subject_type = {UNIT} AND below.relation = {} \
         AND below.resource_type = {UNIT} AND below.present",
        relation::PARENT_UNIT
    ));
}

/// A value bound into a statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// A tenant id (the projections' `tenant_id` column).
    Tenant(uuid::Uuid),
    /// Text: ids as the projections keep them.
    Text(String),
    /// A number: a relation, a type, a state, a time in seconds.
    Int(i64),
}

/// SQL text with `$n` placeholders, numbered in the order they appear, and their values: the
/// same text runs on PostgreSQL and SQLite.
#[derive(Clone, Debug, Default)]
pub struct Sql {
    /// The text.
    pub text: String,
    /// The values, `$1` first.
    pub args: Vec<Arg>,
}

impl Sql {
    /// Appends `text`.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `arg`.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    /// Appends a text placeholder.
    pub fn text(&mut self, value: impl Into<String>) -> &mut Self {
        self.bind(Arg::Text(value.into()))
    }

    /// Appends a number placeholder.
    pub fn int(&mut self, value: i64) -> &mut Self {
        self.bind(Arg::Int(value))
    }

    /// Appends `(v1, v2, ...)` of text placeholders.
    fn text_list<'a>(&mut self, values: impl IntoIterator<Item = &'a String>) -> &mut Self {
        self.push("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.text(value.clone());
        }
        self.push(")")
    }

    /// Appends the condition that the relationship row `alias` is in effect at `now`: present,
    /// and inside its window (from inclusive, until exclusive), as `decide` reads it.
    pub fn live(&mut self, alias: &str, now: i64) -> &mut Self {
        self.push(&format!(
            "{alias}.present AND ({alias}.valid_from IS NULL OR {alias}.valid_from <= "
        ))
        .int(now)
        .push(&format!(") AND ({alias}.valid_until IS NULL OR "))
        .int(now)
        .push(&format!(" < {alias}.valid_until)"))
    }

    /// Appends `(r1, r2)`, a list of relation numbers (constants, not bound).
    fn relations(&mut self, relations: &[i16]) -> &mut Self {
        let list: Vec<String> = relations.iter().map(ToString::to_string).collect();
        self.push(&format!("({})", list.join(", ")))
    }
}

/// Groups related to the caller, and the memberships of theirs that count.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Overseen {
    /// How the caller relates to the group.
    caller: &'static [i16],
    /// How a person belongs to it.
    members: &'static [i16],
}

/// A manager's team: the people whose primary group they manage.
const TEAM: Overseen = Overseen {
    caller: &[relation::MANAGER],
    members: &[relation::PRIMARY_MEMBER],
};
/// Everyone in a group the caller manages or administers.
const OVERSEEN_GROUPS: Overseen = Overseen {
    caller: &[relation::MANAGER, relation::ADMINISTRATOR],
    members: &[relation::PRIMARY_MEMBER, relation::MEMBER],
};
/// Everyone in a group the caller administers (the Group Administrator's duty).
const ADMINISTERED_GROUPS: Overseen = Overseen {
    caller: &[relation::ADMINISTRATOR],
    members: &[relation::PRIMARY_MEMBER, relation::MEMBER],
};

/// What the caller may report on, from their grants of the report permission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportScope {
    tenant: TenantId,
    caller: UserId,
    /// Everyone in the tenant.
    everyone: bool,
    /// Client tenants reached whole (`tenant_and_clients`, with clients switched on).
    clients: Vec<TenantId>,
    own: bool,
    invitees: bool,
    groups: Vec<Overseen>,
    /// Units whose employees (`unit`) and owned courses count.
    units: Vec<UnitId>,
    /// Units whose subtree's employees and owned courses count.
    subtrees: Vec<UnitId>,
    /// How the caller relates to courses whose learners all count.
    course_duties: Vec<i16>,
    /// Events the caller administers count whole (their bookings).
    administered_events: bool,
}

/// The columns a row is scoped by: its tenant, learner and course, and its event where it has
/// one (qualified names).
#[derive(Clone, Copy, Debug)]
pub struct Columns<'a> {
    /// The row's tenant.
    pub tenant: &'a str,
    /// The learner.
    pub user: &'a str,
    /// The course, for rows a course's reporters see whole (none: the row's person alone
    /// decides).
    pub course: Option<&'a str>,
    /// The event, for rows of an event (bookings).
    pub event: Option<&'a str>,
}

impl ReportScope {
    /// The scope of `caller` in `tenant` from authorization's answer. An answer naming a reach,
    /// unit, responsibility or tenant this build does not know is refused rather than read
    /// narrower or wider: UNAVAILABLE, like any answer authorization could not give.
    pub fn from_grants(
        tenant: TenantId,
        caller: UserId,
        answer: &ListGrantsResponse,
    ) -> Result<Self, ApiError> {
        let unreadable = || {
            tracing::error!("authorization's ListGrants answer could not be read");
            ApiError::Unavailable {
                dependency: "authorization",
            }
        };
        let mut scope = ReportScope {
            tenant,
            caller,
            everyone: false,
            clients: Vec::new(),
            own: false,
            invitees: false,
            groups: Vec::new(),
            units: Vec::new(),
            subtrees: Vec::new(),
            course_duties: Vec::new(),
            administered_events: false,
        };
        let add_duty = |duties: &mut Vec<i16>, relation: i16| {
            if !duties.contains(&relation) {
                duties.push(relation);
            }
        };
        for grant in &answer.grants {
            let place = || {
                UnitId::parse(&grant.unit_id)
                    .map_err(|_| unreadable())
                    .map(Some)
            };
            match Reach::try_from(grant.reach).map_err(|_| unreadable())? {
                Reach::Own => scope.own = true,
                Reach::Invitees => scope.invitees = true,
                Reach::Team => scope.add_groups(TEAM),
                Reach::AdministeredGroups => scope.add_groups(OVERSEEN_GROUPS),
                Reach::TutoredCourses => add_duty(&mut scope.course_duties, relation::COURSE_TUTOR),
                Reach::AdministeredCourses => {
                    add_duty(&mut scope.course_duties, relation::COURSE_TUTOR);
                    add_duty(&mut scope.course_duties, relation::COURSE_ADMINISTRATOR);
                }
                // Bookings on those events, in attendance reports; no learner's progress.
                Reach::AdministeredEvents => scope.administered_events = true,
                Reach::Unit => scope.units.extend(place()?),
                Reach::UnitSubtree => scope.subtrees.extend(place()?),
                Reach::Tenant => scope.everyone = true,
                Reach::TenantAndClients => {
                    scope.everyone = true;
                    for client in &answer.client_tenant_ids {
                        let client = TenantId::parse(client).map_err(|_| unreadable())?;
                        if !scope.clients.contains(&client) {
                            scope.clients.push(client);
                        }
                    }
                }
                Reach::Unspecified => return Err(unreadable()),
            }
        }
        for name in &answer.responsibilities {
            let responsibility = Responsibility::ALL
                .into_iter()
                .find(|r| r.name() == name)
                .ok_or_else(unreadable)?;
            match responsibility {
                Responsibility::CourseTutor => {
                    add_duty(&mut scope.course_duties, relation::COURSE_TUTOR)
                }
                Responsibility::CourseAdministrator => {
                    add_duty(&mut scope.course_duties, relation::COURSE_ADMINISTRATOR)
                }
                Responsibility::EventAdministrator => scope.administered_events = true,
                Responsibility::GroupManager => scope.add_groups(TEAM),
                Responsibility::GroupAdministrator => scope.add_groups(ADMINISTERED_GROUPS),
            }
        }
        scope.units.dedup();
        scope.subtrees.dedup();
        Ok(scope)
    }

    fn add_groups(&mut self, overseen: Overseen) {
        if !self.groups.contains(&overseen) {
            self.groups.push(overseen);
        }
    }

    /// Whether the caller may report on nobody at all.
    pub fn is_empty(&self) -> bool {
        !self.everyone
            && !self.own
            && !self.invitees
            && self.groups.is_empty()
            && self.units.is_empty()
            && self.subtrees.is_empty()
            && self.course_duties.is_empty()
            && !self.administered_events
    }

    /// The tenants whose rows may show: the caller's, and the clients it reaches whole.
    pub fn tenants(&self) -> impl Iterator<Item = TenantId> + '_ {
        std::iter::once(self.tenant).chain(self.clients.iter().copied())
    }

    /// Whether the conditions read `scope_units`, which [`ReportScope::cte`] defines.
    pub fn needs_cte(&self) -> bool {
        !self.subtrees.is_empty()
    }

    /// Appends the recursive common table expression `scope_units`: the caller's subtree
    /// places and every unit below them (to follow `WITH RECURSIVE`).
    pub fn cte(&self, sql: &mut Sql) {
        sql.push("scope_units(unit_id) AS (SELECT column1 FROM (VALUES ");
        for (i, unit) in self.subtrees.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").text(unit.to_string()).push(")");
        }
        sql.push(") AS seed UNION ");
        units_below(sql, "scope_units", self.tenant);
        sql.push(")");
    }

    /// A statement of the rows of one report inside this scope: `select` (a `SELECT ... FROM
    /// ... WHERE ` text ending where a condition may follow), after the common table
    /// expression the scope needs, and then the scope's condition on `columns` at `now`.
    /// Filters, keyset and order follow with `AND`.
    pub fn select(&self, select: &str, columns: Columns<'_>, now: i64) -> Sql {
        let mut sql = Sql::default();
        if self.needs_cte() {
            sql.push("WITH RECURSIVE ");
            self.cte(&mut sql);
            sql.push(" ");
        }
        sql.push(select);
        self.condition(&mut sql, columns, now);
        sql
    }

    /// Appends the condition that a row (its `columns`) may show, at `now`: its learner is one
    /// the caller may report on, or its course, or its event. No side applies: no row.
    pub fn condition(&self, sql: &mut Sql, columns: Columns<'_>, now: i64) {
        let tenant = columns.tenant;
        sql.push("((").push(tenant).push(" = ");
        sql.bind(Arg::Tenant(self.tenant.as_uuid()));
        if self.everyone {
            sql.push(")");
        } else {
            sql.push(" AND (");
            let mut first = true;
            let mut or = |sql: &mut Sql| {
                if !std::mem::take(&mut first) {
                    sql.push(" OR ");
                }
            };
            if self.has_people() {
                or(sql);
                sql.push(columns.user).push(" IN (");
                self.people(sql, now);
                sql.push(")");
            }
            if let Some(course) = columns.course.filter(|_| self.has_courses()) {
                or(sql);
                sql.push(course).push(" IN (");
                self.courses(sql, now);
                sql.push(")");
            }
            if let Some(event) = columns.event.filter(|_| self.administered_events) {
                or(sql);
                sql.push(event).push(" IN (");
                self.events(sql, now);
                sql.push(")");
            }
            if first {
                sql.push("1 = 0");
            }
            sql.push("))");
        }
        for client in &self.clients {
            sql.push(" OR ")
                .push(tenant)
                .push(" = ")
                .bind(Arg::Tenant(client.as_uuid()));
        }
        sql.push(")");
    }

    fn has_people(&self) -> bool {
        self.own
            || self.invitees
            || !self.groups.is_empty()
            || !self.units.is_empty()
            || !self.subtrees.is_empty()
    }

    fn has_courses(&self) -> bool {
        !self.course_duties.is_empty() || !self.units.is_empty() || !self.subtrees.is_empty()
    }

    /// Whether the caller may see some learner's rows of a report with no event in it
    /// (progress, requests, sign-offs): an Event Administrator's duty reaches bookings only.
    pub fn reaches_learners(&self) -> bool {
        self.everyone || self.has_people() || self.has_courses()
    }

    /// Whether the caller may see some person's rows of a report by person alone (purchases):
    /// the whole tenant, or people by any reach.
    pub fn reaches_people(&self) -> bool {
        self.everyone || self.has_people()
    }

    /// Whether the caller may see every learner of some course: the whole tenant, or courses
    /// they tutor, administer or whose unit they reach. A course's totals count every learner
    /// on it, so only such a caller may see them.
    pub fn reaches_whole_courses(&self) -> bool {
        self.everyone || self.has_courses()
    }

    /// Appends the condition that course `course` of tenant `tenant` (qualified columns) is one
    /// whose every learner the caller may see, at `now`. Call only when
    /// [`ReportScope::reaches_whole_courses`].
    pub fn course_condition(&self, sql: &mut Sql, tenant: &str, course: &str, now: i64) {
        sql.push("((").push(tenant).push(" = ");
        sql.bind(Arg::Tenant(self.tenant.as_uuid()));
        if self.everyone {
            sql.push(")");
        } else {
            sql.push(" AND ").push(course).push(" IN (");
            self.courses(sql, now);
            sql.push("))");
        }
        for client in &self.clients {
            sql.push(" OR ")
                .push(tenant)
                .push(" = ")
                .bind(Arg::Tenant(client.as_uuid()));
        }
        sql.push(")");
    }

    fn tenant_arg(&self) -> Arg {
        Arg::Tenant(self.tenant.as_uuid())
    }

    /// Whether the scope reaches more than its own tenant (a master's clients).
    pub fn has_clients(&self) -> bool {
        !self.clients.is_empty()
    }

    /// Whether the scope reaches the whole tenant.
    pub fn is_everyone(&self) -> bool {
        self.everyone
    }

    /// Whether a scope may reach much of its tenant (a unit or a subtree of units): the rest
    /// (oneself, invitees, teams, groups, tutored courses) reach what one person oversees.
    pub fn may_be_wide(&self) -> bool {
        !self.units.is_empty() || !self.subtrees.is_empty()
    }

    /// A statement answering, in one number, about how many people and course learners the
    /// scope reaches at `now`: the people its people side reaches (counted up to `cap`) plus the
    /// learners of the courses it reaches whole (from the running totals). What it costs is
    /// bounded, so it can decide how a report is read.
    pub fn reach_statement(&self, now: i64, cap: i64) -> Sql {
        let mut sql = Sql::default();
        if self.needs_cte() {
            sql.push("WITH RECURSIVE ");
            self.cte(&mut sql);
            sql.push(" ");
        }
        sql.push("SELECT CAST(");
        if self.has_people() {
            sql.push("(SELECT COUNT(*) FROM (SELECT 1 FROM (");
            self.people(&mut sql, now);
            sql.push(") reached LIMIT ").int(cap).push(") capped)");
        } else {
            sql.push("0");
        }
        sql.push(" AS BIGINT) + CAST(");
        if self.has_courses() {
            sql.push(
                "(SELECT COALESCE(SUM(t.learners), 0) FROM progress_totals t WHERE t.tenant_id = ",
            )
            .bind(self.tenant_arg())
            .push(" AND t.course_id IN (");
            self.courses(&mut sql, now);
            sql.push("))");
        } else {
            sql.push("0");
        }
        sql.push(" AS BIGINT)");
        sql
    }

    /// A select of the ids of the people of the tenant the caller may report on.
    fn people(&self, sql: &mut Sql, now: i64) {
        let caller = self.caller.to_string();
        let mut selects = 0;
        let mut union = |sql: &mut Sql| {
            if selects > 0 {
                sql.push(" UNION ");
            }
            selects += 1;
        };
        if self.own {
            union(sql);
            sql.push("SELECT ").text(caller.clone());
        }
        if self.invitees {
            union(sql);
            sql.push("SELECT f.subject_id FROM projected_facts f WHERE f.tenant_id = ")
                .bind(self.tenant_arg())
                .push(&format!(
                    " AND f.resource_type = {USER} AND f.resource_id = "
                ))
                .text(caller.clone())
                .push(&format!(
                    " AND f.resource_tenant = '' AND f.relation = {} AND f.subject_type = {USER} \
                     AND f.subject_tenant = '' AND ",
                    relation::INVITEE
                ))
                .live("f", now);
        }
        for overseen in &self.groups {
            union(sql);
            sql.push("SELECT m.subject_id FROM projected_facts g JOIN projected_facts m ON ")
                .push(&format!(
                    "m.tenant_id = g.tenant_id AND m.resource_type = {GROUP} \
                     AND m.resource_id = g.resource_id AND m.resource_tenant = '' AND m.relation IN "
                ))
                .relations(overseen.members)
                .push(&format!(
                    " AND m.subject_type = {USER} AND m.subject_tenant = '' AND "
                ))
                .live("m", now)
                .push(" WHERE g.tenant_id = ")
                .bind(self.tenant_arg())
                .push(&format!(" AND g.subject_type = {USER} AND g.subject_id = "))
                .text(caller.clone())
                .push(&format!(
                    " AND g.subject_tenant = '' AND g.resource_type = {GROUP} \
                     AND g.resource_tenant = '' AND g.relation IN "
                ))
                .relations(overseen.caller)
                .push(" AND ")
                .live("g", now);
        }
        let employees = |sql: &mut Sql| {
            sql.push("SELECT f.subject_id FROM projected_facts f WHERE f.tenant_id = ")
                .bind(self.tenant_arg())
                .push(&format!(
                    " AND f.resource_type = {UNIT} AND f.resource_tenant = '' AND f.relation = {} \
                     AND f.subject_type = {USER} AND f.subject_tenant = '' AND ",
                    relation::EMPLOYEE
                ))
                .live("f", now)
                .push(" AND f.resource_id IN ");
        };
        if !self.units.is_empty() {
            union(sql);
            employees(sql);
            let units: Vec<String> = self.units.iter().map(ToString::to_string).collect();
            sql.text_list(&units);
        }
        if !self.subtrees.is_empty() {
            union(sql);
            employees(sql);
            sql.push("(SELECT unit_id FROM scope_units)");
        }
    }

    /// A select of the ids of the tenant's events the caller administers.
    fn events(&self, sql: &mut Sql, now: i64) {
        sql.push("SELECT f.resource_id FROM projected_facts f WHERE f.tenant_id = ")
            .bind(self.tenant_arg())
            .push(&format!(" AND f.subject_type = {USER} AND f.subject_id = "))
            .text(self.caller.to_string())
            .push(&format!(
                " AND f.subject_tenant = '' AND f.resource_type = {EVENT} \
                 AND f.resource_tenant = '' AND f.relation = {} AND ",
                relation::EVENT_ADMINISTRATOR
            ))
            .live("f", now);
    }

    /// A select of the ids of the tenant's courses whose every learner the caller may report on.
    fn courses(&self, sql: &mut Sql, now: i64) {
        let mut selects = 0;
        let mut union = |sql: &mut Sql| {
            if selects > 0 {
                sql.push(" UNION ");
            }
            selects += 1;
        };
        if !self.course_duties.is_empty() {
            union(sql);
            sql.push("SELECT f.resource_id FROM projected_facts f WHERE f.tenant_id = ")
                .bind(self.tenant_arg())
                .push(&format!(" AND f.subject_type = {USER} AND f.subject_id = "))
                .text(self.caller.to_string())
                .push(&format!(
                    " AND f.subject_tenant = '' AND f.resource_type = {COURSE} \
                     AND f.resource_tenant = '' AND f.relation IN "
                ))
                .relations(&self.course_duties)
                .push(" AND ")
                .live("f", now);
        }
        // A course's owning unit is structure, never windowed.
        let owned = |sql: &mut Sql| {
            sql.push("SELECT f.resource_id FROM projected_facts f WHERE f.tenant_id = ")
                .bind(self.tenant_arg())
                .push(&format!(
                    " AND f.subject_type = {UNIT} AND f.resource_type = {COURSE} \
                     AND f.resource_tenant = '' AND f.relation = {} AND f.present \
                     AND f.subject_id IN ",
                    relation::OWNING_UNIT
                ));
        };
        if !self.units.is_empty() {
            union(sql);
            owned(sql);
            let units: Vec<String> = self.units.iter().map(ToString::to_string).collect();
            sql.text_list(&units);
        }
        if !self.subtrees.is_empty() {
            union(sql);
            owned(sql);
            sql.push("(SELECT unit_id FROM scope_units)");
        }
    }
}

#[cfg(test)]
mod tests {
    use lms_api::authorization::v1::HeldGrant;

    use super::*;

    fn answer(grants: &[(Reach, &str)], responsibilities: &[&str]) -> ListGrantsResponse {
        ListGrantsResponse {
            grants: grants
                .iter()
                .map(|(reach, unit)| HeldGrant {
                    reach: *reach as i32,
                    unit_id: (*unit).into(),
                    role_id: String::new(),
                })
                .collect(),
            responsibilities: responsibilities.iter().map(|r| (*r).into()).collect(),
            client_tenant_ids: Vec::new(),
            checked_at: None,
        }
    }

    #[test]
    fn no_grant_is_an_empty_scope_and_a_student_reaches_only_themselves() {
        let (tenant, caller) = (TenantId::generate(), UserId::generate());
        let nothing = ReportScope::from_grants(tenant, caller, &answer(&[], &[])).unwrap();
        assert!(nothing.is_empty());
        let student =
            ReportScope::from_grants(tenant, caller, &answer(&[(Reach::Own, "")], &[])).unwrap();
        assert!(!student.is_empty());
        assert!(student.has_people() && !student.has_courses());
    }

    #[test]
    fn an_answer_this_build_cannot_read_is_refused_not_read_wider_or_narrower() {
        let (tenant, caller) = (TenantId::generate(), UserId::generate());
        for unreadable in [
            answer(&[(Reach::Unit, "not-a-unit")], &[]),
            answer(&[(Reach::Unspecified, "")], &[]),
            answer(&[], &["course_wizard"]),
        ] {
            assert!(matches!(
                ReportScope::from_grants(tenant, caller, &unreadable),
                Err(ApiError::Unavailable { .. })
            ));
        }
    }

    #[test]
    fn placeholders_are_numbered_in_the_order_they_appear() {
        let unit = UnitId::generate();
        let scope = ReportScope::from_grants(
            TenantId::generate(),
            UserId::generate(),
            &answer(
                &[(Reach::UnitSubtree, &unit.to_string()), (Reach::Own, "")],
                &["course_tutor"],
            ),
        )
        .unwrap();
        let mut sql = Sql::default();
        sql.push("WITH RECURSIVE ");
        scope.cte(&mut sql);
        let columns = Columns {
            tenant: "e.tenant_id",
            user: "e.user_id",
            course: Some("e.course_id"),
            event: None,
        };
        scope.condition(&mut sql, columns, 100);
        let mut expected = 1;
        let mut rest = sql.text.as_str();
        while let Some(at) = rest.find('$') {
            let digits: String = rest[at + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            assert_eq!(digits.parse::<usize>().unwrap(), expected, "{}", sql.text);
            expected += 1;
            rest = &rest[at + 1..];
        }
        assert_eq!(expected - 1, sql.args.len());
    }
}
