//! The SQLite build of the adapter: the backend's database type, then the shared files.

type Db = sqlx::Sqlite;

/// Nothing: a write transaction holds the database's write lock already.
const LOCK_ROWS: &str = "";

/// Nothing: a write transaction holds the database's write lock already.
const LOCK_CATALOGUES: &str = "";

#[path = "audit.rs"]
mod audit;
#[path = "bulk_sqlite.rs"]
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
