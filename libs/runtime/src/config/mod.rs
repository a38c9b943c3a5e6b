//! Configuration: built-in defaults, then an optional TOML file, then `LMS_` environment
//! variables (nested keys split on `__`), then validation. Loading takes the environment as an
//! argument so that tests never touch the process environment.
//!
//! Each section (`[server]`, `[auth]`, …) lives in its own file with its defaults and its own
//! checks; this module composes them. `config/lms.example.toml` documents every key.

use std::path::Path;

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};

mod auth;
mod cache;
mod peers;
mod redis;
mod server;
mod service;
mod sign_in;
mod telemetry;

pub use auth::AuthConfig;
pub use cache::CacheConfig;
pub use peers::PeersConfig;
pub use redis::RedisConfig;
pub use server::ServerConfig;
pub use service::{ServiceAccountConfig, ServiceConfig};
pub use sign_in::SignInConfig;
pub use telemetry::{DEFAULT_LOG_FILTER, LogFormat, TelemetryConfig};

/// The prefix of environment variables that configure LMS Access.
pub const ENV_PREFIX: &str = "LMS_";

/// Variables with the prefix that configure `lmsctl`, not the services: a shell that exported
/// `LMS_TOKEN` (as the README's tour does) must still start `lms dev`.
const CLIENT_VARIABLES: [&str; 6] = [
    "LMS_TOKEN",
    "LMS_ENDPOINT",
    "LMS_IDENTITY_ENDPOINT",
    "LMS_CLIENT_ID",
    "LMS_CLIENT_SECRET",
    "LMS_PASSWORD",
];

/// The four services, in the order `lms dev` starts them (declaration order is [`ServiceName::ALL`]'s,
/// so `name as usize` indexes per-service arrays).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceName {
    /// Who a person is.
    Identity,
    /// What they may do.
    Authorization,
    /// Course delegation.
    Delegation,
    /// Scoped reports.
    Reporting,
}

impl ServiceName {
    /// Every service.
    pub const ALL: [ServiceName; 4] = [
        ServiceName::Identity,
        ServiceName::Authorization,
        ServiceName::Delegation,
        ServiceName::Reporting,
    ];

    /// The lowercase name used in config keys, logs and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceName::Identity => "identity",
            ServiceName::Authorization => "authorization",
            ServiceName::Delegation => "delegation",
            ServiceName::Reporting => "reporting",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            ServiceName::Identity => 50051,
            ServiceName::Authorization => 50052,
            ServiceName::Delegation => 50053,
            ServiceName::Reporting => 50054,
        }
    }
}

impl std::fmt::Display for ServiceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ServiceName {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ServiceName::ALL
            .into_iter()
            .find(|name| name.as_str() == text)
            .ok_or_else(|| ConfigError::Invalid {
                key: "service".into(),
                reason: format!(
                    "unknown service {text:?}; expected identity, authorization, delegation or reporting"
                ),
            })
    }
}

/// The whole configuration of the platform; each service reads the shared sections and its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Logs, traces and metrics.
    pub telemetry: TelemetryConfig,
    /// The gRPC server stack shared by every service.
    pub server: ServerConfig,
    /// Verification of bearer tokens.
    pub auth: AuthConfig,
    /// TLS for calls to the other services.
    pub peers: PeersConfig,
    /// The shared Redis (decision cache and event stream); absent means in-process only.
    pub redis: RedisConfig,
    /// The decision cache of authorization.
    pub cache: CacheConfig,
    /// Sign-in, tokens and signing keys (identity).
    pub sign_in: SignInConfig,
    /// The identity service.
    pub identity: ServiceConfig,
    /// The authorization service.
    pub authorization: ServiceConfig,
    /// The delegation service.
    pub delegation: ServiceConfig,
    /// The reporting service.
    pub reporting: ServiceConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            telemetry: TelemetryConfig::default(),
            server: ServerConfig::default(),
            auth: AuthConfig::default(),
            peers: PeersConfig::default(),
            redis: RedisConfig::default(),
            cache: CacheConfig::default(),
            sign_in: SignInConfig::default(),
            identity: ServiceConfig::default_for(ServiceName::Identity),
            authorization: ServiceConfig::default_for(ServiceName::Authorization),
            delegation: ServiceConfig::default_for(ServiceName::Delegation),
            reporting: ServiceConfig::default_for(ServiceName::Reporting),
        }
    }
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A source could not be read or a value has the wrong type.
    #[error("configuration: {0}")]
    Load(Box<figment::Error>),
    /// A value is well-typed but unusable.
    #[error("configuration key `{key}`: {reason}")]
    Invalid {
        /// Dotted key, for example `identity.database_url`.
        key: String,
        /// What is wrong, never the value of a secret.
        reason: String,
    },
}

impl Config {
    /// Loads defaults, then `file` (when given; it must exist), then the `LMS_` variables of
    /// `env`, then validates. Pass `std::env::vars()` in binaries and a literal list in tests.
    pub fn load<I>(file: Option<&Path>, env: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::Invalid {
                    key: "--config".into(),
                    reason: format!("file {} does not exist", path.display()),
                });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let config: Config = figment
            .merge(EnvVars::from_iter(env))
            .extract()
            .map_err(|error| ConfigError::Load(Box::new(error)))?;
        config.validate()?;
        Ok(config)
    }

    /// The section of one service.
    pub fn service(&self, name: ServiceName) -> &ServiceConfig {
        match name {
            ServiceName::Identity => &self.identity,
            ServiceName::Authorization => &self.authorization,
            ServiceName::Delegation => &self.delegation,
            ServiceName::Reporting => &self.reporting,
        }
    }

    /// The section of one service, to change (for `lms dev` and tests).
    pub fn service_mut(&mut self, name: ServiceName) -> &mut ServiceConfig {
        match name {
            ServiceName::Identity => &mut self.identity,
            ServiceName::Authorization => &mut self.authorization,
            ServiceName::Delegation => &mut self.delegation,
            ServiceName::Reporting => &mut self.reporting,
        }
    }

    /// Checks what types cannot: URL schemes, ranges, exclusive keys. Each section checks
    /// itself; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for name in ServiceName::ALL {
            self.service(name).validate(name)?;
        }
        self.server.validate()?;
        self.auth.validate()?;
        self.peers.validate()?;
        self.redis.validate()?;
        self.cache.validate()?;
        self.sign_in.validate()?;
        self.telemetry.validate()?;
        // Followers must have a new signing key before identity signs with it (three reloads).
        if self.auth.jwks_refresh_seconds > self.sign_in.signing_key_reload_seconds {
            return Err(invalid(
                "auth.jwks_refresh_seconds",
                "must not exceed sign_in.signing_key_reload_seconds",
            ));
        }
        self.validate_peer_schemes()
    }

    /// With TLS configured, a plaintext peer would carry tokens and keys in clear: every
    /// endpoint must be `https://`; and an `https://` endpoint needs a CA to verify it by.
    fn validate_peer_schemes(&self) -> Result<(), ConfigError> {
        let tls = self.server.tls_enabled() || self.peers.tls_enabled();
        for name in ServiceName::ALL {
            let https = self.service(name).endpoint().starts_with("https://");
            if tls && !https {
                return Err(invalid(
                    &format!("{name}.endpoint"),
                    "must be https:// when TLS is configured (server.tls_cert_file or peers.tls_ca_file)",
                ));
            }
            if https && !self.peers.tls_enabled() {
                return Err(invalid(
                    &format!("{name}.endpoint"),
                    "https:// needs peers.tls_ca_file to verify the peer by",
                ));
            }
        }
        Ok(())
    }
}

/// A [`ConfigError::Invalid`] for `key`.
fn invalid(key: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// `LMS_` variables as a figment provider: `LMS_IDENTITY__LISTEN=0.0.0.0:50051` sets
/// `identity.listen`. Values are read as figment reads them (numbers, booleans, else strings).
#[derive(Debug, Default)]
struct EnvVars {
    values: Dict,
}

impl FromIterator<(String, String)> for EnvVars {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(vars: I) -> Self {
        let mut values = Dict::new();
        for (name, raw) in vars {
            let Some(key) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if CLIENT_VARIABLES.contains(&name.as_str()) {
                continue;
            }
            if key.is_empty() {
                continue;
            }
            let path = key.to_ascii_lowercase().replace("__", ".");
            let value: Value = raw.parse().unwrap_or_else(|never| match never {});
            if let Some(nested) = figment::util::nest(&path, value).into_dict() {
                merge_dict(&mut values, nested);
            }
        }
        EnvVars { values }
    }
}

fn merge_dict(into: &mut Dict, from: Dict) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Dict(_, existing)), Value::Dict(_, incoming)) => {
                merge_dict(existing, incoming)
            }
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

impl Provider for EnvVars {
    fn metadata(&self) -> Metadata {
        Metadata::named("LMS_ environment variables")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.values.clone()))
    }
}

#[cfg(test)]
mod tests;
