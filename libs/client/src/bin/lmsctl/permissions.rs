//! The permission vocabulary: `permissions`.

use anyhow::Context;
use lms_api::authorization::v1::{ListPermissionsRequest, PermissionInfo};
use lms_client::Client;
use lms_client::output::Rows;

/// The vocabulary as the service explains it, area by area.
pub async fn vocabulary(client: &Client) -> anyhow::Result<Vec<PermissionInfo>> {
    Ok(client
        .roles()
        .list_permissions(ListPermissionsRequest {})
        .await
        .context("list permissions")?
        .into_inner()
        .permissions)
}

/// Every permission with its area, whether it is risky, and what it allows.
pub async fn list(client: &Client) -> anyhow::Result<Rows> {
    let mut rows = Rows::new(&["area", "permission", "risky", "description"]);
    for permission in vocabulary(client).await? {
        rows.push(vec![
            permission.area_title,
            permission.name,
            permission.risky.to_string(),
            permission.description,
        ]);
    }
    Ok(rows)
}
