//! The relationship facts delegation owns and authorization reads (DESIGN.md §6), built from
//! records: one builder per change, each answering the outbox event that carries it. Handlers
//! call one builder per change and never build a fact themselves.

use lms_api::authorization::v1::{
    Operation, Relation, Relationship, RelationshipUpdate, WriteRelationshipsRequest,
};
use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_kernel::{CourseId, Responsibility, UnitId, Window};
use lms_runtime::outbox;

use crate::convert::{reference, timestamp};
use crate::store::{CourseRecord, LessonRecord, NewEvent, Removed, ResponsibilityRecord};

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

fn event(updates: Vec<RelationshipUpdate>) -> Vec<NewEvent> {
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
    event(
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
    event(unit.into_iter().chain(lessons).chain(duties).collect())
}

/// A new lesson belongs to its course.
pub fn lesson_created(lesson: &LessonRecord) -> Vec<NewEvent> {
    event(vec![parent_course(lesson, Operation::Touch)])
}

/// A lesson deleted.
pub fn lesson_deleted(lesson: &LessonRecord) -> Vec<NewEvent> {
    event(vec![parent_course(lesson, Operation::Delete)])
}

/// A responsibility given (or its window changed).
pub fn responsibility_given(record: &ResponsibilityRecord) -> Vec<NewEvent> {
    event(
        responsibility(record, Operation::Touch)
            .into_iter()
            .collect(),
    )
}

/// A responsibility taken away.
pub fn responsibility_taken(record: &ResponsibilityRecord) -> Vec<NewEvent> {
    event(
        responsibility(record, Operation::Delete)
            .into_iter()
            .collect(),
    )
}
