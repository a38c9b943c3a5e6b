//! How report rows are written out: CSV a spreadsheet opens without running anything, or one
//! JSON object per line.
//!
//! A spreadsheet reads a cell starting with `=`, `+`, `-` or `@` (and, in some, a tab or a
//! carriage return) as a formula, so a name like `=HYPERLINK(...)` typed into a profile would run
//! on the administrator's machine. Such a cell is written with a `'` before it (OWASP's "CSV
//! injection" advice), which spreadsheets show as text; every cell is then quoted (RFC 4180),
//! so where a spreadsheet separates lists with `;`, `x;=cmd` cannot become a cell of its own.

use lms_api::reporting::v1::LearnerProgressRow;
use lms_runtime::request::seconds;

/// The format of an export.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    /// CSV with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

/// The columns of a progress export, in order.
pub const PROGRESS_COLUMNS: [&str; 14] = [
    "tenant_id",
    "user_id",
    "display_name",
    "email",
    "course_id",
    "course_title",
    "state",
    "enrolled_at",
    "started_at",
    "completed_at",
    "score",
    "main_role_id",
    "team_name",
    "unit_name",
];

/// One CSV cell: protected against formula injection, and quoted.
pub fn csv_cell(value: &str) -> String {
    let protected = match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    };
    format!("\"{}\"", protected.replace('"', "\"\""))
}

fn csv_line<'a>(cells: impl IntoIterator<Item = &'a str>) -> String {
    let mut line = cells
        .into_iter()
        .map(csv_cell)
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// What a file of `format` starts with: the CSV header row, or nothing.
pub fn header(format: Format) -> String {
    match format {
        // Constant names: nothing to protect or quote.
        Format::Csv => format!("{}\r\n", PROGRESS_COLUMNS.join(",")),
        Format::JsonLines => String::new(),
    }
}

/// The state as an export names it.
fn state_name(state: i32) -> &'static str {
    use lms_api::reporting::v1::ProgressState;
    match ProgressState::try_from(state) {
        Ok(ProgressState::NotStarted) => "not_started",
        Ok(ProgressState::InProgress) => "in_progress",
        Ok(ProgressState::Completed) => "completed",
        _ => "",
    }
}

/// A time as seconds since the epoch, or empty.
fn time(at: Option<&prost_types::Timestamp>) -> String {
    seconds(at).map(|s| s.to_string()).unwrap_or_default()
}

/// One row in `format`, with its line ending.
pub fn progress_line(row: &LearnerProgressRow, format: Format) -> String {
    let score = row.score.map(|s| s.to_string()).unwrap_or_default();
    let cells = [
        row.tenant_id.clone(),
        row.user_id.clone(),
        row.display_name.clone(),
        row.email.clone(),
        row.course_id.clone(),
        row.course_title.clone(),
        state_name(row.state).to_owned(),
        time(row.enrolled_at.as_ref()),
        time(row.started_at.as_ref()),
        time(row.completed_at.as_ref()),
        score,
        row.main_role_id.clone(),
        row.team_name.clone(),
        row.unit_name.clone(),
    ];
    match format {
        Format::Csv => csv_line(cells.iter().map(String::as_str)),
        Format::JsonLines => {
            let object: serde_json::Map<String, serde_json::Value> = PROGRESS_COLUMNS
                .iter()
                .zip(cells)
                .map(|(column, value)| ((*column).to_owned(), serde_json::Value::String(value)))
                .collect();
            let mut line = serde_json::Value::Object(object).to_string();
            line.push('\n');
            line
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_a_spreadsheet_would_run_is_written_as_text() {
        for formula in ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"] {
            assert!(csv_cell(formula).starts_with("\"'"), "{formula:?}");
        }
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("Ann"), "\"Ann\"");
        assert_eq!(csv_cell("Smith, Ann"), "\"Smith, Ann\"");
        // Quoted, `x;=cmd` stays one cell where `;` separates a spreadsheet's list.
        assert_eq!(csv_cell("x;=cmd"), "\"x;=cmd\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell(""), "\"\"");
    }

    #[test]
    fn a_row_is_one_line_in_either_format() {
        let row = LearnerProgressRow {
            user_id: "u".into(),
            display_name: "=cmd|' /C calc'!A0".into(),
            course_title: "Fire, and safety".into(),
            state: 3,
            completed_at: Some(prost_types::Timestamp {
                seconds: 60,
                nanos: 0,
            }),
            score: Some(0.5),
            main_role_id: "builtin:student".into(),
            ..Default::default()
        };
        let csv = progress_line(&row, Format::Csv);
        assert_eq!(
            csv,
            "\"\",\"u\",\"'=cmd|' /C calc'!A0\",\"\",\"\",\"Fire, and safety\",\"completed\",\
             \"\",\"\",\"60\",\"0.5\",\"builtin:student\",\"\",\"\"\r\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(progress_line(&row, Format::JsonLines).trim_end()).unwrap();
        assert_eq!(json["display_name"], "=cmd|' /C calc'!A0");
        assert_eq!(json["state"], "completed");
        assert_eq!(json["main_role_id"], "builtin:student");
        assert_eq!(header(Format::Csv).matches(',').count(), 13);
    }
}
