//! Roles and their assignments: `roles`, `assign`, `revoke`.

use std::collections::{BTreeSet, HashMap};

use anyhow::Context;
use lms_api::authorization::v1::{
    AssignRoleRequest, GetRoleRequest, Grant, ListRolesRequest, PermissionInfo, Reach,
    RevokeRoleRequest,
};
use lms_client::Client;
use lms_client::output::Rows;

use crate::{permissions, token};

/// One role's grants as a table by area and reach (see [`grant_table`]).
pub async fn show(client: &Client, role: String) -> anyhow::Result<Rows> {
    let role = client
        .roles()
        .get_role(GetRoleRequest { role_id: role })
        .await
        .context("get role")?
        .into_inner()
        .role
        .unwrap_or_default();
    let vocabulary = permissions::vocabulary(client).await?;
    Ok(grant_table(&vocabulary, &role.grants))
}

/// Grants as a table by area and reach, so what a role may do, and over whom, reads at a glance:
/// one row per area the grants touch (in the vocabulary's order, which is area by area), one
/// column per reach they use (in the Reach enum's order, narrowest first), each cell the actions
/// granted there (`read, create`, in vocabulary order).
pub fn grant_table(vocabulary: &[PermissionInfo], grants: &[Grant]) -> Rows {
    let rank: HashMap<&str, usize> = vocabulary
        .iter()
        .enumerate()
        .map(|(index, permission)| (permission.name.as_str(), index))
        .collect();
    // A permission the vocabulary lacks (a newer server's) still shows, after the known ones,
    // rather than vanishing from what the role grants.
    let mut ordered: Vec<(usize, &str, &str, i32)> = grants
        .iter()
        .map(|grant| {
            let (area, action) = grant
                .permission
                .split_once('.')
                .unwrap_or((grant.permission.as_str(), ""));
            let rank = rank.get(grant.permission.as_str()).copied();
            (rank.unwrap_or(usize::MAX), area, action, grant.reach)
        })
        .collect();
    ordered.sort_by_key(|(rank, ..)| *rank);

    let reaches: BTreeSet<i32> = ordered.iter().map(|(.., reach)| *reach).collect();
    let mut areas: Vec<&str> = Vec::new();
    let mut cells: HashMap<(&str, i32), Vec<&str>> = HashMap::new();
    for (_, area, action, reach) in ordered {
        if !areas.contains(&area) {
            areas.push(area);
        }
        cells.entry((area, reach)).or_default().push(action);
    }

    let columns: Vec<&'static str> = ["area"]
        .into_iter()
        .chain(reaches.iter().map(|reach| reach_column(*reach)))
        .collect();
    let mut rows = Rows::new(&columns);
    for area in areas {
        let row = [area.to_owned()]
            .into_iter()
            .chain(reaches.iter().map(|reach| {
                cells
                    .get(&(area, *reach))
                    .map_or(String::new(), |actions| actions.join(", "))
            }))
            .collect();
        rows.push(row);
    }
    rows
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

/// A reach's wire name (`unit_subtree`); empty for a number this build does not know.
pub fn reach(value: i32) -> String {
    Reach::try_from(value).map_or(String::new(), |reach| reach_name(reach).to_owned())
}

/// A reach's column heading: its wire name, or `unknown` for a number this build does not know
/// (a newer server's reach).
fn reach_column(value: i32) -> &'static str {
    Reach::try_from(value).map_or("unknown", reach_name)
}

/// A reach's wire name, spelled out because a column heading must be `'static`.
const fn reach_name(reach: Reach) -> &'static str {
    match reach {
        Reach::Unspecified => "unspecified",
        Reach::Own => "own",
        Reach::Invitees => "invitees",
        Reach::Team => "team",
        Reach::AdministeredGroups => "administered_groups",
        Reach::TutoredCourses => "tutored_courses",
        Reach::AdministeredCourses => "administered_courses",
        Reach::AdministeredEvents => "administered_events",
        Reach::Unit => "unit",
        Reach::UnitSubtree => "unit_subtree",
        Reach::Tenant => "tenant",
        Reach::TenantAndClients => "tenant_and_clients",
    }
}

#[cfg(test)]
mod tests {
    use lms_client::output::Format;
    use serde_json::{Value, json};

    use super::*;

    fn info(name: &str) -> PermissionInfo {
        PermissionInfo {
            name: name.into(),
            ..Default::default()
        }
    }

    fn grant(permission: &str, reach: Reach) -> Grant {
        Grant {
            permission: permission.into(),
            reach: reach as i32,
        }
    }

    #[test]
    fn grants_read_as_areas_by_reaches() {
        // The vocabulary's order (area by area) decides the rows and the actions' order; the
        // grants arrive in any order.
        let vocabulary: Vec<_> = ["users.read", "users.create", "units.read", "reports.read"]
            .into_iter()
            .map(info)
            .collect();
        let grants = [
            grant("reports.read", Reach::Unit),
            grant("users.create", Reach::Unit),
            grant("users.read", Reach::Own),
            grant("users.read", Reach::Unit),
            grant("wizards.summon", Reach::Tenant),
        ];
        let table = grant_table(&vocabulary, &grants).render(Format::Json);
        let rows: Value = serde_json::from_str(&table).unwrap();
        assert_eq!(
            rows,
            json!([
                {"area": "users", "own": "read", "unit": "read, create", "tenant": ""},
                {"area": "reports", "own": "", "unit": "read", "tenant": ""},
                {"area": "wizards", "own": "", "unit": "", "tenant": "summon"},
            ])
        );
        // Columns run in the Reach enum's order, whatever order the grants came in.
        let text = grant_table(&vocabulary, &grants).render(Format::Table);
        let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(header, ["AREA", "OWN", "UNIT", "TENANT"]);
        assert!(grant_table(&vocabulary, &[]).is_empty());
    }

    #[test]
    fn reach_names_are_the_kernels() {
        for kernel_reach in lms_kernel::Reach::ALL {
            // The proto numbers reaches in the kernel's order, from 1.
            let value = kernel_reach as i32 + 1;
            assert_eq!(reach_column(value), kernel_reach.name());
            assert_eq!(reach(value), kernel_reach.name());
        }
        assert_eq!(reach_column(99), "unknown");
        assert_eq!(reach(99), "");
    }
}
