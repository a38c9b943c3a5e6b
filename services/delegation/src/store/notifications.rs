//! Notifications: written by the changes they report (in their transactions, see
//! `crate::notices`), read and acknowledged here.

use std::future::Future;

use lms_kernel::{CourseId, EventId, TenantId, UserId};
use uuid::Uuid;

use super::StoreError;
use crate::notices::{NoticeKind, QueuedNotice};

/// A notification as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NotificationRecord {
    /// Its id (time-ordered).
    pub id: Uuid,
    /// Who it is for.
    pub recipient: UserId,
    /// What happened.
    pub kind: NoticeKind,
    /// The learner it is about.
    pub learner: UserId,
    /// The course.
    pub course: CourseId,
    /// The event, for booking notices.
    pub event: Option<EventId>,
    /// The booking, enrolment request or competency check.
    pub object: Uuid,
    /// When, Unix seconds.
    pub created_at: i64,
}

/// Which pending notifications a listing reads, oldest first.
#[derive(Clone, Copy, Debug, Default)]
pub struct NotificationFilter {
    /// Only this person's; `None`: the whole tenant's (a mailer's).
    pub recipient: Option<UserId>,
    /// Those after this id.
    pub after: Option<Uuid>,
}

/// Pending notifications. Every method reads and writes within one tenant.
pub trait NotificationStore: Send + Sync + 'static {
    /// At most `limit` pending notifications matching `filter`.
    fn notifications(
        &self,
        tenant: TenantId,
        filter: NotificationFilter,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<NotificationRecord>, StoreError>> + Send;

    /// Acknowledges the pending notifications among `ids` (of `recipient` alone, when named)
    /// at `at`; answers how many it acknowledged (others were acknowledged already, or not
    /// theirs).
    fn acknowledge(
        &self,
        tenant: TenantId,
        recipient: Option<UserId>,
        ids: &[Uuid],
        at: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// At most `limit` notices due at `now` to reach their learners' named managers, oldest
    /// first, across tenants (the fan-out's queue).
    fn fan_out_queue(
        &self,
        limit: i64,
        now: i64,
    ) -> impl Future<Output = Result<Vec<QueuedNotice>, StoreError>> + Send;

    /// Puts `notices` back for later (identity could not be asked for their tenant): each is
    /// due again at the `not_before` given with it, one attempt more.
    fn postpone(
        &self,
        notices: &[(QueuedNotice, i64)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes each notice off the queue and copies it to the named managers given with it (a
    /// manager it reached already, as a tutor or administrator, is not told twice), in one
    /// transaction; a notice another replica took meanwhile is skipped. Answers how many
    /// notifications it wrote.
    fn fan_out(
        &self,
        taken: &[(QueuedNotice, Vec<UserId>)],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
