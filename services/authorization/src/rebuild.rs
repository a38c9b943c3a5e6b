//! Authorization's part of `lms reporting rebuild`: every holder of a role in a tenant, with all
//! their assignments, re-sent to reporting between the rebuild marks (see
//! `lms_runtime::outbox::rebuild`). They go through the outbox; the running service's publisher
//! carries them to the event stream.

use lms_kernel::TenantId;
use lms_runtime::outbox::{rebuild, topic};
use lms_runtime::{BootError, Database, ServiceContext};

use crate::store::{PgStore, RecordStore, SqliteStore, StoreError};

/// Holders read and appended per transaction unless told otherwise.
pub const CHUNK: i64 = 1000;

/// Why a rebuild stopped; what was appended before stays, and running it again is safe.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// The store could not be opened.
    #[error(transparent)]
    Boot(#[from] BootError),
    /// The store failed.
    #[error("the authorization store: {0}")]
    Store(#[from] StoreError),
}

/// Authorization's store opened for a rebuild, re-sending one tenant at a time.
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

    /// Re-sends every holder of a role in `tenant`, at most `chunk` a transaction; answers how
    /// many.
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
