//! The relational store: PostgreSQL in production, SQLite embedded. Each service owns its own
//! database and runs its own migrations; services write runtime-checked queries per backend and
//! prove them equal with one conformance suite.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::secret::SecretString;

/// Which engine a [`Database`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

/// A service's migrations, one set per backend.
#[derive(Debug)]
pub struct Migrations {
    /// For PostgreSQL.
    pub postgres: Migrator,
    /// For SQLite.
    pub sqlite: Migrator,
}

/// Why the store failed. Messages never include the connection URL.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or opened.
    #[error("database unreachable: {0}")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("query failed: {0}")]
    Query(#[from] sqlx::Error),
}

/// Whether connections to the database at `url` are encrypted and the server verified: SQLite is
/// a local file (no transport), PostgreSQL needs `sslmode=verify-ca` or `verify-full` (in the URL
/// or `PGSSLMODE`); `require` encrypts but would talk to anyone.
pub fn transport_verified(url: &SecretString) -> bool {
    let url = url.expose();
    if url.starts_with("sqlite:") {
        return true;
    }
    PgConnectOptions::from_str(url).is_ok_and(|options| {
        matches!(
            options.get_ssl_mode(),
            PgSslMode::VerifyCa | PgSslMode::VerifyFull
        )
    })
}

/// A pool on one of the two backends.
#[derive(Debug, Clone)]
pub enum Database {
    /// PostgreSQL.
    Postgres(PgPool),
    /// SQLite.
    Sqlite(SqlitePool),
}

impl Database {
    /// Opens a pool for `url` (`postgres://…`, `postgresql://…` or `sqlite:…`) and checks it
    /// answers. SQLite files and their directories are created when missing.
    pub async fn connect(url: &SecretString, max_connections: u32) -> Result<Self, StoreError> {
        let url = url.expose();
        let database = if url.starts_with("sqlite:") {
            Database::Sqlite(connect_sqlite(url, max_connections).await?)
        } else {
            let options = PgConnectOptions::from_str(url).map_err(StoreError::Connect)?;
            // Two seconds: a decision waiting longer on an unreachable store should deny instead.
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(2))
                .connect_with(options)
                .await
                .map_err(StoreError::Connect)?;
            Database::Postgres(pool)
        };
        database.ping().await.map_err(|e| match e {
            StoreError::Query(e) => StoreError::Connect(e),
            other => other,
        })?;
        Ok(database)
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        match self {
            Database::Postgres(_) => Backend::Postgres,
            Database::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Applies the migrations of this backend that have not run yet.
    pub async fn migrate(&self, migrations: &Migrations) -> Result<(), StoreError> {
        match self {
            Database::Postgres(pool) => migrations.postgres.run(pool).await?,
            Database::Sqlite(pool) => migrations.sqlite.run(pool).await?,
        }
        Ok(())
    }

    /// The versions of `migrations` (this backend's) that have not run here yet, in order.
    /// A migration that failed halfway here, or ran with other text than this build's, is an
    /// error: waiting would not mend it. Versions applied here that this build does not know
    /// (a newer release migrated first) are not its concern: a release's migrations keep the
    /// release before it working (expand first, contract a release later).
    pub async fn missing_migrations(
        &self,
        migrations: &Migrations,
    ) -> Result<Vec<i64>, StoreError> {
        const APPLIED: &str = "SELECT version, checksum, success FROM _sqlx_migrations";
        type Applied = (i64, Vec<u8>, bool);
        let (migrator, applied) = match self {
            Database::Postgres(pool) => (
                &migrations.postgres,
                sqlx::query_as::<_, Applied>(APPLIED).fetch_all(pool).await,
            ),
            Database::Sqlite(pool) => (
                &migrations.sqlite,
                sqlx::query_as::<_, Applied>(APPLIED).fetch_all(pool).await,
            ),
        };
        let applied: HashMap<i64, (Vec<u8>, bool)> = match applied {
            Ok(rows) => rows
                .into_iter()
                .map(|(version, checksum, success)| (version, (checksum, success)))
                .collect(),
            // No migration has ever run here: the table is not there yet.
            Err(sqlx::Error::Database(e)) if is_missing_table(e.as_ref()) => HashMap::new(),
            Err(e) => return Err(StoreError::Query(e)),
        };
        let mut missing = Vec::new();
        for migration in migrator
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
        {
            match applied.get(&migration.version) {
                None => missing.push(migration.version),
                Some((_, false)) => return Err(MigrateError::Dirty(migration.version).into()),
                Some((checksum, true)) if *checksum != *migration.checksum => {
                    return Err(MigrateError::VersionMismatch(migration.version).into());
                }
                Some(_) => {}
            }
        }
        Ok(missing)
    }

    /// Waits, asking every `every`, until every migration of `migrations` has run here (by
    /// `lms migrate`, a Kubernetes Job), changing nothing itself: for services whose database
    /// role may not change the schema, started beside the Job that migrates. Says what it waits
    /// for at once, then about once a minute.
    pub async fn await_migrations(
        &self,
        migrations: &Migrations,
        every: std::time::Duration,
    ) -> Result<(), StoreError> {
        let remind = (60_000 / every.as_millis().max(1)).max(1);
        let mut asked: u128 = 0;
        loop {
            let missing = self.missing_migrations(migrations).await?;
            if missing.is_empty() {
                return Ok(());
            }
            if asked.is_multiple_of(remind) {
                tracing::warn!(
                    ?missing,
                    "waiting for the database's migrations (`lms migrate`, the migration Job)"
                );
            }
            asked += 1;
            tokio::time::sleep(every).await;
        }
    }

    /// One round trip, for readiness.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Database::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await?,
            Database::Sqlite(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
                return Ok(());
            }
        };
        Ok(())
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        match self {
            Database::Postgres(pool) => pool.close().await,
            Database::Sqlite(pool) => pool.close().await,
        }
    }
}

/// Whether `error` means the store cannot be reached (UNAVAILABLE, worth retrying) rather than
/// that a statement failed (a bug or a refused write, which a retry repeats).
///
/// Outages: I/O (connection refused, reset or closed), TLS, protocol errors, a pool that timed
/// out or was closed, a crashed SQLite worker, SQLite still busy or locked after its busy
/// timeout, and PostgreSQL's own reports of a lost or refused connection (SQLSTATE class 08,
/// and 57P01–57P03 when the server shuts down or is starting), of a transaction that lost a
/// race and succeeds when retried (40001 serialization failure, 40P01 deadlock, 55P03 lock not
/// available) and of a server out of resources for now (53100 disk full, 53200 out of memory,
/// 53300 too many connections, 58000/58030 system and I/O errors). Codes that fail again the
/// same way (53400 a configured limit, 58P01 a missing file) are not outages.
/// Everything else, such as a syntax error, a constraint violation or a missing column, is not.
pub fn is_outage(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // SQLite busy or locked past the busy timeout: the writer queue is too long right now;
        // retrying later succeeds.
        sqlx::Error::Database(db)
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() =>
        {
            db.code()
                .and_then(|code| code.parse::<u32>().ok())
                .is_some_and(|code| matches!(code & 0xff, 5 | 6))
        }
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08")
                || matches!(
                    code.as_ref(),
                    "40001"
                        | "40P01"
                        | "55P03"
                        | "53100"
                        | "53200"
                        | "53300"
                        | "58000"
                        | "58030"
                        | "57P01"
                        | "57P02"
                        | "57P03"
                )
        }),
        _ => false,
    }
}

async fn connect_sqlite(url: &str, max_connections: u32) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(StoreError::Connect)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let in_memory = options.get_filename().as_os_str() == ":memory:";
    if !in_memory
        && let Some(dir) = options.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Connect(sqlx::Error::Io(e)))?;
    }
    // An in-memory database lives and dies with its one connection: keep exactly one, forever.
    let pool_options = if in_memory {
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        SqlitePoolOptions::new().max_connections(max_connections)
    };
    pool_options
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(StoreError::Connect)
}

/// Whether `error` says the table asked for does not exist (PostgreSQL's 42P01; SQLite says
/// so in its message, with the generic error code 1).
fn is_missing_table(error: &dyn sqlx::error::DatabaseError) -> bool {
    error.code().is_some_and(|code| code == "42P01") || error.message().contains("no such table")
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::io;

    use sqlx::error::{DatabaseError, ErrorKind};

    use super::*;

    /// A database error with a given SQLSTATE, as PostgreSQL reports them.
    #[derive(Debug)]
    struct Reported(&'static str);

    impl std::fmt::Display for Reported {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "sqlstate {}", self.0)
        }
    }

    impl std::error::Error for Reported {}

    impl DatabaseError for Reported {
        fn message(&self) -> &str {
            self.0
        }

        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }

        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }

        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn reported(code: &'static str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(Reported(code)))
    }

    #[test]
    fn an_unreachable_store_is_an_outage() {
        for error in [
            sqlx::Error::Io(io::Error::from(io::ErrorKind::ConnectionRefused)),
            sqlx::Error::Io(io::Error::from(io::ErrorKind::UnexpectedEof)),
            sqlx::Error::Tls("handshake failed".into()),
            sqlx::Error::Protocol("unexpected message".into()),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
            reported("08006"),
            reported("40001"),
            reported("40P01"),
            reported("53100"),
            reported("55P03"),
            reported("58030"),
            reported("57P01"),
            reported("57P03"),
        ] {
            assert!(is_outage(&error), "{error}");
        }
    }

    #[test]
    fn a_failed_statement_is_not_an_outage() {
        for error in [
            reported("40002"),
            reported("53400"),
            reported("58P01"),
            sqlx::Error::RowNotFound,
            sqlx::Error::ColumnNotFound("name".into()),
            reported("23505"),
            reported("42601"),
            reported("57014"),
        ] {
            assert!(!is_outage(&error), "{error}");
        }
    }

    #[tokio::test]
    async fn sql_errors_from_a_real_database_are_not_outages() {
        let database = Database::connect(&SecretString::new("sqlite::memory:"), 1)
            .await
            .unwrap();
        let Database::Sqlite(pool) = database else {
            unreachable!("a sqlite URL opens SQLite")
        };
        let syntax = sqlx::query("SELEC 1").execute(&pool).await.unwrap_err();
        assert!(!is_outage(&syntax), "{syntax}");
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .execute(&pool)
            .await
            .unwrap();
        let insert = "INSERT INTO t (id) VALUES (1)";
        sqlx::query(insert).execute(&pool).await.unwrap();
        let constraint = sqlx::query(insert).execute(&pool).await.unwrap_err();
        assert!(!is_outage(&constraint), "{constraint}");
        pool.close().await;
        let closed = sqlx::query("SELECT 1").execute(&pool).await.unwrap_err();
        assert!(is_outage(&closed), "{closed}");
    }

    #[tokio::test]
    async fn sqlite_still_locked_after_its_busy_timeout_is_an_outage() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/busy.db", dir.path().display());
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::ZERO);
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .unwrap();
        let holder = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        let busy = pool.begin_with("BEGIN IMMEDIATE").await.unwrap_err();
        assert!(is_outage(&busy), "{busy}");
        drop(holder);
    }
}
