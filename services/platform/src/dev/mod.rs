//! `lms dev`: the whole platform in one process on SQLite and in-process caches, with a platform
//! operator and a demo world seeded through the public API, for a first look in one command.
//!
//! - `operator`: the operator account made on the first run and kept beside the data.
//! - `world`: the demo world as data: tenants, units, people, roles, teams and courses.
//! - `seed`: the flow that seeds it through the services' public gRPC API.
//! - `api`: those calls, each finding what an earlier run made before creating it.
//! - `kept`: what the seeding keeps in the data directory (`demo.env`, `demo-tenants`,
//!   `demo-tenant`).

mod api;
mod kept;
mod operator;
mod seed;
mod world;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

use lms_runtime::config::{ServiceAccountConfig, TelemetryConfig};
use lms_runtime::{BootError, Config, SecretString, ServiceContext, ServiceName};

use self::api::Endpoints;
pub use self::kept::{DEMO_ENV_FILE, DEMO_TENANT_FILE, DemoIds};
pub use self::operator::DevOperator;
pub use self::seed::{Demo, SeedError, Seeder};
use self::world::World;
pub use self::world::{DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, KEYS as DEMO_ENV_KEYS};
use crate::Platform;

/// What `lms dev` logs unless `telemetry.log_filter` says otherwise: warnings and errors from
/// everything, and `lms dev`'s own progress. The services' start-up and per-request lines
/// (about a hundred while the demo world is seeded) would bury the banner a newcomer looks for.
pub const LOG_FILTER: &str = "warn,lms_platform=info";

/// The telemetry settings `lms dev` starts with: `config`'s, its filter [`LOG_FILTER`] when
/// none is configured (`LMS_TELEMETRY__LOG_FILTER=info` shows every service's log).
pub fn telemetry(config: &TelemetryConfig) -> TelemetryConfig {
    TelemetryConfig {
        log_filter: Some(
            config
                .log_filter
                .clone()
                .unwrap_or_else(|| LOG_FILTER.to_owned()),
        ),
        ..config.clone()
    }
}

/// Where identity's key-encryption key is kept between runs when none is configured.
const KEK_FILE: &str = "identity-kek";

/// Where `lms dev` keeps the key delegation derives tenants' shop webhook secrets from, so a
/// secret issued once keeps working across runs.
const SHOP_WEBHOOK_KEY_FILE: &str = "shop-webhook-key";

/// A development platform, built and ready to run.
#[derive(Debug)]
pub struct DevPlatform {
    /// The four services, built.
    pub platform: Platform,
    /// Where the SQLite files live.
    pub data_dir: PathBuf,
    seeder: Seeder,
}

/// A socket on a free port for a service configured on port 0, bound now so that every peer's
/// endpoint is known before any service is built (identity calls authorization; the others
/// fetch identity's keys) and no other process takes the port meanwhile.
fn bind_free(ip: std::net::IpAddr) -> Result<(TcpListener, SocketAddr), BootError> {
    let unbound = |source| BootError::Bind {
        addr: SocketAddr::new(ip, 0),
        source,
    };
    let listener = TcpListener::bind((ip, 0)).map_err(unbound)?;
    let addr = listener.local_addr().map_err(unbound)?;
    Ok((listener, addr))
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

/// Points `config` at the stores `lms dev` keeps in `data_dir`: databases still on their
/// default (`sqlite://.lms/<service>.db`) move there, and identity seals with the key kept there
/// unless one is configured. What `lms dev` runs on, and what a command run beside it (`lms
/// reporting rebuild --dev-data-dir`) must open.
pub fn local_stores(config: &mut Config, data_dir: &Path) -> Result<(), BootError> {
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
    if config.sign_in.key_encryption_keys.is_none() {
        config.sign_in.key_encryption_keys = Some(dev_kek(data_dir)?);
    }
    Ok(())
}

/// Prepares `config` for development and builds all four services.
///
/// Databases still on their default (`sqlite://.lms/<service>.db`) move into `data_dir`. The
/// platform operator is a service account in identity's store, made on the first run; its
/// tokens, like people's, come from identity, so keys configured in `auth.jwks` are trusted
/// beside identity's own and never instead of them.
pub async fn build(mut config: Config, data_dir: &Path) -> Result<DevPlatform, BootError> {
    plaintext(&mut config);
    local_stores(&mut config, data_dir)?;
    let mut bound = Vec::new();
    for name in ServiceName::ALL {
        let listen = config.service(name).listen;
        if listen.port() == 0 {
            let (listener, addr) = bind_free(listen.ip())?;
            config.service_mut(name).listen = addr;
            bound.push((name, listener));
        }
    }
    if config.delegation.shop_webhook_key.is_none() {
        config.delegation.shop_webhook_key = Some(dev_shop_webhook_key(data_dir)?);
    }
    // Delegation trades its platform account for tokens from its first write on, so the
    // account exists (identity's store migrated for it) before any service is built.
    if config.delegation.service_account.is_none() {
        let identity = ServiceContext::from_config(&config, ServiceName::Identity)?;
        let account = operator::ensure_delegation(&identity, data_dir).await?;
        config.delegation.service_account = Some(ServiceAccountConfig {
            id: account.client_id,
            secret: SecretString::new(account.client_secret),
        });
    }
    let platform = Platform::build(&config, &ServiceName::ALL, bound).await?;
    let endpoint = |wanted: ServiceName| {
        platform
            .endpoints()
            .into_iter()
            .find(|(name, _)| *name == wanted)
            .map(|(_, addr)| format!("http://{addr}"))
            .unwrap_or_default()
    };
    let endpoints = Endpoints {
        identity: endpoint(ServiceName::Identity),
        authorization: endpoint(ServiceName::Authorization),
        delegation: endpoint(ServiceName::Delegation),
    };
    // Identity's store is migrated now: the operator account can be written into it.
    let identity_context = ServiceContext::from_config(&config, ServiceName::Identity)?;
    let operator = operator::ensure(&identity_context, data_dir).await?;
    Ok(DevPlatform {
        platform,
        data_dir: data_dir.to_owned(),
        seeder: Seeder::new(endpoints, operator, data_dir),
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
    let kek = lms_identity::sealing::Sealer::generate_config("dev");
    write_private(&path, kek.expose()).map_err(unusable)?;
    Ok(kek)
}

/// The shop webhook key kept in `data_dir`, made on the first run.
fn dev_shop_webhook_key(data_dir: &Path) -> Result<SecretString, BootError> {
    let path = data_dir.join(SHOP_WEBHOOK_KEY_FILE);
    let unusable = |error: std::io::Error| BootError::Config {
        key: "delegation.shop_webhook_key",
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
    let key = lms_runtime::secret::random_token(32);
    write_private(&path, &key).map_err(unusable)?;
    Ok(SecretString::new(key))
}

/// Writes `contents` to a new file at `path` that only its owner may read (its directory made
/// if need be): what `lms dev` keeps between runs includes secrets.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    std::io::Write::write_all(&mut file, contents.as_bytes())
}

impl DevPlatform {
    /// What seeds the demo world; take it before the platform runs.
    pub fn seeder(&self) -> Seeder {
        self.seeder.clone()
    }

    /// What `lms dev` prints once the services serve and the demo world is ready.
    pub fn banner(&self, demo: &Demo) -> String {
        banner(&self.platform.endpoints(), &self.data_dir, demo)
    }
}

/// The banner for services at `endpoints`: where they serve, who is who in the demo world,
/// the demo administrator's token and how to act as the platform operator.
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
        "\nDemo world{new}: every password is {DEMO_ADMIN_PASSWORD}; ids in {env}\n",
        new = if demo.created { " (seeded now)" } else { "" },
        env = data_dir.join(DEMO_ENV_FILE).display(),
    ));
    let world = World::new();
    text.push_str(&who_is_who(&world, &demo.ids));
    text.push_str(&courses(&world, &demo.ids));
    text.push_str(&format!(
        "\nBearer token for {DEMO_ADMIN_EMAIL} (from identity's sign-in):\n  {token}\n\n\
         Try:\n  export LMS_TOKEN=<the token above>\n  \
         lmsctl --endpoint http://{authorization} roles\n  \
         lmsctl --identity http://{identity} import users people.csv\n  \
         export $(cat {env}); echo {DEMO_ADMIN_PASSWORD} | lmsctl --identity http://{identity} \\\n    \
         sign-in --tenant \"$DEMO_TENANT\" --email tutor@demo.example --password-stdin\n  \
         lmsctl --delegation http://{delegation} enrolments --course \"$DEMO_COURSE_SAFETY\"\n  \
         grpcurl -plaintext {authorization} list\n\n\
         Platform operator: its client id and secret are kept in {operator}; trade them for a\n\
         short-lived operator token:\n  \
         export $(cat {operator})\n  \
         lmsctl --token \"$(lmsctl token)\" tenants get {tenant}\n\n\
         Ctrl-C stops everything.\n",
        operator = data_dir.join(operator::OPERATOR_FILE).display(),
        env = data_dir.join(DEMO_ENV_FILE).display(),
        tenant = demo.tenant,
        token = demo.token,
        authorization = address(ServiceName::Authorization),
        identity = address(ServiceName::Identity),
        delegation = address(ServiceName::Delegation),
    ));
    text
}

/// The courses of each tenant that has some: title, id, and what sets each apart.
fn courses(world: &World, ids: &DemoIds) -> String {
    let mut text = String::new();
    for plan in world.tenants() {
        let width = plan
            .courses
            .iter()
            .map(|course| course.title.chars().count())
            .max()
            .unwrap_or(0);
        if width == 0 {
            continue;
        }
        text.push_str(&format!("  Courses of {}:\n", plan.name));
        for course in &plan.courses {
            text.push_str(&format!(
                "    {:<width$}  {}  {}\n",
                course.title,
                ids.get(course.key).unwrap_or("?"),
                plan.course_summary(course),
            ));
        }
    }
    text
}

/// The who-is-who table: a heading per tenant (its name and id), then a row per person (or
/// team of learners): e-mail, role, where it applies.
fn who_is_who(world: &World, ids: &DemoIds) -> String {
    let tenants = world.tenants();
    let rosters: Vec<_> = tenants.iter().map(|plan| plan.roster()).collect();
    let width = |column: fn(&world::RosterRow) -> &str| {
        rosters
            .iter()
            .flatten()
            .map(|row| column(row).chars().count())
            .max()
            .unwrap_or(0)
    };
    let (email_width, role_width) = (width(|r| &r.email), width(|r| &r.role));
    let mut text = String::new();
    for (plan, roster) in tenants.iter().zip(&rosters) {
        let id = ids.get(plan.key).unwrap_or("?");
        text.push_str(&format!("  {} {id}  {}\n", plan.name, world.describe(plan)));
        for row in roster {
            text.push_str(&format!(
                "    {:<email_width$}  {:<role_width$}  {}\n",
                row.email, row.role, row.place
            ));
        }
    }
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
