//! `enrol` and `deploy`: putting people on a course.
//!
//! - `enrol` is decided on each person (`enrolments.create`: a manager their team, a Local
//!   Administrator their location, a learner themselves), so a manager enrols their team with
//!   `--group`: its members are read from identity as the caller.
//! - `deploy` is a duty on the course (`courses.deploy`: its Course Tutor and Course
//!   Administrators, the tenant's course administrators) and on each person reached;
//!   delegation reads the groups' members itself.
//!
//! Both send long lists a thousand people a call (the API's most), drawing progress when
//! there is more than one call. Each call enrols all its people or none; a refusal stops the
//! run, and running it again enrols only who is still missing.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use lms_api::common::v1::ConsistencyToken;
use lms_api::delegation::v1::{DeployCourseRequest, EnrolRequest};
use lms_api::identity::v1::ListGroupMembersRequest;
use lms_client::output::Rows;
use lms_client::{Client, progress};

/// People one Enrol or DeployCourse call names at most (the API's limit).
const USERS_PER_CALL: usize = 1000;
/// Groups one DeployCourse call names at most (the API's limit).
const GROUPS_PER_CALL: usize = 100;

/// Who `lmsctl enrol` enrols.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("who").required(true).multiple(true).args(["users", "groups", "users_file"])
))]
pub struct EnrolArgs {
    /// The course.
    course: String,
    /// Learners.
    users: Vec<String>,
    /// Every member of this group too (a manager's team); repeatable.
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    /// The learners listed in this file too, one id a line (`-` reads standard input).
    #[arg(long, value_name = "FILE")]
    users_file: Option<PathBuf>,
}

impl EnrolArgs {
    /// Whether groups are named (their members are read from identity).
    pub fn names_groups(&self) -> bool {
        !self.groups.is_empty()
    }
}

/// Where `lmsctl deploy` deploys.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("to").required(true).multiple(true).args(["users", "groups", "users_file"])
))]
pub struct DeployArgs {
    /// The course.
    course: String,
    /// A learner; repeatable.
    #[arg(long = "user", value_name = "USER")]
    users: Vec<String>,
    /// A group: each member is enrolled once; repeatable.
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    /// The learners listed in this file too, one id a line (`-` reads standard input).
    #[arg(long, value_name = "FILE")]
    users_file: Option<PathBuf>,
}

/// User ids from a file's text: one a line; blank lines and `#` comments are skipped.
fn listed_users(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The lines of `file`, or of standard input for `-`.
fn read_users_file(file: &Path) -> anyhow::Result<Vec<String>> {
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("reading user ids from standard input")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    Ok(listed_users(&text))
}

/// `ids` without repeats, in the order first named: each person is counted once.
fn distinct(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

/// The users named on the command line and in the file, each once.
fn named(users: Vec<String>, file: Option<&Path>) -> anyhow::Result<Vec<String>> {
    let from_file = match file {
        Some(file) => read_users_file(file)?,
        None => Vec::new(),
    };
    Ok(distinct(users.into_iter().chain(from_file)))
}

/// One call's share of a run: the users (and groups) it names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Call {
    users: Vec<String>,
    groups: Vec<String>,
    /// Where its users start in the whole list (0-based), for messages.
    first: usize,
}

/// `users` and `groups` split into calls within the API's limits: users a thousand a call,
/// groups a hundred, the groups riding along with the first calls. Always at least one call.
fn calls(users: &[String], groups: &[String]) -> Vec<Call> {
    let user_chunks: Vec<&[String]> = users.chunks(USERS_PER_CALL).collect();
    let group_chunks: Vec<&[String]> = groups.chunks(GROUPS_PER_CALL).collect();
    let count = user_chunks.len().max(group_chunks.len()).max(1);
    (0..count)
        .map(|i| Call {
            users: user_chunks.get(i).map_or_else(Vec::new, |c| c.to_vec()),
            groups: group_chunks.get(i).map_or_else(Vec::new, |c| c.to_vec()),
            first: i * USERS_PER_CALL,
        })
        .collect()
}

/// What a run wrote, summed over its calls.
#[derive(Debug, Default)]
struct Tally {
    enrolled: i64,
    reached: i64,
    written_at: Option<ConsistencyToken>,
}

impl Tally {
    /// `12 enrolled`, and how many of those reached were enrolled before.
    fn summary(&self) -> String {
        let before = self.reached - self.enrolled;
        match before > 0 {
            true => format!(
                "{} enrolled; {} were enrolled already",
                progress::thousands(self.enrolled),
                progress::thousands(before)
            ),
            false => format!("{} enrolled", progress::thousands(self.enrolled)),
        }
    }

    fn rows(self, course: &str) -> Rows {
        let mut rows = Rows::new(&["course", "reached", "enrolled", "written_at"]);
        rows.push(vec![
            course.to_owned(),
            self.reached.to_string(),
            self.enrolled.to_string(),
            crate::token(self.written_at),
        ]);
        rows
    }
}

/// What to call a failed call: the verb, and for a long run which users it carried and that
/// the calls before it stand.
fn what_failed(verb: &str, call: &Call, total: usize) -> String {
    if total <= USERS_PER_CALL || call.users.is_empty() {
        return verb.to_owned();
    }
    let last = call.first + call.users.len();
    let done = if call.first == 0 {
        String::new()
    } else {
        format!(
            "; the first {} stand, and running it again enrols only who is missing",
            progress::thousands(call.first as i64)
        )
    };
    format!(
        "{verb} (users {}-{} of {}{done})",
        progress::thousands(call.first as i64 + 1),
        progress::thousands(last as i64),
        progress::thousands(total as i64)
    )
}

/// Sends `calls` one after the other through `send` (which answers users enrolled, people
/// reached and the token), drawing progress over `total` people when there is more than one.
async fn run_calls<F, Fut>(
    verb: &str,
    calls: Vec<Call>,
    total: usize,
    mut send: F,
) -> anyhow::Result<Tally>
where
    F: FnMut(Call) -> Fut,
    Fut: std::future::Future<Output = Result<(i32, i32, Option<ConsistencyToken>), tonic::Status>>,
{
    let drawing = calls.len() > 1 && std::io::stderr().is_terminal();
    let mut tally = Tally::default();
    let mut sent = 0;
    for call in calls {
        let what = what_failed(verb, &call, total);
        let carried = call.users.len();
        let (enrolled, reached, written_at) = send(call)
            .await
            .map_err(|status| anyhow::Error::new(status).context(what))?;
        tally.enrolled += i64::from(enrolled);
        tally.reached += i64::from(reached);
        // Each token covers the tenant's writes before it: the last one covers the run.
        tally.written_at = written_at.or(tally.written_at);
        sent += carried;
        if drawing {
            progress::redraw(&progress::bar(
                sent as i64,
                total as i64,
                "people",
                &format!("{} enrolled", progress::thousands(tally.enrolled)),
            ));
        }
    }
    if drawing {
        progress::note("");
    }
    progress::note(&tally.summary());
    Ok(tally)
}

/// Every member of `group`, as identity shows them to the caller.
async fn members(identity: &Client, group: &str) -> anyhow::Result<Vec<String>> {
    let mut members = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = identity
            .groups()
            .list_group_members(ListGroupMembersRequest {
                group_id: group.to_owned(),
                page_size: 1000,
                page_token,
            })
            .await
            .with_context(|| format!("members of group {group}"))?
            .into_inner();
        members.extend(page.user_ids);
        if page.next_page_token.is_empty() {
            return Ok(members);
        }
        page_token = page.next_page_token;
    }
}

/// `lmsctl enrol`: the users named and the members of the groups named, each once, through
/// delegation's Enrol; `identity` is needed when groups are named.
pub async fn enrol(
    identity: Option<&Client>,
    delegation: &Client,
    args: EnrolArgs,
) -> anyhow::Result<Rows> {
    let mut users = named(args.users, args.users_file.as_deref())?;
    for group in &args.groups {
        let identity = identity.context("groups are read from identity")?;
        users.extend(members(identity, group).await?);
    }
    let users = distinct(users);
    let total = users.len();
    let course = args.course;
    let tally = run_calls("enrol", calls(&users, &[]), total, |call| {
        let mut enrolments = delegation.enrolments();
        let course_id = course.clone();
        async move {
            let reached = i32::try_from(call.users.len()).unwrap_or(i32::MAX);
            let answer = enrolments
                .enrol(EnrolRequest {
                    course_id,
                    user_ids: call.users,
                })
                .await?
                .into_inner();
            Ok((answer.users_enrolled, reached, answer.written_at))
        }
    })
    .await?;
    Ok(tally.rows(&course))
}

/// `lmsctl deploy`: the course to the users and groups named, through delegation's
/// DeployCourse. People reached are counted per call: someone named and also in a group
/// counts once per call that reaches them.
pub async fn deploy(delegation: &Client, args: DeployArgs) -> anyhow::Result<Rows> {
    let users = named(args.users, args.users_file.as_deref())?;
    let groups = distinct(args.groups);
    let course = args.course;
    let tally = run_calls("deploy", calls(&users, &groups), users.len(), |call| {
        let mut courses = delegation.courses();
        let course_id = course.clone();
        async move {
            let answer = courses
                .deploy_course(DeployCourseRequest {
                    course_id,
                    user_ids: call.users,
                    group_ids: call.groups,
                    catalogue_ids: Vec::new(),
                })
                .await?
                .into_inner();
            Ok((
                answer.users_enrolled,
                answer.users_reached,
                answer.written_at,
            ))
        }
    })
    .await?;
    Ok(tally.rows(&course))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("u{i}")).collect()
    }

    #[test]
    fn a_users_file_is_one_id_a_line_with_blanks_and_comments_skipped() {
        let text = "# exported from the roster\nu1\n\n  u2  \r\n# u3 left\nu1\n";
        assert_eq!(listed_users(text), ["u1", "u2", "u1"]);
        assert_eq!(
            distinct(listed_users(text).into_iter().chain(["u4".to_owned()])),
            ["u1", "u2", "u4"]
        );
    }

    #[test]
    fn long_lists_go_a_thousand_users_and_a_hundred_groups_a_call() {
        let one = calls(&ids(3), &ids(2));
        assert_eq!(one.len(), 1);
        assert_eq!((one[0].users.len(), one[0].groups.len()), (3, 2));

        let many = calls(&ids(2_500), &ids(150));
        let sizes: Vec<(usize, usize, usize)> = many
            .iter()
            .map(|c| (c.first, c.users.len(), c.groups.len()))
            .collect();
        assert_eq!(sizes, [(0, 1000, 100), (1000, 1000, 50), (2000, 500, 0)]);
        // Every user and group is sent exactly once, in order.
        let sent: Vec<String> = many.iter().flat_map(|c| c.users.clone()).collect();
        assert_eq!(sent, ids(2_500));

        let only_groups = calls(&[], &ids(250));
        assert_eq!(only_groups.len(), 3);
        assert!(only_groups.iter().all(|c| c.users.is_empty()));
        assert_eq!(calls(&[], &[]).len(), 1);
    }

    #[test]
    fn a_failed_call_of_a_long_run_says_which_users_it_carried_and_that_earlier_ones_stand() {
        let long = calls(&ids(2_500), &[]);
        assert_eq!(
            what_failed("deploy", &long[0], 2_500),
            "deploy (users 1-1,000 of 2,500)"
        );
        let second = what_failed("deploy", &long[1], 2_500);
        assert!(second.starts_with("deploy (users 1,001-2,000 of 2,500; the first 1,000 stand"));
        assert_eq!(what_failed("enrol", &calls(&ids(5), &[])[0], 5), "enrol");
    }

    #[test]
    fn the_summary_says_who_was_enrolled_before() {
        let tally = |enrolled, reached| Tally {
            enrolled,
            reached,
            written_at: None,
        };
        assert_eq!(tally(12, 12).summary(), "12 enrolled");
        assert_eq!(
            tally(0, 12).summary(),
            "0 enrolled; 12 were enrolled already"
        );
        assert_eq!(
            tally(1_500, 2_000).summary(),
            "1,500 enrolled; 500 were enrolled already"
        );
    }

    #[test]
    fn enrol_and_deploy_need_someone_to_reach() {
        use clap::Parser;

        #[derive(Debug, Parser)]
        enum Verb {
            Enrol(EnrolArgs),
            Deploy(DeployArgs),
        }
        assert!(Verb::try_parse_from(["t", "enrol", "C"]).is_err());
        assert!(Verb::try_parse_from(["t", "deploy", "C"]).is_err());
        let Verb::Enrol(enrol) = Verb::try_parse_from(["t", "enrol", "C", "u1", "u2"]).unwrap()
        else {
            panic!("enrol")
        };
        assert_eq!((enrol.course.as_str(), enrol.users.len()), ("C", 2));
        let Verb::Deploy(deploy) = Verb::try_parse_from([
            "t", "deploy", "C", "--user", "u1", "--group", "g1", "--group", "g2",
        ])
        .unwrap() else {
            panic!("deploy")
        };
        assert_eq!((deploy.users.len(), deploy.groups.len()), (1, 2));
        let Verb::Enrol(team) =
            Verb::try_parse_from(["t", "enrol", "C", "--group", "team"]).unwrap()
        else {
            panic!("enrol")
        };
        assert!(team.users.is_empty() && team.groups == ["team"]);
    }
}
