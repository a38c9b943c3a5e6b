//! `lms reporting rebuild`: identity, authorization and delegation re-send every record they
//! hold of each tenant, between marks, through their outboxes; their running publishers carry
//! the records to reporting, which replaces what it kept of those topics (see
//! `lms_runtime::outbox::rebuild`).
//! For when reporting missed changes: an event stream trimmed past entries it never read (the
//! `lms.reporting.stream_gap` gauge says so), or its store restored from an old backup.
//!
//! It writes to the owners' databases like `lms migrate`, so it runs where they can be reached
//! (a Kubernetes Job with the services' configuration), and is safe to run again.
//!
//! Both re-send their relationship facts too, as they hold now: identity's units, employments,
//! teams, groups and statuses, delegation's owning units, tutors, course and event
//! administrators, enrolled, booked, offered, invitees and content grants (what reports are
//! scoped by).

use lms_kernel::TenantId;
use lms_runtime::{Config, ServiceContext, ServiceName};

/// What was re-sent of one tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resent {
    /// The tenant.
    pub tenant: TenantId,
    /// People (identity).
    pub people: usize,
    /// Holders of a role (authorization).
    pub holders: usize,
    /// Courses, enrolments, events, bookings, sign-offs and requests (delegation).
    pub records: usize,
}

/// Re-sends every record of `tenants` (every tenant when empty) from identity's,
/// authorization's and delegation's stores as `config` names them, at most `chunk` records a
/// transaction (each owner's default when `None`), telling `on_resent` as each tenant is done, so a run that fails part-way says
/// how far it got (running it again is safe).
pub async fn rebuild_reporting(
    config: &Config,
    tenants: Vec<TenantId>,
    chunk: Option<i64>,
    mut on_resent: impl FnMut(&Resent),
) -> anyhow::Result<Vec<Resent>> {
    let identity = lms_identity::rebuild::Resender::open(&ServiceContext::from_config(
        config,
        ServiceName::Identity,
    )?)
    .await?;
    // Each owner's store is opened once for every tenant.
    let authorization = ServiceContext::from_config(config, ServiceName::Authorization)?
        .open_database(&lms_authorization::MIGRATIONS)
        .await?;
    let delegation = ServiceContext::from_config(config, ServiceName::Delegation)?
        .open_database(&lms_delegation::MIGRATIONS)
        .await?;
    let tenants = match tenants.is_empty() {
        true => identity.tenants().await?,
        false => tenants,
    };
    let mut resent = Vec::with_capacity(tenants.len());
    for tenant in tenants {
        let done = Resent {
            tenant,
            people: identity
                .resend(tenant, chunk.unwrap_or(lms_identity::rebuild::CHUNK))
                .await?,
            holders: lms_authorization::rebuild::resend(
                &authorization,
                tenant,
                chunk.unwrap_or(lms_authorization::rebuild::CHUNK),
            )
            .await?,
            records: lms_delegation::rebuild::resend(
                &delegation,
                tenant,
                chunk.unwrap_or(lms_delegation::rebuild::CHUNK),
            )
            .await?,
        };
        on_resent(&done);
        resent.push(done);
    }
    identity.close().await;
    authorization.close().await;
    delegation.close().await;
    Ok(resent)
}
