//! LookupResources ("which courses may X edit") and LookupSubjects ("who may approve enrolments
//! on C").
//!
//! Resources: the kernel's `scope::coverage` says which relation paths the subject's grants and
//! responsibilities open for the permission (a manager's team are the primary members of the
//! groups they manage, a unit administrator's people are the employees of the units below the
//! role's place, ...), and `walk` follows each over the store's relationships. A tenant-wide
//! grant answers `all_of_type` instead of listing, unless an object's own facts may veto it
//! (`object_may_veto`: booking a learner barred from booking); then every person is decided. Each object reached is confirmed by the
//! kernel's `decide` on the facts its trails proved (`proved`): those are never more than the
//! object's stored facts and `decide` is monotone in facts, so nothing is listed that Check
//! denies; the kernel's property test shows the paths reach everything Check allows.
//!
//! Subjects: candidates are the holders of roles granting the permission and the users related
//! to the resource; each is decided with its facts, read a bounded number at a time.
//!
//! Bounds: each relation query reads at most the fan-out limit (`cache.lookup_fanout`); a set
//! it cut says so (`truncated`) instead of listing less in silence. Computed sets are kept
//! under a cursor for paging (`cursors`).

mod cursors;
mod proved;
mod walk;

pub use self::cursors::{Computed, Cursors, Token};

use std::collections::{BTreeMap, BTreeSet};

use futures_util::{StreamExt, TryStreamExt};

use lms_api::authorization::v1::Relation;
use lms_api::common::v1::ObjectType;
use lms_kernel::scope::{self, Coverage, Kind};
use lms_kernel::{
    CourseId, EventId, Object, Permission, ResourceFacts, RoleId, SubjectFacts, Template, TenantId,
    UserId, decide, object_may_veto,
};
use lms_runtime::ApiError;
use lms_runtime::clock::now;
use uuid::Uuid;

use self::proved::Candidate;
use self::walk::BATCH;
use crate::cache::Freshness;
use crate::convert;
use crate::core::Core;
use crate::store::{End, RelatedFilter, Revision, Store};

/// Candidates' facts read at once by LookupSubjects: enough to overlap round trips, few
/// enough that one lookup leaves most of the pool to everyone else.
const CANDIDATE_READS: usize = 4;

/// User statuses one query reads when a tenant-wide lookup decides each person.
const STATUS_PAGE: i64 = 1000;

/// What lookups may read, and the sets they keep for paging.
#[derive(Debug)]
pub struct Lookups {
    /// Most relationships one relation query reads.
    pub fanout: i64,
    /// Computed sets, for paging.
    pub cursors: Cursors,
}

impl Lookups {
    /// Lookups reading at most `fanout` relationships per relation query.
    pub fn new(fanout: u32) -> Self {
        Lookups {
            fanout: i64::from(fanout),
            cursors: Cursors::default(),
        }
    }
}

/// What a lookup found.
#[derive(Debug, Default)]
pub struct Found {
    /// A tenant-wide grant reaches every resource of the type.
    pub all_of_type: bool,
    /// Resources (or subjects) reached, ordered.
    pub ids: BTreeSet<Uuid>,
    /// A fan-out limit cut what was read: there may be more.
    pub truncated: bool,
}

impl<S: Store> Core<S> {
    /// The resources of `kind` that `subject` may act on with `permission`.
    pub async fn lookup_resources(
        &self,
        subject: &SubjectFacts,
        permission: Permission,
        kind: ObjectType,
    ) -> Result<Found, ApiError> {
        let mut found = Found::default();
        let listed = convert::kind_of(kind);
        let paths = match (scope::coverage(subject, permission, listed), listed) {
            // An object's own fact can veto the grant (a learner barred from booking), so
            // "all of the type" would claim more than Check allows: each is decided.
            (Coverage::Everything, Some(kind)) if object_may_veto(permission, kind) => {
                return self.every_object(subject, permission, kind).await;
            }
            (Coverage::Everything, _) => {
                found.all_of_type = true;
                return Ok(found);
            }
            (Coverage::Paths(paths), _) => paths,
        };
        // Other kinds relate to no one: only tenant-wide grants reach them.
        let Some(kind) = listed else {
            return Ok(found);
        };
        let (tenant, now) = (subject.tenant, now());
        let mut candidates: BTreeMap<Uuid, Candidate> = BTreeMap::new();
        for (path, origin) in paths {
            let cut = &mut found.truncated;
            for reached in self.walk(subject, path, origin, kind, now, cut).await? {
                candidates
                    .entry(reached.node)
                    .or_insert_with(|| Candidate::new(tenant, kind, reached.node))
                    .prove(kind, &reached, origin);
            }
        }
        let courses = self
            .courses_of_events(tenant, &candidates, &mut found.truncated)
            .await?;
        for (id, candidate) in candidates {
            let mut facts = candidate.facts;
            facts.object = match (candidate.object, courses.get(&id)) {
                (Some(object), _) => object,
                // An event reached as the subject's own (booked, administered).
                (None, Some(course)) => Object::Event {
                    event: EventId::from_uuid(id),
                    course: CourseId::from_uuid(*course),
                },
                // Not known to belong to a course: only tenant-wide grants reach it.
                (None, None) => continue,
            };
            // Booking is the one permission a resource fact can veto.
            if permission == Permission::BookingsCreate
                && let Object::User(user) = facts.object
            {
                let (rows, _) = self.store.subject_rows(tenant, user).await?;
                facts.bookings_restricted = rows.status.is_some_and(|s| s.restrict_bookings);
            }
            if decide(subject, permission, &facts).is_allowed() {
                found.ids.insert(id);
            }
        }
        Ok(found)
    }

    /// What a tenant-wide grant of `permission` reaches among the objects of `kind` when an
    /// object's own facts may veto it: every person identity announced, each decided on the
    /// facts that can veto (the tenant-wide grant needs no others, and these are never more
    /// than Check reads). At most the fan-out limit are read; more answer `truncated`.
    async fn every_object(
        &self,
        subject: &SubjectFacts,
        permission: Permission,
        kind: Kind,
    ) -> Result<Found, ApiError> {
        let mut found = Found::default();
        if kind != Kind::User {
            // No lister for a kind vetoed per object: list nothing and say there may be more,
            // rather than claim all of them.
            found.truncated = true;
            return Ok(found);
        }
        let (fanout, mut read, mut after) = (self.lookups.fanout, 0, None);
        loop {
            let limit = (fanout - read).min(STATUS_PAGE);
            let page = self.store.statuses(subject.tenant, after, limit).await?;
            read += page.len() as i64;
            for status in &page {
                let mut facts = ResourceFacts::new(subject.tenant, Object::User(status.user));
                facts.bookings_restricted = status.restrict_bookings;
                if decide(subject, permission, &facts).is_allowed() {
                    found.ids.insert(status.user.as_uuid());
                }
            }
            if (page.len() as i64) < limit {
                return Ok(found);
            }
            if read >= fanout {
                found.truncated = true;
                return Ok(found);
            }
            after = page.last().map(|status| status.user);
        }
    }

    /// The revision a kept set must be at to answer a later page (`token`) asked with
    /// `freshness`: the token's for a token; for a fully consistent page the store's now, so a
    /// set older than the tenant's latest write is computed again (the page then goes on after
    /// the token's last id, as after an expired cursor); none for bounded staleness.
    pub async fn page_floor(
        &self,
        tenant: TenantId,
        token: Token,
        freshness: Freshness,
    ) -> Result<Option<Revision>, ApiError> {
        Ok(match freshness {
            Freshness::Latency => None,
            Freshness::AtLeast(wanted) => Some(wanted),
            // Nothing to continue: no read.
            Freshness::Full if token.cursor.is_none() => None,
            Freshness::Full => Some(self.store.revision(tenant).await?),
        })
    }

    /// The course of every event candidate whose trails did not pass through it, in one query.
    async fn courses_of_events(
        &self,
        tenant: TenantId,
        candidates: &BTreeMap<Uuid, Candidate>,
        cut: &mut bool,
    ) -> Result<BTreeMap<Uuid, Uuid>, ApiError> {
        let events: Vec<Uuid> = candidates
            .iter()
            .filter(|(_, candidate)| candidate.object.is_none())
            .map(|(id, _)| *id)
            .collect();
        let mut courses = BTreeMap::new();
        for ids in events.chunks(BATCH) {
            let filter = RelatedFilter {
                relation: Relation::ParentCourse as i16,
                end: End::Resource,
                kind: ObjectType::Event as i16,
                ids,
            };
            // In key order, so each event's first course is the one its decision facts name.
            let found = self
                .store
                .related(tenant, filter, None, self.lookups.fanout)
                .await?;
            *cut |= found.len() as i64 >= self.lookups.fanout;
            for r in found {
                courses.entry(r.resource_id).or_insert(r.subject_id);
            }
        }
        Ok(courses)
    }

    /// The users who may act on `resource` with `permission`, ordered by id; candidates' facts
    /// are read as fresh as `freshness` asks.
    pub async fn lookup_subjects(
        &self,
        tenant: TenantId,
        permission: Permission,
        resource: &ResourceFacts,
        freshness: Freshness,
    ) -> Result<Found, ApiError> {
        let mut cut = false;
        let mut candidates: BTreeSet<Uuid> = BTreeSet::new();
        // Holders of any role granting the permission.
        let mut roles: Vec<RoleId> = Template::ALL
            .into_iter()
            .filter(|template| template.grants().permissions().contains(permission))
            .map(RoleId::BuiltIn)
            .collect();
        let mut after = None;
        loop {
            let page = self.store.roles(tenant, after.as_deref(), 500).await?;
            roles.extend(
                page.iter()
                    .filter(|r| r.grants.permissions().contains(permission))
                    .map(|r| RoleId::Custom(r.id)),
            );
            match page.last() {
                Some(last) if page.len() == 500 => after = Some(last.name.to_lowercase()),
                _ => break,
            }
        }
        for role in roles {
            let mut after = None;
            loop {
                let page = self.store.holders_of(tenant, role, after, 1000).await?;
                candidates.extend(page.iter().map(|a| a.user.as_uuid()));
                match page.last() {
                    Some(last) if page.len() == 1000 => after = Some(last.id),
                    _ => break,
                }
            }
        }
        // Users related to the resource: themselves, their managers, administrators, purchasers;
        // a course's tutor, administrators and learners; an event's administrators and bookings.
        match resource.object {
            Object::User(user) => {
                candidates.insert(user.as_uuid());
                candidates.extend(
                    self.related(
                        tenant,
                        (ObjectType::User, user.as_uuid()),
                        Relation::Invitee,
                        false,
                        &mut cut,
                    )
                    .await?,
                );
                for group in resource.primary_group.iter().chain(&resource.groups) {
                    for relation in [Relation::Manager, Relation::Administrator] {
                        candidates.extend(
                            self.related(
                                tenant,
                                (ObjectType::Group, group.as_uuid()),
                                relation,
                                true,
                                &mut cut,
                            )
                            .await?,
                        );
                    }
                }
            }
            Object::Group(group) => {
                for relation in [Relation::Manager, Relation::Administrator] {
                    candidates.extend(
                        self.related(
                            tenant,
                            (ObjectType::Group, group.as_uuid()),
                            relation,
                            true,
                            &mut cut,
                        )
                        .await?,
                    );
                }
            }
            _ => {}
        }
        if let Some(course) = resource.object.course() {
            for relation in [
                Relation::CourseTutor,
                Relation::CourseAdministrator,
                Relation::Enrolled,
                Relation::Offered,
            ] {
                candidates.extend(
                    self.related(
                        tenant,
                        (ObjectType::Course, course.as_uuid()),
                        relation,
                        true,
                        &mut cut,
                    )
                    .await?,
                );
            }
        }
        if let Object::Event { event, .. } = resource.object {
            for relation in [Relation::EventAdministrator, Relation::Booked] {
                candidates.extend(
                    self.related(
                        tenant,
                        (ObjectType::Event, event.as_uuid()),
                        relation,
                        true,
                        &mut cut,
                    )
                    .await?,
                );
            }
        }
        // A few reads in flight at a time, each answered from the facts cache when the asked
        // freshness allows, rather than one full store read per candidate in turn.
        let decided: Vec<(Uuid, bool)> = futures_util::stream::iter(candidates)
            .map(|candidate| async move {
                let (facts, _) = self
                    .subject_at(tenant, UserId::from_uuid(candidate), freshness)
                    .await?;
                Ok::<_, ApiError>((candidate, decide(&facts, permission, resource).is_allowed()))
            })
            .buffered(CANDIDATE_READS)
            .try_collect()
            .await?;
        Ok(Found {
            all_of_type: false,
            ids: decided
                .into_iter()
                .filter_map(|(candidate, allowed)| allowed.then_some(candidate))
                .collect(),
            truncated: cut,
        })
    }
}
