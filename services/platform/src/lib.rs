//! The platform as one program: `lms dev` runs all four services in one process on the embedded
//! store, `lms serve <service>` runs one (the Kubernetes shape), `lms migrate` applies schemas.

#![forbid(unsafe_code)]

pub mod dev;
pub mod health;
pub mod operator;
pub mod rebuild;

use std::net::SocketAddr;

use lms_runtime::store::Database;
use lms_runtime::{Application, BootError, Config, Migrations, ServiceContext, ServiceName};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The schema of one service.
pub fn migrations(name: ServiceName) -> &'static Migrations {
    match name {
        ServiceName::Identity => &lms_identity::MIGRATIONS,
        ServiceName::Authorization => &lms_authorization::MIGRATIONS,
        ServiceName::Delegation => &lms_delegation::MIGRATIONS,
        ServiceName::Reporting => &lms_reporting::MIGRATIONS,
    }
}

/// Builds one service from its context.
pub async fn build_service(context: ServiceContext) -> Result<Application, BootError> {
    // Boxed: a service's start is a large future, and only ever awaited once.
    match context.name {
        ServiceName::Identity => Box::pin(lms_identity::build(context)).await,
        ServiceName::Authorization => Box::pin(lms_authorization::build(context)).await,
        ServiceName::Delegation => Box::pin(lms_delegation::build(context)).await,
        ServiceName::Reporting => Box::pin(lms_reporting::build(context)).await,
    }
}

/// Applies the migrations of `names` to their configured databases.
pub async fn migrate(config: &Config, names: &[ServiceName]) -> Result<(), BootError> {
    for &name in names {
        let service = config.service(name);
        let database = Database::connect(&service.database_url, 1).await?;
        database.migrate(migrations(name)).await?;
        database.close().await;
        tracing::info!(service = %name, "migrated");
    }
    Ok(())
}

/// Several services served together until a shutdown signal.
#[derive(Debug)]
pub struct Platform {
    applications: Vec<Application>,
}

impl Platform {
    /// Builds `names` under `config`, each on its socket in `bound` if one is there (bound
    /// already, so that its address could be handed to the others first), else on its
    /// configured address.
    pub async fn build(
        config: &Config,
        names: &[ServiceName],
        mut bound: Vec<(ServiceName, std::net::TcpListener)>,
    ) -> Result<Self, BootError> {
        let mut applications = Vec::with_capacity(names.len());
        // Without Redis, the services of this process hand their events to reporting here.
        let events = lms_runtime::outbox::EventBus::default();
        for &name in names {
            let mut context = ServiceContext::from_config(config, name)?;
            context.events = events.clone();
            if let Some(at) = bound.iter().position(|(bound_name, _)| *bound_name == name) {
                let (_, listener) = bound.swap_remove(at);
                context
                    .listen_on(listener)
                    .map_err(|source| BootError::Bind {
                        addr: context.service.listen,
                        source,
                    })?;
            }
            applications.push(build_service(context).await?);
        }
        Ok(Self { applications })
    }

    /// Where each service listens.
    pub fn endpoints(&self) -> Vec<(ServiceName, SocketAddr)> {
        self.applications
            .iter()
            .map(|app| (app.name(), app.local_addr()))
            .collect()
    }

    /// The services built, to inspect.
    pub fn applications(&self) -> &[Application] {
        &self.applications
    }

    /// Serves every service until `shutdown` is cancelled. If one service fails, the others are
    /// stopped too and the first error is returned.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> Result<(), BootError> {
        let mut running = JoinSet::new();
        for application in self.applications {
            let shutdown = shutdown.clone();
            running.spawn(async move {
                let name = application.name();
                (name, application.run_until_stopped(shutdown).await)
            });
        }
        let mut first_error = None;
        while let Some(joined) = running.join_next().await {
            match joined {
                Ok((_, Ok(()))) => {}
                Ok((name, Err(error))) => {
                    tracing::error!(service = %name, %error, "service failed; stopping the others");
                    shutdown.cancel();
                    first_error.get_or_insert(error);
                }
                Err(panicked) => {
                    tracing::error!(error = %panicked, "service task panicked; stopping the others");
                    shutdown.cancel();
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
