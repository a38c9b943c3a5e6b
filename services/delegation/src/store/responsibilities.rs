//! Responsibilities on courses and events: Course Tutor, Course Administrator, Event
//! Administrator, each with a validity window.

use std::future::Future;

use lms_kernel::{Responsibility, TenantId, UserId, Window};
use uuid::Uuid;

use super::{NewEvent, StoreError};
use crate::audit::Audit;

/// A responsibility as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ResponsibilityRecord {
    /// The duty.
    pub kind: Responsibility,
    /// The course or event it is on.
    pub object: Uuid,
    /// The holder.
    pub user: UserId,
    /// When it is in effect.
    pub window: Window,
    /// Who gave it (a user id or a service name).
    pub assigned_by: String,
    /// When, Unix seconds.
    pub assigned_at: i64,
}

/// Which responsibilities a listing reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ResponsibilityFilter {
    /// Only on this object.
    pub object: Option<Uuid>,
    /// Only of this user.
    pub user: Option<UserId>,
}

/// Responsibilities. Every method reads and writes within one tenant.
pub trait ResponsibilityStore: Send + Sync + 'static {
    /// Gives a responsibility on a course or event (replacing the same person's window for the
    /// same duty), under the object's lock: a Course Tutor is refused (`COURSE_TUTOR_TAKEN`,
    /// naming the holder) when another tutor's window overlaps at `now` or later. A missing or
    /// archived course, and a missing or cancelled event, is refused.
    fn give_responsibility(
        &self,
        tenant: TenantId,
        record: &ResponsibilityRecord,
        now: i64,
        events: &[NewEvent],
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes a responsibility away; `None` when it was not held.
    fn take_responsibility(
        &self,
        tenant: TenantId,
        kind: Responsibility,
        object: Uuid,
        user: UserId,
        events: &[NewEvent],
        audit: &Audit,
    ) -> impl Future<Output = Result<Option<ResponsibilityRecord>, StoreError>> + Send;

    /// Responsibilities matching `filter`, by object, kind and user.
    fn responsibilities(
        &self,
        tenant: TenantId,
        filter: ResponsibilityFilter,
    ) -> impl Future<Output = Result<Vec<ResponsibilityRecord>, StoreError>> + Send;

    /// The responsibilities on `objects` (the courses of a page), by object.
    fn responsibilities_on(
        &self,
        tenant: TenantId,
        objects: &[Uuid],
    ) -> impl Future<Output = Result<Vec<ResponsibilityRecord>, StoreError>> + Send;
}
