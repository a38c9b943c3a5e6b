//! `lmsctl`: decisions, roles and assignments, imports, and the operator's verbs from the
//! command line. One module per group of verbs.

mod decisions;
mod import;
mod permissions;
mod roles;

use anyhow::Context;
use clap::{Parser, Subcommand};
use lms_api::common::v1::ConsistencyToken;
use lms_client::Client;
use lms_client::output::Format;

use crate::decisions::Question;
use crate::import::ImportWhat;

#[derive(Debug, Parser)]
#[command(
    name = "lmsctl",
    version,
    about = "Ask LMS Access for decisions and manage roles"
)]
struct Cli {
    /// The authorization service.
    #[arg(
        long,
        env = "LMS_ENDPOINT",
        default_value = "http://127.0.0.1:50052",
        global = true
    )]
    endpoint: String,
    /// The identity service (imports).
    #[arg(
        long,
        env = "LMS_IDENTITY_ENDPOINT",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    identity: String,
    /// Your bearer token (from sign-in, or printed by `lms dev`).
    #[arg(long, env = "LMS_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "table", global = true)]
    output: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// May the subject do PERMISSION on RESOURCE?
    Check(Question),
    /// Check, with the role, reach or responsibility that decided it.
    Explain(Question),
    /// List roles, or show one.
    Roles {
        /// A role id (`builtin:<key>` or a UUID) to show with its grants.
        role: Option<String>,
    },
    /// List the permission vocabulary: area, name, whether risky, and what each allows.
    Permissions,
    /// Assign a role to a user.
    Assign {
        /// The user.
        user: String,
        /// The role (`builtin:<key>` or a UUID).
        role: String,
        /// Assign at this unit instead of the tenant.
        #[arg(long)]
        unit: Option<String>,
        /// Make it the user's main role.
        #[arg(long)]
        main: bool,
    },
    /// Revoke a role assignment.
    Revoke {
        /// The assignment.
        assignment: String,
    },
    /// Import a CSV file of users, accounts or account groups, with a progress bar.
    Import {
        /// What the file holds.
        #[arg(value_enum)]
        kind: ImportWhat,
        /// The CSV file.
        file: std::path::PathBuf,
        /// Import the good rows and report the bad ones.
        #[arg(long)]
        skip_bad_rows: bool,
        /// The file comes from the people-data feed: assign roles from its `role` column.
        #[arg(long)]
        people_data_feed: bool,
    },
}

/// A consistency token as printed.
fn token(t: Option<ConsistencyToken>) -> String {
    t.map(|t| t.token).unwrap_or_default()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let bearer = cli
        .token
        .as_deref()
        .context("set LMS_TOKEN or pass --token")?;
    if let Command::Import {
        kind,
        file,
        skip_bad_rows,
        people_data_feed,
    } = &cli.command
    {
        let identity = Client::connect(&cli.identity, bearer).await?;
        let bad = import::import(&identity, *kind, file, *skip_bad_rows, *people_data_feed).await?;
        if !bad.is_empty() {
            print!("{}", bad.render(cli.output));
        }
        return Ok(());
    }
    let client = Client::connect(&cli.endpoint, bearer).await?;
    let rows = match cli.command {
        Command::Check(q) => decisions::check(&client, &q).await?,
        Command::Explain(q) => decisions::explain(&client, &q).await?,
        Command::Roles { role: Some(role) } => roles::show(&client, role).await?,
        Command::Roles { role: None } => roles::list(&client).await?,
        Command::Permissions => permissions::list(&client).await?,
        Command::Assign {
            user,
            role,
            unit,
            main,
        } => roles::assign(&client, user, role, unit, main).await?,
        Command::Revoke { assignment } => roles::revoke(&client, assignment).await?,
        Command::Import { .. } => unreachable!("handled before connecting to authorization"),
    };
    print!("{}", rows.render(cli.output));
    Ok(())
}
