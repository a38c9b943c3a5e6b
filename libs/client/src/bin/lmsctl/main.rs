//! `lmsctl`: decisions, roles and assignments, imports, and the operator's verbs from the
//! command line. One module per group of verbs.

mod accounts;
mod audit;
mod catalogues;
mod courses;
mod decisions;
mod enrolling;
mod enrolments;
mod events;
mod grants;
mod import;
mod permissions;
mod purchases;
mod reports;
mod roles;
mod session;
mod tenants;

use anyhow::Context;
use clap::{Parser, Subcommand};
use lms_api::common::v1::ConsistencyToken;
use lms_client::Client;
use lms_client::output::Format;

use crate::accounts::AccountCommand;
use crate::audit::{AuditQuery, Trail};
use crate::catalogues::CatalogueCommand;
use crate::courses::CourseCommand;
use crate::decisions::Question;
use crate::enrolling::{DeployArgs, EnrolArgs};
use crate::enrolments::EnrolmentsArgs;
use crate::events::{AttendanceArgs, BookArgs, BookingCommand, CompetencyCommand, EventCommand};
use crate::grants::GrantCommand;
use crate::import::ImportWhat;
use crate::purchases::PurchaseCommand;
use crate::reports::ReportCommand;
use crate::tenants::TenantCommand;

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
    /// The identity service (sign-in, tokens, tenants, service accounts, imports).
    #[arg(
        long,
        env = "LMS_IDENTITY_ENDPOINT",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    identity: String,
    /// The delegation service (courses, lessons, their duties, enrolments).
    #[arg(
        long,
        env = "LMS_DELEGATION_ENDPOINT",
        default_value = "http://127.0.0.1:50053",
        global = true
    )]
    delegation: String,
    /// The reporting service (scoped reports and their exports).
    #[arg(
        long,
        env = "LMS_REPORTING_ENDPOINT",
        default_value = "http://127.0.0.1:50054",
        global = true
    )]
    reporting: String,
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
    /// What you (or `--subject`) hold PERMISSION through: each reach with the unit it is held
    /// at and the role, each responsibility, each client a client reach covers.
    Holds(decisions::Holding),
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
    /// Print an access token for a service account (the platform operator's, an
    /// integration's): `export LMS_TOKEN=$(lmsctl token)`. Its secret is read from
    /// `LMS_CLIENT_SECRET`, never from the command line, which other users of the machine see.
    Token {
        /// The account's id.
        #[arg(long, env = "LMS_CLIENT_ID")]
        client_id: String,
    },
    /// Sign a person in and print their access token: `export LMS_TOKEN=$(... | lmsctl sign-in
    /// --tenant T --email E --password-stdin)`.
    SignIn {
        /// Their tenant.
        #[arg(long)]
        tenant: String,
        /// Their e-mail.
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input (else `LMS_PASSWORD`).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Tenants, Master Administrators and client links.
    #[command(subcommand)]
    Tenants(TenantCommand),
    /// Service accounts of the platform or of your tenant.
    #[command(subcommand)]
    ServiceAccounts(AccountCommand),
    /// Courses, their lessons and the duties on them.
    #[command(subcommand)]
    Courses(CourseCommand),
    /// Catalogues of courses: deployed to people, they offer them their courses to see and
    /// ask to join.
    #[command(subcommand)]
    Catalogues(CatalogueCommand),
    /// Enrol learners on a course, decided on each of them (a manager their team:
    /// `--group TEAM`); long lists go a thousand a call, with a progress bar.
    Enrol(EnrolArgs),
    /// Deploy a course to users and groups (its Course Tutor and Course Administrators, the
    /// tenant's course administrators); each person is enrolled once, and deploying again
    /// enrols only who is missing. Long lists go a thousand a call, with a progress bar.
    Deploy(DeployArgs),
    /// Enrolments of a course (`--course`) or of a learner (`--user`), or one of the verbs:
    /// request, decide, requests, withdraw, grant-access.
    Enrolments(EnrolmentsArgs),
    /// Reports showing exactly what you may see: `report progress` (learners' progress, or
    /// `--export csv|json --file F` for the whole report as a file).
    #[command(subcommand)]
    Report(ReportCommand),
    /// Events of courses: list, get, create, cancel, and their Event Administrators.
    #[command(subcommand)]
    Events(EventCommand),
    /// Book a place on an event for yourself or (`--user`) someone you may book: a full event
    /// waitlists, an event needing approval takes a request.
    Book(BookArgs),
    /// Bookings: an event's, a person's or yours; approve, decline or cancel one.
    #[command(subcommand)]
    Bookings(BookingCommand),
    /// Mark attendance of a booked place, from half an hour before the event starts.
    Attendance(AttendanceArgs),
    /// Competency sign-offs: a Course Tutor signs off a learner; list a course's or a person's.
    #[command(subcommand)]
    Competencies(CompetencyCommand),
    /// Shop purchases: place an order (the shop's integration), list orders, invite learners to
    /// an order's seats and accept an invitation, issue the shop webhook's secret.
    #[command(subcommand)]
    Purchases(PurchaseCommand),
    /// Content for client tenants: a Master Administrator grants a course to a client, changes
    /// the grant's window and revokes it; the client's people list what is granted to them.
    #[command(subcommand)]
    Grants(GrantCommand),
    /// An audit trail, newest first: identity's for your tenant, or the platform's
    /// (`--platform`, operators); delegation's for your tenant with `--service delegation`.
    Audit(AuditQuery),
}

/// A consistency token as printed.
fn token(t: Option<ConsistencyToken>) -> String {
    t.map(|t| t.token).unwrap_or_default()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            lms_client::progress::note(&format!("lmsctl: {}", describe(&error)));
            std::process::ExitCode::FAILURE
        }
    }
}

/// What failed, in one line: for a call the service refused, what was asked, the service's
/// message and its gRPC code (`create tenant: invalid argument: name: ... (INVALID_ARGUMENT)`).
fn describe(error: &anyhow::Error) -> String {
    match error
        .chain()
        .find_map(|e| e.downcast_ref::<tonic::Status>())
    {
        Some(status) => format!(
            "{error}: {} ({})",
            status.message(),
            code_name(status.code())
        ),
        None => format!("{error:#}"),
    }
}

/// A gRPC code as the protocol names it (`PERMISSION_DENIED`).
fn code_name(code: tonic::Code) -> String {
    let mut name = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli {
        endpoint,
        identity,
        delegation,
        reporting,
        token,
        output,
        command,
    } = cli;
    // Every call but those proving a credential (which print a bare token) carries one.
    let connect = |endpoint: &str| {
        let endpoint = endpoint.to_owned();
        let bearer = token.clone().context("set LMS_TOKEN or pass --token");
        async move { anyhow::Ok(Client::connect(&endpoint, &bearer?).await?) }
    };
    let rows = match command {
        Command::Token { client_id } => {
            let client_secret = std::env::var("LMS_CLIENT_SECRET")
                .ok()
                .filter(|secret| !secret.is_empty())
                .context("set LMS_CLIENT_SECRET to the account's secret")?;
            println!(
                "{}",
                session::token(&identity, &client_id, &client_secret).await?
            );
            return Ok(());
        }
        Command::SignIn {
            tenant,
            email,
            password_stdin,
        } => {
            let password = session::password(password_stdin, std::env::var("LMS_PASSWORD").ok())?;
            println!(
                "{}",
                session::sign_in(&identity, &tenant, &email, &password).await?
            );
            return Ok(());
        }
        Command::Import {
            kind,
            file,
            skip_bad_rows,
            people_data_feed,
        } => {
            let client = connect(&identity).await?;
            let bad = import::import(&client, kind, &file, skip_bad_rows, people_data_feed).await?;
            if bad.is_empty() {
                return Ok(());
            }
            bad
        }
        Command::Tenants(command) => tenants::run(&connect(&identity).await?, command).await?,
        Command::ServiceAccounts(command) => {
            accounts::run(&connect(&identity).await?, command).await?
        }
        Command::Courses(command) => courses::run(&connect(&delegation).await?, command).await?,
        Command::Enrol(args) => {
            // Identity is asked only for the members of the groups named.
            let identity = match args.names_groups() {
                true => Some(connect(&identity).await?),
                false => None,
            };
            enrolling::enrol(identity.as_ref(), &connect(&delegation).await?, args).await?
        }
        Command::Catalogues(command) => {
            catalogues::run(&connect(&delegation).await?, command).await?
        }
        Command::Deploy(args) => enrolling::deploy(&connect(&delegation).await?, args).await?,
        Command::Enrolments(args) => enrolments::run(&connect(&delegation).await?, args).await?,
        Command::Report(command) => match reports::run(&connect(&reporting).await?, command).await?
        {
            Some(rows) => rows,
            // The export went to its file (or standard output) as it came.
            None => return Ok(()),
        },
        Command::Events(command) => events::events(&connect(&delegation).await?, command).await?,
        Command::Book(args) => events::book(&connect(&delegation).await?, args).await?,
        Command::Bookings(command) => {
            events::bookings(&connect(&delegation).await?, command).await?
        }
        Command::Attendance(args) => events::attendance(&connect(&delegation).await?, args).await?,
        Command::Competencies(command) => {
            events::competencies(&connect(&delegation).await?, command).await?
        }
        Command::Purchases(command) => {
            purchases::run(&connect(&delegation).await?, command).await?
        }
        Command::Grants(command) => grants::run(&connect(&delegation).await?, command).await?,
        Command::Audit(query) => {
            let service = match query.service() {
                Trail::Identity => &identity,
                Trail::Delegation => &delegation,
            };
            audit::list(&connect(service).await?, query).await?
        }
        Command::Check(q) => decisions::check(&connect(&endpoint).await?, &q).await?,
        Command::Explain(q) => decisions::explain(&connect(&endpoint).await?, &q).await?,
        Command::Holds(h) => decisions::holds(&connect(&endpoint).await?, &h).await?,
        Command::Roles { role: Some(role) } => {
            roles::show(&connect(&endpoint).await?, role).await?
        }
        Command::Roles { role: None } => roles::list(&connect(&endpoint).await?).await?,
        Command::Permissions => permissions::list(&connect(&endpoint).await?).await?,
        Command::Assign {
            user,
            role,
            unit,
            main,
        } => roles::assign(&connect(&endpoint).await?, user, role, unit, main).await?,
        Command::Revoke { assignment } => {
            roles::revoke(&connect(&endpoint).await?, assignment).await?
        }
    };
    print!("{}", rows.render(output));
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};
    use crate::audit::Trail;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn delegation_s_trail_is_a_service_of_audit_and_keeps_the_delegation_endpoint() {
        let cli = Cli::try_parse_from([
            "lmsctl",
            "--delegation",
            "http://delegation.example:50053",
            "audit",
            "--service",
            "delegation",
        ])
        .unwrap();
        assert_eq!(cli.delegation, "http://delegation.example:50053");
        match cli.command {
            Command::Audit(query) => assert_eq!(query.service(), Trail::Delegation),
            other => panic!("{other:?}"),
        }
    }
}
