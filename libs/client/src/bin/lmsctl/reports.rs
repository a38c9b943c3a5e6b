//! `report`: the reports reporting answers, each showing exactly what the caller may see.
//! `report progress` lists learners' progress (every page), or writes the whole report to a
//! file as CSV or JSON lines (`--export`) with a progress bar; a file is only ever named as
//! asked once its last row arrived, so a cut export never looks complete.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use lms_api::reporting::v1::{
    ExportFormat, ExportLearnerProgressRequest, GetTenantSummaryRequest, LearnerProgressRow,
    ListAttendanceRequest, ListCompetencySignOffsRequest, ListEnrolmentRequestsRequest,
    ListLearnerProgressRequest, ListPurchasesRequest, ProgressOrder, ProgressState, ProgressTotals,
};
use lms_client::Client;
use lms_client::output::{Rows, utc_of};
use lms_client::progress::{bar, note, redraw};

/// The verbs of `lmsctl report`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Learners' progress on courses (not started, in progress, completed): yours, and the
    /// people and courses you may report on (team, groups, units, tutored courses, tenant).
    Progress(ProgressArgs),
    /// Bookings and attendance by event: your own, your people's, and every booking on the
    /// events you administer or of the courses you report on whole.
    Attendance {
        /// Only this event.
        #[arg(long)]
        event: Option<String>,
        /// Only events of this course.
        #[arg(long)]
        course: Option<String>,
    },
    /// Competency checks signed off, newest first.
    Competencies {
        /// Only this course.
        #[arg(long)]
        course: Option<String>,
        /// Only this learner.
        #[arg(long)]
        user: Option<String>,
    },
    /// Enrolment requests (waiting, approved, rejected), newest first.
    Requests {
        /// Only this course.
        #[arg(long)]
        course: Option<String>,
        /// Only this learner.
        #[arg(long)]
        user: Option<String>,
        /// Only those still waiting for the Course Tutor.
        #[arg(long)]
        waiting: bool,
    },
    /// Shop orders with their seats bought, invitations waiting and taken, and seats free,
    /// newest first: your own and those of the people you may report on.
    Purchases {
        /// Only this course.
        #[arg(long)]
        course: Option<String>,
        /// Only this buyer.
        #[arg(long)]
        buyer: Option<String>,
    },
    /// Learners by course and state, with the sum: every course of the tenant for a
    /// tenant-wide reader, the courses you tutor or administer (or your units own) otherwise.
    Summary,
}

/// Filters, order and export of `report progress`.
#[derive(Debug, Args)]
pub struct ProgressArgs {
    /// Only this course.
    #[arg(long)]
    course: Option<String>,
    /// Only this learner.
    #[arg(long)]
    user: Option<String>,
    /// Only members of this group.
    #[arg(long)]
    group: Option<String>,
    /// Only people employed at this unit or below it.
    #[arg(long)]
    unit: Option<String>,
    /// Only this state.
    #[arg(long, value_enum)]
    state: Option<State>,
    /// The order of the rows.
    #[arg(long, value_enum, default_value = "learner")]
    order: Order,
    /// Write the whole report as this format (needs reports.export) instead of listing it.
    #[arg(long, value_enum, requires = "file")]
    export: Option<Export>,
    /// Where `--export` writes (`-` for standard output).
    #[arg(long)]
    file: Option<PathBuf>,
}

/// A progress state, as `--state` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum State {
    /// Enrolled, not started.
    NotStarted,
    /// Started.
    InProgress,
    /// Completed.
    Completed,
}

/// The order, as `--order` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Order {
    /// By learner's name, then course.
    Learner,
    /// By course title, then learner.
    Course,
}

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Export {
    /// CSV with a header row; cells a spreadsheet would run come as text.
    Csv,
    /// One JSON object per line.
    Json,
}

const COLUMNS: [&str; 8] = [
    "learner",
    "name",
    "main_role",
    "course",
    "title",
    "state",
    "completed_at",
    "score",
];

fn state_name(state: i32) -> &'static str {
    match ProgressState::try_from(state) {
        Ok(ProgressState::InProgress) => "in_progress",
        Ok(ProgressState::Completed) => "completed",
        _ => "not_started",
    }
}

fn cells(row: LearnerProgressRow) -> Vec<String> {
    vec![
        row.user_id,
        row.display_name,
        row.main_role_id,
        row.course_id,
        row.course_title,
        state_name(row.state).to_owned(),
        utc_of(row.completed_at),
        row.score.map(|s| s.to_string()).unwrap_or_default(),
    ]
}

fn query(args: &ProgressArgs) -> ListLearnerProgressRequest {
    ListLearnerProgressRequest {
        course_id: args.course.clone().unwrap_or_default(),
        user_id: args.user.clone().unwrap_or_default(),
        group_id: args.group.clone().unwrap_or_default(),
        unit_id: args.unit.clone().unwrap_or_default(),
        state: match args.state {
            None => ProgressState::Unspecified,
            Some(State::NotStarted) => ProgressState::NotStarted,
            Some(State::InProgress) => ProgressState::InProgress,
            Some(State::Completed) => ProgressState::Completed,
        } as i32,
        order: match args.order {
            Order::Learner => ProgressOrder::Learner,
            Order::Course => ProgressOrder::Course,
        } as i32,
        ..Default::default()
    }
}

/// Runs `report` against reporting: the rows to print, or `None` when an export wrote them.
pub async fn run(reporting: &Client, command: ReportCommand) -> anyhow::Result<Option<Rows>> {
    match command {
        ReportCommand::Progress(args) => match (args.export, &args.file) {
            (Some(format), Some(file)) => {
                export(reporting, query(&args), format, file).await?;
                Ok(None)
            }
            _ => progress(reporting, query(&args)).await.map(Some),
        },
        ReportCommand::Summary => summary(reporting).await.map(Some),
        ReportCommand::Competencies { course, user } => competencies(
            reporting,
            course.unwrap_or_default(),
            user.unwrap_or_default(),
        )
        .await
        .map(Some),
        ReportCommand::Requests {
            course,
            user,
            waiting,
        } => requests(
            reporting,
            ListEnrolmentRequestsRequest {
                course_id: course.unwrap_or_default(),
                user_id: user.unwrap_or_default(),
                waiting_only: waiting,
                ..Default::default()
            },
        )
        .await
        .map(Some),
        ReportCommand::Purchases { course, buyer } => purchases(
            reporting,
            ListPurchasesRequest {
                course_id: course.unwrap_or_default(),
                buyer_user_id: buyer.unwrap_or_default(),
                ..Default::default()
            },
        )
        .await
        .map(Some),
        ReportCommand::Attendance { event, course } => attendance(
            reporting,
            event.unwrap_or_default(),
            course.unwrap_or_default(),
        )
        .await
        .map(Some),
    }
}

const ATTENDANCE_COLUMNS: [&str; 7] = [
    "event",
    "title",
    "starts_at",
    "booking",
    "learner",
    "name",
    "status",
];

/// Every row of a paged listing: `page` fetches the page after a token (empty: the first) and
/// answers its rows and the next token (empty on the last page).
async fn every_page<R>(
    mut page: impl AsyncFnMut(String) -> anyhow::Result<(Vec<R>, String)>,
) -> anyhow::Result<Vec<R>> {
    let (mut rows, mut token) = (Vec::new(), String::new());
    loop {
        let (more, next) = page(token).await?;
        rows.extend(more);
        if next.is_empty() {
            return Ok(rows);
        }
        token = next;
    }
}

/// Every booking of the attendance report, page after page.
async fn attendance(
    reporting: &Client,
    event_id: String,
    course_id: String,
) -> anyhow::Result<Rows> {
    let mut reports = reporting.reports();
    let bookings = every_page(async |page_token| {
        let page = reports
            .list_attendance(ListAttendanceRequest {
                event_id: event_id.clone(),
                course_id: course_id.clone(),
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .context("list attendance")?
            .into_inner();
        Ok((page.rows, page.next_page_token))
    })
    .await?;
    let mut rows = Rows::new(&ATTENDANCE_COLUMNS);
    for row in bookings {
        rows.push(vec![
            row.event_id,
            row.event_title,
            utc_of(row.starts_at),
            row.booking_id,
            row.user_id,
            row.display_name,
            row.booking_status,
        ]);
    }
    Ok(rows)
}

/// Every sign-off of the report, page after page.
async fn competencies(
    reporting: &Client,
    course_id: String,
    user_id: String,
) -> anyhow::Result<Rows> {
    let mut reports = reporting.reports();
    let sign_offs = every_page(async |page_token| {
        let page = reports
            .list_competency_sign_offs(ListCompetencySignOffsRequest {
                course_id: course_id.clone(),
                user_id: user_id.clone(),
                page_size: 1000,
                page_token,
            })
            .await
            .context("list competency sign-offs")?
            .into_inner();
        Ok((page.rows, page.next_page_token))
    })
    .await?;
    let mut rows = Rows::new(&[
        "check",
        "course",
        "title",
        "learner",
        "name",
        "signed_off_by",
        "at",
        "note",
    ]);
    for row in sign_offs {
        rows.push(vec![
            row.check_id,
            row.course_id,
            row.course_title,
            row.user_id,
            row.display_name,
            row.signed_off_by,
            utc_of(row.signed_off_at),
            row.note,
        ]);
    }
    Ok(rows)
}

/// Every enrolment request of the report, page after page.
async fn requests(reporting: &Client, query: ListEnrolmentRequestsRequest) -> anyhow::Result<Rows> {
    let mut reports = reporting.reports();
    let requests = every_page(async |page_token| {
        let page = reports
            .list_enrolment_requests(ListEnrolmentRequestsRequest {
                page_size: 1000,
                page_token,
                ..query.clone()
            })
            .await
            .context("list enrolment requests")?
            .into_inner();
        Ok((page.rows, page.next_page_token))
    })
    .await?;
    let mut rows = Rows::new(&[
        "request",
        "course",
        "title",
        "learner",
        "name",
        "status",
        "requested_at",
        "decided_at",
    ]);
    for row in requests {
        rows.push(vec![
            row.request_id,
            row.course_id,
            row.course_title,
            row.user_id,
            row.display_name,
            row.status,
            utc_of(row.requested_at),
            utc_of(row.decided_at),
        ]);
    }
    Ok(rows)
}

/// Every order of the purchases report, page after page.
async fn purchases(reporting: &Client, query: ListPurchasesRequest) -> anyhow::Result<Rows> {
    let mut reports = reporting.reports();
    let orders = every_page(async |page_token| {
        let page = reports
            .list_purchases(ListPurchasesRequest {
                page_size: 1000,
                page_token,
                ..query.clone()
            })
            .await
            .context("list purchases")?
            .into_inner();
        Ok((page.rows, page.next_page_token))
    })
    .await?;
    let mut rows = Rows::new(&[
        "order",
        "shop_order",
        "course",
        "title",
        "buyer",
        "name",
        "seats",
        "waiting",
        "taken",
        "free",
        "placed_at",
    ]);
    for row in orders {
        rows.push(vec![
            row.order_id,
            row.shop_order_id,
            row.course_id,
            row.course_title,
            row.buyer_user_id,
            row.buyer_display_name,
            row.seats.to_string(),
            row.waiting.to_string(),
            row.taken.to_string(),
            row.free.to_string(),
            utc_of(row.placed_at),
        ]);
    }
    Ok(rows)
}

const SUMMARY_COLUMNS: [&str; 6] = [
    "course",
    "title",
    "not_started",
    "in_progress",
    "completed",
    "withdrawn",
];

fn totals_cells(totals: ProgressTotals, course: String) -> Vec<String> {
    vec![
        course,
        totals.course_title,
        totals.not_started.to_string(),
        totals.in_progress.to_string(),
        totals.completed.to_string(),
        totals.withdrawn.to_string(),
    ]
}

/// Every course of the summary, then its sum as the row `total`.
async fn summary(reporting: &Client) -> anyhow::Result<Rows> {
    let mut reports = reporting.reports();
    let mut rows = Rows::new(&SUMMARY_COLUMNS);
    let mut page_token = String::new();
    loop {
        let page = reports
            .get_tenant_summary(GetTenantSummaryRequest {
                page_size: 1000,
                page_token,
            })
            .await
            .context("tenant summary")?
            .into_inner();
        for course in page.courses {
            let id = course.course_id.clone();
            rows.push(totals_cells(course, id));
        }
        if page.next_page_token.is_empty() {
            if let Some(total) = page.total {
                rows.push(totals_cells(total, "total".into()));
            }
            return Ok(rows);
        }
        page_token = page.next_page_token;
    }
}

async fn progress(reporting: &Client, query: ListLearnerProgressRequest) -> anyhow::Result<Rows> {
    let mut reports = reporting.reports();
    let mut rows = Rows::new(&COLUMNS);
    let mut page_token = String::new();
    loop {
        let page = reports
            .list_learner_progress(ListLearnerProgressRequest {
                page_size: 1000,
                page_token,
                ..query.clone()
            })
            .await
            .context("list learner progress")?
            .into_inner();
        for row in page.rows {
            rows.push(cells(row));
        }
        if page.next_page_token.is_empty() {
            return Ok(rows);
        }
        page_token = page.next_page_token;
    }
}

/// Streams the export into `file` (through `<file>.partial`, renamed once complete), drawing
/// the bar on standard error.
async fn export(
    reporting: &Client,
    query: ListLearnerProgressRequest,
    format: Export,
    file: &Path,
) -> anyhow::Result<()> {
    let format = match format {
        Export::Csv => ExportFormat::Csv,
        Export::Json => ExportFormat::JsonLines,
    };
    let mut stream = reporting
        .reports()
        .export_learner_progress(ExportLearnerProgressRequest {
            query: Some(query),
            format: format as i32,
        })
        .await
        .context("export learner progress")?
        .into_inner();
    let to_stdout = file == Path::new("-");
    let partial = file.with_extension("partial");
    let mut out: Box<dyn Write> = match to_stdout {
        true => Box::new(std::io::stdout().lock()),
        false => Box::new(std::io::BufWriter::new(
            std::fs::File::create(&partial)
                .with_context(|| format!("cannot write {}", partial.display()))?,
        )),
    };
    let label = file.display().to_string();
    let mut complete = false;
    while let Some(chunk) = stream.message().await.context("export learner progress")? {
        out.write_all(&chunk.data)?;
        redraw(&bar(chunk.rows_sent, chunk.rows_total, "rows", &label));
        complete = chunk.complete;
    }
    out.flush()?;
    drop(out);
    note("");
    anyhow::ensure!(
        complete,
        "the export ended before its last row; {} holds a part of it",
        if to_stdout {
            "the output"
        } else {
            "the .partial file"
        }
    );
    if !to_stdout {
        std::fs::rename(&partial, file)
            .with_context(|| format!("cannot name the export {}", file.display()))?;
    }
    Ok(())
}
