//! What a walk proved about the object at its end, as decision facts.
//!
//! A candidate is confirmed by `decide` on these facts. They are never more than what
//! `facts::resource_facts` compiles for the same object from the same store (each comes from a
//! fact the walk read, or from the units the walk descended through), and `decide` is monotone
//! in facts, so a confirmed candidate is one Check allows. The kernel's property test shows the
//! paths reach every object Check allows, and the last hop proves what allowed it: a user's
//! group or employment, a purchaser's invitation, a course's unit; the subject's side of every
//! relation is in the subject's facts already.

use lms_kernel::scope::walk::Reached;
use lms_kernel::scope::{Kind, Origin, Relation, Step};
use lms_kernel::{CourseId, EventId, GroupId, Object, ResourceFacts, TenantId, UnitId, UserId};
use uuid::Uuid;

/// One candidate: its object once known, and the facts its trails proved.
#[derive(Debug)]
pub struct Candidate {
    /// `None` for an event reached without its PARENT_COURSE hop, until its course is read.
    pub object: Option<Object>,
    /// The facts, with `object` left as [`Object::TenantWide`] until it is known.
    pub facts: ResourceFacts,
}

fn push<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

impl Candidate {
    /// A candidate of `kind` with nothing proved yet.
    pub fn new(tenant: TenantId, kind: Kind, id: Uuid) -> Candidate {
        let object = match kind {
            Kind::User => Some(Object::User(UserId::from_uuid(id))),
            Kind::Group => Some(Object::Group(GroupId::from_uuid(id))),
            Kind::Unit => Some(Object::Unit(UnitId::from_uuid(id))),
            Kind::Course => Some(Object::Course(CourseId::from_uuid(id))),
            Kind::Lesson | Kind::Event => None,
        };
        let mut facts = ResourceFacts::new(tenant, Object::TenantWide);
        if kind == Kind::Unit {
            facts.units.push(UnitId::from_uuid(id));
            facts.unit_ancestors.push(UnitId::from_uuid(id));
        }
        Candidate { object, facts }
    }

    /// Adds what `reached`, walked from `origin`, proves about the candidate.
    pub fn prove(&mut self, kind: Kind, reached: &Reached<Uuid>, origin: Origin) {
        let Some(last) = reached.last() else {
            return;
        };
        let from = last.from;
        let facts = &mut self.facts;
        match last.step {
            Step::Subjects(Relation::PrimaryMember) => {
                facts.primary_group.get_or_insert(GroupId::from_uuid(from));
                push(&mut facts.groups, GroupId::from_uuid(from));
            }
            Step::Subjects(Relation::Member) => push(&mut facts.groups, GroupId::from_uuid(from)),
            Step::Subjects(Relation::Invitee) => {
                push(&mut facts.invited_by, UserId::from_uuid(from));
            }
            Step::Subjects(Relation::Employee) | Step::Resources(Relation::OwningUnit) => {
                push(&mut facts.units, UnitId::from_uuid(from));
                // The walk came down to `from` from the place through PARENT_UNIT facts, so
                // the place and every unit passed lie above it.
                let passed = reached
                    .trail
                    .iter()
                    .filter(|hop| hop.step == Step::Resources(Relation::ParentUnit))
                    .map(|hop| hop.to);
                let above = match origin {
                    Origin::Unit(place) => Some(place.as_uuid()),
                    Origin::Subject(_) => None,
                };
                for unit in above.into_iter().chain(passed).chain([from]) {
                    push(&mut facts.unit_ancestors, UnitId::from_uuid(unit));
                }
            }
            Step::Resources(Relation::ParentCourse) => {
                let course = CourseId::from_uuid(from);
                self.object = Some(match kind {
                    Kind::Lesson => Object::Lesson { course },
                    _ => Object::Event {
                        event: EventId::from_uuid(reached.node),
                        course,
                    },
                });
            }
            _ => {}
        }
        if kind == Kind::Unit {
            let passed = reached.trail.iter().map(|hop| hop.from);
            for unit in passed {
                push(&mut facts.unit_ancestors, UnitId::from_uuid(unit));
            }
        }
    }
}
