//! The delegation service of LMS Access.
//!
//! Course delegation: courses, lessons, events, catalogues, enrolments and enrolment requests,
//! bookings, attendance, competency checks and the responsibilities on them. Every action is
//! decided by authorization first.
//!
//! Laid out as `shared/SKELETON.md` shows, one module per proto service under `grpc/`. The
//! other rooms arrive with the first RPC that needs them, in identity's and authorization's
//! shape: `core.rs` (`Core<S>` holding the store, `lms_runtime::peers::Authorization` and
//! `lms_runtime::outbox::Relay`), `error.rs` (store errors through
//! `lms_runtime::store::is_outage`, kernel refusals), `convert.rs`, `relationships.rs` (the
//! facts delegation owns, appended with `lms_runtime::outbox::append`), and `store/` (one trait
//! per aggregate, `store/sql/{pg,sqlite}.rs` over shared files, cases under
//! `lms_testkit::store_conformance!`).

#![forbid(unsafe_code)]

pub mod grpc;

use lms_runtime::{Application, BootError, GrpcServer, Migrations, ServiceContext};

/// The schema of the delegation store, one migration set per backend.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: sqlx::migrate!("migrations/postgres"),
    sqlite: sqlx::migrate!("migrations/sqlite"),
};

/// Methods answered without a bearer token. Every call needs a token.
pub const PUBLIC_METHODS: &[&str] = &[];

/// Opens the store, applies migrations and binds the server; call
/// [`Application::run_until_stopped`] to serve.
pub async fn build(context: ServiceContext) -> Result<Application, BootError> {
    let database = context.open_database(&MIGRATIONS).await?;
    let server = grpc::add_services(GrpcServer::bind(&context, PUBLIC_METHODS).await?);
    Ok(Application::new(server, database))
}
