//! `lms dev`: the whole platform in one process on SQLite and in-process caches, with a demo
//! tenant seeded through identity, for a first look in one command.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::tenant_service_client::TenantServiceClient;
use lms_api::identity::v1::{
    CreateTenantRequest, NewUser, SignInRequest, TenantSettings, sign_in_response,
};
use lms_runtime::auth::{Scope, Scopes, SigningKey, SubjectKind, TokenIssuer, jwks_json};
use lms_runtime::client::{CallCredentials, connect};
use lms_runtime::{BootError, Config, SecretString, ServiceName};
use tonic::service::interceptor::InterceptedService;

use crate::Platform;

/// The demo tenant's administrator (its Access Coordinator).
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.example";
/// Their password: this is a development platform on a laptop, and the banner prints it.
pub const DEMO_ADMIN_PASSWORD: &str = "lms-dev-orchard-lantern";
/// Where the demo tenant's id is kept between runs.
const DEMO_TENANT_FILE: &str = "demo-tenant";
/// Where identity's key-encryption key is kept between runs when none is configured.
const KEK_FILE: &str = "identity-kek";
/// How long the operator token that seeds the demo tenant lasts.
const OPERATOR_TOKEN_TTL: Duration = Duration::from_secs(600);

/// Why seeding the demo tenant failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// Identity could not be reached.
    #[error("identity is unreachable: {0}")]
    Connect(#[from] tonic::transport::Error),
    /// Identity refused a call.
    #[error("identity refused {call}: {status}")]
    Refused {
        /// The call.
        call: &'static str,
        /// Its answer.
        status: Box<tonic::Status>,
    },
    /// The data directory could not be written.
    #[error("cannot keep the demo tenant's id in {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A development platform, built and ready to run.
#[derive(Debug)]
pub struct DevPlatform {
    /// The four services, built.
    pub platform: Platform,
    /// Where the SQLite files live.
    pub data_dir: PathBuf,
    seeder: Seeder,
}

/// Seeds (or finds) the demo tenant once the platform serves.
#[derive(Debug, Clone)]
pub struct Seeder {
    identity: String,
    operator_token: String,
    data_dir: PathBuf,
}

/// The demo tenant, signed in.
#[derive(Debug, Clone)]
pub struct Demo {
    /// Its id.
    pub tenant: String,
    /// An access token of its administrator, issued by identity's sign-in.
    pub token: String,
    /// Whether this run created it.
    pub created: bool,
}

/// A free port on 127.0.0.1 for a service configured on port 0, so that every peer's
/// endpoint is known before any service is built (identity calls authorization; the others
/// fetch identity's keys).
fn free_port() -> Result<u16, BootError> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|error| BootError::Config {
            key: "listen",
            reason: format!("no free port on 127.0.0.1: {error}"),
        })
}

/// Development is plaintext on 127.0.0.1 (the seeder and the banner speak `http://`): TLS
/// settings, and `server.require_tls`, are for deployments and are dropped here.
fn plaintext(config: &mut Config) {
    if config.server.require_tls || config.server.tls_enabled() || config.peers.tls_enabled() {
        tracing::warn!("lms dev serves plaintext on 127.0.0.1; TLS settings are ignored");
    }
    config.server.require_tls = false;
    config.server.tls_cert_file = None;
    config.server.tls_key_file = None;
    config.server.tls_client_ca_file = None;
    config.peers = Default::default();
    for name in ServiceName::ALL {
        let service = config.service_mut(name);
        if service
            .endpoint
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
        {
            service.endpoint = None;
        }
    }
}

/// Prepares `config` for development and builds all four services.
///
/// Databases still on their default (`sqlite://.lms/<service>.db`) move into `data_dir`. A
/// fresh Ed25519 operator key is trusted for this run only; it signs the token that creates the
/// demo tenant. People's tokens come from identity's own sign-in.
pub async fn build(mut config: Config, data_dir: &Path) -> Result<DevPlatform, BootError> {
    plaintext(&mut config);
    let defaults = Config::default();
    for name in ServiceName::ALL {
        if config.service(name).database_url == defaults.service(name).database_url {
            config.service_mut(name).database_url = SecretString::new(format!(
                "sqlite://{}/{}.db",
                data_dir.display(),
                name.as_str()
            ));
        }
        let listen = config.service(name).listen;
        if listen.port() == 0 {
            config.service_mut(name).listen = SocketAddr::new(listen.ip(), free_port()?);
        }
    }
    let issuer = TokenIssuer::new(
        SigningKey::generate(format!("dev-{}", nanos_hex())),
        config.auth.issuer.clone(),
        config.auth.audience.clone(),
    );
    if config.auth.jwks.is_none() && config.auth.jwks_file.is_none() {
        config.auth.jwks = Some(jwks_json([issuer.key()]));
    }
    if config.sign_in.key_encryption_keys.is_none() {
        config.sign_in.key_encryption_keys = Some(dev_kek(data_dir)?);
    }
    let mut operator = issuer.claims(SubjectKind::Service, "lms-dev", None, OPERATOR_TOKEN_TTL);
    operator.scope = Some(Scopes::of([Scope::Operator]).to_claim());
    let platform = Platform::build(&config, &ServiceName::ALL).await?;
    let identity = platform
        .endpoints()
        .into_iter()
        .find(|(name, _)| *name == ServiceName::Identity)
        .map(|(_, addr)| format!("http://{addr}"))
        .unwrap_or_default();
    Ok(DevPlatform {
        platform,
        data_dir: data_dir.to_owned(),
        seeder: Seeder {
            identity,
            operator_token: issuer.sign(&operator),
            data_dir: data_dir.to_owned(),
        },
    })
}

/// Identity's key-encryption key for `lms dev`: made at random on the first run and kept in
/// the data directory (owner-only), since the SQLite data it seals must open on the next run.
/// It protects nothing on that disk; it keeps `lms dev` starting with no configuration while
/// sealing works exactly as in production.
fn dev_kek(data_dir: &Path) -> Result<SecretString, BootError> {
    let path = data_dir.join(KEK_FILE);
    let unusable = |error: std::io::Error| BootError::Config {
        key: lms_identity::sealing::SETTING,
        reason: format!(
            "cannot keep a development key in {}: {error}",
            path.display()
        ),
    };
    match std::fs::read_to_string(&path) {
        Ok(kept) => return Ok(SecretString::new(kept.trim())),
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(unusable(error)),
        Err(_) => {}
    }
    std::fs::create_dir_all(data_dir).map_err(unusable)?;
    let kek = lms_identity::sealing::Sealer::generate_config("dev");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(unusable)?;
    std::io::Write::write_all(&mut file, kek.expose().as_bytes()).map_err(unusable)?;
    Ok(kek)
}

fn nanos_hex() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{nanos:x}")
}

fn refused(call: &'static str) -> impl FnOnce(tonic::Status) -> SeedError {
    move |status| SeedError::Refused {
        call,
        status: Box::new(status),
    }
}

impl Seeder {
    /// Finds the demo tenant of an earlier run (its id is kept in the data directory) or
    /// creates it through identity, then signs its administrator in. Call once the platform
    /// serves.
    pub async fn seed(&self) -> Result<Demo, SeedError> {
        let channel = connect(self.identity.clone()).await?;
        let path = self.data_dir.join(DEMO_TENANT_FILE);
        let kept = std::fs::read_to_string(&path)
            .ok()
            .map(|id| id.trim().to_owned());
        let (tenant, created) = match kept {
            Some(tenant) if !tenant.is_empty() => (tenant, false),
            _ => {
                let credentials =
                    CallCredentials::bearer(&self.operator_token).expect("signed tokens are ASCII");
                let created =
                    TenantServiceClient::new(InterceptedService::new(channel.clone(), credentials))
                        .create_tenant(CreateTenantRequest {
                            name: "Demo Academy".into(),
                            settings: Some(TenantSettings {
                                locations_enabled: true,
                                clients_enabled: false,
                                mfa_required_for_admins: false,
                            }),
                            access_coordinator: Some(NewUser {
                                email: DEMO_ADMIN_EMAIL.into(),
                                given_name: "Demo".into(),
                                family_name: "Administrator".into(),
                                password: DEMO_ADMIN_PASSWORD.into(),
                                ..Default::default()
                            }),
                        })
                        .await
                        .map_err(refused("CreateTenant"))?
                        .into_inner();
                let tenant = created.tenant.unwrap_or_default().tenant_id;
                std::fs::write(&path, &tenant).map_err(|source| SeedError::Io {
                    path: path.clone(),
                    source,
                })?;
                (tenant, true)
            }
        };
        let signed_in = AuthenticationServiceClient::new(channel)
            .sign_in(SignInRequest {
                tenant_id: tenant.clone(),
                email: DEMO_ADMIN_EMAIL.into(),
                password: DEMO_ADMIN_PASSWORD.into(),
            })
            .await
            .map_err(refused("SignIn"))?
            .into_inner();
        let token = match signed_in.outcome {
            Some(sign_in_response::Outcome::Tokens(tokens)) => tokens.access_token,
            _ => {
                return Err(SeedError::Refused {
                    call: "SignIn",
                    status: Box::new(tonic::Status::failed_precondition(
                        "the demo administrator has a second factor; sign in with it",
                    )),
                });
            }
        };
        Ok(Demo {
            tenant,
            token,
            created,
        })
    }
}

impl DevPlatform {
    /// What seeds the demo tenant; take it before the platform runs.
    pub fn seeder(&self) -> Seeder {
        self.seeder.clone()
    }

    /// What `lms dev` prints once the services serve and the demo tenant is ready.
    pub fn banner(&self, demo: &Demo) -> String {
        banner(&self.platform.endpoints(), &self.data_dir, demo)
    }
}

/// The banner for services at `endpoints`.
pub fn banner(endpoints: &[(ServiceName, SocketAddr)], data_dir: &Path, demo: &Demo) -> String {
    let mut text = format!(
        "LMS Access (dev): all services on SQLite in {}, in-process cache\n\n",
        data_dir.display()
    );
    for (name, addr) in endpoints {
        text.push_str(&format!("  {:<14} http://{addr}\n", name.as_str()));
    }
    let address = |wanted: ServiceName| {
        endpoints
            .iter()
            .find(|(name, _)| *name == wanted)
            .map(|(_, addr)| addr.to_string())
            .unwrap_or_default()
    };
    text.push_str(&format!(
        "\nDemo tenant {tenant}{new}\n  administrator {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}\n\n\
         Bearer token for the administrator (from identity's sign-in):\n  {token}\n\n\
         Try:\n  export LMS_TOKEN=<the token above>\n  \
         lmsctl --endpoint http://{authorization} roles\n  \
         lmsctl --identity http://{identity} import users people.csv\n  \
         grpcurl -plaintext {authorization} list\n\n\
         Ctrl-C stops everything.\n",
        tenant = demo.tenant,
        new = if demo.created { " (created now)" } else { "" },
        token = demo.token,
        authorization = address(ServiceName::Authorization),
        identity = address(ServiceName::Identity),
    ));
    text
}

#[cfg(test)]
mod tests {
    use lms_runtime::ServiceContext;

    use super::*;

    #[test]
    fn dev_starts_plaintext_even_with_a_deployments_tls_settings() {
        let mut config = Config::default();
        config.server.require_tls = true;
        config.server.tls_cert_file = Some("/etc/lms/tls/tls.crt".into());
        config.server.tls_key_file = Some("/etc/lms/tls/tls.key".into());
        config.peers.tls_ca_file = Some("/etc/lms/tls/ca.crt".into());
        config.identity.endpoint = Some("https://lms-identity:50051".into());
        plaintext(&mut config);
        // Neither the demand for TLS nor its (absent) files stop the start.
        let context = ServiceContext::from_config(&config, ServiceName::Authorization).unwrap();
        assert!(context.server_tls.is_none() && context.peer_tls.is_none());
        assert!(
            context
                .endpoint(ServiceName::Identity)
                .starts_with("http://127.0.0.1")
        );
    }
}
