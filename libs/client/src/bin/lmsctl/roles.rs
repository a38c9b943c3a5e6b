//! Roles and their assignments: `roles`, `assign`, `revoke`.

use anyhow::Context;
use lms_api::authorization::v1::{
    AssignRoleRequest, GetRoleRequest, ListRolesRequest, Reach, RevokeRoleRequest,
};
use lms_client::Client;
use lms_client::output::Rows;

use crate::token;

/// One role with its grants.
pub async fn show(client: &Client, role: String) -> anyhow::Result<Rows> {
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
    Ok(rows)
}

/// The built-in templates and the tenant's custom roles.
pub async fn list(client: &Client) -> anyhow::Result<Rows> {
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
    Ok(rows)
}

/// Assigns `role` to `user`, at `unit` or the tenant.
pub async fn assign(
    client: &Client,
    user: String,
    role: String,
    unit: Option<String>,
    main: bool,
) -> anyhow::Result<Rows> {
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
    Ok(rows)
}

/// Revokes one assignment.
pub async fn revoke(client: &Client, assignment: String) -> anyhow::Result<Rows> {
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
    Ok(rows)
}

pub fn reach(value: i32) -> String {
    Reach::try_from(value).map_or(String::new(), |r| {
        r.as_str_name().trim_start_matches("REACH_").to_lowercase()
    })
}
