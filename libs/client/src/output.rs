//! Output for people (aligned tables) or programs (JSON).

use serde_json::Value;

/// How `lmsctl` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// One JSON document.
    Json,
    /// Shell assignments, `COLUMN='value'` per cell, for one-row answers a script reads with
    /// `eval "$(lmsctl ... -o env)"` (several rows print one block each, in order).
    Env,
}

/// Rows with named columns, printable either way.
#[derive(Debug, Default)]
pub struct Rows {
    columns: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Rows {
    /// An empty table with these columns.
    pub fn new(columns: &[&'static str]) -> Rows {
        Rows {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row, one cell per column.
    pub fn push(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// No rows at all.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The text to print.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Json => {
                let objects: Vec<Value> = self
                    .rows
                    .iter()
                    .map(|row| {
                        Value::Object(
                            self.columns
                                .iter()
                                .zip(row)
                                .map(|(c, v)| ((*c).to_owned(), Value::String(v.clone())))
                                .collect(),
                        )
                    })
                    .collect();
                let value = if objects.len() == 1 {
                    objects[0].clone()
                } else {
                    Value::Array(objects)
                };
                format!("{value}\n")
            }
            Format::Env => {
                let mut text = String::new();
                for row in &self.rows {
                    for (column, value) in self.columns.iter().zip(row) {
                        text.push_str(&format!(
                            "{}={}\n",
                            column.to_uppercase(),
                            shell_quoted(value)
                        ));
                    }
                }
                text
            }
            Format::Table => {
                let widths: Vec<usize> = self
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        self.rows
                            .iter()
                            .map(|r| r[i].len())
                            .chain([c.len()])
                            .max()
                            .unwrap_or(0)
                    })
                    .collect();
                let line = |cells: Vec<&str>| {
                    let padded: Vec<String> = cells
                        .iter()
                        .zip(&widths)
                        .map(|(c, w)| format!("{c:<w$}"))
                        .collect();
                    format!("{}\n", padded.join("  ").trim_end())
                };
                let mut text = line(
                    self.columns
                        .iter()
                        .map(|c| c.to_uppercase())
                        .collect::<Vec<_>>()
                        .iter()
                        .map(String::as_str)
                        .collect(),
                );
                for row in &self.rows {
                    text.push_str(&line(row.iter().map(String::as_str).collect()));
                }
                text
            }
        }
    }
}

/// A Unix time as UTC, `2026-01-31T09:05:00Z`.
pub fn utc(seconds: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(seconds) {
        Ok(at) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        ),
        Err(_) => seconds.to_string(),
    }
}

/// A protobuf time as UTC; empty when unset.
pub fn utc_of(at: Option<prost_types::Timestamp>) -> String {
    at.map(|at| utc(at.seconds)).unwrap_or_default()
}

/// `value` in single quotes, which the shell takes literally (a quote inside closes, escapes and
/// reopens).
fn shell_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_utc() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_767_172_500), "2025-12-31T09:15:00Z");
        assert_eq!(utc_of(None), "");
    }

    #[test]
    fn env_output_is_shell_assignments_quoted_literally() {
        let mut rows = Rows::new(&["tenant", "name"]);
        rows.push(vec!["0193".into(), "O'Brien & $HOME".into()]);
        assert_eq!(
            rows.render(Format::Env),
            "TENANT='0193'\nNAME='O'\\''Brien & $HOME'\n"
        );
    }
}
