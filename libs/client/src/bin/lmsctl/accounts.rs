//! `service-accounts`: client credentials for services and integrations. Operators manage the
//! platform's and any tenant's; a tenant's administrator manages their tenant's integrations,
//! whose tokens act within what that administrator holds. A new secret is printed once.

use anyhow::Context;
use clap::Subcommand;
use lms_api::identity::v1::{
    CreateServiceAccountRequest, DisableServiceAccountRequest, ListServiceAccountsRequest,
    RotateServiceAccountSecretRequest, ServiceAccount,
};
use lms_client::Client;
use lms_client::output::Rows;

/// What `lmsctl service-accounts` does.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account; prints its id and secret (shown once).
    Create {
        /// Its name: lower-case letters, digits and dashes.
        name: String,
        /// A scope its tokens carry (repeat for several), for example `authorization.decide`.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Create it for this tenant (platform operators); people's accounts are their tenant's.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// The accounts you may manage.
    List,
    /// Replace an account's secret (its tokens end); prints the new secret once.
    Rotate {
        /// The account.
        account: String,
    },
    /// Disable an account (its tokens end).
    Disable {
        /// The account.
        account: String,
    },
}

const COLUMNS: [&str; 6] = [
    "service_account",
    "name",
    "scopes",
    "tenant",
    "holder",
    "disabled",
];

fn row(account: ServiceAccount) -> Vec<String> {
    vec![
        account.service_account_id,
        account.name,
        account.scopes.join(" "),
        account.tenant_id,
        account.holder_user_id,
        account.disabled_at.is_some().to_string(),
    ]
}

/// One account and its new secret, the only time it is shown.
fn with_secret(account: Option<ServiceAccount>, secret: String) -> Rows {
    let mut columns = COLUMNS.to_vec();
    columns.push("client_secret");
    let mut rows = Rows::new(&columns);
    let mut cells = row(account.unwrap_or_default());
    cells.push(secret);
    rows.push(cells);
    rows
}

/// Runs `command` against identity.
pub async fn run(identity: &Client, command: AccountCommand) -> anyhow::Result<Rows> {
    let mut accounts = identity.authentication();
    Ok(match command {
        AccountCommand::Create {
            name,
            scopes,
            tenant,
        } => {
            let created = accounts
                .create_service_account(CreateServiceAccountRequest {
                    name,
                    scopes,
                    tenant_id: tenant.unwrap_or_default(),
                })
                .await
                .context("create service account")?
                .into_inner();
            with_secret(created.service_account, created.client_secret)
        }
        AccountCommand::List => {
            let mut rows = Rows::new(&COLUMNS);
            let mut page_token = String::new();
            loop {
                let page = accounts
                    .list_service_accounts(ListServiceAccountsRequest {
                        page_size: 500,
                        page_token,
                    })
                    .await
                    .context("list service accounts")?
                    .into_inner();
                for account in page.service_accounts {
                    rows.push(row(account));
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            rows
        }
        AccountCommand::Rotate { account } => {
            let rotated = accounts
                .rotate_service_account_secret(RotateServiceAccountSecretRequest {
                    service_account_id: account,
                })
                .await
                .context("rotate")?
                .into_inner();
            with_secret(rotated.service_account, rotated.client_secret)
        }
        AccountCommand::Disable { account } => {
            let disabled = accounts
                .disable_service_account(DisableServiceAccountRequest {
                    service_account_id: account,
                })
                .await
                .context("disable")?
                .into_inner();
            let mut rows = Rows::new(&COLUMNS);
            rows.push(row(disabled.service_account.unwrap_or_default()));
            rows
        }
    })
}
