//! Delegation's part of `lms reporting rebuild`: every course, enrolment, event, booking,
//! sign-off and enrolment request of a tenant, and every relationship fact delegation owns of it
//! (owning units, lessons, duties, enrolled, booked, offered, invitees, content granted to it),
//! re-sent to reporting between the rebuild marks (see `lms_runtime::outbox::rebuild`). They go
//! through the outbox; the running service's publisher carries them to the event stream.

use lms_kernel::TenantId;
use lms_runtime::Database;
use lms_runtime::outbox::{rebuild, topic};

use crate::store::{FactKind, PgStore, RecordKind, RecordStore, SqliteStore, StoreError};

/// Records read and appended per transaction unless told otherwise.
pub const CHUNK: i64 = 500;

/// Re-sends every record and fact of `tenant` from `database` (opened with
/// [`crate::MIGRATIONS`]), at most `chunk` a transaction; answers how many records.
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

/// Re-sends every record of `tenant` from `store` (over `database`) between the marks.
pub async fn republish_from<S: RecordStore>(
    store: &S,
    database: &Database,
    tenant: TenantId,
    chunk: i64,
) -> Result<usize, StoreError> {
    let started = rebuild::begin(database, tenant).await?;
    let mut sent = 0;
    for kind in RecordKind::ALL {
        sent +=
            rebuild::send_all(chunk, |after| store.republish(tenant, kind, after, chunk)).await?;
    }
    for kind in FactKind::ALL {
        rebuild::send_all(chunk, |after| {
            store.republish_facts(tenant, kind, after, chunk)
        })
        .await?;
    }
    let mut topics: Vec<&str> = RecordKind::ALL.iter().map(|kind| kind.topic()).collect();
    topics.push(topic::FACTS);
    rebuild::finish(database, tenant, started, &topics).await?;
    Ok(sent)
}
