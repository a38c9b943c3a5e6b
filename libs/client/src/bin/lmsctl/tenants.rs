//! `tenants`: creating tenants and appointing their first Master Administrator (platform
//! operators), and the master/client link (a master's administrator invites, the client's
//! accepts).

use anyhow::Context;
use clap::Subcommand;
use lms_api::identity::v1::{
    AcceptClientLinkRequest, AppointMasterAdministratorRequest, CreateTenantRequest,
    GetTenantRequest, LinkClientTenantRequest, ListClientInvitationsRequest,
    ListClientTenantsRequest, NewUser, Tenant, TenantSettings, UnlinkClientTenantRequest,
};
use lms_client::Client;
use lms_client::output::Rows;

use crate::token;

/// What `lmsctl tenants` does.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant with its Guest account and first administrator, who is its Access
    /// Coordinator and LMS Administrator (platform operators). Prints a generated password for
    /// the administrator once.
    Create {
        /// The tenant's name.
        name: String,
        /// The first administrator's e-mail.
        #[arg(long)]
        admin_email: String,
        /// Their given name.
        #[arg(long, default_value = "Tenant")]
        admin_given_name: String,
        /// Their family name.
        #[arg(long, default_value = "Administrator")]
        admin_family_name: String,
        /// A master tenant: it may take client tenants (and have Master Administrators).
        #[arg(long)]
        master: bool,
        /// Turn locations on (Local and Multiple Location Administrators).
        #[arg(long)]
        locations: bool,
    },
    /// Show a tenant: yours (people), one of your clients, or any (operators).
    Get {
        /// The tenant; yours when omitted.
        tenant: Option<String>,
    },
    /// Make a user of a master tenant its Master Administrator (platform operators); someone
    /// who already is one keeps their assignment (`already_appointed`).
    AppointMasterAdmin {
        /// The master tenant.
        #[arg(long)]
        tenant: String,
        /// The user.
        user: String,
    },
    /// Invite a tenant to become a client of yours (a Master Administrator of a master tenant).
    Invite {
        /// The tenant invited.
        client: String,
    },
    /// The master tenants whose invitations to your tenant wait for an answer.
    Invitations,
    /// Accept a master tenant's invitation: your tenant becomes its client.
    Accept {
        /// The inviting master tenant.
        master: String,
    },
    /// Your tenant's clients.
    Clients,
    /// End a master/client link (the master lets a client go, or a client leaves).
    Unlink {
        /// The client tenant (your own to leave your master).
        client: String,
    },
}

fn tenant_rows(tenants: impl IntoIterator<Item = Tenant>) -> Rows {
    let mut rows = Rows::new(&["tenant", "name", "master", "clients", "locations"]);
    for tenant in tenants {
        let settings = tenant.settings.unwrap_or_default();
        rows.push(vec![
            tenant.tenant_id,
            tenant.name,
            tenant.master_tenant_id,
            settings.clients_enabled.to_string(),
            settings.locations_enabled.to_string(),
        ]);
    }
    rows
}

/// A password for a new administrator: 128 random bits, shown once.
fn generated_password() -> String {
    format!("lms-{}", uuid::Uuid::new_v4().simple())
}

/// Runs `command` against identity.
pub async fn run(identity: &Client, command: TenantCommand) -> anyhow::Result<Rows> {
    let mut tenants = identity.tenants();
    Ok(match command {
        TenantCommand::Create {
            name,
            admin_email,
            admin_given_name,
            admin_family_name,
            master,
            locations,
        } => {
            let password = generated_password();
            let created = tenants
                .create_tenant(CreateTenantRequest {
                    name,
                    settings: Some(TenantSettings {
                        locations_enabled: locations,
                        clients_enabled: master,
                        mfa_required_for_admins: false,
                    }),
                    access_coordinator: Some(NewUser {
                        email: admin_email,
                        given_name: admin_given_name,
                        family_name: admin_family_name,
                        password: password.clone(),
                        ..Default::default()
                    }),
                })
                .await
                .context("create tenant")?
                .into_inner();
            let tenant = created.tenant.unwrap_or_default();
            let admin = created.access_coordinator.unwrap_or_default();
            let mut rows = Rows::new(&[
                "tenant",
                "name",
                "administrator",
                "email",
                "password",
                "written_at",
            ]);
            rows.push(vec![
                tenant.tenant_id,
                tenant.name,
                admin.user_id,
                admin.email,
                password,
                token(created.written_at),
            ]);
            rows
        }
        TenantCommand::Get { tenant } => {
            let got = tenants
                .get_tenant(GetTenantRequest {
                    tenant_id: tenant.unwrap_or_default(),
                })
                .await
                .context("get tenant")?
                .into_inner();
            tenant_rows(got.tenant)
        }
        TenantCommand::AppointMasterAdmin { tenant, user } => {
            let appointed = tenants
                .appoint_master_administrator(AppointMasterAdministratorRequest {
                    tenant_id: tenant.clone(),
                    user_id: user.clone(),
                })
                .await
                .context("appoint master administrator")?
                .into_inner();
            let mut rows = Rows::new(&[
                "tenant",
                "master_administrator",
                "assignment",
                "already_appointed",
                "written_at",
            ]);
            rows.push(vec![
                tenant,
                user,
                appointed.assignment_id,
                appointed.already_appointed.to_string(),
                token(appointed.written_at),
            ]);
            rows
        }
        TenantCommand::Invite { client } => {
            let invited = tenants
                .link_client_tenant(LinkClientTenantRequest {
                    client_tenant_id: client.clone(),
                })
                .await
                .context("invite")?
                .into_inner();
            let mut rows = Rows::new(&["client", "pending"]);
            rows.push(vec![client, invited.pending.to_string()]);
            rows
        }
        TenantCommand::Invitations => {
            let waiting = tenants
                .list_client_invitations(ListClientInvitationsRequest {})
                .await
                .context("invitations")?
                .into_inner();
            let mut rows = Rows::new(&["master"]);
            for master in waiting.master_tenant_ids {
                rows.push(vec![master]);
            }
            rows
        }
        TenantCommand::Accept { master } => {
            let accepted = tenants
                .accept_client_link(AcceptClientLinkRequest {
                    master_tenant_id: master.clone(),
                })
                .await
                .context("accept")?
                .into_inner();
            let mut rows = Rows::new(&["master", "written_at"]);
            rows.push(vec![master, token(accepted.written_at)]);
            rows
        }
        TenantCommand::Clients => {
            let mut all = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = tenants
                    .list_client_tenants(ListClientTenantsRequest {
                        page_size: 500,
                        page_token,
                    })
                    .await
                    .context("clients")?
                    .into_inner();
                all.extend(page.tenants);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            tenant_rows(all)
        }
        TenantCommand::Unlink { client } => {
            let ended = tenants
                .unlink_client_tenant(UnlinkClientTenantRequest {
                    client_tenant_id: client.clone(),
                })
                .await
                .context("unlink")?
                .into_inner();
            let mut rows = Rows::new(&["client", "written_at"]);
            rows.push(vec![client, token(ended.written_at)]);
            rows
        }
    })
}
