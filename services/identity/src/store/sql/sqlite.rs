//! The SQLite build of the adapter: the backend's database type, then the shared files.

type Db = sqlx::Sqlite;

/// Nothing: a write transaction holds the database's write lock already.
const LOCK_ROWS: &str = "";

#[path = "audit.rs"]
mod audit;
#[path = "credentials.rs"]
mod credentials;
#[path = "groups.rs"]
mod groups;
#[path = "import.rs"]
mod import;
#[path = "records.rs"]
mod records;
#[path = "reseal.rs"]
mod reseal;
#[path = "rows.rs"]
mod rows;
#[path = "tenants.rs"]
mod tenants;
#[path = "units.rs"]
mod units;
#[path = "users.rs"]
mod users;
