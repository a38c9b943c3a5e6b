//! The README's tour, run as printed: a fresh `lms dev` (the same code path as `make run`, on
//! free ports, its data in `.lms` under a temporary directory), then every shell block the README
//! marks `<!-- tour -->`, in order, in one bash with this checkout's lmsctl on the path. A line
//! ending in `# → TEXT` must succeed and print TEXT, one ending in `# ✗ TEXT` must fail and say
//! TEXT (stdout or stderr; variables in TEXT are the shell's).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;

use lms_runtime::{Config, ServiceName};
use tokio_util::sync::CancellationToken;

const README: &str = include_str!("../../README.md");
const MARK: &str = "<!-- tour -->";
const SUCCEEDS: &str = "# → ";
const FAILS: &str = "# ✗ ";

/// The script of the README's tour blocks; annotated lines check their output.
fn tour_script(readme: &str) -> String {
    let mut script = String::from("set -euo pipefail\n");
    let mut lines = readme.lines().enumerate().peekable();
    let mut blocks = 0;
    while let Some((_, line)) = lines.next() {
        if line.trim() != MARK {
            continue;
        }
        let opening = lines.next().map(|(_, l)| l.trim());
        assert_eq!(
            opening,
            Some("```sh"),
            "a tour mark is followed by a sh block"
        );
        blocks += 1;
        for (index, line) in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            script.push_str(&checked(index + 1, line));
        }
    }
    assert!(blocks > 0, "the README has no tour blocks");
    script
}

/// `line` as the script runs it: as is, or, when it ends in `# → TEXT` (or `# ✗ TEXT`), run with
/// its output captured and printed, required to succeed (fail) and to contain TEXT.
fn checked(number: usize, line: &str) -> String {
    let (command, wanted, succeeds) = match (line.split_once(SUCCEEDS), line.split_once(FAILS)) {
        (Some((command, wanted)), _) => (command, wanted, true),
        (None, Some((command, wanted))) => (command, wanted, false),
        (None, None) => return format!("{line}\n"),
    };
    let (command, wanted) = (command.trim_end(), wanted.trim());
    let outcome = if succeeds {
        format!("|| {{ echo \"$__out\"; echo 'README line {number} failed' >&2; exit 1; }}")
    } else {
        format!(
            "&& {{ echo \"$__out\"; echo 'README line {number} should have failed' >&2; exit 1; }}"
        )
    };
    format!(
        "__out=$({command} 2>&1) {outcome}\n\
         echo \"$__out\"\n\
         case \"$__out\" in *\"{wanted}\"*) ;; *) echo \"README line {number}: expected {wanted}\" >&2; exit 1 ;; esac\n"
    )
}

#[test]
fn annotated_lines_check_their_output() {
    let script = tour_script(
        "<!-- tour -->\n```sh\nA=1\nlmsctl check x   # → ALLOWED\nlmsctl no   # ✗ DENIED\n```\n",
    );
    assert!(script.contains("A=1\n"));
    assert!(script.contains("__out=$(lmsctl check x 2>&1) ||"));
    assert!(script.contains("*\"ALLOWED\"*"));
    assert!(script.contains("README line 4 failed"));
    assert!(script.contains("__out=$(lmsctl no 2>&1) &&"));
    assert!(script.contains("README line 5 should have failed"));
}

/// This checkout's lmsctl, built now. A test names only its own package's binaries
/// (`CARGO_BIN_EXE_*`), and lmsctl is lms-client's, so cargo is asked for it: with the whole
/// workspace's features, as `cargo build` makes it, and at once when it is up to date.
pub(crate) async fn lmsctl() -> PathBuf {
    let built = tokio::process::Command::new(env!("CARGO"))
        .args(["build", "--workspace", "--bin", "lmsctl"])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit())
        .output()
        .await
        .expect("cargo runs");
    assert!(built.status.success(), "cargo could not build lmsctl");
    String::from_utf8_lossy(&built.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["target"]["name"] == "lmsctl")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the lmsctl it built")
}

#[tokio::test]
async fn the_readme_tour_runs_as_printed() {
    let lmsctl = lmsctl().await;
    let home = tempfile::tempdir().unwrap();
    let data_dir = home.path().join(".lms");
    let mut config = Config::default();
    for name in ServiceName::ALL {
        config.service_mut(name).listen = SocketAddr::from(([127, 0, 0, 1], 0));
    }
    let dev = lms_platform::dev::build(config, &data_dir).await.unwrap();
    let endpoints = dev.platform.endpoints();
    let seeder = dev.seeder();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(dev.platform.run_until_stopped(shutdown.clone()));
    seeder.seed().await.unwrap();
    let endpoint = |wanted: ServiceName| {
        let (_, addr) = endpoints.iter().find(|(name, _)| *name == wanted).unwrap();
        format!("http://{addr}")
    };
    let path = format!(
        "{}:{}",
        lmsctl.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(tour_script(README))
        .current_dir(home.path())
        .env("PATH", path)
        .env("LMS_ENDPOINT", endpoint(ServiceName::Authorization))
        .env("LMS_IDENTITY_ENDPOINT", endpoint(ServiceName::Identity))
        .env("LMS_DELEGATION_ENDPOINT", endpoint(ServiceName::Delegation))
        .env("LMS_REPORTING_ENDPOINT", endpoint(ServiceName::Reporting))
        .env_remove("LMS_TOKEN")
        .env_remove("LMS_CLIENT_ID")
        .env_remove("LMS_CLIENT_SECRET")
        .env_remove("LMS_PASSWORD")
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        output.status.success(),
        "the tour failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // Shown with `--no-capture`: the tour as a reader sees it.
    println!("{stdout}");
    shutdown.cancel();
    running.await.unwrap().unwrap();
}
