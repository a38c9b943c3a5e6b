//! `lms`: run the LMS Access platform. See `lms --help`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use lms_runtime::{Config, ServiceName, shutdown, telemetry};

/// mimalloc instead of the system allocator: a decision allocates a few dozen small blocks
/// (HTTP/2 frames, headers, extensions, futures), and glibc's malloc cost the warm Check about
/// a tenth of its latency in the load bench (`cargo bench -p lms-authorization --bench load`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "lms",
    version,
    about = "LMS Access: identity, authorization, course delegation and reporting"
)]
struct Cli {
    /// TOML configuration file (see config/lms.example.toml); `LMS_` variables override it.
    #[arg(long, short, global = true, env = "LMS_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run all four services in one process on SQLite, with a seeded demo tenant.
    Dev {
        /// Directory for the SQLite databases.
        #[arg(long, default_value = ".lms")]
        data_dir: PathBuf,
    },
    /// Run one service (one per container on Kubernetes).
    Serve {
        /// identity, authorization, delegation or reporting.
        service: ServiceName,
    },
    /// Apply database migrations, for every service or the ones named.
    Migrate {
        /// Services to migrate; all when none is named.
        services: Vec<ServiceName>,
    },
    /// The platform operator's credential.
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// Reporting's projections.
    Reporting {
        #[command(subcommand)]
        command: ReportingCommand,
    },
    /// Ask a running service whether it serves (gRPC health, no token needed): exits 0 when
    /// it answers SERVING, 1 otherwise. TLS as `peers.tls_*` configures it.
    Health {
        /// identity, authorization, delegation or reporting.
        service: ServiceName,
        /// The service's URL (`http://127.0.0.1:50052`); by default its own listen address on
        /// this machine, as an exec probe in its pod asks it.
        #[arg(long)]
        endpoint: Option<String>,
        /// How long to wait for the answer.
        #[arg(long, default_value_t = 5)]
        timeout_seconds: u64,
    },
    /// Print the Redis ACL rules of a service's own Redis user (the keys of `redis.key_prefix`
    /// it uses and nothing else), to follow `ACL SETUSER lms-<service> on '>password'`.
    RedisAcl {
        /// identity, authorization, delegation or reporting.
        service: ServiceName,
    },
}

#[derive(Debug, Subcommand)]
enum OperatorCommand {
    /// Make the first platform operator account in identity's store (migrating it first) and
    /// print its id and secret once; the store keeps only the secret's hash.
    Init {
        /// The account's name.
        #[arg(long, default_value = "operator")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum ReportingCommand {
    /// Have identity, authorization and delegation re-send every record they hold of each
    /// tenant (people and identity's facts: units, employments, teams, groups, statuses; who
    /// holds which role; courses, enrolments,
    /// events, bookings, sign-offs, requests and delegation's facts: tutors, administrators,
    /// enrolled, booked, offered, invitees, grants), so reporting replaces what it kept of
    /// them: after an event stream was trimmed past entries reporting never read (the
    /// lms.reporting.stream_gap gauge is 1), or its store was restored from an old backup.
    /// Writes to their databases (their outboxes); the running services carry the records to
    /// reporting. Safe to run again.
    Rebuild {
        /// Only this tenant (repeatable); every tenant when none is named.
        #[arg(long = "tenant", value_name = "TENANT_ID")]
        tenants: Vec<uuid::Uuid>,
        /// The stores `lms dev --data-dir DIR` runs on, when rebuilding beside it.
        #[arg(long, value_name = "DIR")]
        dev_data_dir: Option<PathBuf>,
        /// Records read and appended per transaction (each holds the tenant's outbox order, so
        /// the tenant's writes wait for it); each owner's default when not given.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..=10_000))]
        chunk: Option<i64>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // `LMS_CONFIG` names the file; it is not a configuration key.
    let env = std::env::vars().filter(|(name, _)| name != "LMS_CONFIG");
    let config = Config::load(cli.config.as_deref(), env)?;
    match cli.command {
        Command::Dev { data_dir } => {
            let _telemetry =
                telemetry::init(&lms_platform::dev::telemetry(&config.telemetry), "lms-dev")?;
            let dev = lms_platform::dev::build(config, &data_dir)
                .await
                .context("starting the development platform")?;
            let seeder = dev.seeder();
            let endpoints = dev.platform.endpoints();
            let running = tokio::spawn(dev.platform.run_until_stopped(shutdown::on_signal()));
            let demo = seeder
                .seed()
                .await
                .context("seeding the demo tenant through identity")?;
            println!(
                "{}",
                lms_platform::dev::banner(&endpoints, &data_dir, &demo)
            );
            running.await.context("the platform stopped abnormally")??;
        }
        Command::Serve { service } => {
            let _telemetry = telemetry::init(&config.telemetry, &format!("lms-{service}"))?;
            let platform = lms_platform::Platform::build(&config, &[service], Vec::new())
                .await
                .with_context(|| format!("starting {service}"))?;
            platform.run_until_stopped(shutdown::on_signal()).await?;
        }
        Command::Operator {
            command: OperatorCommand::Init { name },
        } => {
            let _telemetry = telemetry::init(&config.telemetry, "lms-operator")?;
            let context = lms_runtime::ServiceContext::from_config(&config, ServiceName::Identity)?;
            let made = lms_identity::operator::init(&context, &name).await?;
            println!("{}", lms_platform::operator::banner(&made));
        }
        Command::Reporting {
            command:
                ReportingCommand::Rebuild {
                    tenants,
                    dev_data_dir,
                    chunk,
                },
        } => {
            let _telemetry = telemetry::init(&config.telemetry, "lms-rebuild")?;
            let mut config = config;
            if let Some(data_dir) = dev_data_dir {
                // A mistyped directory would otherwise get new, empty stores.
                anyhow::ensure!(
                    data_dir.join("identity.db").is_file(),
                    "{} holds no lms dev stores (no identity.db): pass the --data-dir lms dev runs on",
                    data_dir.display()
                );
                lms_platform::dev::local_stores(&mut config, &data_dir)?;
            }
            let tenants = tenants
                .into_iter()
                .map(lms_kernel::TenantId::from_uuid)
                .collect();
            let resent =
                lms_platform::rebuild::rebuild_reporting(&config, tenants, chunk, |tenant| {
                    println!(
                        "tenant {}: {} people, {} holders of roles and {} records of courses, enrolments, events, bookings, sign-offs and requests re-sent",
                        tenant.tenant, tenant.people, tenant.holders, tenant.records
                    );
                })
                .await?;
            println!(
                "{} tenants re-sent; reporting replaces what it kept as the services publish them",
                resent.len()
            );
        }
        Command::RedisAcl { service } => {
            println!(
                "{}",
                lms_runtime::redis_acl::rules(service, &config.redis.key_prefix).join(" ")
            );
        }
        Command::Health {
            service,
            endpoint,
            timeout_seconds,
        } => {
            let url = lms_platform::health::endpoint_of(&config, service, endpoint)?;
            let status = lms_platform::health::status(
                &config,
                &url,
                std::time::Duration::from_secs(timeout_seconds),
            )
            .await?;
            println!("{service} at {url}: {}", status.as_str_name());
            if status != tonic_health::pb::health_check_response::ServingStatus::Serving {
                std::process::exit(1);
            }
        }
        Command::Migrate { services } => {
            let _telemetry = telemetry::init(&config.telemetry, "lms-migrate")?;
            let services = if services.is_empty() {
                ServiceName::ALL.to_vec()
            } else {
                services
            };
            lms_platform::migrate(&config, &services).await?;
        }
    }
    Ok(())
}
