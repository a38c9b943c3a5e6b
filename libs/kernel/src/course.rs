//! Courses and their lessons: what a course's title may be, when a course is archived rather
//! than erased, where a lesson goes in its course, and when a responsibility on a course is in
//! effect (at most one Course Tutor at any moment, cover included).

use std::fmt;

use crate::ids::UserId;

/// The longest course, lesson or catalogue title, in characters.
pub const TITLE_MAX: usize = 200;
/// The longest description, in characters.
pub const DESCRIPTION_MAX: usize = 10_000;

/// A course's, lesson's or catalogue's title: trimmed, 1 to [`TITLE_MAX`] characters, no
/// control characters.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Title(String);

/// Why a title or description is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Nothing but white space.
    #[error("is required")]
    Empty,
    /// Longer than allowed.
    #[error("is longer than {0} characters")]
    TooLong(usize),
    /// A control character (a line break in a title, say).
    #[error("contains a control character")]
    Control,
}

impl Title {
    /// The title `text` names, trimmed.
    pub fn parse(text: &str) -> Result<Title, TextError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(TextError::Empty);
        }
        if text.chars().count() > TITLE_MAX {
            return Err(TextError::TooLong(TITLE_MAX));
        }
        if text.chars().any(char::is_control) {
            return Err(TextError::Control);
        }
        Ok(Title(text.to_owned()))
    }

    /// The title.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Title {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A description: at most [`DESCRIPTION_MAX`] characters, line breaks allowed.
pub fn check_description(text: &str) -> Result<(), TextError> {
    if text.chars().count() > DESCRIPTION_MAX {
        return Err(TextError::TooLong(DESCRIPTION_MAX));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(TextError::Control);
    }
    Ok(())
}

/// Where a course is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CourseStatus {
    /// Open: it can be taught, deployed and enrolled on.
    Active,
    /// Deleted once people had enrolled: kept, read-only, so its history stays reportable.
    Archived,
}

impl CourseStatus {
    /// The status's number, as the API and the stores write it.
    pub const fn code(self) -> i16 {
        match self {
            CourseStatus::Active => 1,
            CourseStatus::Archived => 2,
        }
    }

    /// The status a number names, if any.
    pub const fn from_code(code: i16) -> Option<CourseStatus> {
        match code {
            1 => Some(CourseStatus::Active),
            2 => Some(CourseStatus::Archived),
            _ => None,
        }
    }

    /// The status in words.
    pub const fn name(self) -> &'static str {
        match self {
            CourseStatus::Active => "active",
            CourseStatus::Archived => "archived",
        }
    }
}

/// What deleting a course does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Removal {
    /// Nobody ever enrolled: the course, its lessons and its responsibilities go.
    Erase,
    /// Someone enrolled: the course is archived, its enrolments and history kept.
    Archive,
}

/// Why a change to a course is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CourseError {
    /// An archived course is read-only.
    #[error("the course is archived")]
    Archived,
}

/// What deleting a course in `status` does, given whether anyone ever enrolled on it.
pub fn removal(status: CourseStatus, ever_enrolled: bool) -> Result<Removal, CourseError> {
    match (status, ever_enrolled) {
        (CourseStatus::Archived, _) => Err(CourseError::Archived),
        (CourseStatus::Active, true) => Ok(Removal::Archive),
        (CourseStatus::Active, false) => Ok(Removal::Erase),
    }
}

/// Refuses changes to an archived course.
pub fn check_changeable(status: CourseStatus) -> Result<(), CourseError> {
    match status {
        CourseStatus::Active => Ok(()),
        CourseStatus::Archived => Err(CourseError::Archived),
    }
}

/// Why a lesson position is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be between 1 and {last}")]
pub struct PositionError {
    /// The last position allowed.
    pub last: u32,
}

/// The position (1-based) a lesson takes among `count` others when `asked` (`None`: after
/// them). The lessons from that position on move down one.
pub fn insert_position(asked: Option<u32>, count: u32) -> Result<u32, PositionError> {
    let last = count + 1;
    match asked {
        None => Ok(last),
        Some(position) if (1..=last).contains(&position) => Ok(position),
        Some(_) => Err(PositionError { last }),
    }
}

/// The position a lesson moves to among `count` lessons (itself included).
pub fn move_position(asked: u32, count: u32) -> Result<u32, PositionError> {
    if (1..=count).contains(&asked) {
        Ok(asked)
    } else {
        Err(PositionError { last: count })
    }
}

/// When a responsibility is in effect: from `from` (inclusive) until `until` (exclusive), Unix
/// seconds; either end open. Cover for an absence starts and ends by itself.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Window {
    /// First second in effect; `None`: since it was given.
    pub from: Option<i64>,
    /// First second no longer in effect; `None`: until taken away.
    pub until: Option<i64>,
}

/// Why a validity window is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// It ends before it starts.
    #[error("ends before it starts")]
    Reversed,
    /// It ended already.
    #[error("has ended already")]
    Over,
}

impl Window {
    /// Always in effect.
    pub const ALWAYS: Window = Window {
        from: None,
        until: None,
    };

    /// A window from `from` to `until`, checked at `now`: it must end after it starts and after
    /// `now` (a responsibility that ended already would give nothing).
    pub fn new(from: Option<i64>, until: Option<i64>, now: i64) -> Result<Window, WindowError> {
        if let (Some(from), Some(until)) = (from, until)
            && until <= from
        {
            return Err(WindowError::Reversed);
        }
        if until.is_some_and(|until| until <= now) {
            return Err(WindowError::Over);
        }
        Ok(Window { from, until })
    }

    /// Whether it is in effect at `at`.
    pub fn contains(self, at: i64) -> bool {
        self.from.is_none_or(|from| from <= at) && self.until.is_none_or(|until| at < until)
    }

    /// Whether the two share a moment.
    pub fn overlaps(self, other: Window) -> bool {
        let starts_before_other_ends = match (self.from, other.until) {
            (Some(from), Some(until)) => from < until,
            _ => true,
        };
        let other_starts_before_this_ends = match (other.from, self.until) {
            (Some(from), Some(until)) => from < until,
            _ => true,
        };
        starts_before_other_ends && other_starts_before_this_ends
    }

    /// Whether it is over at `at` (nothing more to give).
    pub fn is_over(self, at: i64) -> bool {
        self.until.is_some_and(|until| until <= at)
    }
}

/// Why a Course Tutor cannot be given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the course has a Course Tutor ({holder}) then")]
pub struct TutorTaken {
    /// Who tutors the course during the asked window.
    pub holder: UserId,
}

/// Checks a new Course Tutor `user` for `window` against the course's tutors (`current`, each
/// with their window, ended ones included or not): a course has at most one Course Tutor at any
/// moment, so a cover tutor's window must not overlap another tutor's. The same person again
/// replaces their own window.
pub fn check_course_tutor(
    user: UserId,
    window: Window,
    current: &[(UserId, Window)],
    now: i64,
) -> Result<(), TutorTaken> {
    match current
        .iter()
        .find(|(holder, held)| *holder != user && !held.is_over(now) && held.overlaps(window))
    {
        Some((holder, _)) => Err(TutorTaken { holder: *holder }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_bounded_and_single_line() {
        assert_eq!(
            Title::parse("  Safety 101 ").unwrap().as_str(),
            "Safety 101"
        );
        assert_eq!(Title::parse("   "), Err(TextError::Empty));
        assert_eq!(Title::parse("a\nb"), Err(TextError::Control));
        assert_eq!(
            Title::parse(&"x".repeat(TITLE_MAX + 1)),
            Err(TextError::TooLong(TITLE_MAX))
        );
        assert!(Title::parse(&"é".repeat(TITLE_MAX)).is_ok());
        assert!(check_description("two\nlines\tand tabs").is_ok());
        assert_eq!(check_description("bell\u{7}"), Err(TextError::Control));
    }

    #[test]
    fn a_course_anyone_enrolled_on_is_archived_not_erased() {
        assert_eq!(removal(CourseStatus::Active, false), Ok(Removal::Erase));
        assert_eq!(removal(CourseStatus::Active, true), Ok(Removal::Archive));
        assert_eq!(
            removal(CourseStatus::Archived, true),
            Err(CourseError::Archived)
        );
        assert_eq!(
            check_changeable(CourseStatus::Archived),
            Err(CourseError::Archived)
        );
        for status in [CourseStatus::Active, CourseStatus::Archived] {
            assert_eq!(CourseStatus::from_code(status.code()), Some(status));
        }
        assert_eq!(CourseStatus::from_code(0), None);
    }

    #[test]
    fn lessons_go_where_asked_within_the_course() {
        assert_eq!(insert_position(None, 3), Ok(4));
        assert_eq!(insert_position(Some(1), 3), Ok(1));
        assert_eq!(insert_position(Some(4), 3), Ok(4));
        assert_eq!(insert_position(Some(5), 3), Err(PositionError { last: 4 }));
        assert_eq!(insert_position(Some(0), 0), Err(PositionError { last: 1 }));
        assert_eq!(move_position(3, 3), Ok(3));
        assert_eq!(move_position(4, 3), Err(PositionError { last: 3 }));
    }

    #[test]
    fn windows_must_end_after_they_start_and_after_now() {
        assert_eq!(
            Window::new(Some(10), Some(10), 0),
            Err(WindowError::Reversed)
        );
        assert_eq!(Window::new(None, Some(5), 5), Err(WindowError::Over));
        let cover = Window::new(Some(10), Some(20), 0).unwrap();
        assert!(!cover.contains(9) && cover.contains(10) && cover.contains(19));
        assert!(!cover.contains(20));
        assert!(Window::ALWAYS.contains(i64::MIN));
    }

    #[test]
    fn windows_overlap_when_they_share_a_second() {
        let w = |from, until| Window { from, until };
        assert!(w(Some(0), Some(10)).overlaps(w(Some(9), Some(20))));
        assert!(!w(Some(0), Some(10)).overlaps(w(Some(10), Some(20))));
        assert!(!w(Some(10), Some(20)).overlaps(w(Some(0), Some(10))));
        assert!(Window::ALWAYS.overlaps(w(Some(5), Some(6))));
        assert!(w(None, Some(10)).overlaps(w(Some(9), None)));
        assert!(!w(None, Some(10)).overlaps(w(Some(10), None)));
    }

    #[test]
    fn a_course_has_one_tutor_at_a_time_and_cover_fits_around_them() {
        let (tutor, cover) = (UserId::generate(), UserId::generate());
        let now = 100;
        let until_200 = Window {
            from: None,
            until: Some(200),
        };
        let current = [(tutor, until_200)];
        let overlapping = Window::new(Some(150), Some(300), now).unwrap();
        assert_eq!(
            check_course_tutor(cover, overlapping, &current, now),
            Err(TutorTaken { holder: tutor })
        );
        let after = Window::new(Some(200), Some(300), now).unwrap();
        assert_eq!(check_course_tutor(cover, after, &current, now), Ok(()));
        // The same tutor again only changes their own window.
        assert_eq!(
            check_course_tutor(tutor, Window::ALWAYS, &current, now),
            Ok(())
        );
        // A tutor whose window is over is no obstacle.
        assert_eq!(
            check_course_tutor(cover, Window::ALWAYS, &current, 200),
            Ok(())
        );
    }
}
