//! The outbox tables, the same in every service's database (its `outbox` and
//! `outbox_dead_letters` migrations): appending in the writer's transaction, and the relay's
//! reads and marks, on PostgreSQL and SQLite.

use std::future::Future;
use std::time::Duration;

use lms_kernel::TenantId;
use sqlx::{PgConnection, Row, SqliteConnection};
use uuid::Uuid;

use super::{NewEvent, OutboxEvent};
use crate::store::Database;
use crate::transaction::begin_write;

/// Runs `$body` with `$pool` bound to the database's pool, whichever the backend: the queries
/// here are the same text on both (`$n` placeholders), only the pool's type differs.
macro_rules! on_pool {
    ($database:expr, $pool:ident => $body:expr) => {
        match $database {
            Database::Postgres($pool) => $body,
            Database::Sqlite($pool) => $body,
        }
    };
}

/// Advisory-lock spaces (the first key of PostgreSQL's two-key locks); the second key is the
/// tenant folded to 32 bits. Two tenants that fold alike merely share a queue.
const ORDER_SPACE: i32 = 0x4c4d_5301;

fn tenant_key(tenant: TenantId) -> i32 {
    let bits = tenant.as_uuid().as_u128();
    (bits ^ (bits >> 32) ^ (bits >> 64) ^ (bits >> 96)) as u32 as i32
}

/// A connection that can append events inside its open transaction.
pub trait AppendEvents {
    /// Takes the tenant's order lock for the rest of the transaction (a no-op on SQLite, whose
    /// write transaction holds the database's write lock already).
    fn hold_order(
        &mut self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Takes the tenant's order lock, then inserts `events` in order.
    fn append_events(
        &mut self,
        tenant: TenantId,
        events: &[NewEvent],
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

/// Appends `events` of `tenant` in the caller's transaction (`&mut *tx`), after taking the
/// tenant's order lock: the lock is held until the caller commits, so the tenant's sequence
/// numbers follow commit order. Append last in a transaction, after its other writes, so no
/// other lock is waited for while holding the order.
pub async fn append<C: AppendEvents + ?Sized>(
    connection: &mut C,
    tenant: TenantId,
    events: &[NewEvent],
) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    connection.append_events(tenant, events).await
}

/// Commits `events` of `tenant` on their own, for a change that lives in authorization alone
/// (a role given with nothing of the service's own data changing).
pub async fn commit_alone(
    database: &Database,
    tenant: TenantId,
    events: &[NewEvent],
) -> Result<(), sqlx::Error> {
    on_pool!(database, pool => {
        let mut tx = begin_write(pool).await?;
        append(&mut *tx, tenant, events).await?;
        tx.commit().await
    })
}

const INSERT: &str = "INSERT INTO outbox (event_id, tenant_id, topic, payload) \
     VALUES ($1, $2, $3, $4) RETURNING sequence";

/// Inserts `events` through `$connection` and notes each sequence in the request's receipt.
macro_rules! insert_events {
    ($connection:expr, $tenant:expr, $events:expr) => {
        for event in $events {
            let sequence: i64 = sqlx::query_scalar(INSERT)
                .bind(event.event_id)
                .bind($tenant.as_uuid())
                .bind(event.topic)
                .bind(&event.payload)
                .fetch_one(&mut *$connection)
                .await?;
            super::receipt::record($tenant, sequence);
        }
    };
}

impl AppendEvents for PgConnection {
    async fn hold_order(&mut self, tenant: TenantId) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(ORDER_SPACE)
            .bind(tenant_key(tenant))
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn append_events(
        &mut self,
        tenant: TenantId,
        events: &[NewEvent],
    ) -> Result<(), sqlx::Error> {
        self.hold_order(tenant).await?;
        insert_events!(self, tenant, events);
        Ok(())
    }
}

impl AppendEvents for SqliteConnection {
    // Write transactions on SQLite begin IMMEDIATE: the database's write lock is the order.
    async fn hold_order(&mut self, _tenant: TenantId) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn append_events(
        &mut self,
        tenant: TenantId,
        events: &[NewEvent],
    ) -> Result<(), sqlx::Error> {
        insert_events!(self, tenant, events);
        Ok(())
    }
}

/// An event authorization refused for good, or that could not be read, set aside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    /// The event as it was appended.
    pub event: OutboxEvent,
    /// Why it was set aside.
    pub reason: String,
}

/// How far delivery is behind: what the relay's gauges report.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Backlog {
    /// Events not yet delivered.
    pub pending: i64,
    /// Age of the oldest of them, in seconds (0 when none).
    pub oldest_seconds: f64,
}

/// What the relay needs of a service's outbox tables. Each mark is its own statement: no
/// transaction is held across calls to authorization (see the module docs for why order
/// holds without one), so a delivery cut short repeats at most the event in flight.
pub trait OutboxStore: Clone + Send + Sync + 'static {
    /// Tenants with events not yet delivered.
    fn tenants_with_pending(
        &self,
    ) -> impl Future<Output = Result<Vec<TenantId>, sqlx::Error>> + Send;
    /// The tenant's last appended sequence (delivered or not).
    fn last_sequence(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Option<i64>, sqlx::Error>> + Send;
    /// Up to `limit` undelivered events of `tenant` with sequence at most `up_to`, in order.
    fn pending(
        &self,
        tenant: TenantId,
        up_to: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<OutboxEvent>, sqlx::Error>> + Send;
    /// Marks an event delivered, with the token authorization answered for it.
    fn delivered(
        &self,
        sequence: i64,
        written_at: Option<&str>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Marks delivered, with one token, the tenant's undelivered events with sequence from
    /// `first` to `last` (a run the relay delivered in one call).
    fn delivered_run(
        &self,
        tenant: TenantId,
        first: i64,
        last: i64,
        written_at: Option<&str>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Counts a failed delivery of an event; answers how many it has had.
    fn failed(
        &self,
        sequence: i64,
        error: &str,
    ) -> impl Future<Output = Result<i64, sqlx::Error>> + Send;
    /// Sets an event aside as a dead letter, in one transaction: the relay never sends it again
    /// (a row not yet published to the event stream stays in the outbox until it is).
    fn dead_letter(
        &self,
        sequence: i64,
        reason: &str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// The token authorization answered for the tenant's latest delivered event up to `up_to`.
    fn written_at(
        &self,
        tenant: TenantId,
        up_to: i64,
    ) -> impl Future<Output = Result<Option<String>, sqlx::Error>> + Send;
    /// Deletes rows delivered more than `age` ago and published; answers how many.
    fn prune(&self, age: Duration) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
    /// The tenant's dead letters, oldest first.
    fn dead_letters(
        &self,
        tenant: TenantId,
    ) -> impl Future<Output = Result<Vec<DeadLetter>, sqlx::Error>> + Send;
    /// Whether any of `sequences` of `tenant` was set aside as a dead letter.
    fn any_dead(
        &self,
        tenant: TenantId,
        sequences: &[i64],
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;
    /// How far delivery is behind, over every tenant.
    fn backlog(&self) -> impl Future<Output = Result<Backlog, sqlx::Error>> + Send;
    /// Up to `limit` events not yet published to the event stream, in sequence order (so in
    /// commit order within each tenant).
    fn unpublished(
        &self,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<OutboxEvent>, sqlx::Error>> + Send;
    /// Marks exactly `sequences` published. Never a range: a row of another tenant with a
    /// sequence in between may have committed after the batch was read, unpublished.
    fn published(&self, sequences: &[i64]) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// How many events wait to be published.
    fn unpublished_count(&self) -> impl Future<Output = Result<i64, sqlx::Error>> + Send;
}

fn event_from_row<R: Row>(row: &R) -> Result<OutboxEvent, sqlx::Error>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Uuid: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    Ok(OutboxEvent {
        sequence: row.try_get("sequence")?,
        event_id: row.try_get("event_id")?,
        tenant: TenantId::from_uuid(row.try_get("tenant_id")?),
        topic: row.try_get("topic")?,
        payload: row.try_get("payload")?,
    })
}

impl OutboxStore for Database {
    async fn tenants_with_pending(&self) -> Result<Vec<TenantId>, sqlx::Error> {
        const QUERY: &str = "SELECT DISTINCT tenant_id FROM outbox WHERE delivered_at IS NULL";
        let ids: Vec<Uuid> =
            on_pool!(self, pool => sqlx::query_scalar(QUERY).fetch_all(pool).await?);
        Ok(ids.into_iter().map(TenantId::from_uuid).collect())
    }

    async fn last_sequence(&self, tenant: TenantId) -> Result<Option<i64>, sqlx::Error> {
        const QUERY: &str = "SELECT MAX(sequence) FROM outbox WHERE tenant_id = $1";
        on_pool!(self, pool => sqlx::query_scalar(QUERY).bind(tenant.as_uuid()).fetch_one(pool).await)
    }

    async fn pending(
        &self,
        tenant: TenantId,
        up_to: i64,
        limit: i64,
    ) -> Result<Vec<OutboxEvent>, sqlx::Error> {
        const QUERY: &str = "SELECT sequence, event_id, tenant_id, topic, payload FROM outbox \
             WHERE tenant_id = $1 AND delivered_at IS NULL AND sequence <= $2 \
             ORDER BY sequence LIMIT $3";
        on_pool!(self, pool => sqlx::query(QUERY)
            .bind(tenant.as_uuid())
            .bind(up_to)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .iter()
            .map(event_from_row)
            .collect())
    }

    async fn delivered(&self, sequence: i64, written_at: Option<&str>) -> Result<(), sqlx::Error> {
        const QUERY: &str = "UPDATE outbox SET delivered_at = CURRENT_TIMESTAMP, written_at = $2 \
             WHERE sequence = $1";
        on_pool!(self, pool => {
            sqlx::query(QUERY).bind(sequence).bind(written_at).execute(pool).await?;
        });
        Ok(())
    }

    async fn delivered_run(
        &self,
        tenant: TenantId,
        first: i64,
        last: i64,
        written_at: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        const QUERY: &str = "UPDATE outbox SET delivered_at = CURRENT_TIMESTAMP, written_at = $4 \
             WHERE tenant_id = $1 AND sequence >= $2 AND sequence <= $3 AND delivered_at IS NULL";
        on_pool!(self, pool => {
            sqlx::query(QUERY)
                .bind(tenant.as_uuid())
                .bind(first)
                .bind(last)
                .bind(written_at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn failed(&self, sequence: i64, error: &str) -> Result<i64, sqlx::Error> {
        const QUERY: &str = "UPDATE outbox SET attempts = attempts + 1, last_error = $2 \
             WHERE sequence = $1 RETURNING attempts";
        let attempts: i32 = on_pool!(self, pool => {
            sqlx::query_scalar(QUERY).bind(sequence).bind(error).fetch_one(pool).await?
        });
        Ok(i64::from(attempts))
    }

    async fn dead_letter(&self, sequence: i64, reason: &str) -> Result<(), sqlx::Error> {
        const MOVE: &str = "INSERT INTO outbox_dead_letters \
             (sequence, event_id, tenant_id, topic, payload, reason) \
             SELECT sequence, event_id, tenant_id, topic, payload, $2 FROM outbox WHERE sequence = $1";
        // The event was committed all the same, so it still goes to the event stream: a row
        // not yet published stays, settled for the relay, until it is published and pruned.
        const REMOVE: &str = "DELETE FROM outbox WHERE sequence = $1 AND published_at IS NOT NULL";
        const SETTLE: &str =
            "UPDATE outbox SET delivered_at = CURRENT_TIMESTAMP WHERE sequence = $1";
        on_pool!(self, pool => {
            let mut tx = begin_write(pool).await?;
            sqlx::query(MOVE).bind(sequence).bind(reason).execute(&mut *tx).await?;
            sqlx::query(REMOVE).bind(sequence).execute(&mut *tx).await?;
            sqlx::query(SETTLE).bind(sequence).execute(&mut *tx).await?;
            tx.commit().await
        })
    }

    async fn written_at(
        &self,
        tenant: TenantId,
        up_to: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        const QUERY: &str = "SELECT written_at FROM outbox WHERE tenant_id = $1 \
             AND sequence <= $2 AND written_at IS NOT NULL ORDER BY sequence DESC LIMIT 1";
        on_pool!(self, pool => {
            sqlx::query_scalar(QUERY).bind(tenant.as_uuid()).bind(up_to).fetch_optional(pool).await
        })
    }

    async fn prune(&self, age: Duration) -> Result<u64, sqlx::Error> {
        let seconds = age.as_secs() as i64;
        let done = match self {
            Database::Postgres(pool) => sqlx::query(
                "DELETE FROM outbox WHERE delivered_at < now() - make_interval(secs => $1) \
                 AND published_at IS NOT NULL",
            )
            .bind(seconds as f64)
            .execute(pool)
            .await?
            .rows_affected(),
            // CURRENT_TIMESTAMP and datetime() write the same 'YYYY-MM-DD HH:MM:SS' text.
            Database::Sqlite(pool) => sqlx::query(
                "DELETE FROM outbox WHERE delivered_at < datetime('now', $1) \
                     AND published_at IS NOT NULL",
            )
            .bind(format!("-{seconds} seconds"))
            .execute(pool)
            .await?
            .rows_affected(),
        };
        Ok(done)
    }

    async fn any_dead(&self, tenant: TenantId, sequences: &[i64]) -> Result<bool, sqlx::Error> {
        const QUERY: &str = "SELECT sequence FROM outbox_dead_letters WHERE tenant_id = $1 \
             AND sequence >= $2 AND sequence <= $3";
        let (Some(first), Some(last)) = (sequences.iter().min(), sequences.iter().max()) else {
            return Ok(false);
        };
        let dead: Vec<i64> = on_pool!(self, pool => {
            sqlx::query_scalar(QUERY)
                .bind(tenant.as_uuid())
                .bind(first)
                .bind(last)
                .fetch_all(pool)
                .await?
        });
        Ok(dead.iter().any(|sequence| sequences.contains(sequence)))
    }

    async fn backlog(&self) -> Result<Backlog, sqlx::Error> {
        let (pending, oldest_seconds): (i64, f64) = match self {
            Database::Postgres(pool) => sqlx::query_as(
                "SELECT COUNT(*), COALESCE(EXTRACT(EPOCH FROM now() - MIN(created_at)), 0)::float8 \
                     FROM outbox WHERE delivered_at IS NULL",
            )
            .fetch_one(pool)
            .await?,
            Database::Sqlite(pool) => {
                sqlx::query_as(
                    "SELECT COUNT(*), \
                     COALESCE((julianday('now') - julianday(MIN(created_at))) * 86400.0, 0.0) \
                     FROM outbox WHERE delivered_at IS NULL",
                )
                .fetch_one(pool)
                .await?
            }
        };
        Ok(Backlog {
            pending,
            oldest_seconds: oldest_seconds.max(0.0),
        })
    }

    async fn unpublished(&self, limit: i64) -> Result<Vec<OutboxEvent>, sqlx::Error> {
        const QUERY: &str = "SELECT sequence, event_id, tenant_id, topic, payload FROM outbox \
             WHERE published_at IS NULL ORDER BY sequence LIMIT $1";
        on_pool!(self, pool => sqlx::query(QUERY)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .iter()
            .map(event_from_row)
            .collect())
    }

    async fn published(&self, sequences: &[i64]) -> Result<(), sqlx::Error> {
        if sequences.is_empty() {
            return Ok(());
        }
        match self {
            Database::Postgres(pool) => {
                sqlx::query(
                    "UPDATE outbox SET published_at = CURRENT_TIMESTAMP \
                     WHERE sequence = ANY($1) AND published_at IS NULL",
                )
                .bind(sequences)
                .execute(pool)
                .await?;
            }
            // SQLite has no arrays: the list goes as JSON, read by json_each.
            Database::Sqlite(pool) => {
                let list = format!(
                    "[{}]",
                    sequences
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                );
                sqlx::query(
                    "UPDATE outbox SET published_at = CURRENT_TIMESTAMP \
                     WHERE sequence IN (SELECT value FROM json_each($1)) AND published_at IS NULL",
                )
                .bind(list)
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }

    async fn unpublished_count(&self) -> Result<i64, sqlx::Error> {
        const QUERY: &str = "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL";
        on_pool!(self, pool => sqlx::query_scalar(QUERY).fetch_one(pool).await)
    }

    async fn dead_letters(&self, tenant: TenantId) -> Result<Vec<DeadLetter>, sqlx::Error> {
        const QUERY: &str = "SELECT sequence, event_id, tenant_id, topic, payload, reason \
             FROM outbox_dead_letters WHERE tenant_id = $1 ORDER BY sequence";
        on_pool!(self, pool => sqlx::query(QUERY)
            .bind(tenant.as_uuid())
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| {
                Ok(DeadLetter {
                    event: event_from_row(row)?,
                    reason: row.try_get("reason")?,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_folds_to_one_key_and_tenants_spread() {
        let tenant = TenantId::generate();
        assert_eq!(tenant_key(tenant), tenant_key(tenant));
        let keys: std::collections::HashSet<i32> = (0..1000)
            .map(|_| tenant_key(TenantId::generate()))
            .collect();
        assert!(keys.len() > 990, "keys collide too often: {}", keys.len());
    }
}
