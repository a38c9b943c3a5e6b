//! `lms dev`: the whole platform in one process on SQLite and in-process caches, for a first
//! look in one command.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lms_runtime::auth::{SigningKey, SubjectKind, TokenIssuer, jwks_json};
use lms_runtime::{BootError, Config, SecretString, ServiceName};

use crate::Platform;

/// The demo tenant's id: fixed, so tokens and bookmarks survive restarts.
pub const DEMO_TENANT_ID: &str = "01900000-0000-7000-8000-000000000001";
/// The demo tenant's administrator.
pub const DEMO_ADMIN_USER_ID: &str = "01900000-0000-7000-8000-000000000002";
/// How long the printed development token lasts.
const DEV_TOKEN_TTL: Duration = Duration::from_secs(12 * 3600);

/// A running-to-be development platform and what to tell its user.
#[derive(Debug)]
pub struct DevPlatform {
    /// The four services, built.
    pub platform: Platform,
    /// A bearer token for the demo tenant's administrator.
    pub token: String,
    /// Where the SQLite files live.
    pub data_dir: PathBuf,
}

/// Prepares `config` for development and builds all four services.
///
/// Databases still on their default (`sqlite://.lms/<service>.db`) move into `data_dir`. No
/// identity keys are configured yet in development, so a fresh Ed25519 key is generated per run:
/// its public half is what every service verifies against, and it signs the printed token.
pub async fn build(mut config: Config, data_dir: &Path) -> Result<DevPlatform, BootError> {
    let defaults = Config::default();
    for name in ServiceName::ALL {
        if config.service(name).database_url == defaults.service(name).database_url {
            config.service_mut(name).database_url = SecretString::new(format!(
                "sqlite://{}/{}.db",
                data_dir.display(),
                name.as_str()
            ));
        }
    }
    let issuer = TokenIssuer::new(
        SigningKey::generate(format!("dev-{}", uuid_suffix())),
        config.auth.issuer.clone(),
        config.auth.audience.clone(),
    );
    if config.auth.jwks.is_none() && config.auth.jwks_file.is_none() {
        config.auth.jwks = Some(jwks_json([issuer.key()]));
    }
    let claims = issuer.claims(
        SubjectKind::User,
        DEMO_ADMIN_USER_ID,
        Some(DEMO_TENANT_ID.to_owned()),
        DEV_TOKEN_TTL,
    );
    let platform = Platform::build(&config, &ServiceName::ALL).await?;
    Ok(DevPlatform {
        platform,
        token: issuer.sign(&claims),
        data_dir: data_dir.to_owned(),
    })
}

fn uuid_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{nanos:x}")
}

impl DevPlatform {
    /// What `lms dev` prints once the services are bound.
    pub fn banner(&self) -> String {
        let mut text = format!(
            "LMS Access (dev): all services on SQLite in {}, in-process cache\n\n",
            self.data_dir.display()
        );
        for (name, addr) in self.platform.endpoints() {
            text.push_str(&format!("  {:<14} http://{addr}\n", name.as_str()));
        }
        let authorization = self
            .platform
            .endpoints()
            .into_iter()
            .find(|(name, _)| *name == ServiceName::Authorization)
            .map(|(_, addr)| addr.to_string())
            .unwrap_or_default();
        text.push_str(&format!(
            "\nBearer token for the demo tenant's administrator (12 h):\n  {token}\n\n\
             Try:\n  grpcurl -plaintext {authorization} list\n  \
             grpcurl -plaintext {authorization} grpc.health.v1.Health/Check\n\n\
             Ctrl-C stops everything.\n",
            token = self.token,
        ));
        text
    }
}
