//! The platform's first operator, made at install: `lms operator init` writes a platform service
//! account holding the operator scope straight into identity's store (whoever can reach the
//! database installs the platform) and prints its secret once; the store keeps only its hash.
//! The operator then trades id and secret for short-lived tokens with `IssueServiceToken`
//! (`lmsctl token`), like any service account, and makes every further operator and service
//! account through the API, audited.

use lms_runtime::auth::{Scope, Scopes};
use lms_runtime::clock::now;
use lms_runtime::{BootError, Database, ServiceContext};
use uuid::Uuid;

use crate::audit::{Actor, Object};
use crate::store::{
    AccountOwner, CredentialStore, PgStore, ServiceAccountRecord, SqliteStore, Store, StoreError,
};

/// Who the audit trail names as having made the first operator.
pub const INSTALLER: &str = "lms-operator-init";

/// The operator account made, with its secret (shown once, stored hashed).
pub struct OperatorCredential {
    /// The account's id (the client id of `IssueServiceToken`).
    pub service_account_id: Uuid,
    /// The account's name.
    pub name: String,
    /// The client secret, in clear this once.
    pub client_secret: String,
}

impl std::fmt::Debug for OperatorCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorCredential")
            .field("service_account_id", &self.service_account_id)
            .field("name", &self.name)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

/// Why no operator account was made.
#[derive(Debug, thiserror::Error)]
pub enum OperatorInitError {
    /// The store could not be opened or migrated.
    #[error(transparent)]
    Boot(#[from] BootError),
    /// The name is not a service account name.
    #[error(
        "{0:?} is not a service account name: 1 to 64 lower-case letters, digits or dashes, \
         starting with a letter"
    )]
    Name(String),
    /// An account of that name exists.
    #[error(
        "a platform service account named {0:?} exists; rotate its secret with `lmsctl \
         service-accounts rotate <id>` (as an operator), or pass another --name"
    )]
    Exists(String),
    /// The store refused the write.
    #[error("the identity store refused the operator account: {0}")]
    Store(StoreError),
}

/// Makes the platform service account `name` with the operator scope in the store `context`
/// names (migrating it first), and answers its secret.
pub async fn init(
    context: &ServiceContext,
    name: &str,
) -> Result<OperatorCredential, OperatorInitError> {
    init_account(context, name, Scopes::of([Scope::Operator])).await
}

/// Makes the platform service account `name` holding `scopes` the same way (`lms dev` makes the
/// accounts its own services trade for tokens this way, before any service runs).
pub async fn init_account(
    context: &ServiceContext,
    name: &str,
    scopes: Scopes,
) -> Result<OperatorCredential, OperatorInitError> {
    if !ServiceAccountRecord::valid_name(name) {
        return Err(OperatorInitError::Name(name.to_owned()));
    }
    let sealer = crate::sealer(context)?;
    let database = context.open_database(&crate::MIGRATIONS).await?;
    let made = match &database {
        Database::Postgres(pool) => create(&PgStore::new(pool.clone(), sealer), name, scopes).await,
        Database::Sqlite(pool) => {
            create(&SqliteStore::new(pool.clone(), sealer), name, scopes).await
        }
    };
    database.close().await;
    made
}

/// Whether `id` names an enabled platform account of the store `context` names holding `scopes`
/// whose secret is `secret` (what `lms dev` kept may be stale: rotated, disabled, or its
/// databases replaced).
pub async fn holds(
    context: &ServiceContext,
    id: Uuid,
    secret: &str,
    scopes: Scopes,
) -> Result<bool, BootError> {
    let sealer = crate::sealer(context)?;
    let database = context.open_database(&crate::MIGRATIONS).await?;
    let found = match &database {
        Database::Postgres(pool) => PgStore::new(pool.clone(), sealer).service_account(id).await,
        Database::Sqlite(pool) => {
            SqliteStore::new(pool.clone(), sealer)
                .service_account(id)
                .await
        }
    };
    database.close().await;
    let account = found.map_err(|error| BootError::Config {
        key: "operator",
        reason: format!("the identity store cannot be read: {error}"),
    })?;
    Ok(account.is_some_and(|account| {
        account.disabled_at.is_none()
            && account.owner == AccountOwner::Platform
            && account.scopes.intersect(scopes) == scopes
            && crate::sessions::hash(secret) == account.secret_hash
    }))
}

async fn create<S: Store>(
    store: &S,
    name: &str,
    scopes: Scopes,
) -> Result<OperatorCredential, OperatorInitError> {
    let (account, client_secret) = ServiceAccountRecord::new(
        name,
        AccountOwner::Platform,
        scopes,
        INSTALLER.to_owned(),
        false,
        now(),
    );
    let audit = Actor::Service(INSTALLER.to_owned()).did(
        "service_account.created",
        Object::service_account(account.id),
    );
    store
        .create_service_account(&account, &audit)
        .await
        .map_err(|error| match error {
            StoreError::Duplicate { .. } => OperatorInitError::Exists(name.to_owned()),
            other => OperatorInitError::Store(other),
        })?;
    tracing::info!(account = %account.id, name, scopes = %scopes.to_claim(), "platform account created");
    Ok(OperatorCredential {
        service_account_id: account.id,
        name: account.name,
        client_secret,
    })
}
