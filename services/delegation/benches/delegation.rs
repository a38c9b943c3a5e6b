//! Delegation benchmark, release build, PostgreSQL and Redis, delegation beside a real identity
//! and authorization (every call is decided there, as the caller):
//!
//! - `ListCourses` over `--courses` courses (10,000 by default), a page of 100: for a tenant
//!   administrator (a tenant-wide grant: authorization answers "all", the store pages) and for
//!   a tutor of 50 of them (authorization lists the 50 ids through the responsibility facts);
//! - the floor: a gRPC health check of the same delegation, measured in the same run, so the
//!   figures compare as ratios on a shared machine;
//! - `DeployCourse` to a group of `--members` people (10,000 by default, imported through
//!   identity's CSV import), from the call until the last enrolment's fact is applied in
//!   authorization (the answer carries its token when the relay delivered in time; otherwise
//!   the outbox is watched until it drains), and the same deployment again (nobody new).
//!
//! - `BookUser` by 16 bookers at once (`--bookers`), each call a different person of that group
//!   onto one of 200 events spread over the courses (capacity 50, so some waitlist), then all
//!   onto one event: per call from request to answer (the place counted under the event's row
//!   lock, the booked fact delivered to authorization before the answer), and bookings/s.
//!
//! `cargo bench -p lms-delegation --bench delegation -- [--courses 10000] [--calls 2000]
//!  [--bookers 16] [--json bench-results/delegation.json]` (or `make bench`).

use std::time::Instant;

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use lms_api::authorization::v1::AssignRoleRequest;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::delegation::v1::course_service_client::CourseServiceClient;
use lms_api::delegation::v1::event_service_client::EventServiceClient;
use lms_api::delegation::v1::responsibility_service_client::ResponsibilityServiceClient;
use lms_api::delegation::v1::{
    AssignResponsibilityRequest, BookUserRequest, CreateCourseRequest, CreateEventRequest,
    DeployCourseRequest, ListCoursesRequest, Responsibility, ResponsibilityKind,
};
use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::group_service_client::GroupServiceClient;
use lms_api::identity::v1::import_service_client::ImportServiceClient;
use lms_api::identity::v1::tenant_service_client::TenantServiceClient;
use lms_api::identity::v1::user_service_client::UserServiceClient;
use lms_api::identity::v1::{
    CreateGroupRequest, ImportCsvRequest, ImportKind, ImportOptions, ListGroupMembersRequest,
    import_csv_request,
};
use lms_api::identity::v1::{
    CreateServiceAccountRequest, CreateTenantRequest, CreateUserRequest, NewUser, SignInRequest,
    TenantSettings, sign_in_response,
};
use lms_runtime::Database;
use lms_runtime::config::ServiceAccountConfig;
use lms_runtime::outbox::OutboxStore;
use lms_runtime::{SecretString, ServiceName};
use lms_testkit::{TestAuth, TestService, postgres_database, redis, service_context};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const PASSWORD: &str = "a benchmark's long password";

struct Args {
    courses: usize,
    calls: usize,
    members: usize,
    bookers: usize,
    json: String,
}

fn args() -> Args {
    let mut args = Args {
        courses: 10_000,
        calls: 2_000,
        members: 10_000,
        bookers: 16,
        json: "bench-results/delegation.json".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--courses" => {
                args.courses = it.next().and_then(|v| v.parse().ok()).expect("--courses N")
            }
            "--calls" => args.calls = it.next().and_then(|v| v.parse().ok()).expect("--calls N"),
            "--members" => {
                args.members = it.next().and_then(|v| v.parse().ok()).expect("--members N")
            }
            "--bookers" => {
                args.bookers = it.next().and_then(|v| v.parse().ok()).expect("--bookers N")
            }
            "--json" => args.json = it.next().expect("--json PATH"),
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

fn micros(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64 / 1000.0
}

async fn sign_in(identity: &TestService, tenant: &str, email: &str) -> String {
    let outcome = AuthenticationServiceClient::new(identity.channel())
        .sign_in(SignInRequest {
            tenant_id: tenant.into(),
            email: email.into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .outcome;
    match outcome {
        Some(sign_in_response::Outcome::Tokens(tokens)) => tokens.access_token,
        other => panic!("expected tokens, got {other:?}"),
    }
}

fn person(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        given_name: "Load".into(),
        family_name: "Tester".into(),
        password: PASSWORD.into(),
        ..Default::default()
    }
}

/// Imports a users CSV through identity's streaming import; panics on any refused row.
async fn import_users(identity: &TestService, token: &str, file: &[u8]) {
    let mut messages = vec![ImportCsvRequest {
        part: Some(import_csv_request::Part::Options(ImportOptions {
            kind: ImportKind::Users as i32,
            skip_bad_rows: false,
            people_data_feed: false,
        })),
    }];
    messages.extend(file.chunks(64 * 1024).map(|chunk| ImportCsvRequest {
        part: Some(import_csv_request::Part::Chunk(chunk.to_vec())),
    }));
    let mut stream = ImportServiceClient::new(identity.authorized(token))
        .import_csv(tokio_stream::iter(messages))
        .await
        .unwrap()
        .into_inner();
    while let Some(message) = stream.message().await.unwrap() {
        assert!(message.errors.is_empty(), "{:?}", &message.errors[..1]);
    }
}

/// Waits until the outbox of the database at `url` holds nothing undelivered.
async fn drain(url: &str) {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap();
    let outbox = Database::Postgres(pool);
    let started = Instant::now();
    while !outbox.tenants_with_pending().await.unwrap().is_empty() {
        assert!(
            started.elapsed().as_secs() < 300,
            "the outbox did not drain in 300 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// `count` events of 50 places spread over `courses`, a day ahead, made by `token`'s holder.
async fn create_events(
    delegation: &TestService,
    token: &str,
    courses: &[String],
    count: usize,
) -> Vec<String> {
    let mut events = EventServiceClient::new(delegation.authorized(token));
    let starts = lms_runtime::clock::now() + 86_400;
    let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
    let mut ids = Vec::new();
    for n in 0..count {
        let made = events
            .create_event(CreateEventRequest {
                course_id: courses[(n * 7919) % courses.len()].clone(),
                starts_at: at(starts),
                ends_at: at(starts + 3_600),
                capacity: 50,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        ids.push(made.event.unwrap().event_id);
    }
    ids
}

/// What booking a crowd measured.
struct Bookings {
    latency: Histogram<u64>,
    per_second: f64,
}

/// Books each of `people` once onto `events` (spread by a stride), `bookers` calls in flight.
async fn book_all(
    delegation: &TestService,
    token: &str,
    events: &[String],
    people: &[String],
    bookers: usize,
) -> Bookings {
    let client = EventServiceClient::new(delegation.authorized(token));
    let started = Instant::now();
    let latencies: Vec<u64> = futures_util::stream::iter(people.iter().enumerate())
        .map(|(n, person)| {
            let mut client = client.clone();
            let event = events[(n * 7919) % events.len()].clone();
            async move {
                let started = Instant::now();
                let booked = client
                    .book_user(BookUserRequest {
                        event_id: event,
                        user_id: person.clone(),
                    })
                    .await
                    .unwrap()
                    .into_inner();
                let took = started.elapsed().as_nanos() as u64;
                assert!(booked.created);
                took
            }
        })
        .buffer_unordered(bookers)
        .collect()
        .await;
    let per_second = people.len() as f64 / started.elapsed().as_secs_f64();
    let mut latency = Histogram::<u64>::new(3).unwrap();
    for took in latencies {
        latency.record(took).unwrap();
    }
    Bookings {
        latency,
        per_second,
    }
}

#[tokio::main]
async fn main() {
    let args = args();
    let auth = TestAuth::new();
    let redis = redis().await;
    let databases = [
        postgres_database().await,
        postgres_database().await,
        postgres_database().await,
    ];
    let authorization_listener = lms_testkit::local_listener();
    let authorization_addr = authorization_listener.local_addr().unwrap();
    let mut context = service_context(ServiceName::Identity, databases[0].url(), None, &auth);
    context.set_endpoint(
        ServiceName::Authorization,
        format!("http://{authorization_addr}"),
    );
    let identity = TestService::start(lms_identity::build(context).await.unwrap()).await;
    let identity_url = format!("http://{}", identity.addr());
    let mut context = service_context(
        ServiceName::Authorization,
        databases[1].url(),
        Some(&redis),
        &auth,
    );
    context.listen_on(authorization_listener).unwrap();
    context.auth.fetch_identity_keys = true;
    context.set_endpoint(ServiceName::Identity, identity_url.clone());
    let authorization = TestService::start(lms_authorization::build(context).await.unwrap()).await;
    let operator = auth.service_token("operator");
    let account = AuthenticationServiceClient::new(identity.authorized(&operator))
        .create_service_account(CreateServiceAccountRequest {
            name: "delegation".into(),
            scopes: vec![
                "authorization.facts.courses".into(),
                "authorization.roles.shop".into(),
                "identity.people.lookup".into(),
            ],
            tenant_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut context = service_context(ServiceName::Delegation, databases[2].url(), None, &auth);
    context.service.service_account = Some(ServiceAccountConfig {
        id: account.service_account_id,
        secret: SecretString::new(account.client_secret),
    });
    context.auth.fetch_identity_keys = true;
    context.set_endpoint(ServiceName::Identity, identity_url);
    context.set_endpoint(
        ServiceName::Authorization,
        format!("http://{authorization_addr}"),
    );
    let delegation = TestService::start(lms_delegation::build(context).await.unwrap()).await;

    let tenant = TenantServiceClient::new(identity.authorized(&operator))
        .create_tenant(CreateTenantRequest {
            name: "Bench".into(),
            settings: Some(TenantSettings::default()),
            access_coordinator: Some(person("admin@bench.example")),
        })
        .await
        .unwrap()
        .into_inner()
        .tenant
        .unwrap()
        .tenant_id;
    let admin = sign_in(&identity, &tenant, "admin@bench.example").await;
    let tutor = UserServiceClient::new(identity.authorized(&admin))
        .create_user(CreateUserRequest {
            user: Some(person("tutor@bench.example")),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
        .user_id;
    RoleAssignmentServiceClient::new(authorization.authorized(&admin))
        .assign_role(AssignRoleRequest {
            user_id: tutor.clone(),
            role_id: "builtin:tutor".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let tutor_token = sign_in(&identity, &tenant, "tutor@bench.example").await;

    // The courses, 16 at a time through the API; the tutor tutors every 200th.
    let started = Instant::now();
    let courses = CourseServiceClient::new(delegation.authorized(&admin));
    let ids: Vec<String> = futures_util::stream::iter(0..args.courses)
        .map(|n| {
            let mut courses = courses.clone();
            async move {
                courses
                    .create_course(CreateCourseRequest {
                        title: format!("Course {n}"),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .course
                    .unwrap()
                    .course_id
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let created_in = started.elapsed().as_secs_f64();
    let tutored: Vec<&String> = ids.iter().step_by((args.courses / 50).max(1)).collect();
    let mut duties = ResponsibilityServiceClient::new(delegation.authorized(&admin));
    for course in &tutored {
        duties
            .assign_responsibility(AssignResponsibilityRequest {
                responsibility: Some(Responsibility {
                    kind: ResponsibilityKind::CourseTutor as i32,
                    user_id: tutor.clone(),
                    object: Some(ObjectReference {
                        r#type: ObjectType::Course as i32,
                        id: (*course).clone(),
                        tenant_id: String::new(),
                    }),
                    valid_from: None,
                    valid_until: None,
                }),
            })
            .await
            .unwrap();
    }

    let mut cases: Vec<(String, String, Histogram<u64>)> = Vec::new();
    let mut health = HealthClient::new(delegation.channel());
    let mut floor = Histogram::<u64>::new(3).unwrap();
    let mut admin_list = Histogram::<u64>::new(3).unwrap();
    let mut tutor_list = Histogram::<u64>::new(3).unwrap();
    let mut as_admin = CourseServiceClient::new(delegation.authorized(&admin));
    let mut as_tutor = CourseServiceClient::new(delegation.authorized(&tutor_token));
    // Alternating cases, so the machine's noise falls on all of them alike.
    for call in 0..args.calls {
        let started = Instant::now();
        health
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap();
        floor.record(started.elapsed().as_nanos() as u64).unwrap();
        // Pages across the whole list, not one hot page.
        let page_token = if call % 2 == 0 {
            String::new()
        } else {
            ids[(call * 7919) % ids.len()].clone()
        };
        let started = Instant::now();
        let page = as_admin
            .list_courses(ListCoursesRequest {
                page_size: 100,
                page_token,
                include_archived: false,
            })
            .await
            .unwrap()
            .into_inner();
        admin_list
            .record(started.elapsed().as_nanos() as u64)
            .unwrap();
        assert!(!page.courses.is_empty() || call % 2 == 1);
        let started = Instant::now();
        let page = as_tutor
            .list_courses(ListCoursesRequest {
                page_size: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        tutor_list
            .record(started.elapsed().as_nanos() as u64)
            .unwrap();
        assert_eq!(page.courses.len(), tutored.len());
    }
    cases.push((
        "floor: gRPC health check".into(),
        "same delegation, same run".into(),
        floor,
    ));
    cases.push((
        "ListCourses, tenant administrator".into(),
        format!("page of 100 of {}", args.courses),
        admin_list,
    ));
    cases.push((
        "ListCourses, tutor".into(),
        format!("their {} of {}", tutored.len(), args.courses),
        tutor_list,
    ));

    // The deployment: a group of `members` people, imported as identity's feed would.
    let group = GroupServiceClient::new(identity.authorized(&admin))
        .create_group(CreateGroupRequest {
            name: "Deploy group".into(),
            external_id: "DEPLOY".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap()
        .group_id;
    let mut file = String::from("external_id,email,given_name,family_name,group\n");
    for n in 0..args.members {
        file.push_str(&format!(
            "HR-{n},learner{n}@bench.example,Given{n},Family{n},DEPLOY\n"
        ));
    }
    import_users(&identity, &admin, file.as_bytes()).await;
    // Identity's relay delivers the people's facts after the import answered: wait, so the
    // deployment's decisions see every member.
    drain(databases[0].url()).await;
    let course = ids.iter().find(|id| !tutored.contains(id)).unwrap().clone();
    let deploy = |course: String, group: String| {
        let mut courses = CourseServiceClient::new(delegation.authorized(&admin));
        async move {
            let started = Instant::now();
            let answer = courses
                .deploy_course(DeployCourseRequest {
                    course_id: course,
                    group_ids: vec![group],
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            let answered = started.elapsed().as_secs_f64();
            (answer, answered, started)
        }
    };
    let (first, answered, started) = deploy(course.clone(), group.clone()).await;
    assert_eq!(first.users_reached as usize, args.members);
    let delivered_in_answer = first.written_at.is_some();
    drain(databases[2].url()).await;
    let deploy_seconds = started.elapsed().as_secs_f64();
    let (again, again_seconds, _) = deploy(course, group.clone()).await;
    assert_eq!(
        again.users_enrolled, 0,
        "a second deployment enrols nobody twice"
    );

    // Bookings: the group's people, each booked once, by `bookers` callers at a time.
    let mut people = Vec::new();
    let mut page_token = String::new();
    let mut groups = GroupServiceClient::new(identity.authorized(&admin));
    loop {
        let page = groups
            .list_group_members(ListGroupMembersRequest {
                group_id: group.clone(),
                page_size: 1000,
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        people.extend(page.user_ids);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let events = create_events(&delegation, &admin, &ids, 201).await;
    let (spread_people, hot_people) = people.split_at(people.len() / 2);
    let spread = book_all(
        &delegation,
        &admin,
        &events[1..],
        spread_people,
        args.bookers,
    )
    .await;
    let hot = book_all(&delegation, &admin, &events[..1], hot_people, args.bookers).await;
    cases.push((
        format!("BookUser, {} bookers", args.bookers),
        format!(
            "{} people onto 200 events of 50 places",
            spread_people.len()
        ),
        spread.latency,
    ));
    cases.push((
        format!("BookUser, {} bookers, one event", args.bookers),
        format!("{} people onto one event of 50 places", hot_people.len()),
        hot.latency,
    ));

    println!(
        "\n{:<40} {:>8} {:>9} {:>9} {:>8} {:>8}  note",
        "case", "count", "p50 µs", "p99 µs", "p50 ×", "p99 ×"
    );
    let (floor50, floor99) = (micros(&cases[0].2, 0.5), micros(&cases[0].2, 0.99));
    for (name, note, histogram) in &cases {
        let (p50, p99) = (micros(histogram, 0.5), micros(histogram, 0.99));
        println!(
            "{name:<40} {:>8} {p50:>9.1} {p99:>9.1} {:>8.2} {:>8.2}  {note}",
            histogram.len(),
            p50 / floor50,
            p99 / floor99,
        );
    }
    println!(
        "\n{} courses created through CreateCourse (16 in flight) in {created_in:.1} s \
         ({:.0}/s); targets: ListCourses p99 <= 20 ms",
        args.courses,
        args.courses as f64 / created_in
    );
    println!(
        "DeployCourse to a group of {}: answered in {answered:.2} s (facts delivered before the \
         answer: {delivered_in_answer}), last enrolment's fact applied after {deploy_seconds:.2} s \
         ({:.0} enrolments/s; target <= 2 s); again: {again_seconds:.2} s, nobody enrolled twice",
        args.members,
        args.members as f64 / deploy_seconds
    );
    println!(
        "BookUser by {} bookers at once: {:.0} bookings/s over 200 events, {:.0} bookings/s onto \
         one event (target: p99 <= 10 ms)",
        args.bookers, spread.per_second, hot.per_second
    );
    let json = serde_json::json!({
        "courses": args.courses,
        "bookings": {
            "bookers": args.bookers,
            "spread_per_second": spread.per_second,
            "one_event_per_second": hot.per_second,
        },
        "created_per_second": args.courses as f64 / created_in,
        "deploy": {
            "members": args.members,
            "answered_seconds": answered,
            "delivered_in_answer": delivered_in_answer,
            "facts_applied_seconds": deploy_seconds,
            "again_seconds": again_seconds,
        },
        "cases": cases.iter().map(|(name, note, h)| serde_json::json!({
            "case": name, "note": note, "count": h.len(),
            "p50_us": micros(h, 0.5), "p99_us": micros(h, 0.99),
        })).collect::<Vec<_>>(),
    });
    if let Some(dir) = std::path::Path::new(&args.json).parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&args.json, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    println!("written to {}", args.json);
}
