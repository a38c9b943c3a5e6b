//! Configuration: built-in defaults, then an optional TOML file, then `LMS_` environment
//! variables (nested keys split on `__`), then validation. Loading takes the environment as an
//! argument so that tests never touch the process environment.
//!
//! `config/lms.example.toml` documents every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};

use crate::secret::SecretString;

/// The prefix of environment variables that configure LMS Access.
pub const ENV_PREFIX: &str = "LMS_";

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
    /// How the other services reach this one (`http://lms-identity:50051`); absent means
    /// `http://<listen>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

impl ServiceConfig {
    /// The URL other services call this one at.
    pub fn endpoint(&self) -> String {
        self.endpoint
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }
}

/// Sign-in, tokens and the keys that sign them: read by identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInConfig {
    /// Lifetime of access tokens.
    pub access_token_ttl_seconds: u64,
    /// Lifetime of a sign-in session: a refresh token older than this is refused.
    pub refresh_token_ttl_seconds: u64,
    /// A new signing key is made when the newest is older than this; old keys stay published
    /// until every token they signed has expired.
    pub signing_key_rotation_hours: u64,
    /// Failed sign-ins in a row before the account is locked.
    pub lockout_threshold: u32,
    /// The first lockout; each further failure doubles it.
    pub lockout_base_seconds: u64,
    /// The longest lockout.
    pub lockout_max_seconds: u64,
    /// argon2id memory cost in KiB (OWASP: at least 19456).
    pub argon2_memory_kib: u32,
    /// argon2id iterations.
    pub argon2_iterations: u32,
    /// How long an MFA challenge from SignIn may be answered.
    pub mfa_challenge_ttl_seconds: u64,
    /// An account nobody signed in to (or created) for this many days is "no longer in use"
    /// and the Access Coordinator may delete it.
    pub unused_account_days: u32,
}

/// The server stack: deadlines and load limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Longest a request may run; a shorter `grpc-timeout` from the client wins.
    pub request_timeout_ms: u64,
    /// Requests handled at once per service; further requests wait for a slot.
    pub concurrency_limit: usize,
    /// How long shutdown waits for in-flight requests after health turns NOT_SERVING.
    pub shutdown_grace_ms: u64,
}

/// How bearer tokens are verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The `iss` claim every token must carry.
    pub issuer: String,
    /// The `aud` claim every token must carry.
    pub audience: String,
    /// A JSON Web Key Set, inline. One of `jwks` and `jwks_file` is required outside `lms dev`.
    pub jwks: Option<String>,
    /// A file holding the JSON Web Key Set.
    pub jwks_file: Option<PathBuf>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_seconds: u64,
    /// Trust the keys identity publishes, fetched from `identity.endpoint` (besides any
    /// configured here). Identity itself always trusts its own.
    pub fetch_identity_keys: bool,
    /// How often the keys identity publishes are fetched (and at once when a token names an
    /// unknown key).
    pub jwks_refresh_seconds: u64,
}

/// The shared Redis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://host:port/db`; absent keeps caches and the event bus in process.
    pub url: Option<SecretString>,
    /// Prefix of every key this deployment writes, so deployments can share a Redis.
    pub key_prefix: String,
}

/// The decision cache: compiled facts per subject and resource, in process and in Redis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// The staleness bound of a decision asked without a consistency token: no cached fact is
    /// older than this. Writes invalidate sooner (across replicas through Redis pub/sub).
    pub max_staleness_ms: u64,
    /// Entries kept per replica.
    pub capacity: u64,
}

/// Logs, traces and metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// A `tracing` filter, for example `info,lms_authorization=debug`.
    pub log_filter: String,
    /// `text` for people, `json` for log pipelines.
    pub log_format: LogFormat,
    /// OTLP/gRPC endpoint (for example `http://otel-collector:4317`); absent exports nothing.
    pub otlp_endpoint: Option<String>,
    /// Fraction of traces sampled when no parent decided, 0.0–1.0.
    pub trace_sample_ratio: f64,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for Config {
    fn default() -> Self {
        let service = |name: ServiceName| ServiceConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], name.default_port())),
            database_url: SecretString::new(format!("sqlite://.lms/{}.db", name.as_str())),
            max_connections: 10,
            endpoint: None,
        };
        Config {
            telemetry: TelemetryConfig {
                log_filter: "info".into(),
                log_format: LogFormat::Text,
                otlp_endpoint: None,
                trace_sample_ratio: 1.0,
            },
            server: ServerConfig {
                request_timeout_ms: 10_000,
                concurrency_limit: 1024,
                shutdown_grace_ms: 5_000,
            },
            auth: AuthConfig {
                issuer: "lms-identity".into(),
                audience: "lms-access".into(),
                jwks: None,
                jwks_file: None,
                leeway_seconds: 30,
                fetch_identity_keys: true,
                jwks_refresh_seconds: 60,
            },
            redis: RedisConfig {
                url: None,
                key_prefix: "lms:".into(),
            },
            cache: CacheConfig {
                max_staleness_ms: 1_000,
                capacity: 100_000,
            },
            sign_in: SignInConfig {
                access_token_ttl_seconds: 900,
                refresh_token_ttl_seconds: 30 * 24 * 3600,
                signing_key_rotation_hours: 24,
                lockout_threshold: 5,
                lockout_base_seconds: 30,
                lockout_max_seconds: 3600,
                argon2_memory_kib: 19_456,
                argon2_iterations: 2,
                mfa_challenge_ttl_seconds: 300,
                unused_account_days: 180,
            },
            identity: service(ServiceName::Identity),
            authorization: service(ServiceName::Authorization),
            delegation: service(ServiceName::Delegation),
            reporting: service(ServiceName::Reporting),
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

    /// Checks what types cannot: URL schemes, ranges, exclusive keys.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: &str| ConfigError::Invalid {
            key: key.into(),
            reason: reason.into(),
        };
        for name in ServiceName::ALL {
            let service = self.service(name);
            let url = service.database_url.expose();
            if !(url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.starts_with("sqlite:"))
            {
                return Err(invalid(
                    &format!("{name}.database_url"),
                    "must start with postgres://, postgresql:// or sqlite:",
                ));
            }
            if service.max_connections == 0 {
                return Err(invalid(
                    &format!("{name}.max_connections"),
                    "must be at least 1",
                ));
            }
        }
        if self.server.request_timeout_ms == 0 {
            return Err(invalid("server.request_timeout_ms", "must be at least 1"));
        }
        if self.server.concurrency_limit == 0 {
            return Err(invalid("server.concurrency_limit", "must be at least 1"));
        }
        if self.auth.jwks.is_some() && self.auth.jwks_file.is_some() {
            return Err(invalid(
                "auth.jwks",
                "set either auth.jwks or auth.jwks_file, not both",
            ));
        }
        if self.auth.issuer.is_empty() || self.auth.audience.is_empty() {
            return Err(invalid(
                "auth.issuer",
                "issuer and audience must not be empty",
            ));
        }
        if let Some(url) = &self.redis.url
            && !(url.expose().starts_with("redis://") || url.expose().starts_with("rediss://"))
        {
            return Err(invalid(
                "redis.url",
                "must start with redis:// or rediss://",
            ));
        }
        if self.cache.max_staleness_ms == 0 || self.cache.capacity == 0 {
            return Err(invalid(
                "cache.max_staleness_ms",
                "staleness bound and capacity must be at least 1",
            ));
        }
        let sign_in = &self.sign_in;
        if sign_in.access_token_ttl_seconds == 0
            || sign_in.refresh_token_ttl_seconds < sign_in.access_token_ttl_seconds
        {
            return Err(invalid(
                "sign_in.access_token_ttl_seconds",
                "access tokens must live at least a second, and no longer than refresh tokens",
            ));
        }
        if sign_in.signing_key_rotation_hours == 0 || sign_in.lockout_threshold == 0 {
            return Err(invalid(
                "sign_in.signing_key_rotation_hours",
                "rotation period and lockout threshold must be at least 1",
            ));
        }
        if sign_in.argon2_memory_kib < 8 * 1024 || sign_in.argon2_iterations == 0 {
            return Err(invalid(
                "sign_in.argon2_memory_kib",
                "argon2id needs at least 8 MiB and one iteration",
            ));
        }
        if self.auth.jwks_refresh_seconds == 0 {
            return Err(invalid("auth.jwks_refresh_seconds", "must be at least 1"));
        }
        if !(0.0..=1.0).contains(&self.telemetry.trace_sample_ratio) {
            return Err(invalid(
                "telemetry.trace_sample_ratio",
                "must be between 0.0 and 1.0",
            ));
        }
        Ok(())
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
mod tests {
    use std::io::Write;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn toml_file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn defaults_alone_are_valid_and_embedded() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config, Config::default());
        assert!(config.identity.database_url.expose().starts_with("sqlite:"));
        assert_eq!(config.redis.url, None);
    }

    #[test]
    fn file_overrides_defaults() {
        let file = toml_file(
            "[authorization]\nlisten = \"0.0.0.0:6000\"\n[server]\nconcurrency_limit = 7\n",
        );
        let config = Config::load(Some(file.path()), env(&[])).unwrap();
        assert_eq!(config.authorization.listen, "0.0.0.0:6000".parse().unwrap());
        assert_eq!(config.server.concurrency_limit, 7);
        // Keys the file does not name keep their defaults.
        assert_eq!(config.identity.listen, Config::default().identity.listen);
        assert_eq!(config.server.request_timeout_ms, 10_000);
    }

    #[test]
    fn env_overrides_file() {
        let file = toml_file("[server]\nconcurrency_limit = 7\nrequest_timeout_ms = 50\n");
        let config = Config::load(
            Some(file.path()),
            env(&[
                ("LMS_SERVER__CONCURRENCY_LIMIT", "9"),
                ("LMS_REDIS__URL", "redis://127.0.0.1:6379/2"),
                ("LMS_TELEMETRY__LOG_FORMAT", "json"),
                ("UNRELATED", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(config.server.concurrency_limit, 9);
        assert_eq!(config.server.request_timeout_ms, 50, "file value kept");
        assert_eq!(
            config.redis.url.as_ref().map(SecretString::expose),
            Some("redis://127.0.0.1:6379/2")
        );
        assert_eq!(config.telemetry.log_format, LogFormat::Json);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let error = Config::load(None, env(&[("LMS_SERVER__CONCURENCY_LIMIT", "9")])).unwrap_err();
        assert!(error.to_string().contains("concurency_limit"), "{error}");
    }

    #[test]
    fn wrong_types_name_the_key() {
        let error =
            Config::load(None, env(&[("LMS_SERVER__CONCURRENCY_LIMIT", "many")])).unwrap_err();
        assert!(error.to_string().contains("concurrency_limit"), "{error}");
    }

    #[test]
    fn invalid_values_name_the_key_and_hide_secrets() {
        let error = Config::load(
            None,
            env(&[(
                "LMS_IDENTITY__DATABASE_URL",
                "mysql://root:hunter2@db/identity",
            )]),
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("identity.database_url"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        let error = Config::load(Some(Path::new("/nonexistent/lms.toml")), env(&[])).unwrap_err();
        assert!(error.to_string().contains("does not exist"), "{error}");
    }
}

#[cfg(test)]
mod example_file {
    use super::*;

    /// The documented file must load and say exactly what the defaults are.
    #[test]
    fn the_example_config_file_is_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/lms.example.toml");
        let config = Config::load(Some(&path), Vec::new()).unwrap();
        assert_eq!(config, Config::default());
    }
}
