//! Content grants: a master tenant's course granted to one of its client tenants for a window.
//! The grant is the master's record (and audit); the fact that tells authorization travels in
//! the client tenant's outbox, since the client's people are the ones it is decided for, and
//! the token a change answers must be one they can pass.

use std::future::Future;

use lms_kernel::{ContentGrantId, CourseId, TenantId, Window};

use super::{CourseRecord, NewEvent, StoreError};
use crate::audit::Audit;

/// A content grant as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GrantRecord {
    /// Its id.
    pub id: ContentGrantId,
    /// The master tenant that owns the course and granted it.
    pub master: TenantId,
    /// The client tenant it is granted to.
    pub client: TenantId,
    /// The master's course.
    pub course: CourseId,
    /// When it is in effect.
    pub window: Window,
    /// Who granted it.
    pub granted_by: String,
    /// When, Unix seconds.
    pub granted_at: i64,
    /// Last change, Unix seconds.
    pub updated_at: i64,
}

/// Which of a master's grants a listing reads: a page in id order.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct GrantFilter {
    /// Only those to this client.
    pub client: Option<TenantId>,
    /// Ids after this one.
    pub after: Option<ContentGrantId>,
}

/// A course the client may take: its own, or one granted to it and in effect.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Takeable {
    /// The course.
    pub course: CourseRecord,
    /// The grant that makes it the client's, when it is another tenant's course.
    pub granted: Option<GrantRecord>,
}

/// Content grants. The master's methods read and write within the master tenant (the client
/// tenant is the record's); [`GrantStore::granted_courses`] reads for the client.
pub trait GrantStore: Send + Sync + 'static {
    /// Grants `record.course` to `record.client`. The course must be the master's
    /// (`Missing`) and active (`ARCHIVED`), and not granted to that client already
    /// (`ALREADY_GRANTED`, naming the grant). `events` go to the client tenant's outbox.
    fn grant_content(
        &self,
        record: &GrantRecord,
        events: &[NewEvent],
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Grants each of `records` (one course each, all to one client) that is of the master,
    /// active, and not granted to that client already; the others are left out. Answers the
    /// grants made, whose facts (built by `events`) go to the client tenant's outbox, all in
    /// one transaction.
    fn grant_courses<F>(
        &self,
        records: Vec<GrantRecord>,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Vec<GrantRecord>, StoreError>> + Send
    where
        F: FnOnce(&[GrantRecord]) -> Vec<NewEvent> + Send;

    /// Replaces the window of `master`'s grant `grant`, the facts built by `events` from the
    /// grant as it becomes going to the client's outbox; `None` when there is no such grant.
    fn change_grant<F>(
        &self,
        master: TenantId,
        grant: ContentGrantId,
        window: Window,
        at: i64,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Option<GrantRecord>, StoreError>> + Send
    where
        F: FnOnce(&GrantRecord) -> Vec<NewEvent> + Send;

    /// Revokes `master`'s grant `grant`, the facts built by `events` going to the client's
    /// outbox; answers the grant as it was, `None` when there is no such grant.
    fn revoke_grant<F>(
        &self,
        master: TenantId,
        grant: ContentGrantId,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Option<GrantRecord>, StoreError>> + Send
    where
        F: FnOnce(&GrantRecord) -> Vec<NewEvent> + Send;

    /// One of `master`'s grants.
    fn content_grant(
        &self,
        master: TenantId,
        grant: ContentGrantId,
    ) -> impl Future<Output = Result<Option<GrantRecord>, StoreError>> + Send;

    /// `master`'s grants matching `filter`, at most `limit`, in id order.
    fn content_grants(
        &self,
        master: TenantId,
        filter: GrantFilter,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<GrantRecord>, StoreError>> + Send;

    /// The grants to `client` in effect at `now`, with their courses, oldest grant first.
    fn granted_courses(
        &self,
        client: TenantId,
        now: i64,
    ) -> impl Future<Output = Result<Vec<(GrantRecord, CourseRecord)>, StoreError>> + Send;

    /// The course `tenant`'s people may take: one of its own, or another tenant's granted to
    /// it and in effect at `now`; `None` otherwise.
    fn takeable_course(
        &self,
        tenant: TenantId,
        course: CourseId,
        now: i64,
    ) -> impl Future<Output = Result<Option<Takeable>, StoreError>> + Send;
}
