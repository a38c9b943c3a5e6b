//! `lmsctl`: decisions, roles and assignments from the command line.

use anyhow::Context;
use std::io::IsTerminal;

use clap::{Parser, Subcommand};
use lms_api::authorization::v1::{
    AssignRoleRequest, CheckRequest, Decision, ExplainRequest, GetRoleRequest, ListRolesRequest,
    Reach, RevokeRoleRequest,
};
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ConsistencyToken};
use lms_api::identity::v1::{ImportCsvRequest, ImportKind, ImportOptions, import_csv_request};
use lms_client::output::{Format, Rows};
use lms_client::{Client, progress, reference};

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

#[derive(Debug, clap::Args)]
struct Question {
    /// A permission, for example `courses.update`.
    permission: String,
    /// The object, as `<type>:<id>`, for example `course:0193…`.
    resource: String,
    /// Ask about this user instead of yourself.
    #[arg(long)]
    subject: Option<String>,
    /// Answer from state at least as fresh as this consistency token.
    #[arg(long, conflicts_with = "fully_consistent")]
    at_least_as_fresh: Option<String>,
    /// Bypass every cache.
    #[arg(long)]
    fully_consistent: bool,
}

impl Question {
    fn consistency(&self) -> Option<Consistency> {
        let requirement = match (&self.at_least_as_fresh, self.fully_consistent) {
            (Some(token), _) => Requirement::AtLeastAsFresh(ConsistencyToken {
                token: token.clone(),
            }),
            (None, true) => Requirement::FullyConsistent(true),
            (None, false) => return None,
        };
        Some(Consistency {
            requirement: Some(requirement),
        })
    }
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

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ImportWhat {
    Users,
    Accounts,
    AccountGroups,
}

impl ImportWhat {
    fn kind(self) -> ImportKind {
        match self {
            ImportWhat::Users => ImportKind::Users,
            ImportWhat::Accounts => ImportKind::Accounts,
            ImportWhat::AccountGroups => ImportKind::AccountGroups,
        }
    }
}

/// Sends the file in 64 KiB chunks, draws progress, and answers the bad rows.
async fn import(
    client: &Client,
    kind: ImportWhat,
    file: &std::path::Path,
    skip_bad_rows: bool,
    people_data_feed: bool,
) -> anyhow::Result<Rows> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let mut messages = vec![ImportCsvRequest {
        part: Some(import_csv_request::Part::Options(ImportOptions {
            kind: kind.kind() as i32,
            skip_bad_rows,
            people_data_feed,
        })),
    }];
    messages.extend(bytes.chunks(64 * 1024).map(|chunk| ImportCsvRequest {
        part: Some(import_csv_request::Part::Chunk(chunk.to_vec())),
    }));
    let mut stream = client
        .imports()
        .import_csv(tokio_stream::iter(messages))
        .await
        .context("import")?
        .into_inner();
    let drawing = std::io::stderr().is_terminal();
    let mut errors = Rows::new(&["line", "column", "reason"]);
    let mut last = None;
    while let Some(message) = stream.message().await.context("import")? {
        for error in &message.errors {
            errors.push(vec![
                error.line.to_string(),
                error.column.clone(),
                error.reason.clone(),
            ]);
        }
        if drawing {
            progress::redraw(&progress::bar(
                message.rows_imported + message.rows_unchanged,
                message.rows_read,
                &format!(
                    "{} imported, {} unchanged",
                    progress::thousands(message.rows_imported),
                    progress::thousands(message.rows_unchanged)
                ),
            ));
        }
        last = Some(message);
    }
    if drawing {
        progress::note("");
    }
    let last = last.context("the import answered nothing")?;
    progress::note(&format!(
        "{} rows read, {} imported, {} unchanged, {} bad",
        progress::thousands(last.rows_read),
        progress::thousands(last.rows_imported),
        progress::thousands(last.rows_unchanged),
        progress::thousands(errors.len() as i64),
    ));
    if !errors.is_empty() && last.rows_imported == 0 && !skip_bad_rows {
        print!("{}", errors.render(Format::Table));
        anyhow::bail!("nothing was imported: fix the rows above, or pass --skip-bad-rows");
    }
    Ok(errors)
}

fn decision(value: i32) -> String {
    Decision::try_from(value).map_or("UNKNOWN".into(), |d| {
        d.as_str_name().trim_start_matches("DECISION_").into()
    })
}

fn reach(value: i32) -> String {
    Reach::try_from(value).map_or(String::new(), |r| {
        r.as_str_name().trim_start_matches("REACH_").to_lowercase()
    })
}

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
        let bad = import(&identity, *kind, file, *skip_bad_rows, *people_data_feed).await?;
        if !bad.is_empty() {
            print!("{}", bad.render(cli.output));
        }
        return Ok(());
    }
    let client = Client::connect(&cli.endpoint, bearer).await?;
    let rows = match cli.command {
        Command::Check(q) => {
            let response = client
                .permissions()
                .check(CheckRequest {
                    subject_id: q.subject.clone().unwrap_or_default(),
                    permission: q.permission.clone(),
                    resource: Some(reference(&q.resource)?),
                    consistency: q.consistency(),
                })
                .await
                .context("check")?
                .into_inner();
            let mut rows = Rows::new(&["decision", "checked_at"]);
            rows.push(vec![
                decision(response.decision),
                token(response.checked_at),
            ]);
            rows
        }
        Command::Explain(q) => {
            let response = client
                .permissions()
                .explain(ExplainRequest {
                    subject_id: q.subject.clone().unwrap_or_default(),
                    permission: q.permission.clone(),
                    resource: Some(reference(&q.resource)?),
                    consistency: q.consistency(),
                })
                .await
                .context("explain")?
                .into_inner();
            let why = response.explanation.unwrap_or_default();
            let mut rows = Rows::new(&[
                "decision",
                "role",
                "reach",
                "responsibility",
                "denial",
                "summary",
            ]);
            rows.push(vec![
                decision(response.decision),
                why.role_id,
                why.grant.map(|g| reach(g.reach)).unwrap_or_default(),
                why.responsibility,
                why.denial_reason,
                why.summary,
            ]);
            rows
        }
        Command::Roles { role: Some(role) } => {
            let role = client
                .roles()
                .get_role(GetRoleRequest { role_id: role })
                .await
                .context("get role")?
                .into_inner()
                .role
                .unwrap_or_default();
            let mut rows = Rows::new(&["role", "name", "permission", "reach"]);
            for grant in role.grants {
                rows.push(vec![
                    role.role_id.clone(),
                    role.name.clone(),
                    grant.permission,
                    reach(grant.reach),
                ]);
            }
            rows
        }
        Command::Roles { role: None } => {
            let mut rows = Rows::new(&["role", "name", "built_in", "grants"]);
            let mut page_token = String::new();
            loop {
                let page = client
                    .roles()
                    .list_roles(ListRolesRequest {
                        page_size: 500,
                        page_token,
                        custom_only: false,
                    })
                    .await
                    .context("list roles")?
                    .into_inner();
                for role in page.roles {
                    rows.push(vec![
                        role.role_id,
                        role.name,
                        role.built_in.to_string(),
                        role.grants.len().to_string(),
                    ]);
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            rows
        }
        Command::Assign {
            user,
            role,
            unit,
            main,
        } => {
            let response = client
                .assignments()
                .assign_role(AssignRoleRequest {
                    user_id: user,
                    role_id: role,
                    unit_id: unit.unwrap_or_default(),
                    main_role: main,
                    ..Default::default()
                })
                .await
                .context("assign")?
                .into_inner();
            let assignment = response.assignment.unwrap_or_default();
            let mut rows = Rows::new(&["assignment", "user", "role", "unit", "written_at"]);
            rows.push(vec![
                assignment.assignment_id,
                assignment.user_id,
                assignment.role_id,
                assignment.unit_id,
                token(response.written_at),
            ]);
            rows
        }
        Command::Import { .. } => unreachable!("handled before connecting to authorization"),
        Command::Revoke { assignment } => {
            let response = client
                .assignments()
                .revoke_role(RevokeRoleRequest {
                    assignment_id: assignment.clone(),
                    ..Default::default()
                })
                .await
                .context("revoke")?
                .into_inner();
            let mut rows = Rows::new(&["assignment", "written_at"]);
            rows.push(vec![assignment, token(response.written_at)]);
            rows
        }
    };
    print!("{}", rows.render(cli.output));
    Ok(())
}
