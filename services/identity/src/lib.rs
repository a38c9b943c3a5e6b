//! The identity service of LMS Access.
//!
//! Who a person is: tenants, units, users, employments, groups, credentials, MFA, sign-in,
//! tokens, the approval queue, the Access Coordinator, anonymisation and imports.

#![forbid(unsafe_code)]

pub mod audit;
pub mod backfill;
pub mod convert;
pub mod core;
mod directory_record;
mod error;
pub mod grpc;
pub mod import;
pub mod keys;
pub mod lockout;
pub mod mfa;
pub mod operator;
pub mod password;
pub mod password_policy;
pub mod person_record;
pub mod rebuild;
pub mod relationships;
pub mod sealing;
pub mod sessions;
pub mod store;

use std::sync::Arc;

use lms_runtime::outbox::Publisher;
use lms_runtime::well_known::WellKnown;
use lms_runtime::{
    Application, BootError, Database, GrpcServer, Migrations, ServiceContext, ServiceName,
};

use crate::core::Core;
use crate::store::Store;

/// The schema of the identity store, one migration set per backend.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: sqlx::migrate!("migrations/postgres"),
    sqlite: sqlx::migrate!("migrations/sqlite"),
};

/// Methods answered without a bearer token. Sign-in and key discovery happen before the caller holds a token.
pub const PUBLIC_METHODS: &[&str] = &[
    "/lms.identity.v1.AuthenticationService/SignIn",
    "/lms.identity.v1.AuthenticationService/VerifyMfa",
    "/lms.identity.v1.AuthenticationService/RefreshToken",
    "/lms.identity.v1.AuthenticationService/GetJwks",
    "/lms.identity.v1.AuthenticationService/IssueServiceToken",
];

/// The public methods that prove a credential: limited per peer address, so one address cannot
/// flood them (each SignIn may run argon2).
const CREDENTIAL_METHODS: &[&str] = &[
    "/lms.identity.v1.AuthenticationService/SignIn",
    "/lms.identity.v1.AuthenticationService/VerifyMfa",
    "/lms.identity.v1.AuthenticationService/RefreshToken",
    "/lms.identity.v1.AuthenticationService/IssueServiceToken",
];

/// Opens the store, applies migrations, loads the signing keys and binds the server; call
/// [`Application::run_until_stopped`] to serve.
pub async fn build(context: ServiceContext) -> Result<Application, BootError> {
    let sealer = sealer(&context)?;
    let database = context.open_database(&MIGRATIONS).await?;
    let server = GrpcServer::bind(&context, PUBLIC_METHODS)
        .await?
        .limit_per_peer(
            CREDENTIAL_METHODS,
            context.sign_in.attempts_per_peer_per_second,
        );
    let application = match &database {
        Database::Postgres(pool) => {
            assemble(
                &context,
                server,
                database.clone(),
                store::PgStore::new(pool.clone(), sealer),
            )
            .await?
        }
        Database::Sqlite(pool) => {
            assemble(
                &context,
                server,
                database.clone(),
                store::SqliteStore::new(pool.clone(), sealer),
            )
            .await?
        }
    };
    Ok(application)
}

/// The sealer of the configured key-encryption keys; identity keeps no secret unsealed at rest,
/// so it does not start without one.
pub(crate) fn sealer(context: &ServiceContext) -> Result<sealing::Sealer, BootError> {
    let text = context
        .sign_in
        .key_encryption_keys
        .as_ref()
        .ok_or_else(|| BootError::Config {
            key: sealing::SETTING,
            reason: "identity seals signing keys and TOTP secrets with a key-encryption key and \
                     has none: set LMS_SIGN_IN__KEY_ENCRYPTION_KEYS to <id>=<base64 of 32 random \
                     bytes> (openssl rand -base64 32)"
                .into(),
        })?;
    sealing::Sealer::from_config(text).map_err(|error| BootError::Config {
        key: sealing::SETTING,
        reason: error.to_string(),
    })
}

/// Users whose TOTP secrets one reseal transaction covers.
const RESEAL_BATCH: u32 = 100;

async fn assemble<S: Store + Clone>(
    context: &ServiceContext,
    server: GrpcServer,
    database: Database,
    store: S,
) -> Result<Application, BootError> {
    // Before the keys load: a key stored before sealing opens only once resealed.
    let resealed = store
        .reseal_secrets(RESEAL_BATCH)
        .await
        .map_err(|error| match error {
            store::StoreError::Database(error) => BootError::Store(error.into()),
            other => BootError::Config {
                key: sealing::SETTING,
                reason: format!("resealing secrets: {other}"),
            },
        })?;
    if resealed != store::Resealed::default() {
        tracing::info!(
            resealed = resealed.resealed,
            unopened = resealed.unopened,
            "secrets at rest sealed again under the current key-encryption key"
        );
    }
    let keys = keys::KeyRing::load(
        &store,
        &context.auth,
        &context.sign_in,
        context.verifier.clone(),
    )
    .await
    .map_err(|error| match error {
        store::StoreError::Database(error) => BootError::Store(error.into()),
        other => BootError::Config {
            key: "identity.database_url",
            reason: format!("signing keys: {other}"),
        },
    })?;
    let authorization = lms_runtime::peers::Authorization::new(
        &context.peer(ServiceName::Authorization),
        Arc::new(keys.clone()),
    )
    .map_err(|reason| BootError::Config {
        key: "authorization.endpoint",
        reason,
    })?;
    let relay = Arc::new(lms_runtime::outbox::Relay::new(
        database.clone(),
        authorization.clone(),
    ));
    let redis = context.connect_redis().await?;
    let publisher = Arc::new(Publisher::new(
        database.clone(),
        ServiceName::Identity,
        context.event_sink(redis.clone())?,
    ));
    let core = Arc::new(Core {
        store: store.clone(),
        database: database.clone(),
        keys: keys.clone(),
        passwords: password::Passwords::new(&context.sign_in),
        authorization,
        relay: relay.clone(),
        sign_in: context.sign_in.clone(),
        attempts: lockout::Attempts::new(&context.sign_in),
        revocations: context.revocations.clone(),
    });
    let (pruning, republishing, announcing) = (core.clone(), core.clone(), core.clone());
    let published = keys.clone();
    let server = grpc::add_services(server, core).add_well_known(WellKnown::new(move |name| {
        (name == "jwks.json").then(|| published.jwks())
    }));
    Ok(Application::new(server, database)
        .with_redis(redis)
        .with_background(move |shutdown| keys.spawn_refresh(store, shutdown))
        .with_background(move |shutdown| relay.spawn_retries(shutdown))
        .with_background(move |shutdown| publisher.spawn(shutdown))
        .with_background(move |shutdown| {
            tokio::spawn(sessions::republish_revocations(republishing, shutdown));
        })
        .with_background(move |shutdown| {
            tokio::spawn(sessions::prune_credentials(pruning, shutdown));
        })
        .with_background(move |shutdown| {
            tokio::spawn(backfill::announce_coordinators(announcing, shutdown));
        }))
}
