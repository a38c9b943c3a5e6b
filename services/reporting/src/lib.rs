//! The reporting service of LMS Access.
//!
//! Reports that show each person exactly what they may see, from read models built from the
//! other services' events, and the access review.
//!
//! Laid out as `shared/SKELETON.md` shows, one module per proto service under `grpc/`;
//! `backbone` reads the services' events and `projection` keeps what reports read;
//! `scope_sql` turns a caller's grants into SQL over the projections, and each report module
//! (`progress`) reads its rows inside that scope.

#![forbid(unsafe_code)]

pub mod attendance;
pub mod backbone;
pub mod competencies;
pub mod export;
pub mod grpc;
pub mod listing;
pub mod page_token;
pub mod progress;
pub mod projection;
pub mod purchases;
pub mod requests;
pub mod scope_sql;
pub mod summary;

use std::sync::Arc;

use lms_runtime::peers::{Authorization, CallersOnly};
use lms_runtime::{Application, BootError, GrpcServer, Migrations, ServiceContext, ServiceName};

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
    // Reports are scoped by what authorization says each caller holds, asked as the caller.
    let authorization = Authorization::new(
        &context.peer(ServiceName::Authorization),
        Arc::new(CallersOnly),
    )
    .map_err(|reason| BootError::Config {
        key: "authorization.endpoint",
        reason,
    })?;
    let database = context.open_database(&MIGRATIONS).await?;
    let server = grpc::add_services(
        GrpcServer::bind(&context, PUBLIC_METHODS).await?,
        database.clone(),
        authorization,
    );
    let redis = context.connect_redis().await?;
    let projection = projection::Projection::new(database.clone());
    let application = Application::new(server, database).with_redis(redis.clone());
    Ok(match redis {
        Some(redis) => {
            let reader = Arc::new(backbone::StreamReader::new(
                redis,
                context.events_sealer()?,
                consumer_name(),
                projection,
            ));
            application.with_background(move |shutdown| reader.spawn(shutdown))
        }
        None => {
            let bus = context.events.clone();
            application
                .with_background(move |shutdown| backbone::follow_bus(&bus, projection, shutdown))
        }
    })
}

/// This replica's name in the consumer group: the pod's host name where there is one, and
/// unique either way (a replica that restarts under a new name leaves its pending entries to
/// be claimed).
fn consumer_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "reporting".into());
    format!("{host}-{}", uuid::Uuid::new_v4().simple())
}
