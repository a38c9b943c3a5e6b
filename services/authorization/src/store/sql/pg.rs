//! The PostgreSQL build of the adapter: what differs from SQLite, then the shared files.

use sqlx::{Pool, Transaction};

type Db = sqlx::Postgres;

/// Begins a write transaction. PostgreSQL locks rows as statements touch them, so the
/// default `BEGIN` is right.
async fn begin_write(pool: &Pool<Db>) -> Result<Transaction<'static, Db>, sqlx::Error> {
    pool.begin().await
}

/// A custom role's id (`roles.role_id`, a UUID) as the text `role_assignments` stores.
const ROLE_ID_TEXT: &str = "CAST(r.role_id AS TEXT)";

/// Locks the rows a `SELECT` reads until the transaction ends.
const LOCK_ROWS: &str = " FOR UPDATE";

#[path = "decisions.rs"]
mod decisions;
#[path = "facts.rs"]
mod facts;
#[path = "records.rs"]
mod records;
#[path = "roles.rs"]
mod roles;
#[path = "rows.rs"]
mod rows;
