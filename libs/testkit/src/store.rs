//! Store conformance: a migrated pool per test on each backend, and the macro that runs every
//! case against both (after quickwit's `metastore_test_suite!`).

use lms_runtime::{Database, Migrations, SecretString};
use sqlx::{PgPool, SqlitePool};

use crate::TestDatabase;

/// Connections per test pool: enough for concurrency cases to contend for real.
const MAX_CONNECTIONS: u32 = 8;

/// A migrated pool on a database of its own, which lives as long as this does.
#[derive(Debug)]
pub struct TestPool<P> {
    pool: P,
    _database: Owned,
}

/// What keeps a test's database alive: its PostgreSQL database or its SQLite file's directory.
#[derive(Debug)]
enum Owned {
    Postgres(#[allow(dead_code)] TestDatabase),
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
}

impl<P: Clone> TestPool<P> {
    /// The pool (a handle; clones share it).
    pub fn pool(&self) -> P {
        self.pool.clone()
    }
}

/// A fresh PostgreSQL database for one test, with `migrations` applied.
pub async fn postgres_pool(migrations: &Migrations) -> TestPool<PgPool> {
    let database = crate::postgres_database().await;
    let Database::Postgres(pool) = open(database.url(), migrations).await else {
        unreachable!("a postgres URL opens PostgreSQL")
    };
    TestPool {
        pool,
        _database: Owned::Postgres(database),
    }
}

/// A fresh SQLite database for one test, with `migrations` applied. A file in a temporary
/// directory, not `:memory:`, so the pool has several connections and concurrency is real.
pub async fn sqlite_pool(migrations: &Migrations) -> TestPool<SqlitePool> {
    let dir = tempfile::tempdir().expect("a temporary directory for the test database");
    let url = crate::sqlite_url(dir.path(), "store");
    let Database::Sqlite(pool) = open(&url, migrations).await else {
        unreachable!("a sqlite URL opens SQLite")
    };
    TestPool {
        pool,
        _database: Owned::Sqlite(dir),
    }
}

async fn open(url: &str, migrations: &Migrations) -> Database {
    let database = Database::connect(&SecretString::new(url), MAX_CONNECTIONS)
        .await
        .unwrap_or_else(|e| panic!("cannot open the test database: {e}"));
    database
        .migrate(migrations)
        .await
        .unwrap_or_else(|e| panic!("cannot migrate the test database: {e}"));
    database
}

/// Runs a store's conformance cases against PostgreSQL and SQLite alike.
///
/// Each case is `async fn case(store: impl Trait)` in a module named by its group (one per
/// aggregate), beside the macro call. The macro generates `mod on_postgres` and `mod on_sqlite`,
/// each with one module per group and one `#[tokio::test]` per case, and hands every test a
/// store over a database of its own (see [`postgres_pool`], [`sqlite_pool`]).
///
/// ```ignore
/// lms_testkit::store_conformance! {
///     migrations: crate::MIGRATIONS,
///     postgres: crate::store::PgStore::new,
///     sqlite: crate::store::SqliteStore::new,
///     cases: {
///         roles: [roles_are_named_uniquely, a_held_role_cannot_be_deleted],
///         facts: [facts_apply_once_per_event],
///     }
/// }
/// ```
///
/// The tests run on a two-worker runtime, so cases that spawn writers contend for real; the
/// calling crate depends on `tokio` with its test macros.
#[macro_export]
macro_rules! store_conformance {
    (
        migrations: $migrations:expr,
        postgres: $postgres:expr,
        sqlite: $sqlite:expr,
        cases: { $($group:ident: [$($case:ident),* $(,)?]),* $(,)? } $(,)?
    ) => {
        mod on_postgres {
            $crate::store_conformance!(@backend postgres_pool, $migrations, $postgres;
                $($group: [$($case),*]),*);
        }
        mod on_sqlite {
            $crate::store_conformance!(@backend sqlite_pool, $migrations, $sqlite;
                $($group: [$($case),*]),*);
        }
    };
    (@backend $pool:ident, $migrations:expr, $store:expr; $($group:ident: [$($case:ident),*]),*) => {
        $(
            mod $group {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $case() {
                        let database = $crate::$pool(&$migrations).await;
                        let store = ($store)(database.pool());
                        super::super::$group::$case(store).await;
                    }
                )*
            }
        )*
    };
}
