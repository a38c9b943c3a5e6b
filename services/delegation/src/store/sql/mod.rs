//! The SQL adapter: ordinary modules, each compiled once per backend.
//!
//! `rows.rs`, `audit.rs`, `courses.rs` and `responsibilities.rs` are written against `super::Db`
//! and included twice, by `pg.rs` and by `sqlite.rs` (`#[path]`), so rustfmt, clippy and
//! rust-analyzer see plain Rust and the compiler checks each backend's types (identity's store
//! is laid out the same way). Both engines accept `$n` placeholders, `ON CONFLICT` and
//! `RETURNING`, and sqlx binds UUIDs to `UUID` and 16-byte `BLOB` columns alike; the migrations
//! differ per backend. Write transactions begin through `lms_runtime::transaction::begin_write`.
//! Bulk inserts are the one thing written per backend (`bulk_pg.rs`, `bulk_sqlite.rs`):
//! PostgreSQL inserts a deployment's thousands of rows over arrays, SQLite in `VALUES` chunks.

use lms_kernel::{CourseStatus, Responsibility};

use super::StoreError;

/// The store over one backend's pool: [`PgStore`] or [`SqliteStore`].
#[derive(Debug)]
pub struct SqlStore<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
}

impl<DB: sqlx::Database> SqlStore<DB> {
    /// A store over `pool`, whose database has the delegation migrations applied.
    pub fn new(pool: sqlx::Pool<DB>) -> Self {
        Self { pool }
    }
}

impl<DB: sqlx::Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
        }
    }
}

/// The delegation store on PostgreSQL.
pub type PgStore = SqlStore<sqlx::Postgres>;

/// The delegation store on SQLite (the embedded default).
pub type SqliteStore = SqlStore<sqlx::Sqlite>;

mod pg;
// The point of the layout: each backend compiles the shared files against its own `Db`.
#[expect(
    clippy::duplicate_mod,
    reason = "each backend includes the shared files once"
)]
mod sqlite;

/// The status a stored number names.
fn course_status(code: i16) -> Result<CourseStatus, StoreError> {
    CourseStatus::from_code(code)
        .ok_or_else(|| StoreError::Corrupt(format!("course status {code}")))
}

/// The responsibility a stored number names.
fn responsibility(code: i16) -> Result<Responsibility, StoreError> {
    match code {
        1 => Ok(Responsibility::CourseTutor),
        2 => Ok(Responsibility::CourseAdministrator),
        3 => Ok(Responsibility::EventAdministrator),
        _ => Err(StoreError::Corrupt(format!("responsibility {code}"))),
    }
}

/// How the `kind` column numbers a responsibility (group ones are identity's and never stored
/// here).
fn responsibility_code(kind: Responsibility) -> i16 {
    match kind {
        Responsibility::CourseTutor => 1,
        Responsibility::CourseAdministrator => 2,
        Responsibility::EventAdministrator => 3,
        Responsibility::GroupAdministrator => 4,
        Responsibility::GroupManager => 5,
    }
}
