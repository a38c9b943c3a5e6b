//! LookupResources ("which courses may X edit") and LookupSubjects ("who may approve enrolments
//! on C").
//!
//! Resources: every reach has a relation that produces its candidates (a manager's team are the
//! primary members of the groups they manage, a unit administrator's users are the employees of
//! the units below the role's place, ...). Each candidate is confirmed by the kernel's `decide` on
//! the facts that made it a candidate; `decide` is monotone in facts, so the union over reaches is
//! exactly the allowed set. A tenant-wide grant answers `all_of_type` instead of listing.
//!
//! Subjects: candidates are the holders of roles granting the permission and the users related
//! to the resource; each is decided with its full facts.

use std::collections::{BTreeMap, BTreeSet};

use lms_api::authorization::v1::Relation;
use lms_api::common::v1::ObjectType;
use lms_kernel::scope::{self, Scope};
use lms_kernel::user::DEFAULT_ROLE;
use lms_kernel::{
    CourseId, EventId, Object, Permission, Place, Reach, ResourceFacts, RoleId, SubjectFacts,
    Template, TenantId, UnitId, UserId, UserStatus, decide,
};
use lms_runtime::ApiError;
use uuid::Uuid;

use crate::core::Core;
use crate::store::{RelationshipFilter, Store};

/// Most relationships one candidate query reads.
const FANOUT: i64 = 100_000;

/// What a resource lookup found.
#[derive(Debug, Default)]
pub struct Found {
    /// A tenant-wide grant reaches every resource of the type.
    pub all_of_type: bool,
    /// Resources reached through a relation, ordered.
    pub ids: BTreeSet<Uuid>,
}

fn t(kind: ObjectType) -> i16 {
    kind as i16
}

impl<S: Store> Core<S> {
    /// Resources of `kind` related to `(from_kind, from)` by `relation`, reading the relation
    /// forwards (`from` is the resource) or backwards (`from` is the subject).
    async fn related(
        &self,
        tenant: TenantId,
        from_kind: ObjectType,
        from: Uuid,
        relation: Relation,
        forwards: bool,
    ) -> Result<Vec<Uuid>, ApiError> {
        let end = Some((t(from_kind), from));
        let filter = RelationshipFilter {
            resource: if forwards { end } else { None },
            relation: Some(relation as i16),
            subject: if forwards { None } else { end },
        };
        let found = self
            .store
            .relationships(tenant, filter, None, FANOUT)
            .await?;
        Ok(found
            .into_iter()
            .map(|r| {
                if forwards {
                    r.subject_id
                } else {
                    r.resource_id
                }
            })
            .collect())
    }

    /// `unit` and every unit below it.
    async fn subtree(&self, tenant: TenantId, unit: UnitId) -> Result<Vec<UnitId>, ApiError> {
        let mut seen = vec![unit];
        let mut next = 0;
        while next < seen.len() {
            for child in self
                .related(
                    tenant,
                    ObjectType::Unit,
                    seen[next].as_uuid(),
                    Relation::ParentUnit,
                    false,
                )
                .await?
            {
                let child = UnitId::from_uuid(child);
                if !seen.contains(&child) {
                    seen.push(child);
                }
            }
            next += 1;
        }
        Ok(seen)
    }

    /// The resources of `kind` that `subject` may act on with `permission`.
    pub async fn lookup_resources(
        &self,
        subject: &SubjectFacts,
        permission: Permission,
        kind: ObjectType,
    ) -> Result<Found, ApiError> {
        let mut found = Found::default();
        if subject.status != UserStatus::Active {
            return Ok(found);
        }
        let tenant = subject.tenant;
        let student = DEFAULT_ROLE.grants();
        let grants = std::iter::once(&student).chain(subject.roles.iter().map(|held| &held.grants));
        // Reaches whose scope is every resource of the kind answer without listing.
        if grants.into_iter().any(|g| {
            Reach::ALL.into_iter().any(|reach| {
                scope::of_reach(reach, scope::Kind::User) == Scope::Everything
                    && reach.in_effect(&subject.settings)
                    && g.at(reach).contains(permission)
            })
        }) {
            found.all_of_type = true;
            return Ok(found);
        }

        // Candidates with the facts that make them candidates, merged per resource.
        let mut candidates: BTreeMap<Uuid, ResourceFacts> = BTreeMap::new();
        let mut add = |id: Uuid, object: Object, fill: &dyn Fn(&mut ResourceFacts)| {
            let facts = candidates
                .entry(id)
                .or_insert_with(|| ResourceFacts::new(tenant, object));
            fill(facts);
        };
        // Units the subject's unit-scoped roles reach, with the place each sits under.
        let mut unit_places: Vec<(UnitId, UnitId)> = Vec::new();
        if subject.settings.locations_enabled {
            for held in &subject.roles {
                if let Place::Unit(place) = held.place {
                    let below = if held.grants.at(Reach::UnitSubtree).is_empty() {
                        vec![place]
                    } else {
                        self.subtree(tenant, place).await?
                    };
                    unit_places.extend(below.into_iter().map(|unit| (unit, place)));
                }
            }
        }
        let placed = |facts: &mut ResourceFacts, unit: UnitId, place: UnitId| {
            if !facts.units.contains(&unit) {
                facts.units.push(unit);
            }
            for u in [unit, place] {
                if !facts.unit_ancestors.contains(&u) {
                    facts.unit_ancestors.push(u);
                }
            }
        };
        match kind {
            ObjectType::User => {
                let me = subject.user.as_uuid();
                add(me, Object::User(subject.user), &|_| {});
                for purchaser_invitee in self
                    .related(tenant, ObjectType::User, me, Relation::Invitee, true)
                    .await?
                {
                    add(
                        purchaser_invitee,
                        Object::User(UserId::from_uuid(purchaser_invitee)),
                        &|f| f.invited_by.push(subject.user),
                    );
                }
                let overseen = subject
                    .managed_groups
                    .iter()
                    .chain(&subject.administered_groups);
                for group in overseen {
                    for (relation, primary) in
                        [(Relation::PrimaryMember, true), (Relation::Member, false)]
                    {
                        for member in self
                            .related(tenant, ObjectType::Group, group.as_uuid(), relation, true)
                            .await?
                        {
                            add(member, Object::User(UserId::from_uuid(member)), &|f| {
                                if primary {
                                    f.primary_group = Some(*group);
                                }
                                if !f.groups.contains(group) {
                                    f.groups.push(*group);
                                }
                            });
                        }
                    }
                }
                for (unit, place) in &unit_places {
                    for employee in self
                        .related(
                            tenant,
                            ObjectType::Unit,
                            unit.as_uuid(),
                            Relation::Employee,
                            true,
                        )
                        .await?
                    {
                        add(employee, Object::User(UserId::from_uuid(employee)), &|f| {
                            placed(f, *unit, *place)
                        });
                    }
                }
            }
            ObjectType::Group => {
                for group in subject
                    .managed_groups
                    .iter()
                    .chain(&subject.administered_groups)
                {
                    add(group.as_uuid(), Object::Group(*group), &|_| {});
                }
            }
            ObjectType::Unit => {
                for (unit, place) in &unit_places {
                    add(unit.as_uuid(), Object::Unit(*unit), &|f| {
                        placed(f, *unit, *place)
                    });
                }
            }
            ObjectType::Course | ObjectType::Lesson | ObjectType::Event => {
                let mut courses: BTreeMap<CourseId, Vec<(UnitId, UnitId)>> = BTreeMap::new();
                for course in subject
                    .enrolled_courses
                    .iter()
                    .chain(&subject.tutored_courses)
                    .chain(&subject.administered_courses)
                {
                    courses.entry(*course).or_default();
                }
                for (unit, place) in &unit_places {
                    for course in self
                        .related(
                            tenant,
                            ObjectType::Unit,
                            unit.as_uuid(),
                            Relation::OwningUnit,
                            false,
                        )
                        .await?
                    {
                        courses
                            .entry(CourseId::from_uuid(course))
                            .or_default()
                            .push((*unit, *place));
                    }
                }
                for (course, units) in &courses {
                    let fill = |f: &mut ResourceFacts| {
                        for (unit, place) in units {
                            placed(f, *unit, *place);
                        }
                    };
                    if kind == ObjectType::Course {
                        add(course.as_uuid(), Object::Course(*course), &fill);
                        continue;
                    }
                    for child in self
                        .related(
                            tenant,
                            ObjectType::Course,
                            course.as_uuid(),
                            Relation::ParentCourse,
                            false,
                        )
                        .await?
                    {
                        let object = if kind == ObjectType::Lesson {
                            Object::Lesson { course: *course }
                        } else {
                            Object::Event {
                                event: EventId::from_uuid(child),
                                course: *course,
                            }
                        };
                        add(child, object, &fill);
                    }
                }
                if kind == ObjectType::Event {
                    for event in subject
                        .administered_events
                        .iter()
                        .chain(&subject.booked_events)
                    {
                        if let Some(course) = self
                            .related(
                                tenant,
                                ObjectType::Event,
                                event.as_uuid(),
                                Relation::ParentCourse,
                                true,
                            )
                            .await?
                            .first()
                        {
                            let course = CourseId::from_uuid(*course);
                            add(
                                event.as_uuid(),
                                Object::Event {
                                    event: *event,
                                    course,
                                },
                                &|_| {},
                            );
                        }
                    }
                }
            }
            // Other kinds relate to no one: only tenant-wide grants reach them.
            _ => {}
        }
        for (id, mut facts) in candidates {
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

    /// The users who may act on `resource` with `permission`, ordered by id.
    pub async fn lookup_subjects(
        &self,
        tenant: TenantId,
        permission: Permission,
        resource: &ResourceFacts,
    ) -> Result<BTreeSet<Uuid>, ApiError> {
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
                        ObjectType::User,
                        user.as_uuid(),
                        Relation::Invitee,
                        false,
                    )
                    .await?,
                );
                for group in resource.primary_group.iter().chain(&resource.groups) {
                    for relation in [Relation::Manager, Relation::Administrator] {
                        candidates.extend(
                            self.related(
                                tenant,
                                ObjectType::Group,
                                group.as_uuid(),
                                relation,
                                true,
                            )
                            .await?,
                        );
                    }
                }
            }
            Object::Group(group) => {
                for relation in [Relation::Manager, Relation::Administrator] {
                    candidates.extend(
                        self.related(tenant, ObjectType::Group, group.as_uuid(), relation, true)
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
            ] {
                candidates.extend(
                    self.related(tenant, ObjectType::Course, course.as_uuid(), relation, true)
                        .await?,
                );
            }
        }
        if let Object::Event { event, .. } = resource.object {
            for relation in [Relation::EventAdministrator, Relation::Booked] {
                candidates.extend(
                    self.related(tenant, ObjectType::Event, event.as_uuid(), relation, true)
                        .await?,
                );
            }
        }
        let mut allowed = BTreeSet::new();
        for candidate in candidates {
            let (facts, _) = self.subject(tenant, UserId::from_uuid(candidate)).await?;
            if decide(&facts, permission, resource).is_allowed() {
                allowed.insert(candidate);
            }
        }
        Ok(allowed)
    }
}
