//! Delegation's part of `lms reporting rebuild`: every course, enrolment, event, booking,
//! sign-off and enrolment request of a tenant, and every relationship fact delegation owns of it
//! (owning units, lessons, duties, enrolled, booked, offered, invitees, content granted to it),
//! re-sent to reporting between the rebuild marks
//! (see `lms_runtime::outbox::rebuild`). They go through the outbox; the running service's
//! publisher carries them to the event stream.

use lms_kernel::TenantId;
use lms_runtime::outbox::{rebuild, topic};
use lms_runtime::{BootError, Database, ServiceContext};

use crate::store::{FactKind, PgStore, RecordKind, RecordStore, SqliteStore, StoreError};

/// Records read and appended per transaction unless told otherwise.
pub const CHUNK: i64 = 500;

/// Why a rebuild stopped; what was appended before stays, and running it again is safe.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// The store could not be opened.
    #[error(transparent)]
    Boot(#[from] BootError),
    /// The store failed.
    #[error("the delegation store: {0}")]
    Store(#[from] StoreError),
}

/// Delegation's store opened for a rebuild, re-sending one tenant at a time.
#[derive(Debug)]
pub struct Resender {
    database: Database,
}

impl Resender {
    /// Opens the store `context` names.
    pub async fn open(context: &ServiceContext) -> Result<Self, RebuildError> {
        Ok(Self {
            database: context.open_database(&crate::MIGRATIONS).await?,
        })
    }

    /// Re-sends every record of `tenant`, at most `chunk` a transaction; answers how many.
    pub async fn resend(&self, tenant: TenantId, chunk: i64) -> Result<usize, RebuildError> {
        let database = &self.database;
        Ok(match database {
            Database::Postgres(pool) => {
                republish_from(&PgStore::new(pool.clone()), database, tenant, chunk).await?
            }
            Database::Sqlite(pool) => {
                republish_from(&SqliteStore::new(pool.clone()), database, tenant, chunk).await?
            }
        })
    }

    /// Closes the store.
    pub async fn close(self) {
        self.database.close().await;
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
