//! The two deployments measured: PostgreSQL with Redis, and SQLite without Redis (the embedded
//! default: the in-process cache only).

use lms_authorization::store::{PgStore, SqliteStore};
use lms_runtime::{Database, SecretString, ServiceName};
use lms_testkit::{TestAuth, TestDatabase, TestRedis, TestService};

use crate::generate::{Tenant, generate};

/// A store and cache deployment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backend {
    /// PostgreSQL, with Redis as the shared cache tier.
    Postgres,
    /// A SQLite file, no Redis.
    Sqlite,
}

impl Backend {
    /// The backend `--backends` names `name` (`pg` or `sqlite`).
    pub fn parse(name: &str) -> Option<Backend> {
        match name {
            "pg" | "postgres" => Some(Backend::Postgres),
            "sqlite" => Some(Backend::Sqlite),
            _ => None,
        }
    }

    /// The short name printed and written to the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "pg",
            Backend::Sqlite => "sqlite",
        }
    }

    /// What it runs on, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL + Redis",
            Backend::Sqlite => "SQLite, no Redis (in-process cache only)",
        }
    }
}

/// What keeps a deployment's database (and Redis keys) alive.
enum Keep {
    Postgres(TestDatabase, TestRedis),
    Sqlite(tempfile::TempDir),
}

/// The release service serving a generated tenant.
pub struct Deployment {
    /// Which backend.
    pub backend: Backend,
    /// The running service.
    pub service: TestService,
    /// What it holds.
    pub tenant: Tenant,
    _keep: Keep,
}

/// Builds the service on `backend`, generates a tenant of `users` people into its store and
/// starts serving.
pub async fn deploy(backend: Backend, auth: &TestAuth, users: usize) -> Deployment {
    let keep = match backend {
        Backend::Postgres => Keep::Postgres(
            lms_testkit::postgres_database().await,
            lms_testkit::redis().await,
        ),
        Backend::Sqlite => {
            Keep::Sqlite(tempfile::tempdir().expect("a temporary directory for the SQLite file"))
        }
    };
    let (url, redis) = match &keep {
        Keep::Postgres(database, redis) => (database.url().to_owned(), Some(redis)),
        Keep::Sqlite(dir) => (lms_testkit::sqlite_url(dir.path(), "authorization"), None),
    };
    let context = lms_testkit::service_context(ServiceName::Authorization, &url, redis, auth);
    // Built first: that migrates the store the tenant is then written into.
    let application = lms_authorization::build(context).await.unwrap();
    let database = Database::connect(&SecretString::new(&url), 4)
        .await
        .unwrap();
    let tenant = match &database {
        Database::Postgres(pool) => generate(&PgStore::new(pool.clone()), users).await,
        Database::Sqlite(pool) => generate(&SqliteStore::new(pool.clone()), users).await,
    };
    database.close().await;
    let service = TestService::start(application).await;
    Deployment {
        backend,
        service,
        tenant,
        _keep: keep,
    }
}

impl Deployment {
    /// Stops the service, then drops its database.
    pub async fn stop(self) {
        self.service.stop().await.unwrap();
    }
}
