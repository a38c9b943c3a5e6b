//! The SQL adapter: ordinary modules, each compiled once per backend.
//!
//! `rows.rs`, `tenants.rs`, `units.rs`, `groups.rs`, `users.rs`, `credentials.rs` and
//! `import.rs` are written against `super::Db` and included twice, by `pg.rs` and by
//! `sqlite.rs` (`#[path]`), so rustfmt, clippy and rust-analyzer see plain Rust and the compiler
//! checks each backend's types. The queries can be shared because both engines accept `$n`
//! placeholders, `ON CONFLICT` and `RETURNING`, and sqlx binds UUIDs to `UUID` and 16-byte
//! `BLOB` columns alike; the migrations differ per backend. Write transactions begin through
//! `lms_runtime::transaction::begin_write`, which already knows each backend's locking, so the
//! two backend files only name their database.
//!
//! Not a generic `impl<DB: sqlx::Database>`: every bind, decode and executor use would need its
//! own bound, and the bounds would outgrow the queries.

use lms_kernel::{Email, TenantId};
use uuid::Uuid;

use super::StoreError;
use crate::sealing::Sealer;

/// The store over one backend's pool: [`PgStore`] or [`SqliteStore`].
#[derive(Debug)]
pub struct SqlStore<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
    /// Seals signing keys and TOTP secrets on their way in and opens them on their way out:
    /// the database only ever holds them sealed.
    sealer: Sealer,
}

impl<DB: sqlx::Database> SqlStore<DB> {
    /// A store over `pool`, whose database has the identity migrations applied, sealing secrets
    /// with `sealer`.
    pub fn new(pool: sqlx::Pool<DB>, sealer: Sealer) -> Self {
        Self { pool, sealer }
    }
}

impl<DB: sqlx::Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            sealer: self.sealer.clone(),
        }
    }
}

/// The identity store on PostgreSQL.
pub type PgStore = SqlStore<sqlx::Postgres>;

/// The identity store on SQLite (the embedded default).
pub type SqliteStore = SqlStore<sqlx::Sqlite>;

mod pg;
// The point of the layout: each backend compiles the shared files against its own `Db`.
#[expect(
    clippy::duplicate_mod,
    reason = "each backend includes the shared files once"
)]
mod sqlite;

/// Maps unique-index violations to what the caller sent twice. PostgreSQL names the index
/// (`units_external`), SQLite the columns (`units.tenant_id, units.external_id`).
fn duplicate(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let message = db.message();
            let resource = ["units", "groups", "custom_fields", "service_accounts"]
                .into_iter()
                .find(|table| message.contains(table))
                .map_or("user", |table| table.trim_end_matches('s'));
            let field = if message.contains("email") {
                "email"
            } else if message.contains("external") {
                "external_id"
            } else if message.contains("key") || message.contains("name") {
                "name"
            } else {
                "id"
            };
            StoreError::Duplicate { resource, field }
        }
        _ => StoreError::Database(error),
    }
}

fn email_from(text: Option<String>) -> Result<Option<Email>, StoreError> {
    text.map(|text| Email::parse(&text).map_err(|_| StoreError::Corrupt(format!("email {text:?}"))))
        .transpose()
}

/// Serialises the tenant's structural changes (the unit tree, group membership): a
/// no-op write takes the tenant row's lock on PostgreSQL and the write lock on SQLite.
async fn lock_tenant<'c, DB, E>(executor: E, tenant: TenantId) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    E: sqlx::Executor<'c, Database = DB>,
    Uuid: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
{
    sqlx::query("UPDATE tenants SET name = name WHERE tenant_id = $1")
        .bind(tenant.as_uuid())
        .execute(executor)
        .await?;
    Ok(())
}
