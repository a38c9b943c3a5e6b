//! The PostgreSQL build of the adapter: the backend's database type, then the shared files.

type Db = sqlx::Postgres;

/// Locks the rows a `SELECT` reads until the transaction ends.
const LOCK_ROWS: &str = " FOR UPDATE";

#[path = "audit.rs"]
mod audit;
#[path = "courses.rs"]
mod courses;
#[path = "enrolments.rs"]
mod enrolments;
#[path = "responsibilities.rs"]
mod responsibilities;
#[path = "rows.rs"]
mod rows;
