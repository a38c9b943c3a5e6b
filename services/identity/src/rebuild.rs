//! Identity's part of `lms reporting rebuild`: every person, unit and group of a tenant, and
//! every fact identity owns of it (units, employments, teams, groups, statuses, named managers,
//! the coordinator and client tenants), re-sent to reporting between the rebuild marks (see
//! `lms_runtime::outbox::rebuild`). They go through the outbox; the running service's publisher
//! carries them to the event stream.

use lms_kernel::TenantId;
use lms_runtime::outbox::{rebuild, topic};
use lms_runtime::{BootError, Database, ServiceContext};

use crate::sealing::Sealer;
use crate::store::{FactKind, PgStore, RecordStore, SqliteStore, StoreError};

/// People read and appended per transaction unless told otherwise.
pub const CHUNK: i64 = 1000;

/// Why a rebuild stopped; what was appended before stays, and running it again is safe.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// The store could not be opened.
    #[error(transparent)]
    Boot(#[from] BootError),
    /// The store failed.
    #[error("the identity store: {0}")]
    Store(#[from] StoreError),
}

/// Identity's store opened for a rebuild, re-sending one tenant at a time.
pub struct Resender {
    database: Database,
    sealer: Sealer,
}

impl std::fmt::Debug for Resender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resender").finish_non_exhaustive()
    }
}

impl Resender {
    /// Opens the store `context` names.
    pub async fn open(context: &ServiceContext) -> Result<Self, RebuildError> {
        Ok(Self {
            sealer: crate::sealer(context)?,
            database: context.open_database(&crate::MIGRATIONS).await?,
        })
    }

    /// Every tenant, in id order.
    pub async fn tenants(&self) -> Result<Vec<TenantId>, RebuildError> {
        Ok(match &self.database {
            Database::Postgres(pool) => {
                all_tenants(&PgStore::new(pool.clone(), self.sealer.clone())).await?
            }
            Database::Sqlite(pool) => {
                all_tenants(&SqliteStore::new(pool.clone(), self.sealer.clone())).await?
            }
        })
    }

    /// Re-sends every person and fact of `tenant`, at most `chunk` rows a transaction;
    /// answers how many people.
    pub async fn resend(&self, tenant: TenantId, chunk: i64) -> Result<usize, RebuildError> {
        let database = &self.database;
        Ok(match database {
            Database::Postgres(pool) => {
                let store = PgStore::new(pool.clone(), self.sealer.clone());
                republish_from(&store, database, tenant, chunk).await?
            }
            Database::Sqlite(pool) => {
                let store = SqliteStore::new(pool.clone(), self.sealer.clone());
                republish_from(&store, database, tenant, chunk).await?
            }
        })
    }

    /// Closes the store.
    pub async fn close(self) {
        self.database.close().await;
    }
}

async fn all_tenants<S: RecordStore>(store: &S) -> Result<Vec<TenantId>, StoreError> {
    let mut tenants = Vec::new();
    loop {
        let page = store.tenant_ids(tenants.last().copied(), CHUNK).await?;
        let last_page = (page.len() as i64) < CHUNK;
        tenants.extend(page);
        if last_page {
            return Ok(tenants);
        }
    }
}

/// Re-sends every person of `tenant` from `store` (over `database`) between the marks.
pub async fn republish_from<S: RecordStore>(
    store: &S,
    database: &Database,
    tenant: TenantId,
    chunk: i64,
) -> Result<usize, StoreError> {
    let started = rebuild::begin(database, tenant).await?;
    let sent =
        rebuild::send_all(chunk, |after| store.republish_people(tenant, after, chunk)).await?;
    for groups in [false, true] {
        rebuild::send_all(chunk, |after| {
            store.republish_directory(tenant, groups, after, chunk)
        })
        .await?;
    }
    for kind in FactKind::ALL {
        rebuild::send_all(chunk, |after| {
            store.republish_facts(tenant, kind, after, chunk)
        })
        .await?;
    }
    rebuild::finish(
        database,
        tenant,
        started,
        &[topic::PEOPLE, topic::DIRECTORY, topic::FACTS],
    )
    .await?;
    Ok(sent)
}
