//! `audit`: identity's audit trail, newest first. Your tenant's (holders of `audit.read`), or
//! with `--platform` the platform's own (operators): operator accounts made, tenants created,
//! the platform's service accounts created, rotated and disabled.

use anyhow::Context;
use clap::Args;
use lms_api::identity::v1::{
    AuditRecord, ListAuditRecordsRequest, ListPlatformAuditRecordsRequest,
};
use lms_client::Client;
use lms_client::output::{Rows, utc};

/// Which records `lmsctl audit` lists.
#[derive(Debug, Args)]
pub struct AuditQuery {
    /// The platform's own trail instead of your tenant's (platform operators).
    #[arg(long)]
    platform: bool,
    /// Only records about this object, as `<type>:<id>` (`tenant:…`, `user:…`,
    /// `service_account:…`).
    #[arg(long)]
    object: Option<String>,
    /// Only records of this action, for example `tenant.created` or `user.suspended`.
    #[arg(long)]
    action: Option<String>,
    /// At most this many records, the newest.
    #[arg(long, default_value_t = 50)]
    limit: i32,
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

fn rows(records: Vec<AuditRecord>) -> Rows {
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

/// Lists what `query` asks for from identity.
pub async fn list(identity: &Client, query: AuditQuery) -> anyhow::Result<Rows> {
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
    let records = if query.platform {
        identity
            .audit()
            .list_platform_audit_records(ListPlatformAuditRecordsRequest {
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
    } else {
        identity
            .audit()
            .list_audit_records(ListAuditRecordsRequest {
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
    };
    Ok(rows(records))
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
