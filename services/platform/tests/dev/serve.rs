//! `lms serve` as Kubernetes runs it: a service that may not change its schema waits for
//! `lms migrate` (the Job) before it serves, and `lms health` tells from outside.

use std::process::Output;
use std::time::Duration;

use lms_testkit::TestAuth;

/// `lms` with only the `LMS_` variables given (none from the test's environment, nor its
/// OpenTelemetry SDK settings), killed when dropped.
pub(crate) fn lms(args: &[&str], env: &[(&str, String)]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_lms"));
    command.args(args).kill_on_drop(true);
    let inherited = |name: &str| name.starts_with("LMS_") || name.starts_with("OTEL_");
    for (name, _) in std::env::vars().filter(|(name, _)| inherited(name)) {
        command.env_remove(name);
    }
    command.envs(env.iter().map(|(name, value)| (*name, value.as_str())));
    command
}

async fn health(url: &str) -> Output {
    lms(
        &[
            "health",
            "authorization",
            "--endpoint",
            url,
            "--timeout-seconds",
            "2",
        ],
        &[],
    )
    .output()
    .await
    .unwrap()
}

#[tokio::test]
async fn a_service_that_may_not_migrate_serves_once_lms_migrate_ran_and_says_so_to_lms_health() {
    let database = lms_testkit::postgres_database().await;
    let auth = TestAuth::new();
    let port = lms_testkit::local_listener().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let env = [
        ("LMS_AUTHORIZATION__LISTEN", format!("127.0.0.1:{port}")),
        ("LMS_AUTHORIZATION__DATABASE_URL", database.url().to_owned()),
        ("LMS_AUTHORIZATION__APPLY_MIGRATIONS", "false".into()),
        ("LMS_AUTH__JWKS", auth.jwks()),
        ("LMS_AUTH__FETCH_IDENTITY_KEYS", "false".into()),
    ];
    let mut serving = lms(&["serve", "authorization"], &env).spawn().unwrap();

    // It waits for its schema and does not answer: nothing listens yet.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(serving.try_wait().unwrap().is_none(), "lms serve exited");
    let asked = health(&url).await;
    assert!(!asked.status.success(), "healthy before its migrations ran");
    assert!(
        String::from_utf8_lossy(&asked.stderr).contains(&url),
        "{}",
        String::from_utf8_lossy(&asked.stderr)
    );

    let migrated = lms(&["migrate", "authorization"], &env)
        .output()
        .await
        .unwrap();
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );

    let answered = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let asked = health(&url).await;
            if asked.status.success() {
                return String::from_utf8_lossy(&asked.stdout).into_owned();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("never SERVING after lms migrate");
    assert_eq!(answered.trim(), format!("authorization at {url}: SERVING"));
    serving.kill().await.unwrap();
}
