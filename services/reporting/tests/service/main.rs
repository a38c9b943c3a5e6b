//! Reporting's service tests: real PostgreSQL, SQLite and Redis.

/// The same statement on whichever backend `database` is.
macro_rules! on_pool {
    ($database:expr, $pool:ident => $body:expr) => {
        match $database {
            Database::Postgres($pool) => $body,
            Database::Sqlite($pool) => $body,
        }
    };
}

/// One test per backend running `body` on a fresh reporting store.
macro_rules! on_both_backends {
    ($postgres:ident, $sqlite:ident, $body:ident) => {
        #[tokio::test]
        async fn $postgres() {
            let test = lms_testkit::postgres_pool(&lms_reporting::MIGRATIONS).await;
            $body(Database::Postgres(test.pool())).await;
        }

        #[tokio::test]
        async fn $sqlite() {
            let test = lms_testkit::sqlite_pool(&lms_reporting::MIGRATIONS).await;
            $body(Database::Sqlite(test.pool())).await;
        }
    };
}

mod backbone;
mod progress;
