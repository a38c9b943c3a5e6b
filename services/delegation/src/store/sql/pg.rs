//! The PostgreSQL build of the adapter: the backend's database type, then the shared files.

type Db = sqlx::Postgres;

/// Locks the rows a `SELECT` reads until the transaction ends.
const LOCK_ROWS: &str = " FOR UPDATE";

/// Serialises a tenant's catalogue writes until the transaction ends (bound: a text key).
const LOCK_CATALOGUES: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";

#[path = "audit.rs"]
mod audit;
#[path = "bulk_pg.rs"]
mod bulk;
#[path = "catalogues.rs"]
mod catalogues;
#[path = "courses.rs"]
mod courses;
#[path = "enrolments.rs"]
mod enrolments;
#[path = "events.rs"]
mod events;
#[path = "grants.rs"]
mod grants;
#[path = "notifications.rs"]
mod notifications;
#[path = "purchases.rs"]
mod purchases;
#[path = "records.rs"]
mod records;
#[path = "responsibilities.rs"]
mod responsibilities;
#[path = "rows.rs"]
mod rows;
