//! `lms reporting rebuild`: identity and delegation re-send every record they hold of each
//! tenant, between marks, through their outboxes; their running publishers carry the records to
//! reporting, which replaces what it kept of those topics (see `lms_runtime::outbox::rebuild`).
//! For when reporting missed changes: an event stream trimmed past entries it never read (the
//! `lms.reporting.stream_gap` gauge says so), or its store restored from an old backup.
//!
//! It writes to the owners' databases like `lms migrate`, so it runs where they can be reached
//! (a Kubernetes Job with the services' configuration), and is safe to run again.
//!
//! Identity re-sends its relationship facts too (units, employments, teams, groups, statuses:
//! most of what reports are scoped by); delegation's facts (tutors, course and event
//! administrators, invitees, content grants) are not re-sent yet: a lost one stays lost in
//! reporting until delegation changes that fact again.

use lms_kernel::TenantId;
use lms_runtime::{Config, ServiceContext, ServiceName};

/// What was re-sent of one tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resent {
    /// The tenant.
    pub tenant: TenantId,
    /// People (identity).
    pub people: usize,
    /// Courses, enrolments, events, bookings, sign-offs and requests (delegation).
    pub records: usize,
}

/// Re-sends every record of `tenants` (every tenant when empty) from identity's and delegation's
/// stores as `config` names them, at most `chunk` records a transaction (each owner's default
/// when `None`), telling `on_resent` as each tenant is done, so a run that fails part-way says
/// how far it got (running it again is safe).
pub async fn rebuild_reporting(
    config: &Config,
    tenants: Vec<TenantId>,
    chunk: Option<i64>,
    mut on_resent: impl FnMut(&Resent),
) -> anyhow::Result<Vec<Resent>> {
    let identity = ServiceContext::from_config(config, ServiceName::Identity)?;
    let delegation = ServiceContext::from_config(config, ServiceName::Delegation)?;
    let tenants = match tenants.is_empty() {
        true => lms_identity::rebuild::tenants(&identity).await?,
        false => tenants,
    };
    let mut resent = Vec::with_capacity(tenants.len());
    for tenant in tenants {
        let people = lms_identity::rebuild::republish(
            &identity,
            &[tenant],
            chunk.unwrap_or(lms_identity::rebuild::CHUNK),
        )
        .await?;
        let records = lms_delegation::rebuild::republish(
            &delegation,
            &[tenant],
            chunk.unwrap_or(lms_delegation::rebuild::CHUNK),
        )
        .await?;
        let done = Resent {
            tenant,
            people: people.iter().sum(),
            records: records.iter().sum(),
        };
        on_resent(&done);
        resent.push(done);
    }
    Ok(resent)
}
