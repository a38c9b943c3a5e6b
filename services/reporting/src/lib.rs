//! The reporting service of LMS Access.
//!
//! Reports that show each person exactly what they may see, from read models built from the
//! other services' events, and the access review.
//!
//! Laid out as `shared/SKELETON.md` shows, one module per proto service under `grpc/`; the
//! stream consumer, the read-model store and `scope_sql.rs` (the kernel's `scope` table compiled
//! to SQL) arrive with the reporting issue.

#![forbid(unsafe_code)]

pub mod grpc;

use lms_runtime::{Application, BootError, GrpcServer, Migrations, ServiceContext};

/// The schema of the reporting store, one migration set per backend.
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
