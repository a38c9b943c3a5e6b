//! Identity benchmark, release build, PostgreSQL and Redis, identity beside a real
//! authorization service (as in production, every admin action is decided there):
//!
//! - token verification in process: an Ed25519 JWT seen for the first time (signature checked)
//!   and seen again (the verifier's cache), as every service's token layer does it;
//! - sign-in over gRPC with argon2id at the configured parameters (printed);
//! - a CSV import of `--users` people (100,000 by default) over gRPC, its re-run (every row
//!   unchanged), and how long the relay then takes to deliver the facts to authorization.
//!
//! `cargo bench -p lms-identity --bench identity -- [--users 100000] [--sign-ins 40]
//!  [--json bench-results/identity.json]` (or `make bench`).

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::group_service_client::GroupServiceClient;
use lms_api::identity::v1::import_service_client::ImportServiceClient;
use lms_api::identity::v1::tenant_service_client::TenantServiceClient;
use lms_api::identity::v1::{
    CreateGroupRequest, CreateTenantRequest, GetJwksRequest, ImportCsvRequest, ImportKind,
    ImportOptions, NewUser, SignInRequest, TenantSettings, import_csv_request, sign_in_response,
};
use lms_kernel::{TenantId, UserId};
use lms_runtime::Database;
use lms_runtime::ServiceName;
use lms_runtime::outbox::OutboxStore;
use lms_testkit::{TestAuth, TestService, postgres_database, redis, service_context};

const EMAIL: &str = "bench-admin@example.org";
const PASSWORD: &str = "a benchmark's long password";

struct Args {
    users: usize,
    sign_ins: usize,
    json: String,
}

fn args() -> Args {
    let mut args = Args {
        users: 100_000,
        sign_ins: 40,
        json: "bench-results/identity.json".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--users" => args.users = it.next().and_then(|v| v.parse().ok()).expect("--users N"),
            "--sign-ins" => {
                args.sign_ins = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--sign-ins N")
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

/// Streams `file` to ImportCsv and answers (seconds, rows imported, rows unchanged).
async fn import(
    identity: &TestService,
    token: &str,
    kind: ImportKind,
    file: &[u8],
) -> (f64, i64, i64) {
    let mut messages = vec![ImportCsvRequest {
        part: Some(import_csv_request::Part::Options(ImportOptions {
            kind: kind as i32,
            skip_bad_rows: false,
            people_data_feed: false,
        })),
    }];
    messages.extend(file.chunks(64 * 1024).map(|chunk| ImportCsvRequest {
        part: Some(import_csv_request::Part::Chunk(chunk.to_vec())),
    }));
    let started = Instant::now();
    let mut stream = ImportServiceClient::new(identity.authorized(token))
        .max_decoding_message_size(64 << 20)
        .import_csv(tokio_stream::iter(messages))
        .await
        .unwrap()
        .into_inner();
    let mut last = None;
    while let Some(message) = stream.message().await.unwrap() {
        assert!(message.errors.is_empty(), "{:?}", &message.errors[..1]);
        last = Some(message);
    }
    let last = last.unwrap();
    (
        started.elapsed().as_secs_f64(),
        last.rows_imported,
        last.rows_unchanged,
    )
}

#[tokio::main]
async fn main() {
    let args = args();
    let auth = TestAuth::new();
    let redis = redis().await;
    let (authorization_db, identity_db) = (postgres_database().await, postgres_database().await);
    let authorization_context = service_context(
        ServiceName::Authorization,
        authorization_db.url(),
        Some(&redis),
        &auth,
    );
    let authorization_verifier = authorization_context.verifier.clone();
    let authorization = TestService::start(
        lms_authorization::build(authorization_context)
            .await
            .unwrap(),
    )
    .await;
    let mut identity_context =
        service_context(ServiceName::Identity, identity_db.url(), None, &auth);
    identity_context.set_endpoint(
        ServiceName::Authorization,
        format!("http://{}", authorization.addr()),
    );
    let sign_in = identity_context.sign_in.clone();
    let identity = TestService::start(lms_identity::build(identity_context).await.unwrap()).await;
    let jwks = AuthenticationServiceClient::new(identity.channel())
        .get_jwks(GetJwksRequest {})
        .await
        .unwrap()
        .into_inner()
        .jwks_json;
    authorization_verifier
        .replace_published_keys(&jwks)
        .unwrap();

    let created = TenantServiceClient::new(identity.authorized(&auth.service_token("operator")))
        .create_tenant(CreateTenantRequest {
            name: "Bench".into(),
            settings: Some(TenantSettings::default()),
            access_coordinator: Some(NewUser {
                email: EMAIL.into(),
                given_name: "Bench".into(),
                family_name: "Admin".into(),
                password: PASSWORD.into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let tenant = created.tenant.unwrap().tenant_id;
    let mut cases = Vec::new();

    // Sign-in, one at a time: argon2id dominates.
    let mut histogram = Histogram::<u64>::new(3).unwrap();
    let mut authn = AuthenticationServiceClient::new(identity.channel());
    let mut token = String::new();
    for _ in 0..args.sign_ins {
        let started = Instant::now();
        let outcome = authn
            .sign_in(SignInRequest {
                tenant_id: tenant.clone(),
                email: EMAIL.into(),
                password: PASSWORD.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .outcome;
        histogram
            .record(started.elapsed().as_nanos() as u64)
            .unwrap();
        if let Some(sign_in_response::Outcome::Tokens(tokens)) = outcome {
            token = tokens.access_token;
        }
    }
    let argon2 = format!(
        "argon2id m={} KiB, t={}, p=1",
        sign_in.argon2_memory_kib, sign_in.argon2_iterations
    );
    cases.push(("sign-in over gRPC".to_owned(), argon2.clone(), histogram));

    // Token verification, as each service's token layer does it.
    let tenant_id = TenantId::parse(&tenant).unwrap();
    let tokens: Vec<String> = (0..20_000)
        .map(|_| auth.user_token(tenant_id, UserId::generate()))
        .collect();
    let verifier = authorization_verifier.clone();
    let mut first = Histogram::<u64>::new(3).unwrap();
    for token in &tokens {
        let started = Instant::now();
        verifier.verify(token).unwrap();
        first.record(started.elapsed().as_nanos() as u64).unwrap();
    }
    cases.push((
        "token verification, first sight (Ed25519)".into(),
        format!("{} distinct tokens", tokens.len()),
        first,
    ));
    let mut again = Histogram::<u64>::new(3).unwrap();
    for _ in 0..10 {
        for token in &tokens {
            let started = Instant::now();
            verifier.verify(token).unwrap();
            again.record(started.elapsed().as_nanos() as u64).unwrap();
        }
    }
    cases.push((
        "token verification, seen before (cache)".into(),
        format!("{} verifications", tokens.len() * 10),
        again,
    ));
    // An identity-issued token works at authorization too (the keys it verifies against).
    assert!(verifier.verify(&token).is_ok());

    // The import: ten accounts, ten teams, then the people.
    let accounts: String = std::iter::once("external_id,name,kind\n".to_owned())
        .chain((0..10).map(|a| format!("ACC-{a},Account {a},customer\n")))
        .collect();
    import(&identity, &token, ImportKind::Accounts, accounts.as_bytes()).await;
    let mut groups = GroupServiceClient::new(identity.authorized(&token));
    for g in 0..10 {
        groups
            .create_group(CreateGroupRequest {
                name: format!("Team {g}"),
                external_id: format!("TEAM-{g}"),
            })
            .await
            .unwrap();
    }
    let mut file = String::from("external_id,email,given_name,family_name,account,group\n");
    for n in 0..args.users {
        file.push_str(&format!(
            "HR-{n},person{n}@bench.example,Given{n},Family{n},ACC-{},TEAM-{}\n",
            n % 10,
            n % 10
        ));
    }
    let (seconds, imported, _) =
        import(&identity, &token, ImportKind::Users, file.as_bytes()).await;
    assert_eq!(imported as usize, args.users);
    let import_rate = args.users as f64 / seconds;
    let (rerun_seconds, reimported, unchanged) =
        import(&identity, &token, ImportKind::Users, file.as_bytes()).await;
    assert_eq!((reimported, unchanged as usize), (0, args.users));
    let rerun_rate = args.users as f64 / rerun_seconds;

    // The relay delivers the import's facts to authorization after the answer.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(identity_db.url())
        .await
        .unwrap();
    let outbox = Database::Postgres(pool);
    let drain_started = Instant::now();
    let mut drained = None;
    while drain_started.elapsed() < Duration::from_secs(300) {
        if outbox.tenants_with_pending().await.unwrap().is_empty() {
            drained = Some(drain_started.elapsed().as_secs_f64() + rerun_seconds);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    println!(
        "\n{:<44} {:>10} {:>10} {:>10}  note",
        "case", "count", "p50 µs", "p99 µs"
    );
    for (name, note, histogram) in &cases {
        println!(
            "{:<44} {:>10} {:>10.1} {:>10.1}  {note}",
            name,
            histogram.len(),
            micros(histogram, 0.5),
            micros(histogram, 0.99)
        );
    }
    println!(
        "\nCSV import of {} users on PostgreSQL: {seconds:.2} s, {import_rate:.0} users/s \
         (target >= 10,000); re-run (all unchanged): {rerun_seconds:.2} s, {rerun_rate:.0} rows/s",
        args.users
    );
    match drained {
        Some(after) => println!(
            "facts delivered to authorization {after:.1} s after the import answered (relay, in order)"
        ),
        None => println!("facts not delivered to authorization within 300 s"),
    }
    let json = serde_json::json!({
        "users": args.users,
        "argon2": argon2,
        "cases": cases.iter().map(|(name, note, h)| serde_json::json!({
            "case": name, "note": note, "count": h.len(),
            "p50_us": micros(h, 0.5), "p99_us": micros(h, 0.99),
        })).collect::<Vec<_>>(),
        "import": {
            "seconds": seconds, "users_per_second": import_rate,
            "rerun_seconds": rerun_seconds, "rerun_rows_per_second": rerun_rate,
            "delivered_after_seconds": drained,
        },
    });
    if let Some(dir) = std::path::Path::new(&args.json).parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&args.json, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    println!("written to {}", args.json);
}
