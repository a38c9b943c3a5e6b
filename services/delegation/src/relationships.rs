//! The relationship facts delegation owns and authorization reads (DESIGN.md §6), built from
//! records: one builder per change, each answering the outbox event that carries it. Handlers
//! call one builder per change and never build a fact themselves.

use lms_api::authorization::v1::{
    AssignRoleRequest, AssignmentSource, Operation, Relation, Relationship, RelationshipUpdate,
    WriteRelationshipsRequest,
};
use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_kernel::user::purchase_roles;
use lms_kernel::{CourseId, Responsibility, RoleId, Template, UnitId, UserId, Window};
use lms_runtime::outbox;

use crate::convert::{reference, timestamp};
use crate::store::{
    BookingRecord, CourseRecord, EnrolmentRecord, EventCalledOff, EventRecord, GrantRecord,
    Invited, LessonRecord, NewEvent, Offers, Placed, Removed, ResponsibilityRecord, Unbooked,
    Withdrawn,
};

/// Facts per event: a large deployment travels as a few events of this many, each applied by
/// authorization in one transaction, rather than thousands of events or one huge one.
const FACTS_PER_EVENT: usize = 1000;

fn course_ref(course: CourseId) -> ObjectReference {
    reference(ObjectType::Course, course)
}

fn update(
    operation: Operation,
    resource: ObjectReference,
    relation: Relation,
    subject: ObjectReference,
    window: Window,
) -> RelationshipUpdate {
    RelationshipUpdate {
        operation: operation as i32,
        relationship: Some(Relationship {
            resource: Some(resource),
            relation: relation as i32,
            subject: Some(subject),
            valid_from: window.from.map(timestamp),
            valid_until: window.until.map(timestamp),
        }),
    }
}

fn event_facts(updates: Vec<RelationshipUpdate>) -> Vec<NewEvent> {
    if updates.is_empty() {
        return Vec::new();
    }
    vec![outbox::facts(WriteRelationshipsRequest {
        updates,
        ..Default::default()
    })]
}

fn owning_unit(course: CourseId, unit: UnitId, operation: Operation) -> RelationshipUpdate {
    update(
        operation,
        course_ref(course),
        Relation::OwningUnit,
        reference(ObjectType::Unit, unit),
        Window::ALWAYS,
    )
}

fn parent_course(lesson: &LessonRecord, operation: Operation) -> RelationshipUpdate {
    update(
        operation,
        reference(ObjectType::Lesson, lesson.id),
        Relation::ParentCourse,
        course_ref(lesson.course),
        Window::ALWAYS,
    )
}

/// The object kind and relation a responsibility is to authorization (group ones are
/// identity's).
fn relation(kind: Responsibility) -> Option<(ObjectType, Relation)> {
    match kind {
        Responsibility::CourseTutor => Some((ObjectType::Course, Relation::CourseTutor)),
        Responsibility::CourseAdministrator => {
            Some((ObjectType::Course, Relation::CourseAdministrator))
        }
        Responsibility::EventAdministrator => {
            Some((ObjectType::Event, Relation::EventAdministrator))
        }
        Responsibility::GroupAdministrator | Responsibility::GroupManager => None,
    }
}

fn responsibility(
    record: &ResponsibilityRecord,
    operation: Operation,
) -> Option<RelationshipUpdate> {
    let (kind, relation) = relation(record.kind)?;
    Some(update(
        operation,
        reference(kind, record.object),
        relation,
        reference(ObjectType::User, record.user),
        record.window,
    ))
}

/// A new course: the unit that owns it, if one does (a tenant's course needs no fact: only
/// tenant-wide grants and responsibilities reach it).
pub fn course_created(course: &CourseRecord) -> Vec<NewEvent> {
    event_facts(
        course
            .unit
            .map(|unit| owning_unit(course.id, unit, Operation::Touch))
            .into_iter()
            .collect(),
    )
}

/// A course deleted: an erased course's facts go (unit, lessons, responsibilities); an
/// archived course keeps them, so its tutor and administrators still read its history.
pub fn course_removed(removed: &Removed) -> Vec<NewEvent> {
    if removed.removal == lms_kernel::Removal::Archive {
        return Vec::new();
    }
    let course = &removed.course;
    let unit = course
        .unit
        .map(|unit| owning_unit(course.id, unit, Operation::Delete));
    let lessons = removed
        .lessons
        .iter()
        .map(|lesson| parent_course(lesson, Operation::Delete));
    let duties = removed
        .responsibilities
        .iter()
        .filter_map(|r| responsibility(r, Operation::Delete));
    let offers = removed
        .offered_to
        .iter()
        .map(|user| offer(course.id, *user, Operation::Delete));
    events(
        unit.into_iter()
            .chain(lessons)
            .chain(duties)
            .chain(offers)
            .collect(),
    )
}

/// A new lesson belongs to its course.
pub fn lesson_created(lesson: &LessonRecord) -> Vec<NewEvent> {
    event_facts(vec![parent_course(lesson, Operation::Touch)])
}

/// A lesson deleted.
pub fn lesson_deleted(lesson: &LessonRecord) -> Vec<NewEvent> {
    event_facts(vec![parent_course(lesson, Operation::Delete)])
}

/// A responsibility given (or its window changed).
pub fn responsibility_given(record: &ResponsibilityRecord) -> Vec<NewEvent> {
    event_facts(
        responsibility(record, Operation::Touch)
            .into_iter()
            .collect(),
    )
}

/// A responsibility taken away.
pub fn responsibility_taken(record: &ResponsibilityRecord) -> Vec<NewEvent> {
    event_facts(
        responsibility(record, Operation::Delete)
            .into_iter()
            .collect(),
    )
}

fn enrolled(record: &EnrolmentRecord, operation: Operation) -> RelationshipUpdate {
    update(
        operation,
        course_ref(record.course),
        Relation::Enrolled,
        reference(ObjectType::User, record.user),
        Window::ALWAYS,
    )
}

/// New enrolments: each learner counts as enrolled on the course (their own-learning grants
/// read it through this), one event per thousand.
pub fn enrolments_made(made: &[EnrolmentRecord]) -> Vec<NewEvent> {
    events(
        made.iter()
            .map(|record| enrolled(record, Operation::Touch))
            .collect(),
    )
}

/// A withdrawal: the learner no longer counts as enrolled, unless another enrolment of theirs
/// on the course (a completed one) still does.
pub fn enrolment_withdrawn(withdrawn: &Withdrawn) -> Vec<NewEvent> {
    if withdrawn.still_enrolled {
        return Vec::new();
    }
    event_facts(vec![enrolled(&withdrawn.enrolment, Operation::Delete)])
}

fn offer(course: CourseId, user: UserId, operation: Operation) -> RelationshipUpdate {
    update(
        operation,
        course_ref(course),
        Relation::Offered,
        reference(ObjectType::User, user),
        Window::ALWAYS,
    )
}

/// A new event belongs to its course (its tutor and administrators reach it through it; a
/// learner enrolled on the course sees it).
pub fn event_created(event: &EventRecord) -> Vec<NewEvent> {
    event_facts(vec![event_holds(event)])
}

fn booked(booking: &BookingRecord, operation: Operation) -> RelationshipUpdate {
    update(
        operation,
        reference(ObjectType::Event, booking.event),
        Relation::Booked,
        reference(ObjectType::User, booking.user),
        Window::ALWAYS,
    )
}

/// A booking made or decided: a place held makes the learner booked on the event (they read it
/// as their own through this); a request, the waitlist and a refusal tell authorization nothing.
pub fn booking_moved(_event: &EventRecord, booking: &BookingRecord) -> Vec<NewEvent> {
    if !booking.state.holds_place() {
        return Vec::new();
    }
    event_facts(vec![booked(booking, Operation::Touch)])
}

/// A booking cancelled: the place it held is no longer the learner's, and is the promoted
/// learner's.
pub fn booking_cancelled(_event: &EventRecord, unbooked: &Unbooked) -> Vec<NewEvent> {
    let freed = unbooked
        .was
        .holds_place()
        .then(|| booked(&unbooked.booking, Operation::Delete));
    let taken = unbooked
        .promoted
        .as_ref()
        .map(|promoted| booked(promoted, Operation::Touch));
    event_facts(freed.into_iter().chain(taken).collect())
}

/// An event called off: nobody holds a place on it any more, one event per thousand.
pub fn event_called_off(called_off: &EventCalledOff) -> Vec<NewEvent> {
    events(
        called_off
            .bookings
            .iter()
            .filter(|(_, was)| was.holds_place())
            .map(|(booking, _)| booked(booking, Operation::Delete))
            .collect(),
    )
}

/// One event per thousand of `updates`.
fn events(updates: Vec<RelationshipUpdate>) -> Vec<NewEvent> {
    let mut updates = updates.into_iter().peekable();
    let mut events = Vec::new();
    while updates.peek().is_some() {
        events.extend(event_facts(
            updates.by_ref().take(FACTS_PER_EVENT).collect(),
        ));
    }
    events
}

/// Catalogues changed: each person is offered the courses begun and no longer the ones ended
/// (they may see an offered course and ask to join it), one event per thousand.
pub fn offers_changed(offers: &Offers) -> Vec<NewEvent> {
    let begun = offers
        .begun
        .iter()
        .map(|(course, user)| offer(*course, *user, Operation::Touch));
    let ended = offers
        .ended
        .iter()
        .map(|(course, user)| offer(*course, *user, Operation::Delete));
    events(begun.chain(ended).collect())
}

/// The shop gives `user` the built-in role of `template`, unless they hold it already.
fn shop_role(user: UserId, template: Template) -> NewEvent {
    outbox::assign_role(AssignRoleRequest {
        user_id: user.to_string(),
        role_id: RoleId::BuiltIn(template).to_string(),
        unless_held: true,
        source: AssignmentSource::ShopIntegration as i32,
        ..Default::default()
    })
}

/// New orders: each buyer's role (a Student for one seat, enrolled on the course; a Purchaser
/// for several). Orders placed before change nothing.
pub fn orders_placed(placed: &[Placed]) -> Vec<NewEvent> {
    let new = placed.iter().filter(|placed| placed.created);
    let mut events: Vec<_> = new
        .clone()
        .map(|placed| {
            shop_role(
                placed.order.buyer,
                purchase_roles(placed.order.seats, 0).buyer,
            )
        })
        .collect();
    events.extend(event_facts(
        new.filter_map(|placed| placed.enrolled.as_ref())
            .map(|record| enrolled(record, Operation::Touch))
            .collect(),
    ));
    events
}

/// An invitation taken: the invitee is a Student, enrolled on the order's course, and the
/// Purchaser's invitee (their `invitees` reach covers exactly these people).
pub fn invitee_joined(invited: &Invited) -> Vec<NewEvent> {
    let Some(invitee) = invited.invitation.invitee else {
        return Vec::new();
    };
    let roles = purchase_roles(invited.order.seats, 1);
    let mut updates = vec![invitee_holds(invited.order.buyer, invitee)];
    updates.extend(
        invited
            .enrolled
            .iter()
            .map(|record| enrolled(record, Operation::Touch)),
    );
    let mut events: Vec<_> = roles
        .invitees
        .map(|template| shop_role(invitee, template))
        .into_iter()
        .collect();
    events.extend(event_facts(updates));
    events
}

fn granted_by(grant: &GrantRecord, operation: Operation) -> RelationshipUpdate {
    update(
        operation,
        course_ref(grant.course),
        Relation::GrantedBy,
        reference(ObjectType::Tenant, grant.master),
        grant.window,
    )
}

/// A content grant made or its window changed: among the client tenant's facts (its outbox
/// carries them), the master grants the course for the window.
pub fn grant_given(grant: &GrantRecord) -> Vec<NewEvent> {
    event_facts(vec![granted_by(grant, Operation::Touch)])
}

/// Content grants made together (a catalogue's courses), one event per thousand.
pub fn grants_given(grants: &[GrantRecord]) -> Vec<NewEvent> {
    events(
        grants
            .iter()
            .map(|grant| granted_by(grant, Operation::Touch))
            .collect(),
    )
}

/// A content grant revoked: the client's people no longer reach the course. The fact stays
/// with a window that ended long ago (not at the revoke's instant, which authorization's clock
/// might not have reached yet), so the course stays known to be the master's and an enrolment
/// on it that outlasts the grant reaches nothing.
pub fn grant_revoked(grant: &GrantRecord) -> Vec<NewEvent> {
    event_facts(vec![granted_by(&ended(grant), Operation::Touch)])
}

/// The grant as revoked: its window over since the epoch's first second.
fn ended(grant: &GrantRecord) -> GrantRecord {
    GrantRecord {
        window: Window {
            from: None,
            until: Some(1),
        },
        ..grant.clone()
    }
}

// What holds now, for `lms reporting rebuild` (crate::rebuild): each builder answers, for one
// stored row, the facts the builders above leave standing for it.

/// The unit owning `course`, if one does.
pub fn owning_unit_holds(course: &CourseRecord) -> Option<RelationshipUpdate> {
    course
        .unit
        .map(|unit| owning_unit(course.id, unit, Operation::Touch))
}

/// The course of `lesson`.
pub fn lesson_holds(lesson: &LessonRecord) -> RelationshipUpdate {
    parent_course(lesson, Operation::Touch)
}

/// The responsibility, unless it is a group's (identity's).
pub fn responsibility_holds(record: &ResponsibilityRecord) -> Option<RelationshipUpdate> {
    responsibility(record, Operation::Touch)
}

/// The learner enrolled on the course, while the enrolment counts as enrolled.
pub fn enrolled_holds(record: &EnrolmentRecord) -> Option<RelationshipUpdate> {
    record
        .enrolment
        .state
        .counts_as_enrolled()
        .then(|| enrolled(record, Operation::Touch))
}

/// The course of `event`.
pub fn event_holds(event: &EventRecord) -> RelationshipUpdate {
    update(
        Operation::Touch,
        reference(ObjectType::Event, event.id),
        Relation::ParentCourse,
        course_ref(event.course),
        Window::ALWAYS,
    )
}

/// The learner booked on the event, while the booking holds a place.
pub fn booked_holds(booking: &BookingRecord) -> Option<RelationshipUpdate> {
    booking
        .state
        .holds_place()
        .then(|| booked(booking, Operation::Touch))
}

/// `course` offered to `user` by some catalogue.
pub fn offered_holds(course: CourseId, user: UserId) -> RelationshipUpdate {
    offer(course, user, Operation::Touch)
}

/// `invitee` accepted an invitation of `buyer`'s order.
pub fn invitee_holds(buyer: UserId, invitee: UserId) -> RelationshipUpdate {
    update(
        Operation::Touch,
        reference(ObjectType::User, buyer),
        Relation::Invitee,
        reference(ObjectType::User, invitee),
        Window::ALWAYS,
    )
}

/// The master grants the course for the grant's window. A revoked grant's row is gone, so its
/// ended fact is not re-sent: no report reads one.
pub fn grant_holds(grant: &GrantRecord) -> RelationshipUpdate {
    granted_by(grant, Operation::Touch)
}

#[cfg(test)]
mod tests {
    use lms_api::authorization::v1::WriteRelationshipsRequest;
    use lms_kernel::{CourseId, UserId};
    use prost::Message as _;

    use super::*;

    fn decoded(event: &NewEvent) -> WriteRelationshipsRequest {
        assert_eq!(event.topic, outbox::topic::FACTS);
        WriteRelationshipsRequest::decode(event.payload.as_slice()).unwrap()
    }

    fn enrolments(n: usize) -> Vec<EnrolmentRecord> {
        let course = CourseId::generate();
        (0..n)
            .map(|_| EnrolmentRecord::new(course, UserId::generate(), "test", 1))
            .collect()
    }

    #[test]
    fn a_large_deployment_travels_as_one_event_per_thousand_enrolments() {
        let made = enrolments(2_500);
        let events = enrolments_made(&made);
        let sizes: Vec<_> = events.iter().map(|e| decoded(e).updates.len()).collect();
        assert_eq!(sizes, [1000, 1000, 500]);
        let first = decoded(&events[0]).updates[0].clone();
        let fact = first.relationship.unwrap();
        assert_eq!(first.operation, Operation::Touch as i32);
        assert_eq!(fact.relation, Relation::Enrolled as i32);
        assert_eq!(fact.resource.unwrap().id, made[0].course.to_string());
        assert_eq!(fact.subject.unwrap().id, made[0].user.to_string());
        assert!(enrolments_made(&[]).is_empty(), "nothing made, no event");
    }

    #[test]
    fn a_withdrawal_takes_the_fact_back_unless_a_completion_still_counts() {
        let enrolment = enrolments(1).remove(0);
        let gone = Withdrawn {
            enrolment: enrolment.clone(),
            still_enrolled: false,
        };
        let events = enrolment_withdrawn(&gone);
        assert_eq!(events.len(), 1);
        assert_eq!(
            decoded(&events[0]).updates[0].operation,
            Operation::Delete as i32
        );
        let kept = Withdrawn {
            enrolment,
            still_enrolled: true,
        };
        assert!(enrolment_withdrawn(&kept).is_empty());
    }
}
