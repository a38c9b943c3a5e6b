//! `audit`: an audit trail, newest first. Identity's for your tenant (holders of `audit.read`),
//! or with `--platform` the platform's own (operators): operator accounts made, tenants created,
//! the platform's service accounts created, rotated and disabled. With `--service delegation`,
//! delegation's for your tenant (`audit.read` too): courses, lessons, duties, catalogues and
//! enrolments. Both print the same columns.

use anyhow::Context;
use clap::{Args, ValueEnum};
use lms_api::{delegation, identity};
use lms_client::Client;
use lms_client::output::{Rows, utc};

/// Which records `lmsctl audit` lists.
#[derive(Debug, Args)]
pub struct AuditQuery {
    /// The service whose trail to read (`--delegation` names delegation's endpoint).
    #[arg(long, value_enum, default_value_t = Trail::Identity)]
    service: Trail,
    /// The platform's own trail instead of your tenant's (platform operators; identity only).
    #[arg(long)]
    platform: bool,
    /// Only records about this object, as `<type>:<id>` (`tenant:…`, `user:…`,
    /// `service_account:…`; from delegation `course:…`, `catalogue:…`, `enrolment:…`).
    #[arg(long)]
    object: Option<String>,
    /// Only records of this action, for example `tenant.created`, `user.suspended` or
    /// `course.created`.
    #[arg(long)]
    action: Option<String>,
    /// At most this many records, the newest.
    #[arg(long, default_value_t = 50)]
    limit: i32,
}

/// The services that keep a trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Trail {
    /// People, groups, units, tenants, service accounts.
    Identity,
    /// Courses, lessons, duties, catalogues, enrolments.
    Delegation,
}

impl AuditQuery {
    /// Which service answers the query.
    pub fn service(&self) -> Trail {
        self.service
    }
}

/// The columns every trail prints, whichever service's record they come from.
struct Line {
    sequence: i64,
    at: Option<prost_types::Timestamp>,
    actor_user_id: String,
    actor_service: String,
    action: String,
    object_type: String,
    object_id: String,
    after_json: String,
}

impl From<identity::v1::AuditRecord> for Line {
    fn from(r: identity::v1::AuditRecord) -> Self {
        Line {
            sequence: r.sequence,
            at: r.at,
            actor_user_id: r.actor_user_id,
            actor_service: r.actor_service,
            action: r.action,
            object_type: r.object_type,
            object_id: r.object_id,
            after_json: r.after_json,
        }
    }
}

impl From<delegation::v1::AuditRecord> for Line {
    fn from(r: delegation::v1::AuditRecord) -> Self {
        Line {
            sequence: r.sequence,
            at: r.at,
            actor_user_id: r.actor_user_id,
            actor_service: r.actor_service,
            action: r.action,
            object_type: r.object_type,
            object_id: r.object_id,
            after_json: r.after_json,
        }
    }
}

/// Who acted, as a record names them: a person, a service (`operator:…`, `integration:…`
/// names itself), or an integration for its holder (both set): never the holder alone, which
/// would read as the person's own change.
fn actor(user: &str, service: &str) -> String {
    match (user.is_empty(), service.is_empty()) {
        (false, true) => format!("user:{user}"),
        (true, _) => format!("service:{service}"),
        (false, false) => format!("{service} for user:{user}"),
    }
}

fn rows(records: impl IntoIterator<Item = Line>) -> Rows {
    let mut rows = Rows::new(&["sequence", "at", "actor", "action", "object", "after"]);
    for record in records {
        let actor = actor(&record.actor_user_id, &record.actor_service);
        rows.push(vec![
            record.sequence.to_string(),
            record.at.map(|at| utc(at.seconds)).unwrap_or_default(),
            actor,
            record.action,
            format!("{}:{}", record.object_type, record.object_id),
            record.after_json,
        ]);
    }
    rows
}

/// Lists what `query` asks for from `service`: identity, or delegation for `--service
/// delegation`.
pub async fn list(service: &Client, query: AuditQuery) -> anyhow::Result<Rows> {
    let (object_type, object_id) = match &query.object {
        Some(object) => {
            let (kind, id) = object
                .split_once(':')
                .with_context(|| format!("--object {object:?} is not <type>:<id>"))?;
            (kind.to_owned(), id.to_owned())
        }
        None => Default::default(),
    };
    let action = query.action.unwrap_or_default();
    let lines: Vec<Line> = match (query.service, query.platform) {
        (Trail::Delegation, true) => {
            anyhow::bail!("--platform is identity's trail: delegation keeps only tenants' trails")
        }
        (Trail::Delegation, false) => service
            .delegation_audit()
            .list_audit_records(delegation::v1::ListAuditRecordsRequest {
                object_type,
                object_id,
                action,
                page_size: query.limit,
                ..Default::default()
            })
            .await
            .context("delegation audit")?
            .into_inner()
            .records
            .into_iter()
            .map(Line::from)
            .collect(),
        (Trail::Identity, true) => service
            .audit()
            .list_platform_audit_records(identity::v1::ListPlatformAuditRecordsRequest {
                object_type,
                object_id,
                action,
                page_size: query.limit,
                page_token: String::new(),
            })
            .await
            .context("platform audit")?
            .into_inner()
            .records
            .into_iter()
            .map(Line::from)
            .collect(),
        (Trail::Identity, false) => service
            .audit()
            .list_audit_records(identity::v1::ListAuditRecordsRequest {
                object_type,
                object_id,
                action,
                page_size: query.limit,
                ..Default::default()
            })
            .await
            .context("audit")?
            .into_inner()
            .records
            .into_iter()
            .map(Line::from)
            .collect(),
    };
    Ok(rows(lines))
}

#[cfg(test)]
mod tests {
    use super::actor;

    #[test]
    fn an_integration_s_change_names_the_integration_and_its_holder() {
        assert_eq!(actor("u1", ""), "user:u1");
        assert_eq!(actor("", "operator:ops"), "service:operator:ops");
        assert_eq!(
            actor("u1", "integration:hr-feed"),
            "integration:hr-feed for user:u1"
        );
    }
}
