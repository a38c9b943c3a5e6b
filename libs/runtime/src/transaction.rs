//! Write transactions on either backend. SQLite's default `BEGIN DEFERRED` takes the write lock
//! only at the first write: two transactions that both read first then deadlock on the upgrade
//! and one fails at once with SQLITE_BUSY (the busy timeout does not cover it). Beginning
//! `IMMEDIATE` takes the write lock up front, so concurrent writers queue (within the busy
//! timeout) instead of failing. PostgreSQL keeps its ordinary `BEGIN`.

use std::future::Future;

use sqlx::{Database, PgPool, Postgres, Sqlite, SqlitePool, Transaction};

/// A pool that begins write transactions the way its backend needs.
pub trait WritePool {
    /// The backend.
    type Db: Database;
    /// Begins a transaction that will write.
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

impl WritePool for PgPool {
    type Db = Postgres;

    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Postgres>, sqlx::Error>> + Send {
        self.begin()
    }
}

impl WritePool for SqlitePool {
    type Db = Sqlite;

    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Sqlite>, sqlx::Error>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

/// Begins a write transaction on `pool`.
pub async fn begin_write<P: WritePool>(
    pool: &P,
) -> Result<Transaction<'static, P::Db>, sqlx::Error> {
    pool.begin_write().await
}
