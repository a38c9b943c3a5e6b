//! `[identity]`, `[authorization]`, `[delegation]`, `[reporting]`: where one service listens
//! and stores its data.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::{ConfigError, ServiceName, invalid};
use crate::secret::SecretString;

/// Where one service listens and stores its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Address the gRPC server binds; port 0 picks a free port.
    pub listen: SocketAddr,
    /// `postgres://…` or `sqlite://…`. Each service owns its own database.
    pub database_url: SecretString,
    /// Upper bound of the connection pool.
    pub max_connections: u32,
    /// Whether the service applies its database migrations as it starts (the default, and
    /// `lms dev`). `false` on Kubernetes, where a Job runs `lms migrate` before a release and
    /// the services' database roles need not change the schema: the service then waits until
    /// every migration it knows has run, and serves after.
    #[serde(default = "applies_migrations")]
    pub apply_migrations: bool,
    /// How the other services reach this one (`http://lms-identity:50051`); absent means
    /// `http://<listen>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The platform service account this service obtains its tenant-scoped service tokens with
    /// from identity (delegation and reporting; identity signs its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ServiceAccountConfig>,
    /// The key each tenant's shop webhook secret is derived from (delegation): at least 32
    /// random bytes (`openssl rand -base64 32`). Without it the webhook answers 503 and no
    /// secret is issued; `lms dev` makes one beside its data. Changing it changes every
    /// tenant's secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop_webhook_key: Option<SecretString>,
}

fn applies_migrations() -> bool {
    true
}

/// A platform service account's credentials (`lmsctl service-accounts create`; `lms dev` makes
/// them): exchanged with identity's `IssueServiceToken` for a token narrowed to one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountConfig {
    /// The account's id.
    pub id: String,
    /// Its client secret.
    pub secret: SecretString,
}

impl ServiceConfig {
    /// The defaults of one service: its own port on localhost and its own SQLite file.
    pub fn default_for(name: ServiceName) -> Self {
        ServiceConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], name.default_port())),
            database_url: SecretString::new(format!("sqlite://.lms/{}.db", name.as_str())),
            max_connections: 10,
            apply_migrations: true,
            endpoint: None,
            service_account: None,
            shop_webhook_key: None,
        }
    }

    /// The URL other services call this one at.
    pub fn endpoint(&self) -> String {
        self.endpoint
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }

    /// Checks the section of service `name`.
    pub fn validate(&self, name: ServiceName) -> Result<(), ConfigError> {
        let url = self.database_url.expose();
        if !(url.starts_with("postgres://")
            || url.starts_with("postgresql://")
            || url.starts_with("sqlite:"))
        {
            return Err(invalid(
                &format!("{name}.database_url"),
                "must start with postgres://, postgresql:// or sqlite:",
            ));
        }
        if let Some(account) = &self.service_account
            && (account.id.trim().is_empty() || account.secret.expose().is_empty())
        {
            return Err(invalid(
                &format!("{name}.service_account"),
                "needs both id and secret",
            ));
        }
        if let Some(key) = &self.shop_webhook_key
            && key.expose().len() < 32
        {
            return Err(invalid(
                &format!("{name}.shop_webhook_key"),
                "must be at least 32 characters (openssl rand -base64 32)",
            ));
        }
        if self.max_connections == 0 {
            return Err(invalid(
                &format!("{name}.max_connections"),
                "must be at least 1",
            ));
        }
        Ok(())
    }
}
