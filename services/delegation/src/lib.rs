//! The delegation service of LMS Access.
//!
//! Course delegation: courses, lessons, events, catalogues, enrolments and enrolment requests,
//! bookings, attendance, competency checks and the responsibilities on them. Every action is
//! decided by authorization first.

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
