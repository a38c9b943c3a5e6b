//! Responsibilities: narrow duties on one course, event or group, allowed only to holders of
//! certain roles (the responsibility matrix), each conferring a fixed set of duties there.

use std::fmt;

use crate::ids::UserId;
use crate::permission::{Permission, PermissionSet};
use crate::template::Template;

/// A narrow duty on one object.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum Responsibility {
    /// The single Course Tutor of a course.
    CourseTutor,
    /// A Course Administrator of a course.
    CourseAdministrator,
    /// An Event Administrator of an event.
    EventAdministrator,
    /// A Group Administrator of a group.
    GroupAdministrator,
    /// The Group Manager of a group.
    GroupManager,
}

use Permission as P;

/// What Course Administrators (and the Course Tutor) do on a course, its lessons and events.
pub const COURSE_ADMINISTRATION: PermissionSet = PermissionSet::of(&[
    P::CoursesRead,
    P::CoursesUpdate,
    P::CoursesDeploy,
    P::LessonsRead,
    P::LessonsUpdate,
    P::LessonsAssign,
    P::EventsRead,
    P::EventsCreate,
    P::EventsUpdate,
    P::EventsDelete,
    P::BookingsRead,
    P::BookingsCreate,
    P::BookingsApprove,
    P::BookingsCancel,
    P::AttendanceMark,
    P::EnrolmentsRead,
    P::EnrolmentsCreate,
    P::CompetenciesRead,
    P::ReportsRead,
]);

/// The duties only the Course Tutor has.
pub const COURSE_TUTOR_ONLY: PermissionSet =
    PermissionSet::of(&[P::EnrolmentsApprove, P::CompetenciesSignOff]);

/// What an Event Administrator does on an event.
pub const EVENT_ADMINISTRATION: PermissionSet = PermissionSet::of(&[
    P::EventsRead,
    P::EventsUpdate,
    P::BookingsRead,
    P::BookingsCreate,
    P::BookingsApprove,
    P::BookingsCancel,
    P::AttendanceMark,
    P::ReportsRead,
]);

const GROUP_OVERSIGHT: PermissionSet =
    PermissionSet::of(&[P::UsersRead, P::ReportsRead, P::GroupsRead]);

impl Responsibility {
    /// Every responsibility.
    pub const ALL: [Responsibility; 5] = [
        Responsibility::CourseTutor,
        Responsibility::CourseAdministrator,
        Responsibility::EventAdministrator,
        Responsibility::GroupAdministrator,
        Responsibility::GroupManager,
    ];

    /// What the holder may do on the object (and, for courses, its lessons and events; for
    /// groups, its members).
    pub const fn duties(self) -> PermissionSet {
        match self {
            Responsibility::CourseTutor => COURSE_ADMINISTRATION.union(COURSE_TUTOR_ONLY),
            Responsibility::CourseAdministrator => COURSE_ADMINISTRATION,
            Responsibility::EventAdministrator => EVENT_ADMINISTRATION,
            Responsibility::GroupAdministrator => GROUP_OVERSIGHT,
            Responsibility::GroupManager => GROUP_OVERSIGHT.with(P::BookingsCreate),
        }
    }

    /// The wire name.
    pub const fn name(self) -> &'static str {
        match self {
            Responsibility::CourseTutor => "course_tutor",
            Responsibility::CourseAdministrator => "course_administrator",
            Responsibility::EventAdministrator => "event_administrator",
            Responsibility::GroupAdministrator => "group_administrator",
            Responsibility::GroupManager => "group_manager",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Responsibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The responsibilities a role allows its holders to take.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ResponsibilitySet(u8);

impl ResponsibilitySet {
    /// None.
    pub const NONE: ResponsibilitySet = ResponsibilitySet(0);

    /// The set of `responsibilities`.
    pub const fn of(responsibilities: &[Responsibility]) -> ResponsibilitySet {
        let mut bits = 0;
        let mut i = 0;
        while i < responsibilities.len() {
            bits |= responsibilities[i].bit();
            i += 1;
        }
        ResponsibilitySet(bits)
    }

    /// Whether `responsibility` is allowed.
    pub const fn contains(self, responsibility: Responsibility) -> bool {
        self.0 & responsibility.bit() != 0
    }

    /// The set as bits, for storage.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// A set from stored bits; unknown bits are dropped.
    pub const fn from_bits(bits: u8) -> ResponsibilitySet {
        ResponsibilitySet(bits & 0b1_1111)
    }

    /// Both sets.
    pub const fn union(self, other: ResponsibilitySet) -> ResponsibilitySet {
        ResponsibilitySet(self.0 | other.0)
    }
}

impl fmt::Debug for ResponsibilitySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(Responsibility::ALL.iter().filter(|r| self.contains(**r)))
            .finish()
    }
}

/// The responsibility matrix: which responsibilities holders of each built-in template may be
/// given. A custom role copied from a template keeps its source's row; a role from scratch allows
/// none. [`check_responsibility`] enforces it when a responsibility is given, and the decision
/// enforces it again when one is used.
pub const fn matrix(template: Template) -> ResponsibilitySet {
    use Responsibility as R;
    match template {
        Template::Manager => ResponsibilitySet::of(&[R::GroupAdministrator, R::GroupManager]),
        Template::Tutor => ResponsibilitySet::of(&[
            R::CourseTutor,
            R::CourseAdministrator,
            R::EventAdministrator,
        ]),
        Template::ManagerTutor | Template::TrainingCoordinator | Template::LmsAdministrator => {
            ResponsibilitySet::of(&Responsibility::ALL)
        }
        _ => ResponsibilitySet::NONE,
    }
}

/// Why a responsibility cannot be given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResponsibilityError {
    /// None of the user's roles allows it (the responsibility matrix).
    #[error("none of the user's roles allows the {0} responsibility")]
    NotAllowedForRoles(Responsibility),
    /// The course already has a Course Tutor.
    #[error("the course already has a Course Tutor")]
    CourseTutorTaken,
}

/// Checks a new responsibility against the holder's roles (`allowed`, the union of what their
/// roles allow) and, for a Course Tutor, against the course's current tutor.
pub fn check_responsibility(
    responsibility: Responsibility,
    allowed: ResponsibilitySet,
    holder: UserId,
    current_course_tutor: Option<UserId>,
) -> Result<(), ResponsibilityError> {
    if !allowed.contains(responsibility) {
        return Err(ResponsibilityError::NotAllowedForRoles(responsibility));
    }
    if responsibility == Responsibility::CourseTutor
        && current_course_tutor.is_some_and(|tutor| tutor != holder)
    {
        return Err(ResponsibilityError::CourseTutorTaken);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_gives_groups_to_managers_and_courses_to_tutors() {
        let manager = matrix(Template::Manager);
        let tutor = matrix(Template::Tutor);
        assert!(manager.contains(Responsibility::GroupManager));
        assert!(manager.contains(Responsibility::GroupAdministrator));
        assert!(!manager.contains(Responsibility::CourseTutor));
        assert!(tutor.contains(Responsibility::CourseTutor));
        assert!(!tutor.contains(Responsibility::GroupManager));
        assert_eq!(matrix(Template::Student), ResponsibilitySet::NONE);
        for template in Template::ALL {
            assert_eq!(template.responsibilities(), matrix(template));
            assert_eq!(template.role().responsibilities(), matrix(template));
        }
    }

    #[test]
    fn a_responsibility_needs_a_role_that_allows_it() {
        let holder = UserId::generate();
        for template in Template::ALL {
            for responsibility in Responsibility::ALL {
                assert_eq!(
                    check_responsibility(responsibility, matrix(template), holder, None).is_ok(),
                    matrix(template).contains(responsibility),
                    "{template:?} {responsibility}"
                );
            }
        }
        assert_eq!(
            check_responsibility(
                Responsibility::GroupManager,
                ResponsibilitySet::NONE,
                holder,
                None
            )
            .unwrap_err()
            .to_string(),
            "none of the user's roles allows the group_manager responsibility"
        );
    }
}
