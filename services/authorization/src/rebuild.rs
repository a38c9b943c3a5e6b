//! Authorization's part of `lms reporting rebuild`: every holder of a role in a tenant, with all
//! their assignments, re-sent to reporting between the rebuild marks (see
//! `lms_runtime::outbox::rebuild`). They go through the outbox; the running service's publisher
//! carries them to the event stream.

use lms_kernel::TenantId;
use lms_runtime::Database;
use lms_runtime::outbox::{rebuild, topic};

use crate::store::{PgStore, RecordStore, SqliteStore, StoreError};

/// Holders read and appended per transaction unless told otherwise.
pub const CHUNK: i64 = 1000;

/// Re-sends every holder of a role in `tenant` from `database` (opened with
/// [`crate::MIGRATIONS`]), at most `chunk` a transaction; answers how many holders.
pub async fn resend(
    database: &Database,
    tenant: TenantId,
    chunk: i64,
) -> Result<usize, StoreError> {
    match database {
        Database::Postgres(pool) => {
            republish_from(&PgStore::new(pool.clone()), database, tenant, chunk).await
        }
        Database::Sqlite(pool) => {
            republish_from(&SqliteStore::new(pool.clone()), database, tenant, chunk).await
        }
    }
}

/// Re-sends every holder of `tenant` from `store` (over `database`) between the marks.
pub async fn republish_from<S: RecordStore>(
    store: &S,
    database: &Database,
    tenant: TenantId,
    chunk: i64,
) -> Result<usize, StoreError> {
    let started = rebuild::begin(database, tenant).await?;
    let sent =
        rebuild::send_all(chunk, |after| store.republish_roles(tenant, after, chunk)).await?;
    rebuild::finish(database, tenant, started, &[topic::ROLES]).await?;
    Ok(sent)
}
