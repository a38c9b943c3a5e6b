//! Load benchmark of the authorization service: a generated tenant, the release service over
//! real gRPC with PostgreSQL and Redis, and a bare tonic echo measured in the same run as the
//! floor. Prints p50, p99 and throughput per case and writes them as JSON. The echo, the layer
//! stack and the warm Check alternate in rounds, so their ratios (the targets) share conditions.
//!
//! `cargo bench -p lms-authorization --bench load -- [--users 100000] [--seconds 5]
//!  [--json bench-results/authorization.json] [--only echo,layers,warm,cold,batch,lookup]`
//! (or `make bench`). `--only` runs just the named cases, to profile one path at a time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::{
    BatchCheckItem, BatchCheckRequest, CheckRequest, Decision, LookupResourcesRequest,
};
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ObjectReference, ObjectType};
use lms_authorization::store::{
    AssignmentRecord, AuditEntry, Change, FactBatch, FactStore, PgStore, Relationship, RoleStore,
    Stamp, SubjectStatus,
};
use lms_kernel::{
    AssignmentId, CourseId, GroupId, RoleId, Template, TenantId, UnitId, UserId, UserStatus,
};
use lms_runtime::ServiceName;
use lms_runtime::client::CallCredentials;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Client = PermissionServiceClient<InterceptedService<Channel, CallCredentials>>;

struct Args {
    users: usize,
    seconds: u64,
    json: String,
    only: Option<Vec<String>>,
}

impl Args {
    /// Whether the case with this key runs.
    fn runs(&self, case: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|wanted| wanted == case))
    }
}

fn args() -> Args {
    let mut args = Args {
        users: 100_000,
        seconds: 5,
        json: "bench-results/authorization.json".into(),
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--users" => args.users = it.next().and_then(|v| v.parse().ok()).expect("--users N"),
            "--seconds" => {
                args.seconds = it.next().and_then(|v| v.parse().ok()).expect("--seconds N")
            }
            "--json" => args.json = it.next().expect("--json PATH"),
            "--only" => {
                let cases = it.next().expect("--only CASE[,CASE]");
                args.only = Some(cases.split(',').map(str::to_owned).collect());
            }
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

/// The generated tenant.
struct Tenant {
    id: TenantId,
    users: Vec<UserId>,
    manager: UserId,
    tutor: UserId,
    courses: Vec<CourseId>,
}

fn rel(
    resource_type: ObjectType,
    resource: uuid::Uuid,
    relation: lms_api::authorization::v1::Relation,
    subject_type: ObjectType,
    subject: uuid::Uuid,
) -> Change {
    Change::Touch(Relationship {
        resource_type: resource_type as i16,
        resource_id: resource,
        relation: relation as i16,
        subject_type: subject_type as i16,
        subject_id: subject,
        valid_from: None,
        valid_until: None,
    })
}

async fn assign(
    store: &PgStore,
    tenant: TenantId,
    user: UserId,
    template: Template,
    unit: Option<UnitId>,
) {
    let record = AssignmentRecord {
        id: AssignmentId::generate(),
        user,
        role: RoleId::BuiltIn(template),
        unit,
        valid_from: None,
        valid_until: None,
        source: 1,
        main_role: true,
        assigned: Stamp {
            actor: "bench".into(),
            at: 0,
        },
    };
    let audit = AuditEntry {
        stamp: record.assigned.clone(),
        action: "role_assignment.created",
        object_type: 5,
        object_id: record.id.to_string(),
        before: None,
        after: None,
    };
    store
        .insert_assignment(tenant, &record, audit)
        .await
        .unwrap();
}

/// Users in 100 units and teams of 50, one team of 1,000 under the manager; 1,000 courses, 20
/// tutored by the tutor; one enrolment per user; 1 % managers, 1 % tutors, a few local administrators.
async fn generate(store: &PgStore, users: usize) -> Tenant {
    use lms_api::authorization::v1::Relation as R;
    let id = TenantId::generate();
    let units: Vec<UnitId> = (0..100).map(|_| UnitId::generate()).collect();
    let courses: Vec<CourseId> = (0..1000).map(|_| CourseId::generate()).collect();
    let all: Vec<UserId> = (0..users).map(|_| UserId::generate()).collect();
    let (manager, tutor) = (all[0], all[1]);
    let big_team = GroupId::generate();
    let mut teams: Vec<GroupId> = Vec::new();
    let started = Instant::now();
    let settings = lms_kernel::TenantSettings {
        locations_enabled: true,
        clients_enabled: false,
        mfa_required_for_admins: false,
    };
    let mut first = true;
    for (chunk_index, chunk) in all.chunks(1000).enumerate() {
        let mut changes = Vec::with_capacity(chunk.len() * 3);
        for (i, user) in chunk.iter().enumerate() {
            let n = chunk_index * 1000 + i;
            let team = if (2..1002).contains(&n) {
                big_team
            } else {
                if n % 50 == 0 || teams.is_empty() {
                    teams.push(GroupId::generate());
                }
                *teams.last().unwrap()
            };
            changes.push(rel(
                ObjectType::Group,
                team.as_uuid(),
                R::PrimaryMember,
                ObjectType::User,
                user.as_uuid(),
            ));
            changes.push(rel(
                ObjectType::Unit,
                units[n % units.len()].as_uuid(),
                R::Employee,
                ObjectType::User,
                user.as_uuid(),
            ));
            changes.push(rel(
                ObjectType::Course,
                courses[n % courses.len()].as_uuid(),
                R::Enrolled,
                ObjectType::User,
                user.as_uuid(),
            ));
        }
        if first {
            changes.push(rel(
                ObjectType::Group,
                big_team.as_uuid(),
                R::Manager,
                ObjectType::User,
                manager.as_uuid(),
            ));
            changes.extend(courses[..20].iter().enumerate().map(|(i, c)| {
                let relation = if i < 10 {
                    R::CourseTutor
                } else {
                    R::CourseAdministrator
                };
                rel(
                    ObjectType::Course,
                    c.as_uuid(),
                    relation,
                    ObjectType::User,
                    tutor.as_uuid(),
                )
            }));
        }
        let statuses = chunk
            .iter()
            .map(|u| SubjectStatus {
                user: *u,
                status: UserStatus::Active,
                restrict_bookings: false,
            })
            .collect();
        let batch = FactBatch {
            event_id: uuid::Uuid::new_v4(),
            changes,
            settings: first.then_some(settings),
            statuses,
        };
        store.apply_facts(id, &batch).await.unwrap();
        first = false;
    }
    assign(store, id, manager, Template::Manager, None).await;
    assign(store, id, tutor, Template::Tutor, None).await;
    for (i, user) in all
        .iter()
        .enumerate()
        .skip(2)
        .step_by(100)
        .take(users / 100)
    {
        let template = if i % 200 == 2 {
            Template::Manager
        } else {
            Template::Tutor
        };
        assign(store, id, *user, template, None).await;
    }
    for (i, user) in all.iter().enumerate().skip(3).step_by(5000) {
        assign(
            store,
            id,
            *user,
            Template::LocalAdministrator,
            Some(units[i % units.len()]),
        )
        .await;
    }
    println!(
        "generated {users} users, {} relationships in {:.1?}",
        users * 3 + 21,
        started.elapsed()
    );
    Tenant {
        id,
        users: all,
        manager,
        tutor,
        courses,
    }
}

struct Outcome {
    name: String,
    in_flight: usize,
    calls: u64,
    p50_us: f64,
    p99_us: f64,
    per_second: f64,
}

/// One benchmark case's call, boxed so that cases of different shapes alternate in one loop.
type Call = Arc<dyn Fn(u64) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

fn call<F, Fut>(f: F) -> Call
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |i| Box::pin(f(i)))
}

fn histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap()
}

/// Runs `call` in `in_flight` concurrent loops for `length`: the latencies, and the time taken.
async fn sample(call: &Call, in_flight: usize, length: Duration) -> (Histogram<u64>, Duration) {
    let started = Instant::now();
    let deadline = started + length;
    let loops: Vec<_> = (0..in_flight)
        .map(|lane| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut histogram = histogram();
                let mut i = lane as u64 * 1_000_003;
                while Instant::now() < deadline {
                    let started = Instant::now();
                    call(i).await;
                    histogram
                        .record(started.elapsed().as_micros().max(1) as u64)
                        .unwrap();
                    i += 1;
                }
                histogram
            })
        })
        .collect();
    let mut total = histogram();
    for handle in loops {
        total.add(handle.await.unwrap()).unwrap();
    }
    (total, started.elapsed())
}

/// Rounds that cases compared with each other alternate in.
const ROUNDS: u32 = 10;

/// Runs `cases` with `in_flight` concurrent loops for `duration` each (after a short warm-up),
/// in alternating rounds: a slow spell of the shared machine then falls on every case alike,
/// so the ratios between them (what the targets are stated in) are measured under the same
/// conditions.
async fn measure_alternating(
    cases: &[(&str, Call)],
    in_flight: usize,
    duration: Duration,
    rounds: u32,
) -> Vec<Outcome> {
    for (_, call) in cases {
        sample(call, in_flight, duration / 5).await;
    }
    let mut totals: Vec<_> = cases
        .iter()
        .map(|_| (histogram(), Duration::ZERO))
        .collect();
    for _ in 0..rounds {
        for ((_, call), (histogram, elapsed)) in cases.iter().zip(&mut totals) {
            let (round, took) = sample(call, in_flight, duration / rounds).await;
            histogram.add(round).unwrap();
            *elapsed += took;
        }
    }
    cases
        .iter()
        .zip(totals)
        .map(|((name, _), (histogram, elapsed))| Outcome {
            name: (*name).into(),
            in_flight,
            calls: histogram.len(),
            p50_us: histogram.value_at_quantile(0.5) as f64,
            p99_us: histogram.value_at_quantile(0.99) as f64,
            per_second: histogram.len() as f64 / elapsed.as_secs_f64(),
        })
        .collect()
}

/// Runs `call` with `in_flight` concurrent loops for `duration` (after a short warm-up).
async fn measure<F, Fut>(name: &str, in_flight: usize, duration: Duration, f: F) -> Outcome
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut outcomes = measure_alternating(&[(name, call(f))], in_flight, duration, 1).await;
    outcomes.remove(0)
}

fn reference(kind: ObjectType, id: impl ToString) -> Option<ObjectReference> {
    Some(ObjectReference {
        r#type: kind as i32,
        id: id.to_string(),
        tenant_id: String::new(),
    })
}

#[tokio::main]
async fn main() {
    let args = args();
    let auth = lms_testkit::TestAuth::new();
    let database = lms_testkit::postgres_database().await;
    let redis = lms_testkit::redis().await;
    let context = lms_testkit::service_context(
        ServiceName::Authorization,
        database.url(),
        Some(&redis),
        &auth,
    );
    let application = lms_authorization::build(context).await.unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(database.url())
        .await
        .unwrap();
    let store = PgStore::new(pool);
    let tenant = generate(&store, args.users).await;
    let service = lms_testkit::TestService::start(application).await;
    let duration = Duration::from_secs(args.seconds);

    // The floor: a bare tonic server (no layers, no auth) answering a health check.
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<tonic_health::pb::health_server::HealthServer<tonic_health::server::HealthService>>().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let echo_addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(health_service)
            .serve_with_incoming(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            ),
    );
    let echo_channel = lms_runtime::client::connect(format!("http://{echo_addr}"))
        .await
        .unwrap();

    let client = |user: UserId| -> Client {
        PermissionServiceClient::new(service.authorized(&auth.user_token(tenant.id, user)))
    };
    let delegation: Client = PermissionServiceClient::new(
        service.authorized(&auth.tenant_service_token("delegation", tenant.id)),
    );
    let latency = Some(Consistency {
        requirement: Some(Requirement::MinimizeLatency(true)),
    });
    let full = Some(Consistency {
        requirement: Some(Requirement::FullyConsistent(true)),
    });
    let member = tenant.users[500];
    let warm = CheckRequest {
        permission: "users.read".into(),
        resource: reference(ObjectType::User, member),
        consistency: latency.clone(),
        subject_id: String::new(),
    };
    let manager_client = client(tenant.manager);
    assert_eq!(
        manager_client
            .clone()
            .check(warm.clone())
            .await
            .unwrap()
            .into_inner()
            .decision(),
        Decision::Allowed
    );

    let mut outcomes = Vec::new();
    // The floor, the layers and the warm Check alternate, so their ratios share conditions.
    for in_flight in [1, 16] {
        let mut cases = Vec::new();
        if args.runs("echo") {
            let channel = echo_channel.clone();
            cases.push((
                "echo (bare tonic health check)",
                call(move |_| {
                    let mut echo =
                        tonic_health::pb::health_client::HealthClient::new(channel.clone());
                    async move {
                        echo.check(tonic_health::pb::HealthCheckRequest::default())
                            .await
                            .unwrap();
                    }
                }),
            ));
        }
        // The same server's layer stack (request id, tracing, deadline, auth skipped for health,
        // concurrency limit) around a health check: what the layers cost over the bare echo.
        if args.runs("layers") {
            let layered = service.channel();
            cases.push((
                "health check through the service's layers",
                call(move |_| {
                    let mut health =
                        tonic_health::pb::health_client::HealthClient::new(layered.clone());
                    async move {
                        health
                            .check(tonic_health::pb::HealthCheckRequest::default())
                            .await
                            .unwrap();
                    }
                }),
            ));
        }
        if args.runs("warm") {
            let (c, request) = (manager_client.clone(), warm.clone());
            cases.push((
                "check, warm cache",
                call(move |_| {
                    let (mut c, request) = (c.clone(), request.clone());
                    async move {
                        c.check(request).await.unwrap();
                    }
                }),
            ));
        }
        outcomes.extend(measure_alternating(&cases, in_flight, duration, ROUNDS).await);
    }
    let users = Arc::new(tenant.users.clone());
    let courses = Arc::new(tenant.courses.clone());
    if args.runs("cold") {
        let (d, users, courses, full) = (
            delegation.clone(),
            users.clone(),
            courses.clone(),
            full.clone(),
        );
        outcomes.push(
            measure(
                "check, cold (fully consistent, random subject)",
                1,
                duration,
                move |i| {
                    let mut d = d.clone();
                    let subject = users[(i as usize * 7919) % users.len()];
                    let course = courses[(i as usize * 104_729) % courses.len()];
                    let request = CheckRequest {
                        subject_id: subject.to_string(),
                        permission: "learning.take".into(),
                        resource: reference(ObjectType::Course, course),
                        consistency: full.clone(),
                    };
                    async move {
                        d.check(request).await.unwrap();
                    }
                },
            )
            .await,
        );
    }
    if args.runs("batch") {
        let (d, users, courses) = (delegation.clone(), users.clone(), courses.clone());
        outcomes.push(
            measure("batch check of 100", 1, duration, move |i| {
                let mut d = d.clone();
                let items = (0..100u64)
                    .map(|k| BatchCheckItem {
                        subject_id: users[((i * 100 + k) as usize * 7919) % 1000].to_string(),
                        permission: "courses.read".into(),
                        resource: reference(
                            ObjectType::Course,
                            courses[(k as usize * 31) % courses.len()],
                        ),
                    })
                    .collect();
                async move {
                    d.batch_check(BatchCheckRequest {
                        items,
                        consistency: None,
                    })
                    .await
                    .unwrap();
                }
            })
            .await,
        );
    }
    let lookup = |who: UserId, permission: &str, kind: ObjectType| {
        let c = client(who);
        let request = LookupResourcesRequest {
            permission: permission.into(),
            resource_type: kind as i32,
            page_size: 10_000,
            ..Default::default()
        };
        move |_| {
            let (mut c, request) = (c.clone(), request.clone());
            async move {
                c.lookup_resources(request).await.unwrap();
            }
        }
    };
    if args.runs("lookup") {
        let team = client(tenant.manager)
            .lookup_resources(LookupResourcesRequest {
                permission: "users.read".into(),
                resource_type: ObjectType::User as i32,
                page_size: 10_000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .resource_ids
            .len();
        outcomes.push(
            measure(
                &format!("lookup resources, manager ({team} users)"),
                1,
                duration,
                lookup(tenant.manager, "users.read", ObjectType::User),
            )
            .await,
        );
        outcomes.push(
            measure(
                "lookup resources, tutor (courses)",
                1,
                duration,
                lookup(tenant.tutor, "courses.update", ObjectType::Course),
            )
            .await,
        );
    }

    println!(
        "\n{:<48} {:>9} {:>9} {:>10} {:>10} {:>11}",
        "case", "in flight", "calls", "p50 µs", "p99 µs", "calls/s"
    );
    for o in &outcomes {
        println!(
            "{:<48} {:>9} {:>9} {:>10.0} {:>10.0} {:>11.0}",
            o.name, o.in_flight, o.calls, o.p50_us, o.p99_us, o.per_second
        );
    }
    let find = |name: &str, in_flight: usize| {
        outcomes
            .iter()
            .find(|o| o.name.starts_with(name) && o.in_flight == in_flight)
    };
    if let (Some(echo1), Some(warm1), Some(echo16), Some(warm16)) = (
        find("echo", 1),
        find("check, warm", 1),
        find("echo", 16),
        find("check, warm", 16),
    ) {
        println!(
            "\nratios to the echo: warm p50 {:.2}x (1 in flight); at 16 in flight throughput {:.2}x, p99 {:.2}x",
            warm1.p50_us / echo1.p50_us,
            warm16.per_second / echo16.per_second,
            warm16.p99_us / echo16.p99_us
        );
    }
    let json = serde_json::json!({
        "users": args.users,
        "seconds_per_case": args.seconds,
        "cases": outcomes.iter().map(|o| serde_json::json!({
            "case": o.name, "in_flight": o.in_flight, "calls": o.calls,
            "p50_us": o.p50_us, "p99_us": o.p99_us, "calls_per_second": o.per_second,
        })).collect::<Vec<_>>(),
    });
    if let Some(dir) = std::path::Path::new(&args.json).parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&args.json, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    println!("written to {}", args.json);
}
