//! Reporting benchmark, release build, PostgreSQL: a generated tenant in reporting's
//! projections, as identity's and delegation's events leave it, read through report scopes as
//! authorization's `ListGrants` answers them (the statements every report call runs; the call
//! adds one `ListGrants` round trip), each iteration a different caller:
//!
//! - `--people` people (1,000,000 by default; `--small` 20,000), each employed at one of 1,000
//!   sites (10 areas under each of 10 regions under the root), in a team of 20 with its manager,
//!   on 10 of `--courses` courses (10,000; each site owns some, each course has a tutor), so
//!   10,000,000 enrolments, 5 % withdrawn, the rest not started, in progress or completed;
//! - a manager's team report and a tutor's course report, first page of 50 by learner;
//! - an area administrator's unit-subtree report (10 sites: 10,000 people and the learners of
//!   the 100 courses they own), first page of 50 by learner;
//! - an administrator's whole-tenant report, first page of 50 by learner;
//! - the tenant summary, first page of 100 courses and the tenant's totals;
//! - the floor: `SELECT 1` on the same pool, in the same run;
//! - the projection: single-enrolment change events, on enrolments drawn from the whole table,
//!   arriving at `--rate` a second (20,000) for `--seconds` (5), applied as a reader does, what
//!   has arrived (at most the reader's `BATCH_ENTRIES`, or `--read-count`) in one transaction:
//!   the lag from arrival to commit, and whether it keeps up; the same changes one transaction
//!   each; and events of 1,000 new enrolments each (records/s).
//!
//! `cargo bench -p lms-reporting --bench reporting -- [--small] [--people N] [--courses N]
//!  [--calls 200] [--rate 20000] [--seconds 5] [--read-count N] [--explain]
//!  [--keep] [--reuse URL] [--json bench-results/reporting.json]` (or `make bench`). `--keep`
//!  leaves the generated database in place and prints the `--reuse` that runs on it again.

use std::time::Instant;

use hdrhistogram::Histogram;
use lms_api::authorization::v1::{HeldGrant, ListGrantsResponse, Reach};
use lms_api::delegation::v1::Enrolment;
use lms_api::reporting::v1::EnrolmentRecords;
use lms_kernel::{TenantId, UserId};
use lms_reporting::backbone::BATCH_ENTRIES;
use lms_reporting::progress::{self, Filters, Order};
use lms_reporting::projection::Projection;
use lms_reporting::scope_sql::ReportScope;
use lms_reporting::summary;
use lms_runtime::outbox::{OutboxEvent, PublishedEvent, topic};
use lms_runtime::{Database, SecretString, ServiceName};
use prost::Message;
use sqlx::PgPool;
use uuid::Uuid;

struct Args {
    people: i64,
    courses: i64,
    calls: usize,
    /// Events a second offered to the projection, and for how long.
    rate: i64,
    seconds: i64,
    /// Print the plan of each report's first statement.
    explain: bool,
    json: String,
    /// Keep the generated database (and print its URL) rather than drop it.
    keep: bool,
    /// Run on a database a run kept (`--keep`) instead of generating one.
    reuse: Option<String>,
    /// Events a transaction of the projection takes at most.
    read_count: usize,
}

fn args() -> Args {
    let mut args = Args {
        people: 1_000_000,
        courses: 10_000,
        calls: 200,
        rate: 20_000,
        seconds: 5,
        explain: false,
        keep: false,
        reuse: None,
        read_count: BATCH_ENTRIES,
        json: "bench-results/reporting.json".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> i64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} N"))
        };
        match arg.as_str() {
            "--small" => (args.people, args.courses) = (20_000, 500),
            "--people" => args.people = number("--people"),
            "--courses" => args.courses = number("--courses"),
            "--calls" => args.calls = number("--calls") as usize,
            "--rate" => args.rate = number("--rate"),
            "--seconds" => args.seconds = number("--seconds"),
            "--json" => args.json = it.next().expect("--json PATH"),
            "--explain" => args.explain = true,
            "--keep" => args.keep = true,
            "--read-count" => args.read_count = number("--read-count") as usize,
            "--reuse" => args.reuse = Some(it.next().expect("--reuse URL")),
            // Cargo's own (`--bench`).
            _ => {}
        }
    }
    assert!(
        args.people >= 20 && args.courses >= 10,
        "too small a tenant"
    );
    assert!(args.read_count > 0, "--read-count must be at least 1");
    args
}

/// Enrolments per person.
const PER_PERSON: i64 = 10;
/// Sites (leaf units), areas and regions.
const SITES: i64 = 1000;
/// People per team.
const TEAM: i64 = 20;
/// Rows per report page.
const PAGE: i64 = 50;

/// A small xorshift: callers spread over the tenant, the same each run.
struct Spread(u64);

impl Spread {
    fn below(&mut self, n: i64) -> i64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as i64
    }
}

/// The generated tenant, written straight into the projections in a few set-based statements.
async fn generate(pool: &PgPool, tenant: Uuid, args: &Args) {
    let started = Instant::now();
    let run = |label: &'static str, sql: String| async move {
        let step = Instant::now();
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        println!("  {label}: {:.1} s", step.elapsed().as_secs_f64());
    };
    let (people, courses) = (args.people, args.courses);
    // Object types: unit 2, user 3, group 4, course 6. Relations: parent unit 1, employee 2,
    // primary member 4, member 5, manager 6, course tutor 8, owning unit 17.
    let fact = "INSERT INTO projected_facts (tenant_id, resource_type, resource_id, \
                resource_tenant, relation, subject_type, subject_id, subject_tenant, valid_from, \
                valid_until, present, service, sequence)";
    run(
        "unit tree",
        format!(
            "{fact} SELECT $1, 2, md5('region' || r)::uuid::text, '', 1, 2, \
             md5('root')::uuid::text, '', NULL::bigint, NULL::bigint, TRUE, 'identity', 1 \
             FROM generate_series(0, 9) r \
             UNION ALL SELECT $1, 2, md5('area' || a)::uuid::text, '', 1, 2, \
             md5('region' || (a / 10))::uuid::text, '', NULL::bigint, NULL::bigint, TRUE, 'identity', 1 \
             FROM generate_series(0, 99) a \
             UNION ALL SELECT $1, 2, md5('site' || s)::uuid::text, '', 1, 2, \
             md5('area' || (s / 10))::uuid::text, '', NULL::bigint, NULL::bigint, TRUE, 'identity', 1 \
             FROM generate_series(0, {}) s",
            SITES - 1
        ),
    )
    .await;
    run(
        "people",
        format!(
            "INSERT INTO projected_people (tenant_id, user_id, given_name, family_name, email, \
             status, primary_group_id, external_id, removed, sequence) \
             SELECT $1, md5('person' || i)::uuid::text, 'Given' || (i % 997), \
             'Family' || lpad(((i::bigint * 7919) % 1000003)::text, 7, '0'), 'p' || i || '@bench.example', \
             2, md5('group' || (i / {TEAM}))::uuid::text, '', FALSE, 1 \
             FROM generate_series(0, {}) i",
            people - 1
        ),
    )
    .await;
    run(
        "employments and teams",
        format!(
            "{fact} SELECT $1, 2, md5('site' || (i % {SITES}))::uuid::text, '', 2, 3, \
             md5('person' || i)::uuid::text, '', NULL::bigint, NULL::bigint, TRUE, 'identity', 1 \
             FROM generate_series(0, {last}) i \
             UNION ALL SELECT $1, 4, md5('group' || (i / {TEAM}))::uuid::text, '', r, 3, \
             md5('person' || i)::uuid::text, '', NULL::bigint, NULL::bigint, TRUE, 'identity', 1 \
             FROM generate_series(0, {last}) i, (VALUES (4), (5)) AS relations(r) \
             UNION ALL SELECT $1, 4, md5('group' || g)::uuid::text, '', 6, 3, \
             md5('manager' || g)::uuid::text, '', NULL::bigint, NULL::bigint, TRUE, 'identity', 1 \
             FROM generate_series(0, {groups}) g",
            last = people - 1,
            groups = (people - 1) / TEAM,
        ),
    )
    .await;
    run(
        "courses, tutors and owning units",
        format!(
            "WITH made AS (INSERT INTO projected_courses (tenant_id, course_id, title, unit_id, \
             status, removed, sequence) SELECT $1, md5('course' || c)::uuid::text, \
             'Course ' || lpad(c::text, 6, '0'), md5('site' || (c % {SITES}))::uuid::text, 1, \
             FALSE, 1 FROM generate_series(0, {last}) c RETURNING 1) \
             {fact} SELECT $1, 6, md5('course' || c)::uuid::text, '', 8, 3, \
             md5('tutor' || c)::uuid::text, '', NULL::bigint, NULL::bigint, TRUE, 'delegation', 1 \
             FROM generate_series(0, {last}) c \
             UNION ALL SELECT $1, 6, md5('course' || c)::uuid::text, '', 17, 2, \
             md5('site' || (c % {SITES}))::uuid::text, '', NULL::bigint, NULL::bigint, TRUE, 'delegation', 1 \
             FROM generate_series(0, {last}) c",
            last = courses - 1,
        ),
    )
    .await;
    run(
        "enrolments",
        format!(
            "INSERT INTO projected_enrolments (tenant_id, enrolment_id, course_id, user_id, state, \
             enrolled_at, started_at, completed_at, withdrawn_at, score, sequence) \
             SELECT $1, md5('enrolment' || i || '/' || k)::uuid::text, \
             md5('course' || ((i * 7 + k * {step}) % {courses}))::uuid::text, \
             md5('person' || i)::uuid::text, s, 1700000000 + i, \
             CASE WHEN s >= 2 THEN 1700100000 + i END, CASE WHEN s = 3 THEN 1700200000 + i END, \
             CASE WHEN s = 4 THEN 1700300000 + i END, CASE WHEN s = 3 THEN 0.8 END, 1 \
             FROM generate_series(0, {last}) i, generate_series(0, {per}) k, \
             LATERAL (SELECT CASE WHEN (i + k) % 20 = 0 THEN 4 ELSE (i * 3 + k) % 3 + 1 END AS s) st",
            step = courses / PER_PERSON,
            last = people - 1,
            per = PER_PERSON - 1,
        ),
    )
    .await;
    run(
        "running totals",
        "INSERT INTO progress_totals (tenant_id, course_id, state, learners) \
         SELECT tenant_id, course_id, state, COUNT(*) FROM projected_enrolments \
         WHERE tenant_id = $1 GROUP BY tenant_id, course_id, state"
            .into(),
    )
    .await;
    sqlx::query("ANALYZE").execute(pool).await.unwrap();
    println!(
        "generated {people} people, {} enrolments, {courses} courses in {:.0} s",
        people * PER_PERSON,
        started.elapsed().as_secs_f64()
    );
}

/// The id the generator gave `what` number `n`.
async fn id(pool: &PgPool, what: &str, n: i64) -> Uuid {
    sqlx::query_scalar("SELECT md5($1 || $2)::uuid")
        .bind(what)
        .bind(n.to_string())
        .fetch_one(pool)
        .await
        .unwrap()
}

fn scope(
    tenant: Uuid,
    caller: Uuid,
    grants: &[(Reach, Option<Uuid>)],
    duties: &[&str],
) -> ReportScope {
    let answer = ListGrantsResponse {
        grants: grants
            .iter()
            .map(|(reach, unit)| HeldGrant {
                reach: *reach as i32,
                unit_id: unit.map(|u| u.to_string()).unwrap_or_default(),
                role_id: String::new(),
            })
            .collect(),
        responsibilities: duties.iter().map(|d| (*d).into()).collect(),
        ..Default::default()
    };
    ReportScope::from_grants(
        TenantId::from_uuid(tenant),
        UserId::from_uuid(caller),
        &answer,
    )
    .unwrap()
}

/// The first page of `scope`'s progress report by learner, planned as the report plans it;
/// answers its rows.
async fn first_page(database: &Database, scope: &ReportScope) -> usize {
    let now = lms_runtime::clock::now();
    let filters = Filters::default();
    let plan = progress::plan(database, scope, &filters, Order::Learner, now)
        .await
        .unwrap();
    progress::page(
        database,
        scope,
        &filters,
        Order::Learner,
        None,
        PAGE + 1,
        now,
        plan,
    )
    .await
    .unwrap()
    .len()
}

/// The statement of a first page read from the scope (what the planner makes of the scope's
/// own shape).
fn first_page_statement(scope: &ReportScope) -> lms_reporting::scope_sql::Sql {
    let now = lms_runtime::clock::now();
    progress::statement(
        scope,
        &Filters::default(),
        Order::Learner,
        None,
        PAGE + 1,
        now,
    )
}

/// Prints PostgreSQL's plan of `sql`, run.
async fn explain(database: &Database, label: &str, mut sql: lms_reporting::scope_sql::Sql) {
    sql.text = format!("EXPLAIN (ANALYZE, BUFFERS) {}", sql.text);
    let Database::Postgres(pool) = database else {
        return;
    };
    let query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.text.as_str()));
    let query = sql.args.iter().fold(query, |query, arg| match arg {
        lms_reporting::scope_sql::Arg::Tenant(id) => query.bind(*id),
        lms_reporting::scope_sql::Arg::Text(text) => query.bind(text.clone()),
        lms_reporting::scope_sql::Arg::Int(n) => query.bind(*n),
    });
    println!(
        "\n{label}:\n{}",
        query.fetch_all(pool).await.unwrap().join("\n")
    );
}

fn micros(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).unwrap()
}

#[tokio::main]
async fn main() {
    let args = args();
    let (test, url) = match &args.reuse {
        Some(url) => (None, url.clone()),
        None => {
            let test = lms_testkit::postgres_database().await;
            let url = test.url().to_owned();
            (Some(test), url)
        }
    };
    let database = Database::connect(&SecretString::new(&url), 4)
        .await
        .unwrap();
    database.migrate(&lms_reporting::MIGRATIONS).await.unwrap();
    let Database::Postgres(pool) = &database else {
        unreachable!("a PostgreSQL URL")
    };
    let tenant = match &test {
        None => sqlx::query_scalar("SELECT tenant_id FROM projected_people LIMIT 1")
            .fetch_one(pool)
            .await
            .expect("a database a run kept"),
        Some(_) => {
            let tenant = Uuid::now_v7();
            generate(pool, tenant, &args).await;
            tenant
        }
    };
    if args.keep {
        // A database of a container started for this run goes with it.
        println!("kept (on a server that outlives this run): --reuse {url}");
        std::mem::forget(test);
    }

    let mut spread = Spread(0x9E37_79B9_7F4A_7C15);
    let groups = args.people / TEAM;
    let mut cases: Vec<(&str, String, Histogram<u64>)> = Vec::new();

    let mut floor = histogram();
    for _ in 0..args.calls {
        let started = Instant::now();
        sqlx::query("SELECT 1").execute(pool).await.unwrap();
        floor.record(started.elapsed().as_micros() as u64).unwrap();
    }
    cases.push(("floor: SELECT 1", String::new(), floor));

    // Each caller's scope is built before the clock starts: the call's ListGrants round trip is
    // authorization's, measured by its own bench.
    let mut team = histogram();
    let mut rows = 0;
    for _ in 0..args.calls {
        let manager = id(pool, "manager", spread.below(groups)).await;
        let scope = scope(tenant, manager, &[(Reach::Team, None)], &[]);
        if args.explain && team.is_empty() {
            explain(&database, "team", first_page_statement(&scope)).await;
        }
        let started = Instant::now();
        rows += first_page(&database, &scope).await;
        team.record(started.elapsed().as_micros() as u64).unwrap();
    }
    cases.push((
        "manager's team, first page",
        format!("{:.0} rows a page", rows as f64 / args.calls as f64),
        team,
    ));

    let mut tutor = histogram();
    let mut rows = 0;
    for _ in 0..args.calls {
        let tutor_id = id(pool, "tutor", spread.below(args.courses)).await;
        let scope = scope(tenant, tutor_id, &[], &["course_tutor"]);
        if args.explain && tutor.is_empty() {
            explain(&database, "tutor", first_page_statement(&scope)).await;
        }
        let started = Instant::now();
        rows += first_page(&database, &scope).await;
        tutor.record(started.elapsed().as_micros() as u64).unwrap();
    }
    cases.push((
        "tutor's course, first page",
        format!("{:.0} rows a page", rows as f64 / args.calls as f64),
        tutor,
    ));

    let mut subtree = histogram();
    let mut rows = 0;
    for _ in 0..args.calls {
        let area = id(pool, "area", spread.below(SITES / 10)).await;
        let scope = scope(
            tenant,
            Uuid::now_v7(),
            &[(Reach::UnitSubtree, Some(area))],
            &[],
        );
        if args.explain && subtree.is_empty() {
            explain(&database, "subtree", first_page_statement(&scope)).await;
        }
        let started = Instant::now();
        rows += first_page(&database, &scope).await;
        subtree
            .record(started.elapsed().as_micros() as u64)
            .unwrap();
    }
    cases.push((
        "area's unit subtree, first page",
        format!("{:.0} rows a page", rows as f64 / args.calls as f64),
        subtree,
    ));

    let everyone = scope(tenant, Uuid::now_v7(), &[(Reach::Tenant, None)], &[]);
    if args.explain {
        explain(&database, "tenant", first_page_statement(&everyone)).await;
    }
    let mut whole = histogram();
    for _ in 0..args.calls {
        let started = Instant::now();
        assert_eq!(first_page(&database, &everyone).await, PAGE as usize + 1);
        whole.record(started.elapsed().as_micros() as u64).unwrap();
    }
    cases.push(("administrator's tenant, first page", String::new(), whole));

    let mut summarised = histogram();
    for _ in 0..args.calls {
        let now = lms_runtime::clock::now();
        let started = Instant::now();
        let page = summary::courses(
            &database,
            &summary::page_statement(&everyone, None, 101, now),
        )
        .await
        .unwrap();
        let total = summary::total(&database, &summary::total_statement(&everyone, now))
            .await
            .unwrap();
        summarised
            .record(started.elapsed().as_micros() as u64)
            .unwrap();
        assert!(!page.is_empty() && total.by_state.iter().sum::<i64>() > 0);
    }
    cases.push((
        "tenant summary: 100 courses and totals",
        String::new(),
        summarised,
    ));

    // The projection: one enrolment changed per event, applied one after another.
    let projection = Projection::new(database.clone());
    // Newer than every row, also on a database an earlier run changed (`--reuse`).
    let mut sequence: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(sequence), 0) + 1000 FROM projected_enrolments")
            .fetch_one(pool)
            .await
            .unwrap();
    let mut event = |records: Vec<Enrolment>| {
        sequence += 1;
        PublishedEvent {
            service: ServiceName::Delegation,
            event: OutboxEvent {
                sequence,
                event_id: Uuid::now_v7(),
                tenant: TenantId::from_uuid(tenant),
                topic: topic::ENROLMENTS.to_owned(),
                payload: EnrolmentRecords {
                    enrolments: records,
                }
                .encode_to_vec(),
            },
        }
    };
    // A reader's load: single-enrolment changes arriving at `--rate` a second for
    // `--seconds`; the reader takes what has arrived (at most a transaction's worth) and applies
    // it in one transaction. Lag: from an event's arrival to the commit that applied it.
    // A realistic spread: enrolments drawn row by row from the whole table (not whole pages,
    // which would put dozens of changes on each page read), oversampled, shuffled, then cut,
    // so every part of the table has its share, in random order.
    let arrivals = (args.rate * args.seconds) as usize;
    let rows: f64 = sqlx::query_scalar("SELECT reltuples::float8 FROM pg_class WHERE relname = $1")
        .bind("projected_enrolments")
        .fetch_one(pool)
        .await
        .unwrap();
    let percent = (150.0 * arrivals as f64 / rows.max(1.0)).min(100.0);
    let mut sample: Vec<(String, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT enrolment_id, course_id, user_id FROM projected_enrolments \
         TABLESAMPLE BERNOULLI ({percent}) WHERE tenant_id = $1"
    )))
    .bind(tenant)
    .fetch_all(pool)
    .await
    .unwrap();
    for i in (1..sample.len()).rev() {
        sample.swap(i, spread.below(i as i64 + 1) as usize);
    }
    sample.truncate(arrivals);
    let changes: Vec<PublishedEvent> = (0..arrivals)
        .map(|i| {
            let (enrolment_id, course_id, user_id) = sample[i % sample.len()].clone();
            event(vec![Enrolment {
                enrolment_id,
                course_id,
                user_id,
                state: 2 + (i % 2) as i32,
                ..Default::default()
            }])
        })
        .collect();
    let mut lag = histogram();
    let mut transaction = histogram();
    let started = Instant::now();
    let mut next = 0;
    while next < changes.len() {
        let arrived =
            ((started.elapsed().as_secs_f64() * args.rate as f64) as usize + 1).min(changes.len());
        if arrived <= next {
            tokio::time::sleep(std::time::Duration::from_micros(200)).await;
            continue;
        }
        let upto = arrived.min(next + args.read_count);
        let batch: Vec<(&PublishedEvent, &str)> =
            changes[next..upto].iter().map(|e| (e, "bench")).collect();
        let one = Instant::now();
        projection.apply_batch(&batch).await.unwrap();
        transaction
            .record(one.elapsed().as_micros() as u64)
            .unwrap();
        let done = started.elapsed().as_secs_f64();
        for i in next..upto {
            let arrival = i as f64 / args.rate as f64;
            lag.record(((done - arrival).max(0.0) * 1e6) as u64)
                .unwrap();
        }
        next = upto;
    }
    let kept_up = arrivals as f64 / started.elapsed().as_secs_f64();
    cases.push((
        "projection: lag, one change an event",
        format!(
            "{} events/s offered, {kept_up:.0}/s applied, {} transactions",
            args.rate,
            transaction.len()
        ),
        lag,
    ));
    cases.push((
        "projection: a transaction of them",
        format!("up to {} events", args.read_count),
        transaction,
    ));

    // The same changes one transaction each, as a reader without batches would.
    let mut applied = histogram();
    let singles = 1000.min(changes.len());
    let started = Instant::now();
    for change in &changes[..singles] {
        // A new event (a new id, a newer sequence) carrying the same change.
        let records = EnrolmentRecords::decode(change.event.payload.as_slice()).unwrap();
        let again = event(records.enrolments);
        let one = Instant::now();
        assert!(projection.apply(&again, "bench").await.unwrap());
        applied.record(one.elapsed().as_micros() as u64).unwrap();
    }
    let singles_per_second = singles as f64 / started.elapsed().as_secs_f64();
    cases.push((
        "projection: one event a transaction",
        format!("{singles_per_second:.0} events/s"),
        applied,
    ));

    let bulk_events = 20;
    // Each a deployment of one of the tenant's courses to a thousand newcomers.
    let bulk: Vec<PublishedEvent> = (0..bulk_events)
        .map(|k| {
            let course = &sample[k % sample.len()].1;
            event(
                (0..1000)
                    .map(|_| Enrolment {
                        enrolment_id: Uuid::now_v7().to_string(),
                        course_id: course.clone(),
                        user_id: Uuid::now_v7().to_string(),
                        state: 1,
                        ..Default::default()
                    })
                    .collect(),
            )
        })
        .collect();
    let mut bulk_applied = histogram();
    let started = Instant::now();
    for records in &bulk {
        let one = Instant::now();
        assert!(projection.apply(records, "bench").await.unwrap());
        bulk_applied
            .record(one.elapsed().as_micros() as u64)
            .unwrap();
    }
    let records_per_second = (bulk_events * 1000) as f64 / started.elapsed().as_secs_f64();
    cases.push((
        "projection: 1,000 new enrolments",
        format!("{records_per_second:.0} records/s"),
        bulk_applied,
    ));

    println!(
        "\n{:<40} {:>6} {:>10} {:>10} {:>10} {:>8} {:>8}  note",
        "case", "count", "p50 µs", "p95 µs", "p99 µs", "p50 ×", "p99 ×"
    );
    let (floor50, floor99) = (micros(&cases[0].2, 0.5), micros(&cases[0].2, 0.99));
    for (name, note, h) in &cases {
        let (p50, p95, p99) = (micros(h, 0.5), micros(h, 0.95), micros(h, 0.99));
        println!(
            "{name:<40} {:>6} {p50:>10.0} {p95:>10.0} {p99:>10.0} {:>8.1} {:>8.1}  {note}",
            h.len(),
            p50 / floor50,
            p99 / floor99,
        );
    }
    println!(
        "\ntargets: team and tutor report p95 <= 50 ms; subtree page p95 <= 100 ms; summary <= \
         50 ms; projection >= 20,000 events/s with lag p99 <= 1 s"
    );
    let json = serde_json::json!({
        "people": args.people,
        "enrolments": args.people * PER_PERSON,
        "courses": args.courses,
        "offered_events_per_second": args.rate,
        "applied_events_per_second": kept_up,
        "one_transaction_each_events_per_second": singles_per_second,
        "bulk_records_per_second": records_per_second,
        "cases": cases.iter().map(|(name, note, h)| serde_json::json!({
            "case": name, "note": note, "count": h.len(),
            "p50_us": micros(h, 0.5), "p95_us": micros(h, 0.95), "p99_us": micros(h, 0.99),
        })).collect::<Vec<_>>(),
    });
    if let Some(dir) = std::path::Path::new(&args.json).parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&args.json, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    println!("written to {}", args.json);
    database.close().await;
}
