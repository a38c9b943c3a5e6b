//! `courses`: courses, their lessons and the duties on them (delegation). Every call is decided
//! by authorization as you: a Tutor sees and edits the courses they tutor and nothing else.

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::delegation::v1::{
    AssignResponsibilityRequest, Course, CourseStatus, CreateCourseRequest, CreateLessonRequest,
    DeleteCourseRequest, GetCourseRequest, ListCoursesRequest, ListLessonsRequest,
    ListResponsibilitiesRequest, RemoveResponsibilityRequest, Responsibility, ResponsibilityKind,
    UpdateCourseRequest,
};
use lms_client::Client;
use lms_client::output::Rows;
use prost_types::{FieldMask, Timestamp};

/// What `lmsctl courses` does.
#[derive(Debug, Subcommand)]
pub enum CourseCommand {
    /// The courses you may see.
    List {
        /// Archived courses too.
        #[arg(long)]
        archived: bool,
    },
    /// One course, with its tutor and administrators.
    Get {
        /// The course.
        course: String,
    },
    /// Create a course at the tenant, or owned by a unit.
    Create {
        /// Its title.
        title: String,
        /// The owning unit.
        #[arg(long)]
        unit: Option<String>,
        /// Its description.
        #[arg(long, default_value = "")]
        description: String,
        /// Enrolment waits for the Course Tutor's approval.
        #[arg(long)]
        approval: bool,
    },
    /// Change a course's title, description or approval rule.
    Update {
        /// The course.
        course: String,
        /// New title.
        #[arg(long)]
        title: Option<String>,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        /// Whether enrolment waits for the Course Tutor.
        #[arg(long)]
        approval: Option<bool>,
    },
    /// Delete a course (archived instead once anyone enrolled).
    Delete {
        /// The course.
        course: String,
    },
    /// A course's lessons, in order.
    Lessons {
        /// The course.
        course: String,
    },
    /// Add a lesson to a course.
    AddLesson {
        /// The course.
        course: String,
        /// Its title.
        title: String,
        /// Its position (1 first); last when left out.
        #[arg(long)]
        position: Option<i32>,
    },
    /// The duties on a course.
    Duties {
        /// The course.
        course: String,
    },
    /// Give someone a duty on a course, for good or for a while (cover).
    Give {
        /// The course.
        course: String,
        /// The person.
        user: String,
        /// Which duty.
        #[arg(long, value_enum)]
        duty: Duty,
        /// Starts this long from now (`30m`, `2h`, `7d`); now when left out.
        #[arg(long, value_parser = parse_offset)]
        from: Option<i64>,
        /// Ends this long from now (`2h`, `7d`); never when left out.
        #[arg(long, value_parser = parse_offset)]
        until: Option<i64>,
    },
    /// Take a duty on a course away.
    Take {
        /// The course.
        course: String,
        /// The person.
        user: String,
        /// Which duty.
        #[arg(long, value_enum)]
        duty: Duty,
    },
}

/// A duty on a course.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Duty {
    /// The course's one Course Tutor.
    Tutor,
    /// A Course Administrator.
    Administrator,
}

/// Seconds in `30s`, `30m`, `2h` or `7d`.
pub(crate) fn parse_offset(text: &str) -> Result<i64, String> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("{text:?} is not like 30m, 2h or 7d")),
    };
    number
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .map(|n| n * seconds)
        .ok_or_else(|| format!("{text:?} is not like 30m, 2h or 7d"))
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

const COLUMNS: [&str; 6] = [
    "course",
    "title",
    "unit",
    "status",
    "tutor",
    "administrators",
];

fn course_row(rows: &mut Rows, course: Course) {
    let status = match course.status() {
        CourseStatus::Archived => "archived",
        _ => "active",
    };
    rows.push(vec![
        course.course_id,
        course.title,
        course.unit_id,
        status.into(),
        course.tutor_user_id,
        course.administrator_user_ids.join(" "),
    ]);
}

fn one(course: Option<Course>) -> Rows {
    let mut rows = Rows::new(&COLUMNS);
    course_row(&mut rows, course.unwrap_or_default());
    rows
}

fn duty(
    course: String,
    user: String,
    duty: Duty,
    window: (Option<i64>, Option<i64>),
) -> Responsibility {
    let kind = match duty {
        Duty::Tutor => ResponsibilityKind::CourseTutor,
        Duty::Administrator => ResponsibilityKind::CourseAdministrator,
    };
    let at = |offset: Option<i64>| {
        offset.map(|o| Timestamp {
            seconds: now() + o,
            nanos: 0,
        })
    };
    Responsibility {
        kind: kind as i32,
        user_id: user,
        object: Some(ObjectReference {
            r#type: ObjectType::Course as i32,
            id: course,
            tenant_id: String::new(),
        }),
        valid_from: at(window.0),
        valid_until: at(window.1),
    }
}

/// The written-at column of a write.
fn written(token: Option<lms_api::common::v1::ConsistencyToken>) -> Rows {
    let mut rows = Rows::new(&["written_at"]);
    rows.push(vec![crate::token(token)]);
    rows
}

/// Runs `command` against delegation.
pub async fn run(delegation: &Client, command: CourseCommand) -> anyhow::Result<Rows> {
    let mut courses = delegation.courses();
    Ok(match command {
        CourseCommand::List { archived } => {
            let mut rows = Rows::new(&COLUMNS);
            let mut page_token = String::new();
            loop {
                let page = courses
                    .list_courses(ListCoursesRequest {
                        page_size: 500,
                        page_token,
                        include_archived: archived,
                    })
                    .await
                    .context("list courses")?
                    .into_inner();
                for course in page.courses {
                    course_row(&mut rows, course);
                }
                if page.next_page_token.is_empty() {
                    break rows;
                }
                page_token = page.next_page_token;
            }
        }
        CourseCommand::Get { course } => one(courses
            .get_course(GetCourseRequest { course_id: course })
            .await
            .context("get course")?
            .into_inner()
            .course),
        CourseCommand::Create {
            title,
            unit,
            description,
            approval,
        } => one(courses
            .create_course(CreateCourseRequest {
                title,
                description,
                unit_id: unit.unwrap_or_default(),
                enrolment_requires_approval: approval,
            })
            .await
            .map_err(|e| anyhow::Error::new(e).context("create course"))?
            .into_inner()
            .course),
        CourseCommand::Update {
            course,
            title,
            description,
            approval,
        } => {
            let mut paths = Vec::new();
            let mut changed = Course::default();
            if let Some(title) = title {
                paths.push("title".to_owned());
                changed.title = title;
            }
            if let Some(description) = description {
                paths.push("description".to_owned());
                changed.description = description;
            }
            if let Some(approval) = approval {
                paths.push("enrolment_requires_approval".to_owned());
                changed.enrolment_requires_approval = approval;
            }
            one(courses
                .update_course(UpdateCourseRequest {
                    course_id: course,
                    course: Some(changed),
                    update_mask: Some(FieldMask { paths }),
                })
                .await
                .map_err(|e| anyhow::Error::new(e).context("update course"))?
                .into_inner()
                .course)
        }
        CourseCommand::Delete { course } => {
            let deleted = courses
                .delete_course(DeleteCourseRequest { course_id: course })
                .await
                .map_err(|e| anyhow::Error::new(e).context("delete course"))?
                .into_inner();
            let mut rows = Rows::new(&["archived", "written_at"]);
            rows.push(vec![
                deleted.archived.to_string(),
                crate::token(deleted.written_at),
            ]);
            rows
        }
        CourseCommand::Lessons { course } => {
            let lessons = delegation
                .lessons()
                .list_lessons(ListLessonsRequest { course_id: course })
                .await
                .context("list lessons")?
                .into_inner()
                .lessons;
            let mut rows = Rows::new(&["position", "lesson", "title"]);
            for lesson in lessons {
                rows.push(vec![
                    lesson.position.to_string(),
                    lesson.lesson_id,
                    lesson.title,
                ]);
            }
            rows
        }
        CourseCommand::AddLesson {
            course,
            title,
            position,
        } => {
            let made = delegation
                .lessons()
                .create_lesson(CreateLessonRequest {
                    course_id: course,
                    title,
                    position: position.unwrap_or(0),
                })
                .await
                .map_err(|e| anyhow::Error::new(e).context("add lesson"))?
                .into_inner();
            let lesson = made.lesson.unwrap_or_default();
            let mut rows = Rows::new(&["position", "lesson", "title", "written_at"]);
            rows.push(vec![
                lesson.position.to_string(),
                lesson.lesson_id,
                lesson.title,
                crate::token(made.written_at),
            ]);
            rows
        }
        CourseCommand::Duties { course } => {
            let duties = delegation
                .responsibilities()
                .list_responsibilities(ListResponsibilitiesRequest {
                    object: Some(ObjectReference {
                        r#type: ObjectType::Course as i32,
                        id: course,
                        tenant_id: String::new(),
                    }),
                    user_id: String::new(),
                })
                .await
                .context("list duties")?
                .into_inner()
                .responsibilities;
            let mut rows = Rows::new(&["duty", "user", "from", "until"]);
            for duty in duties {
                let kind = match duty.kind() {
                    ResponsibilityKind::CourseTutor => "tutor",
                    ResponsibilityKind::CourseAdministrator => "administrator",
                    _ => "other",
                };
                let at =
                    |t: Option<Timestamp>| t.map(|t| t.seconds.to_string()).unwrap_or_default();
                rows.push(vec![
                    kind.into(),
                    duty.user_id,
                    at(duty.valid_from),
                    at(duty.valid_until),
                ]);
            }
            rows
        }
        CourseCommand::Give {
            course,
            user,
            duty: kind,
            from,
            until,
        } => written(
            delegation
                .responsibilities()
                .assign_responsibility(AssignResponsibilityRequest {
                    responsibility: Some(duty(course, user, kind, (from, until))),
                })
                .await
                .map_err(|e| anyhow::Error::new(e).context("give duty"))?
                .into_inner()
                .written_at,
        ),
        CourseCommand::Take {
            course,
            user,
            duty: kind,
        } => written(
            delegation
                .responsibilities()
                .remove_responsibility(RemoveResponsibilityRequest {
                    responsibility: Some(duty(course, user, kind, (None, None))),
                })
                .await
                .map_err(|e| anyhow::Error::new(e).context("take duty"))?
                .into_inner()
                .written_at,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::parse_offset;

    #[test]
    fn offsets_read_like_durations() {
        assert_eq!(parse_offset("30m"), Ok(1_800));
        assert_eq!(parse_offset("7d"), Ok(604_800));
        assert!(parse_offset("7").is_err());
        assert!(parse_offset("-1h").is_err());
        assert!(parse_offset("h").is_err());
    }
}
