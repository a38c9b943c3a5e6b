//! The delegation service of LMS Access.
//!
//! Course delegation: courses, lessons, events, catalogues, enrolments and enrolment requests,
//! bookings, attendance, competency checks and the responsibilities on them. Every action is
//! decided by authorization first, as the person acting (their own token), and every fact a
//! decision depends on reaches authorization through the outbox before the answer.
//!
//! Laid out as `shared/SKELETON.md` shows: `core.rs` (the store, the authorization client and
//! the outbox relay), `error.rs`, `convert.rs`, `relationships.rs` (the facts delegation owns),
//! `audit.rs`, `enrolling.rs` (enrolling people as the caller, shared by Enrol and DeployCourse),
//! `store/` (one trait per aggregate over shared SQL for PostgreSQL and SQLite, one
//! conformance suite) and `grpc/` (one module per proto service).
//!
//! Delegation signs no tokens: it trades its platform service account (`delegation.service_account`,
//! scopes `authorization.facts.courses`, `authorization.roles.shop` and `identity.people.lookup`)
//! with identity for tokens narrowed to each tenant whose facts it pushes, whose shop orders'
//! roles it gives and whose buyers it finds.

#![forbid(unsafe_code)]

pub mod audit;
pub mod convert;
pub mod core;
mod enrolling;
mod error;
pub mod fan_out;
pub mod grpc;
pub mod notices;
pub mod rebuild;
pub mod records;
pub mod relationships;
pub mod shop;
pub mod store;
mod webhook;

use std::sync::Arc;

use lms_runtime::outbox::{EventSink, Publisher};
use lms_runtime::peers::{Authorization, Identity, IdentityTokens};
use lms_runtime::{
    Application, BootError, Database, GrpcServer, Migrations, ServiceContext, ServiceName,
};

use crate::core::Core;
use crate::store::Store;

/// The schema of the delegation store, one migration set per backend.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: sqlx::migrate!("migrations/postgres"),
    sqlite: sqlx::migrate!("migrations/sqlite"),
};

/// Methods answered without a bearer token: every gRPC call needs one; the shop webhook
/// (plain HTTP under `/webhooks/`) is signed with the tenant's webhook secret instead.
pub const PUBLIC_METHODS: &[&str] = &["/webhooks/"];

/// Opens the store, applies migrations and binds the server; call
/// [`Application::run_until_stopped`] to serve.
pub async fn build(context: ServiceContext) -> Result<Application, BootError> {
    let account = context
        .service
        .service_account
        .clone()
        .ok_or_else(|| BootError::Config {
            key: "delegation.service_account",
            reason: "delegation pushes course facts to authorization and places shop orders \
                     with a platform service account: create one as an operator (lmsctl \
                     service-accounts create delegation --scope authorization.facts.courses \
                     --scope authorization.roles.shop --scope identity.people.lookup) and set \
                     LMS_DELEGATION__SERVICE_ACCOUNT__ID and \
                     LMS_DELEGATION__SERVICE_ACCOUNT__SECRET"
                .into(),
        })?;
    let identity_peer = context.peer(ServiceName::Identity);
    let identity_refused = |reason| BootError::Config {
        key: "identity.endpoint",
        reason,
    };
    let tokens = IdentityTokens::new(&identity_peer, account).map_err(identity_refused)?;
    let identity = Identity::new(&identity_peer).map_err(identity_refused)?;
    let authorization =
        Authorization::new(&context.peer(ServiceName::Authorization), Arc::new(tokens)).map_err(
            |reason| BootError::Config {
                key: "authorization.endpoint",
                reason,
            },
        )?;
    let shop_webhook_key = context
        .service
        .shop_webhook_key
        .as_ref()
        .map(shop::WebhookKey::new);
    let database = context.open_database(&MIGRATIONS).await?;
    let redis = context.connect_redis().await?;
    let sink = context.event_sink(redis.clone())?;
    let server = GrpcServer::bind(&context, PUBLIC_METHODS).await?;
    let application = match &database {
        Database::Postgres(pool) => assemble(
            server,
            database.clone(),
            (authorization, identity, shop_webhook_key),
            store::PgStore::new(pool.clone()),
            sink,
        ),
        Database::Sqlite(pool) => assemble(
            server,
            database.clone(),
            (authorization, identity, shop_webhook_key),
            store::SqliteStore::new(pool.clone()),
            sink,
        ),
    };
    Ok(application.with_redis(redis))
}

fn assemble<S: Store + Clone>(
    server: GrpcServer,
    database: Database,
    (authorization, identity, shop_webhook_key): (
        Authorization,
        Identity,
        Option<shop::WebhookKey>,
    ),
    store: S,
    sink: EventSink,
) -> Application {
    let relay = Arc::new(lms_runtime::outbox::Relay::new(
        database.clone(),
        authorization.clone(),
    ));
    let publisher = Arc::new(Publisher::new(
        database.clone(),
        ServiceName::Delegation,
        sink,
    ));
    let core = Arc::new(Core {
        store,
        authorization,
        identity,
        relay: relay.clone(),
        shop_webhook_key,
    });
    let notices = core.clone();
    Application::new(grpc::add_services(server, core), database)
        .with_background(move |shutdown| relay.spawn_retries(shutdown))
        .with_background(move |shutdown| publisher.spawn(shutdown))
        .with_background(move |shutdown| fan_out::spawn(notices, shutdown))
}
