//! `lms dev` as a newcomer runs it, the real binary on free ports: what scrolls past before the
//! banner is the banner's business, and the configured filter still shows everything.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{ChildStdout, Command};

mod serve;
mod telemetry;

/// The banner's last line.
const BANNER_END: &str = "Ctrl-C stops everything.";

/// `lms dev` in `dir` (its data in `dir/.lms`) on free ports, with only the `LMS_` settings
/// of `env` besides (none from the test's environment), its standard output piped.
fn lms_dev(dir: &Path, env: &[(&str, String)]) -> Command {
    let mut command = serve::lms(&["dev", "--data-dir"], env);
    command
        .arg(dir.join(".lms"))
        .current_dir(dir)
        .stdout(Stdio::piped());
    for service in ["IDENTITY", "AUTHORIZATION", "DELEGATION", "REPORTING"] {
        command.env(format!("LMS_{service}__LISTEN"), "127.0.0.1:0");
    }
    command
}

/// The lines `lms dev` prints up to its banner's last, within two minutes; what it printed
/// as the error when it stopped or took longer.
async fn banner(lines: &mut Lines<BufReader<ChildStdout>>) -> Result<Vec<String>, Vec<String>> {
    let mut printed = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let end = line.contains(BANNER_END);
            printed.push(line);
            if end {
                return true;
            }
        }
        false
    })
    .await;
    if ended == Ok(true) {
        Ok(printed)
    } else {
        Err(printed)
    }
}

/// Runs `lms dev` in a fresh data directory (with `log_filter` configured, when given) until
/// its banner is printed; answers (standard output, standard error) up to then.
async fn until_the_banner(log_filter: Option<&str>) -> (String, String) {
    let data_dir = tempfile::tempdir().unwrap();
    // Only what this test configures: free ports, and the filter it asks for.
    let env: Vec<_> = log_filter
        .map(|filter| ("LMS_TELEMETRY__LOG_FILTER", filter.to_owned()))
        .into_iter()
        .collect();
    let mut dev = lms_dev(data_dir.path(), &env)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = dev.stderr.take().unwrap();
    let logged = tokio::spawn(async move {
        let mut text = String::new();
        stderr.read_to_string(&mut text).await.map(|_| text)
    });
    let mut lines = BufReader::new(dev.stdout.take().unwrap()).lines();
    let printed = banner(&mut lines).await;
    dev.kill().await.unwrap();
    let stderr = logged.await.unwrap().unwrap();
    let shown = |lines: &[String]| lines.iter().map(|line| format!("{line}\n")).collect();
    let stdout: String = match &printed {
        Ok(lines) | Err(lines) => shown(lines),
    };
    assert!(
        printed.is_ok(),
        "no banner\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    (stdout, stderr)
}

#[tokio::test]
async fn a_first_lms_dev_shows_the_banner_with_no_service_logs_before_it() {
    let (stdout, stderr) = until_the_banner(None).await;
    assert!(stdout.contains("admin@demo.example"), "{stdout}");
    // Nothing but lms dev's own progress: no service's start-up or request lines, and nothing
    // that looks like a problem in an ordinary first run.
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.iter().all(|line| line.contains("lms_platform")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("WARN") && !stderr.contains("ERROR"),
        "{stderr}"
    );
    assert!(lines.len() <= 3, "{stderr}");
}

#[tokio::test]
async fn a_configured_log_filter_still_shows_every_service() {
    let (_, stderr) = until_the_banner(Some("info")).await;
    for service in ["identity", "authorization", "delegation", "reporting"] {
        assert!(
            stderr
                .lines()
                .any(|line| line.contains("serving") && line.contains(service)),
            "{service} is not logged\n{stderr}"
        );
    }
}
