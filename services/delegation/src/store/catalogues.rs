//! Catalogues: the courses in each and the people each is deployed to. A person is offered a
//! course while some catalogue deployed to them holds it; every write answers which (course,
//! person) pairs it began or stopped offering, so authorization's OFFERED facts follow exactly.

use std::future::Future;

use lms_kernel::{CatalogueId, CourseId, TenantId, UserId};

use super::{NewEvent, StoreError};
use crate::audit::Audit;

/// A catalogue as stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CatalogueRecord {
    /// Its id.
    pub id: CatalogueId,
    /// Its name (a kernel `Title`).
    pub name: String,
    /// Its courses, in the order they were added.
    pub courses: Vec<CourseId>,
    /// How many people it is deployed to.
    pub learner_count: i64,
    /// Who created it (a user id).
    pub created_by: String,
    /// When.
    pub created_at: i64,
}

/// Which catalogues a listing reads: a page in id order.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct CatalogueFilter {
    /// Only those deployed to this person.
    pub learner: Option<UserId>,
    /// Ids after this one.
    pub after: Option<uuid::Uuid>,
}

/// The (course, person) pairs a write began and stopped offering.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Offers {
    /// Offered now (some may have been offered already, through another catalogue).
    pub begun: Vec<(CourseId, UserId)>,
    /// No catalogue deployed to the person holds the course any more.
    pub ended: Vec<(CourseId, UserId)>,
}

/// What one catalogue write did: how many people or courses it changed, and the offers.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Changed {
    /// Courses added or removed, or people deployed to or withdrawn from.
    pub count: usize,
    /// The offers begun and ended.
    pub offers: Offers,
}

/// People deployed to or withdrawn from a catalogue, by whom (a user id) and when.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Audience<'a> {
    /// The catalogue.
    pub catalogue: CatalogueId,
    /// The people, each once.
    pub users: &'a [UserId],
    /// Who acts.
    pub by: &'a str,
    /// When.
    pub at: i64,
}

/// Catalogues. Every method reads and writes within one tenant; a write appends the events its
/// `events` builds from the offers it changed, in the same transaction, and every write runs
/// under the tenant's catalogue lock. A missing catalogue is `Missing` (`catalogue`).
pub trait CatalogueStore: Send + Sync + 'static {
    /// Creates a catalogue holding `catalogue.courses` (deployed to nobody yet). A missing
    /// course is `Missing`.
    fn create_catalogue(
        &self,
        tenant: TenantId,
        catalogue: &CatalogueRecord,
        audit: &Audit,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A catalogue.
    fn catalogue(
        &self,
        tenant: TenantId,
        catalogue: CatalogueId,
    ) -> impl Future<Output = Result<Option<CatalogueRecord>, StoreError>> + Send;

    /// Whether `catalogue` is deployed to `user`.
    fn deployed_to(
        &self,
        tenant: TenantId,
        catalogue: CatalogueId,
        user: UserId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A page of catalogues in id order, at most `limit`.
    fn catalogues(
        &self,
        tenant: TenantId,
        filter: CatalogueFilter,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<CatalogueRecord>, StoreError>> + Send;

    /// Adds each of `courses` to each of `catalogues` that does not hold it yet; the people of
    /// each catalogue are offered its new courses. A missing course is `Missing`, an archived
    /// one `Refused` (`ARCHIVED`).
    fn add_catalogue_courses<F>(
        &self,
        tenant: TenantId,
        catalogues: &[CatalogueId],
        courses: &[CourseId],
        at: i64,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Changed, StoreError>> + Send
    where
        F: FnOnce(&Offers) -> Vec<NewEvent> + Send;

    /// Removes `course` from `catalogue` (`Missing` `course` when it does not hold it).
    fn remove_catalogue_course<F>(
        &self,
        tenant: TenantId,
        catalogue: CatalogueId,
        course: CourseId,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Changed, StoreError>> + Send
    where
        F: FnOnce(&Offers) -> Vec<NewEvent> + Send;

    /// Deploys the catalogue to each person of `audience` it is not deployed to yet.
    fn deploy_catalogue<F>(
        &self,
        tenant: TenantId,
        audience: Audience<'_>,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Changed, StoreError>> + Send
    where
        F: FnOnce(&Offers) -> Vec<NewEvent> + Send;

    /// Takes the catalogue back from each person of `audience` it is deployed to.
    fn withdraw_catalogue<F>(
        &self,
        tenant: TenantId,
        audience: Audience<'_>,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Changed, StoreError>> + Send
    where
        F: FnOnce(&Offers) -> Vec<NewEvent> + Send;

    /// Deletes the catalogue; its courses stay.
    fn delete_catalogue<F>(
        &self,
        tenant: TenantId,
        catalogue: CatalogueId,
        events: F,
        audit: &Audit,
    ) -> impl Future<Output = Result<Changed, StoreError>> + Send
    where
        F: FnOnce(&Offers) -> Vec<NewEvent> + Send;
}
