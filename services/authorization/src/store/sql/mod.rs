//! The SQL adapter: ordinary modules, each compiled once per backend.
//!
//! `roles.rs`, `facts.rs`, `decisions.rs` and `rows.rs` are written against `super::Db` and
//! included twice, by `pg.rs` and by `sqlite.rs` (`#[path]`), so rustfmt, clippy and rust-analyzer
//! see plain Rust and the compiler checks each backend's types. The queries can be shared because
//! both engines accept `$n` placeholders, `ON CONFLICT` and `RETURNING`, and sqlx binds UUIDs to
//! `UUID` and 16-byte `BLOB` columns alike; the migrations differ per backend. What differs in
//! the code sits in those two files: how a write transaction begins, and how a
//! role id column reads as text. Values stored as text (grants, audit actions) are parsed in
//! `text.rs`, and unit chains are assembled in `chains.rs`, each compiled once.
//!
//! Not a generic `impl<DB: sqlx::Database>`: every bind, decode and executor use would need its
//! own bound, and the bounds would outgrow the queries.

mod chains;
mod text;

pub use text::grants_to_text;

/// The store over one backend's pool: [`PgStore`] or [`SqliteStore`].
#[derive(Debug)]
pub struct SqlStore<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
}

impl<DB: sqlx::Database> SqlStore<DB> {
    /// A store over `pool`, whose database has the authorization migrations applied.
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

/// The store on PostgreSQL.
pub type PgStore = SqlStore<sqlx::Postgres>;

/// The store on SQLite.
pub type SqliteStore = SqlStore<sqlx::Sqlite>;

mod pg;
// The point of the layout: each backend compiles the shared files against its own `Db`.
#[expect(
    clippy::duplicate_mod,
    reason = "each backend includes the shared files once"
)]
mod sqlite;
