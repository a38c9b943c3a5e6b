//! Decisions: `check`, `explain`, and `holds` (what a permission is held through).

use anyhow::Context;
use lms_api::authorization::v1::{CheckRequest, Decision, ExplainRequest, ListGrantsRequest};
use lms_api::common::v1::Consistency;
use lms_api::common::v1::ConsistencyToken;
use lms_api::common::v1::consistency::Requirement;
use lms_client::output::Rows;
use lms_client::{Client, reference};

use crate::roles::reach;
use crate::token;

#[derive(Debug, clap::Args)]
pub struct Question {
    /// A permission, for example `courses.update`.
    pub permission: String,
    /// The object, as `<type>:<id>`, for example `course:0193…`; `@<tenant>` after it names
    /// another tenant's (a client's, or a course granted to yours).
    pub resource: String,
    /// Ask about this user instead of yourself.
    #[arg(long)]
    pub subject: Option<String>,
    /// Answer from state at least as fresh as this consistency token.
    #[arg(long, conflicts_with = "fully_consistent")]
    pub at_least_as_fresh: Option<String>,
    /// Bypass every cache.
    #[arg(long)]
    pub fully_consistent: bool,
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

/// May the subject do the permission on the resource?
pub async fn check(client: &Client, q: &Question) -> anyhow::Result<Rows> {
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
    Ok(rows)
}

/// Check, with the role, reach or responsibility that decided it.
pub async fn explain(client: &Client, q: &Question) -> anyhow::Result<Rows> {
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
    Ok(rows)
}

fn decision(value: i32) -> String {
    Decision::try_from(value).map_or("UNKNOWN".into(), |d| {
        d.as_str_name().trim_start_matches("DECISION_").into()
    })
}

/// What `lmsctl holds` asks.
#[derive(Debug, clap::Args)]
pub struct Holding {
    /// A permission, for example `reports.read`.
    pub permission: String,
    /// Ask about this user instead of yourself.
    #[arg(long)]
    pub subject: Option<String>,
    /// Bypass every cache.
    #[arg(long)]
    pub fully_consistent: bool,
}

/// What the subject holds a permission through: a row per reach (with the unit it is held at
/// and the role), per responsibility, and per client tenant a `tenant_and_clients` reach covers.
pub async fn holds(client: &Client, h: &Holding) -> anyhow::Result<Rows> {
    let consistency = h.fully_consistent.then_some(Consistency {
        requirement: Some(Requirement::FullyConsistent(true)),
    });
    let response = client
        .permissions()
        .list_grants(ListGrantsRequest {
            subject_id: h.subject.clone().unwrap_or_default(),
            permission: h.permission.clone(),
            consistency,
        })
        .await
        .context("list grants")?
        .into_inner();
    let mut rows = Rows::new(&["held", "at", "through"]);
    for grant in response.grants {
        let through = match grant.role_id.as_str() {
            "" => "access coordinator".to_owned(),
            role => role.to_owned(),
        };
        rows.push(vec![reach(grant.reach), grant.unit_id, through]);
    }
    for responsibility in response.responsibilities {
        rows.push(vec![responsibility, String::new(), "responsibility".into()]);
    }
    for client in response.client_tenant_ids {
        rows.push(vec!["client".into(), client, "tenant_and_clients".into()]);
    }
    Ok(rows)
}
