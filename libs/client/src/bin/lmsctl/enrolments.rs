//! `enrolments`: who is on a course, or which courses a learner is on, and the enrolment
//! requests of courses that need approval. A course's enrolments are for those who deploy it;
//! a learner sees their own. Only the Course Tutor decides a request (a Course Administrator
//! sees it, and is refused). An approved Teacher gives students access to a course's content
//! (`grant-access`), passing their approval's token to act on it at once.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use lms_api::delegation::v1::{
    DecideEnrolmentRequestRequest, Enrolment, EnrolmentRequest, EnrolmentRequestStatus,
    EnrolmentState, GrantContentAccessRequest, ListEnrolmentRequestsRequest, ListEnrolmentsRequest,
    RequestEnrolmentRequest, WithdrawRequest,
};
use lms_client::Client;
use lms_client::output::{Rows, utc_of};

/// What `lmsctl enrolments` does: lists enrolments, or one of the verbs below.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EnrolmentsArgs {
    #[command(subcommand)]
    command: Option<EnrolmentCommand>,
    #[command(flatten)]
    whose: Whose,
}

/// Whose enrolments (or requests): a course's, a learner's, or a learner's on one course.
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct Whose {
    /// On this course (its Course Tutor, Course Administrators and course administrators).
    #[arg(long)]
    course: Option<String>,
    /// Of this learner (yourself, or people whose enrolments you may read).
    #[arg(long)]
    user: Option<String>,
}

/// The verbs of `lmsctl enrolments`.
#[derive(Debug, Subcommand)]
pub enum EnrolmentCommand {
    /// Ask to join a course, as yourself: enrolled at once, or a request that waits for the
    /// Course Tutor when the course needs approval (asking again answers the same request).
    Request {
        /// The course.
        course: String,
    },
    /// Approve or reject a waiting request (the Course Tutor).
    Decide {
        /// The request.
        request: String,
        #[command(flatten)]
        verdict: Verdict,
    },
    /// Enrolment requests of a course or of a learner, oldest first.
    Requests {
        #[command(flatten)]
        whose: Whose,
        /// Only requests in this state.
        #[arg(long, value_enum)]
        status: Option<RequestStatus>,
    },
    /// Take a learner off a course (their open enrolment; it stays on record as withdrawn).
    Withdraw {
        /// The course.
        course: String,
        /// The learner.
        user: String,
    },
    /// Give students access to a course's content, enrolling them (an approved Teacher; at most
    /// 1000 a call). Those enrolled already are left as they are.
    GrantAccess {
        /// The course.
        course: String,
        /// A student; repeatable.
        #[arg(long = "user", value_name = "USER", required = true)]
        users: Vec<String>,
    },
}

/// Approve or reject: exactly one.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Verdict {
    /// Enrol the learner.
    #[arg(long)]
    approve: bool,
    /// Turn the request down.
    #[arg(long)]
    reject: bool,
}

/// The state of a request, as `--status` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RequestStatus {
    /// Waiting for the Course Tutor.
    Requested,
    /// Approved: the learner is enrolled.
    Approved,
    /// Rejected.
    Rejected,
}

impl RequestStatus {
    fn proto(self) -> EnrolmentRequestStatus {
        match self {
            RequestStatus::Requested => EnrolmentRequestStatus::Requested,
            RequestStatus::Approved => EnrolmentRequestStatus::Approved,
            RequestStatus::Rejected => EnrolmentRequestStatus::Rejected,
        }
    }
}

// `learner`, not `user`: `-o env` would otherwise assign the shell's own `USER`.
const ENROLMENT_COLUMNS: [&str; 7] = [
    "enrolment",
    "course",
    "learner",
    "state",
    "since",
    "score",
    "enrolled_by",
];

const REQUEST_COLUMNS: [&str; 7] = [
    "request",
    "course",
    "learner",
    "status",
    "requested_at",
    "decided_at",
    "decided_by",
];

/// An enrolment's state and when it entered it.
fn state(enrolment: &Enrolment) -> (&'static str, String) {
    match enrolment.state() {
        EnrolmentState::InProgress => ("in_progress", utc_of(enrolment.started_at)),
        EnrolmentState::Completed => ("completed", utc_of(enrolment.completed_at)),
        EnrolmentState::Withdrawn => ("withdrawn", utc_of(enrolment.withdrawn_at)),
        EnrolmentState::Enrolled | EnrolmentState::Unspecified => {
            ("enrolled", utc_of(enrolment.enrolled_at))
        }
    }
}

fn enrolment_cells(enrolment: Enrolment) -> Vec<String> {
    let (state, since) = state(&enrolment);
    vec![
        enrolment.enrolment_id,
        enrolment.course_id,
        enrolment.user_id,
        state.to_owned(),
        since,
        enrolment.score.map(|s| s.to_string()).unwrap_or_default(),
        enrolment.enrolled_by,
    ]
}

fn status(request: &EnrolmentRequest) -> &'static str {
    match request.status() {
        EnrolmentRequestStatus::Approved => "approved",
        EnrolmentRequestStatus::Rejected => "rejected",
        EnrolmentRequestStatus::Requested | EnrolmentRequestStatus::Unspecified => "requested",
    }
}

fn request_cells(request: EnrolmentRequest) -> Vec<String> {
    let status = status(&request).to_owned();
    vec![
        request.request_id,
        request.course_id,
        request.user_id,
        status,
        utc_of(request.requested_at),
        utc_of(request.decided_at),
        request.decided_by,
    ]
}

/// One row of `columns` plus a `written_at` column.
fn written(columns: &[&'static str], cells: Vec<String>, token: String) -> Rows {
    let mut rows = Rows::new(&[columns, &["written_at"]].concat());
    rows.push([cells, vec![token]].concat());
    rows
}

/// Runs `enrolments` against delegation.
pub async fn run(delegation: &Client, args: EnrolmentsArgs) -> anyhow::Result<Rows> {
    let mut enrolments = delegation.enrolments();
    let Some(command) = args.command else {
        return list(delegation, args.whose).await;
    };
    Ok(match command {
        EnrolmentCommand::Request { course } => {
            let asked = enrolments
                .request_enrolment(RequestEnrolmentRequest { course_id: course })
                .await
                .context("request enrolment")?
                .into_inner();
            let token = crate::token(asked.written_at);
            match (asked.request, asked.enrolment) {
                (Some(request), _) => written(&REQUEST_COLUMNS, request_cells(request), token),
                (None, Some(enrolment)) => {
                    written(&ENROLMENT_COLUMNS, enrolment_cells(enrolment), token)
                }
                (None, None) => anyhow::bail!("request enrolment: the answer is empty"),
            }
        }
        EnrolmentCommand::Decide { request, verdict } => {
            let decided = enrolments
                .decide_enrolment_request(DecideEnrolmentRequestRequest {
                    request_id: request,
                    approve: verdict.approve,
                })
                .await
                .context(if verdict.approve {
                    "approve request"
                } else {
                    "reject request"
                })?
                .into_inner();
            let mut cells = request_cells(decided.request.unwrap_or_default());
            cells.push(
                decided
                    .enrolment
                    .map(|e| e.enrolment_id)
                    .unwrap_or_default(),
            );
            written(
                &[&REQUEST_COLUMNS[..], &["enrolment"]].concat(),
                cells,
                crate::token(decided.written_at),
            )
        }
        EnrolmentCommand::Requests { whose, status } => {
            let mut rows = Rows::new(&REQUEST_COLUMNS);
            let mut page_token = String::new();
            loop {
                let page = enrolments
                    .list_enrolment_requests(ListEnrolmentRequestsRequest {
                        course_id: whose.course.clone().unwrap_or_default(),
                        user_id: whose.user.clone().unwrap_or_default(),
                        status: status.map_or(0, |s| s.proto() as i32),
                        page_size: 1000,
                        page_token,
                    })
                    .await
                    .context("list enrolment requests")?
                    .into_inner();
                for request in page.requests {
                    rows.push(request_cells(request));
                }
                if page.next_page_token.is_empty() {
                    break rows;
                }
                page_token = page.next_page_token;
            }
        }
        EnrolmentCommand::Withdraw { course, user } => {
            let withdrawn = enrolments
                .withdraw(WithdrawRequest {
                    course_id: course,
                    user_id: user,
                })
                .await
                .context("withdraw")?
                .into_inner();
            written(
                &ENROLMENT_COLUMNS,
                enrolment_cells(withdrawn.enrolment.unwrap_or_default()),
                crate::token(withdrawn.written_at),
            )
        }
        EnrolmentCommand::GrantAccess { course, users } => {
            let reached = users.len();
            let granted = enrolments
                .grant_content_access(GrantContentAccessRequest {
                    course_id: course.clone(),
                    user_ids: users,
                })
                .await
                .context("grant content access")?
                .into_inner();
            let mut rows = Rows::new(&["course", "reached", "enrolled", "written_at"]);
            rows.push(vec![
                course,
                reached.to_string(),
                granted.users_enrolled.to_string(),
                crate::token(granted.written_at),
            ]);
            rows
        }
    })
}

/// Every enrolment `whose` names, every state, oldest first.
async fn list(delegation: &Client, whose: Whose) -> anyhow::Result<Rows> {
    let mut enrolments = delegation.enrolments();
    let mut rows = Rows::new(&ENROLMENT_COLUMNS);
    let mut page_token = String::new();
    loop {
        let page = enrolments
            .list_enrolments(ListEnrolmentsRequest {
                course_id: whose.course.clone().unwrap_or_default(),
                user_id: whose.user.clone().unwrap_or_default(),
                page_size: 1000,
                page_token,
            })
            .await
            .context("list enrolments")?
            .into_inner();
        for enrolment in page.enrolments {
            rows.push(enrolment_cells(enrolment));
        }
        if page.next_page_token.is_empty() {
            return Ok(rows);
        }
        page_token = page.next_page_token;
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use prost_types::Timestamp;

    use super::*;

    #[derive(Debug, Parser)]
    struct Line {
        #[command(flatten)]
        args: EnrolmentsArgs,
    }

    fn parse(args: &[&str]) -> Result<EnrolmentsArgs, clap::Error> {
        Line::try_parse_from(std::iter::once("enrolments").chain(args.iter().copied()))
            .map(|line| line.args)
    }

    #[test]
    fn a_listing_names_a_course_a_learner_or_both_and_verbs_need_neither() {
        assert!(parse(&[]).is_err(), "whose enrolments?");
        let course = parse(&["--course", "c1"]).unwrap();
        assert_eq!(course.whose.course.as_deref(), Some("c1"));
        assert!(course.command.is_none());
        let both = parse(&["--course", "c1", "--user", "u1"]).unwrap();
        assert_eq!(both.whose.user.as_deref(), Some("u1"));

        let asked = parse(&["request", "c1"]).unwrap();
        assert!(
            matches!(asked.command, Some(EnrolmentCommand::Request { course }) if course == "c1")
        );
        assert!(parse(&["--course", "c1", "request", "c1"]).is_err());
        assert!(parse(&["requests"]).is_err(), "whose requests?");
        let waiting = parse(&["requests", "--course", "c1", "--status", "requested"]).unwrap();
        assert!(matches!(
            waiting.command,
            Some(EnrolmentCommand::Requests {
                status: Some(RequestStatus::Requested),
                ..
            })
        ));
        assert!(parse(&["withdraw", "c1"]).is_err(), "a learner too");
    }

    #[test]
    fn granting_access_names_the_students() {
        assert!(parse(&["grant-access", "c1"]).is_err(), "which students?");
        let granted = parse(&["grant-access", "c1", "--user", "u1", "--user", "u2"]).unwrap();
        let Some(EnrolmentCommand::GrantAccess { course, users }) = granted.command else {
            panic!("grant-access parses as itself");
        };
        assert_eq!(
            (course.as_str(), users),
            ("c1", vec!["u1".into(), "u2".into()])
        );
    }

    #[test]
    fn a_decision_is_exactly_one_of_approve_and_reject() {
        let approve = parse(&["decide", "r1", "--approve"]).unwrap();
        assert!(matches!(
            approve.command,
            Some(EnrolmentCommand::Decide {
                verdict: Verdict {
                    approve: true,
                    reject: false
                },
                ..
            })
        ));
        assert!(parse(&["decide", "r1", "--reject"]).is_ok());
        assert!(parse(&["decide", "r1"]).is_err());
        assert!(parse(&["decide", "r1", "--approve", "--reject"]).is_err());
    }

    #[test]
    fn an_enrolment_shows_its_state_since_it_entered_it() {
        let at = |seconds| Some(Timestamp { seconds, nanos: 0 });
        let completed = Enrolment {
            enrolment_id: "e1".into(),
            state: EnrolmentState::Completed as i32,
            enrolled_at: at(0),
            completed_at: at(86_400),
            score: Some(92.5),
            ..Default::default()
        };
        let cells = enrolment_cells(completed);
        assert_eq!(cells[3..6], ["completed", "1970-01-02T00:00:00Z", "92.5"]);
        let fresh = enrolment_cells(Enrolment {
            state: EnrolmentState::Enrolled as i32,
            enrolled_at: at(60),
            ..Default::default()
        });
        assert_eq!(fresh[3..6], ["enrolled", "1970-01-01T00:01:00Z", ""]);
        assert!(!ENROLMENT_COLUMNS.contains(&"user") && !REQUEST_COLUMNS.contains(&"user"));
    }
}
