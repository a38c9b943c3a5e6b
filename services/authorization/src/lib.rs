//! The authorization service of LMS Access.
//!
//! What a person may do and over whom: role definitions, role assignments, the relationship
//! facts decisions read, and every decision (`Check`, `BatchCheck`, `LookupResources`,
//! `LookupSubjects`, `Explain`), with the decision cache.

#![forbid(unsafe_code)]

pub mod grpc;
pub mod store;

use lms_runtime::{Application, BootError, GrpcServer, Migrations, ServiceContext};

/// The schema of the authorization store, one migration set per backend.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: sqlx::migrate!("migrations/postgres"),
    sqlite: sqlx::migrate!("migrations/sqlite"),
};

/// Methods answered without a bearer token. Every call needs a token.
pub const PUBLIC_METHODS: &[&str] = &[];

/// Opens the store, applies migrations, connects Redis when configured and binds the server; call
/// [`Application::run_until_stopped`] to serve.
pub async fn build(context: ServiceContext) -> Result<Application, BootError> {
    let database = context.open_database(&MIGRATIONS).await?;
    let server = grpc::add_services(GrpcServer::bind(&context, PUBLIC_METHODS).await?);
    let redis = context.connect_redis().await?;
    Ok(Application::new(server, database).with_redis(redis))
}
