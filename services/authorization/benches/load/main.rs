//! Load benchmark of the authorization service: a generated tenant, the release service over
//! real gRPC, and a bare tonic echo measured in the same run as the floor. Runs on PostgreSQL
//! with Redis and on a SQLite file without Redis (the embedded default: the in-process cache
//! only), each with its own echo. Prints p50, p99, throughput and the decision cache's hit ratios
//! (lookups answered locally, by Redis, or read from the store) per case, the ratios to the echo
//! the targets are stated in, and writes it all as JSON.
//!
//! Cases: `echo`, `layers` (a health check through the service's layers), `warm` (one hot
//! pair), `broad` (tokenless Checks spread uniformly over many distinct (subject, resource)
//! pairs, asked by a service on people's behalf), `cold` (fully consistent Checks), `batch`,
//! `lookup`. The echo, the layers, the warm and the broad case alternate in rounds at 1 and 16
//! in flight, so their ratios share the machine's conditions.
//!
//! `cargo bench -p lms-authorization --bench load -- [--users 100000] [--seconds 5]
//!  [--pairs 100000] [--backends pg,sqlite] [--json bench-results/authorization.json]
//!  [--only echo,layers,warm,broad,cold,batch,lookup]` (or `make bench`).
//! - `--users`: people in the generated tenant.
//! - `--seconds`: measured time per case (and per in-flight level).
//! - `--pairs`: distinct (subject, resource) pairs the broad case asks about.
//! - `--backends`: which deployments to run, in order.
//! - `--only`: just the named cases, to profile one path at a time.

/// The allocator the `lms` binary runs the service on, so the figures are the shipped ones.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod backend;
mod broad;
mod cases;
mod generate;
mod measure;
mod report;

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_runtime::client::CallCredentials;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::backend::Backend;

/// A Permission client whose calls carry one token.
type Client = PermissionServiceClient<InterceptedService<Channel, CallCredentials>>;

/// The command line.
struct Args {
    users: usize,
    seconds: u64,
    pairs: usize,
    backends: Vec<Backend>,
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
        pairs: 100_000,
        backends: vec![Backend::Postgres, Backend::Sqlite],
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
            "--pairs" => args.pairs = it.next().and_then(|v| v.parse().ok()).expect("--pairs N"),
            "--backends" => {
                let names = it.next().expect("--backends pg,sqlite");
                args.backends = names
                    .split(',')
                    .map(|name| Backend::parse(name).expect("--backends names pg or sqlite"))
                    .collect();
            }
            "--json" => args.json = it.next().expect("--json PATH"),
            "--only" => {
                let cases = it.next().expect("--only CASE[,CASE]");
                args.only = Some(cases.split(',').map(str::to_owned).collect());
            }
            _ => {} // cargo bench passes --bench
        }
    }
    assert!(
        args.users > 500,
        "--users must be more than 500: the warm case asks about person 500"
    );
    args
}

/// A reference to `id` of type `kind` in the caller's tenant.
fn reference(kind: ObjectType, id: impl ToString) -> Option<ObjectReference> {
    Some(ObjectReference {
        r#type: kind as i32,
        id: id.to_string(),
        tenant_id: String::new(),
    })
}

/// The floor: a bare tonic server (no layers, no auth) answering health checks.
async fn echo() -> Channel {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<tonic_health::pb::health_server::HealthServer<tonic_health::server::HealthService>>()
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(health_service)
            .serve_with_incoming(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            ),
    );
    lms_runtime::client::connect(format!("http://{addr}"))
        .await
        .unwrap()
}

#[tokio::main]
async fn main() {
    let args = args();
    let auth = lms_testkit::TestAuth::new();
    let echo = echo().await;
    let mut runs = Vec::new();
    // One backend at a time, each service stopped before the next starts: the cache counters
    // are process-wide, and the two would compete for the machine.
    for backend in &args.backends {
        println!("{}: {}", backend.name(), backend.describe());
        let deployment = backend::deploy(*backend, &auth, args.users).await;
        runs.push(cases::run(&deployment, &echo, &auth, &args).await);
        deployment.stop().await;
    }
    report::print(&runs);
    let json = report::json(&args, &runs);
    if let Some(dir) = std::path::Path::new(&args.json).parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&args.json, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    println!("written to {}", args.json);
}
