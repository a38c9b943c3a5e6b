//! The authorization service of LMS Access.
//!
//! What a person may do and over whom: role definitions, role assignments, the relationship
//! facts decisions read, and every decision (`Check`, `BatchCheck`, `LookupResources`,
//! `LookupSubjects`, `Explain`).

#![forbid(unsafe_code)]

mod cache;
mod convert;
mod core;
mod decisions;
mod error;
mod escalation;
mod facts;
pub mod grpc;
mod lookup;
pub mod rebuild;
mod records;
pub mod store;

use std::sync::Arc;

use lms_runtime::outbox::Publisher;
use lms_runtime::store::Database;
use lms_runtime::{Application, BootError, GrpcServer, Migrations, ServiceContext, ServiceName};

pub use cache::{CacheLookups, lookups as cache_lookups};

/// The schema of the authorization store, one migration set per backend.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: sqlx::migrate!("migrations/postgres"),
    sqlite: sqlx::migrate!("migrations/sqlite"),
};

/// Methods answered without a bearer token. Every call needs a token.
pub const PUBLIC_METHODS: &[&str] = &[];

/// Opens the store, applies migrations, connects Redis when configured and binds the server;
/// call [`Application::run_until_stopped`] to serve.
pub async fn build(context: ServiceContext) -> Result<Application, BootError> {
    let database = context.open_database(&MIGRATIONS).await?;
    let redis = context.connect_redis().await?;
    // Who holds which role goes to reporting through authorization's own outbox; nothing is
    // delivered to another service, so the publisher prunes what it published.
    let publisher = Arc::new(
        Publisher::new(
            database.clone(),
            ServiceName::Authorization,
            context.event_sink(redis.clone())?,
        )
        .pruning(),
    );
    let sealer = match (&redis, &context.redis.mac_key) {
        (None, _) => None,
        (Some(_), Some(key)) => Some(lms_runtime::sealed::Sealer::new(key)),
        (Some(_), None) => {
            return Err(BootError::Config {
                key: "redis.mac_key",
                reason: "is required with redis.url: entries in Redis are authenticated".into(),
            });
        }
    };
    let cache = cache::FactsCache::new(&context.cache, redis.clone().zip(sealer));
    if let Some(redis) = context.redis_endpoint()? {
        cache::FactsCache::listen(&cache, redis);
    }
    let lookups = lookup::Lookups::new(context.cache.lookup_fanout);
    let server = GrpcServer::bind(&context, PUBLIC_METHODS).await?;
    let server = match &database {
        Database::Postgres(pool) => {
            let store = store::PgStore::new(pool.clone());
            keep_horizons(&cache, &store);
            grpc::add_services(
                server,
                Arc::new(core::Core {
                    store,
                    cache,
                    lookups,
                }),
            )
        }
        Database::Sqlite(pool) => {
            let store = store::SqliteStore::new(pool.clone());
            keep_horizons(&cache, &store);
            grpc::add_services(
                server,
                Arc::new(core::Core {
                    store,
                    cache,
                    lookups,
                }),
            )
        }
    };
    Ok(Application::new(server, database)
        .with_redis(redis)
        .with_background(move |shutdown| publisher.spawn(shutdown)))
}

/// Reconciles the cache's invalidations with the store's revisions while the service runs.
fn keep_horizons<S: store::DecisionStore + Clone>(cache: &Arc<cache::FactsCache>, store: &S) {
    let store = store.clone();
    cache::FactsCache::keep_horizons(cache, move |tenants| {
        let store = store.clone();
        async move { store.revisions(&tenants).await }
    });
}
