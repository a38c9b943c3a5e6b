//! `import`: CSV files of users, accounts or account groups, with a progress bar.

use std::io::IsTerminal;

use anyhow::Context;
use lms_api::identity::v1::{ImportCsvRequest, ImportKind, ImportOptions, import_csv_request};
use lms_client::output::{Format, Rows};
use lms_client::{Client, progress};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ImportWhat {
    Users,
    Accounts,
    AccountGroups,
}

impl ImportWhat {
    fn kind(self) -> ImportKind {
        match self {
            ImportWhat::Users => ImportKind::Users,
            ImportWhat::Accounts => ImportKind::Accounts,
            ImportWhat::AccountGroups => ImportKind::AccountGroups,
        }
    }
}

/// Sends the file in 64 KiB chunks, draws progress, and answers the bad rows.
pub async fn import(
    client: &Client,
    kind: ImportWhat,
    file: &std::path::Path,
    skip_bad_rows: bool,
    people_data_feed: bool,
) -> anyhow::Result<Rows> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let mut messages = vec![ImportCsvRequest {
        part: Some(import_csv_request::Part::Options(ImportOptions {
            kind: kind.kind() as i32,
            skip_bad_rows,
            people_data_feed,
        })),
    }];
    messages.extend(bytes.chunks(64 * 1024).map(|chunk| ImportCsvRequest {
        part: Some(import_csv_request::Part::Chunk(chunk.to_vec())),
    }));
    let mut stream = client
        .imports()
        .import_csv(tokio_stream::iter(messages))
        .await
        .context("import")?
        .into_inner();
    let drawing = std::io::stderr().is_terminal();
    let mut errors = Rows::new(&["line", "column", "reason"]);
    let mut last = None;
    while let Some(message) = stream.message().await.context("import")? {
        for error in &message.errors {
            errors.push(vec![
                error.line.to_string(),
                error.column.clone(),
                error.reason.clone(),
            ]);
        }
        if drawing {
            progress::redraw(&progress::bar(
                message.rows_imported + message.rows_unchanged,
                message.rows_read,
                "rows",
                &format!(
                    "{} imported, {} unchanged",
                    progress::thousands(message.rows_imported),
                    progress::thousands(message.rows_unchanged)
                ),
            ));
        }
        last = Some(message);
    }
    if drawing {
        progress::note("");
    }
    let last = last.context("the import answered nothing")?;
    progress::note(&format!(
        "{} rows read, {} imported, {} unchanged, {} bad",
        progress::thousands(last.rows_read),
        progress::thousands(last.rows_imported),
        progress::thousands(last.rows_unchanged),
        progress::thousands(errors.len() as i64),
    ));
    if !errors.is_empty() && last.rows_imported == 0 && !skip_bad_rows {
        print!("{}", errors.render(Format::Table));
        anyhow::bail!("nothing was imported: fix the rows above, or pass --skip-bad-rows");
    }
    Ok(errors)
}
