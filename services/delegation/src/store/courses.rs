//! Courses and their ordered lessons.

use std::future::Future;

use lms_kernel::{CourseId, CourseStatus, LessonId, Removal, TenantId, UnitId, UserId};

use super::{NewEvent, ResponsibilityRecord, StoreError};
use crate::audit::Audit;

/// A course as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CourseRecord {
    /// Its id.
    pub id: CourseId,
    /// The owning unit; `None`: the tenant.
    pub unit: Option<UnitId>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Enrolment waits for the Course Tutor's approval.
    pub requires_approval: bool,
    /// Active or archived.
    pub status: CourseStatus,
    /// Someone enrolled once (deleting then archives).
    pub ever_enrolled: bool,
    /// Who created it (a user id or a service name).
    pub created_by: String,
    /// When, Unix seconds.
    pub created_at: i64,
    /// Last change, Unix seconds.
    pub updated_at: i64,
}

/// The fields of a course an update may change; `None` leaves one as it is.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct CourseChange {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// Whether enrolment needs approval.
    pub requires_approval: Option<bool>,
}

/// Which courses a listing reads: a page in id order.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct CourseFilter {
    /// Only these (what the caller may see); `None`: all of the tenant's.
    pub only: Option<Vec<CourseId>>,
    /// Ids after this one.
    pub after: Option<CourseId>,
    /// Archived ones too.
    pub include_archived: bool,
}

/// A lesson as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LessonRecord {
    /// Its id.
    pub id: LessonId,
    /// Its course.
    pub course: CourseId,
    /// Title.
    pub title: String,
    /// 1-based position in the course.
    pub position: u32,
    /// When it was created.
    pub created_at: i64,
}

/// What deleting a course did, with what it held (for the facts to take back).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Removed {
    /// Erased or archived.
    pub removal: Removal,
    /// The course as it was.
    pub course: CourseRecord,
    /// Its lessons, erased with an erased course.
    pub lessons: Vec<LessonRecord>,
    /// Its responsibilities, erased with an erased course.
    pub responsibilities: Vec<ResponsibilityRecord>,
    /// The people catalogues offered it to, who stop being offered an erased course.
    pub offered_to: Vec<UserId>,
}

/// Courses and lessons. Every method reads and writes within one tenant.
pub trait CourseStore: Send + Sync + 'static {
    /// Creates a course with its events.
    fn create_course(
        &self,
        tenant: TenantId,
        course: &CourseRecord,
        events: &[NewEvent],
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A course.
    fn course(
        &self,
        tenant: TenantId,
        course: CourseId,
    ) -> impl Future<Output = Result<Option<CourseRecord>, StoreError>> + Send;

    /// A page of courses in id order, at most `limit`.
    fn courses(
        &self,
        tenant: TenantId,
        filter: &CourseFilter,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<CourseRecord>, StoreError>> + Send;

    /// Changes a course's fields at `now`; `None` when there is no such course. An archived
    /// course is refused (`ARCHIVED`).
    fn update_course(
        &self,
        tenant: TenantId,
        course: CourseId,
        change: &CourseChange,
        now: i64,
        audit: &Audit,
    ) -> impl Future<Output = Result<Option<CourseRecord>, StoreError>> + Send;

    /// Deletes a course as the kernel says (erased if nobody ever enrolled, archived
    /// otherwise), appending the events `events` builds from what was removed, in the same
    /// transaction; `None` when there is no such course.
    fn remove_course<F>(
        &self,
        tenant: TenantId,
        course: CourseId,
        now: i64,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Option<Removed>, StoreError>> + Send
    where
        F: FnOnce(&Removed) -> Vec<NewEvent> + Send;

    /// Inserts a lesson at `position` (`None`: last) of its course, moving the lessons from
    /// there down one; refuses an archived course (`ARCHIVED`), a missing one (`Missing`) or a
    /// position past the end (`Invalid`). Answers the lesson as stored.
    fn create_lesson(
        &self,
        tenant: TenantId,
        lesson: &LessonRecord,
        position: Option<u32>,
        events: &[NewEvent],
        audit: &Audit,
    ) -> impl Future<Output = Result<LessonRecord, StoreError>> + Send;

    /// A lesson.
    fn lesson(
        &self,
        tenant: TenantId,
        lesson: LessonId,
    ) -> impl Future<Output = Result<Option<LessonRecord>, StoreError>> + Send;

    /// A course's lessons in order.
    fn lessons(
        &self,
        tenant: TenantId,
        course: CourseId,
    ) -> impl Future<Output = Result<Vec<LessonRecord>, StoreError>> + Send;

    /// Renames and/or moves a lesson (the others close up around it); `None` when there is no
    /// such lesson.
    fn update_lesson(
        &self,
        tenant: TenantId,
        lesson: LessonId,
        title: Option<&str>,
        position: Option<u32>,
        audit: &Audit,
    ) -> impl Future<Output = Result<Option<LessonRecord>, StoreError>> + Send;

    /// Deletes a lesson (the others close up); `None` when there is no such lesson.
    fn delete_lesson(
        &self,
        tenant: TenantId,
        lesson: LessonId,
        events: &[NewEvent],
        audit: &Audit,
    ) -> impl Future<Output = Result<Option<LessonRecord>, StoreError>> + Send;

    /// Assigns a lesson to users and groups; answers how many were not assigned before.
    fn assign_lesson(
        &self,
        tenant: TenantId,
        lesson: LessonId,
        users: &[UserId],
        groups: &[lms_kernel::GroupId],
        audit: &Audit,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;
}
