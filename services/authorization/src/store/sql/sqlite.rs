//! The SQLite build of the adapter: what differs from PostgreSQL, then the shared files.

use sqlx::{Pool, Transaction};

type Db = sqlx::Sqlite;

/// Begins a write transaction holding the write lock from the start (`BEGIN IMMEDIATE`). A
/// deferred transaction that reads before it writes must upgrade its lock, and of two that
/// try at once one fails with SQLITE_BUSY straight away (`busy_timeout` does not cover an
/// upgrade); an immediate one waits its turn instead.
async fn begin_write(pool: &Pool<Db>) -> Result<Transaction<'static, Db>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// A custom role's id (`roles.role_id`, a 16-byte BLOB) as the hyphenated lowercase UUID
/// text `role_assignments` stores.
const ROLE_ID_TEXT: &str = "lower(\
    substr(hex(r.role_id), 1, 8) || '-' || substr(hex(r.role_id), 9, 4) || '-' || \
    substr(hex(r.role_id), 13, 4) || '-' || substr(hex(r.role_id), 17, 4) || '-' || \
    substr(hex(r.role_id), 21, 12))";

/// Nothing: the write transaction holds the database's write lock already.
const LOCK_ROWS: &str = "";

#[path = "decisions.rs"]
mod decisions;
#[path = "facts.rs"]
mod facts;
#[path = "roles.rs"]
mod roles;
#[path = "rows.rs"]
mod rows;
