//! `grants`: content a master tenant grants to its client tenants (delegation). A Master
//! Administrator grants one of the master's courses to a client for a window, changes the
//! window and revokes the grant; the client's people list what is granted to their tenant.

use anyhow::Context;
use clap::Subcommand;
use lms_api::delegation::v1::{
    ContentGrant, GrantCatalogueRequest, GrantContentRequest, ListContentGrantsRequest,
    ListGrantedCoursesRequest, RevokeContentGrantRequest, UpdateContentGrantRequest,
};
use lms_client::Client;
use lms_client::output::{Rows, utc_of};
use prost_types::Timestamp;

use crate::courses::{now, parse_offset};

/// What `lmsctl grants` does.
#[derive(Debug, Subcommand)]
pub enum GrantCommand {
    /// Grant one of your tenant's courses, or every course of a catalogue (`--catalogue`), to a
    /// client tenant (Master Administrators).
    Give {
        /// The client tenant.
        client: String,
        /// The course.
        #[arg(required_unless_present = "catalogue", conflicts_with = "catalogue")]
        course: Option<String>,
        /// Grant each course this catalogue holds now instead.
        #[arg(long)]
        catalogue: Option<String>,
        /// Starts this long from now (`30m`, `2h`, `7d`); now when left out.
        #[arg(long, value_parser = parse_offset)]
        from: Option<i64>,
        /// Ends this long from now (`2h`, `7d`); when revoked when left out.
        #[arg(long, value_parser = parse_offset)]
        until: Option<i64>,
    },
    /// Replace a grant's window.
    Change {
        /// The grant.
        grant: String,
        /// Starts this long from now; from when it was granted when left out.
        #[arg(long, value_parser = parse_offset)]
        from: Option<i64>,
        /// Ends this long from now; when revoked when left out.
        #[arg(long, value_parser = parse_offset)]
        until: Option<i64>,
    },
    /// Revoke a grant: the client's people lose the course.
    Revoke {
        /// The grant.
        grant: String,
    },
    /// Your tenant's grants, to one client with `--client`.
    List {
        /// Only the grants to this client tenant.
        #[arg(long)]
        client: Option<String>,
    },
    /// The courses granted to your tenant that you may take.
    Granted,
}

/// A time `offset` seconds from now.
fn from_now(offset: Option<i64>) -> Option<Timestamp> {
    offset.map(|o| Timestamp {
        seconds: now() + o,
        nanos: 0,
    })
}

fn grant_rows(
    grants: impl IntoIterator<Item = ContentGrant>,
    written_at: Option<lms_api::common::v1::ConsistencyToken>,
) -> Rows {
    let mut rows = Rows::new(&[
        "grant",
        "client",
        "course",
        "from",
        "until",
        "granted_by",
        "written_at",
    ]);
    let written_at = crate::token(written_at);
    for grant in grants {
        rows.push(vec![
            grant.grant_id,
            grant.client_tenant_id,
            grant.course_id,
            utc_of(grant.valid_from),
            utc_of(grant.valid_until),
            grant.granted_by,
            written_at.clone(),
        ]);
    }
    rows
}

/// Runs `lmsctl grants`.
pub async fn run(delegation: &Client, command: GrantCommand) -> anyhow::Result<Rows> {
    let mut grants = delegation.grants();
    Ok(match command {
        GrantCommand::Give {
            client,
            course,
            catalogue: Some(catalogue),
            from,
            until,
        } if course.is_none() => {
            let given = grants
                .grant_catalogue(GrantCatalogueRequest {
                    client_tenant_id: client,
                    catalogue_id: catalogue,
                    valid_from: from_now(from),
                    valid_until: from_now(until),
                })
                .await
                .context("grant the catalogue")?
                .into_inner();
            grant_rows(given.grants, given.written_at)
        }
        GrantCommand::Give {
            client,
            course,
            from,
            until,
            ..
        } => {
            let given = grants
                .grant_content(GrantContentRequest {
                    client_tenant_id: client,
                    course_id: course.unwrap_or_default(),
                    valid_from: from_now(from),
                    valid_until: from_now(until),
                })
                .await
                .context("grant content")?
                .into_inner();
            grant_rows(given.grant, given.written_at)
        }
        GrantCommand::Change { grant, from, until } => {
            let changed = grants
                .update_content_grant(UpdateContentGrantRequest {
                    grant_id: grant,
                    valid_from: from_now(from),
                    valid_until: from_now(until),
                })
                .await
                .context("change the grant")?
                .into_inner();
            grant_rows(changed.grant, changed.written_at)
        }
        GrantCommand::Revoke { grant } => {
            let revoked = grants
                .revoke_content_grant(RevokeContentGrantRequest { grant_id: grant })
                .await
                .context("revoke the grant")?
                .into_inner();
            grant_rows(revoked.grant, revoked.written_at)
        }
        GrantCommand::List { client } => {
            let mut all = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = grants
                    .list_content_grants(ListContentGrantsRequest {
                        client_tenant_id: client.clone().unwrap_or_default(),
                        page_size: 1000,
                        page_token,
                    })
                    .await
                    .context("list grants")?
                    .into_inner();
                all.extend(page.grants);
                if page.next_page_token.is_empty() {
                    break grant_rows(all, None);
                }
                page_token = page.next_page_token;
            }
        }
        GrantCommand::Granted => {
            let granted = grants
                .list_granted_courses(ListGrantedCoursesRequest {})
                .await
                .context("list granted courses")?
                .into_inner()
                .courses;
            let mut rows = Rows::new(&["course", "title", "owner", "until"]);
            for granted in granted {
                let course = granted.course.unwrap_or_default();
                rows.push(vec![
                    course.course_id,
                    course.title,
                    granted.owner_tenant_id,
                    utc_of(granted.valid_until),
                ]);
            }
            rows
        }
    })
}
