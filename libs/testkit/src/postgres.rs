use std::time::Duration;

// Database names are generated here (`lms_test_<uuid>`), never taken from input, so formatting
// them into DDL is safe.
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::OnceCell;
use url::Url;

const LOCAL_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The admin URL of the PostgreSQL server tests use, found once per test process.
static SERVER: OnceCell<String> = OnceCell::const_new();

/// A database of its own for one test, dropped (with its connections) when this is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// The connection URL of this test's database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside or outside a runtime; a thread with its own runtime works in both.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                        let _ = admin
                            .execute(sqlx::AssertSqlSafe(format!(
                                r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                            )))
                            .await;
                        let _ = admin.close().await;
                    }
                });
            }
        });
        let _ = cleanup.join();
    }
}

/// A fresh, empty database on the test PostgreSQL server.
pub async fn postgres_database() -> TestDatabase {
    let admin_url = SERVER.get_or_init(find_server).await.clone();
    let name = format!("lms_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("test PostgreSQL stopped answering: {e}"));
    // Concurrent CREATE DATABASE can collide on the template's lock; retry briefly.
    let mut attempts = 0;
    loop {
        match admin
            .execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .await
        {
            Ok(_) => break,
            Err(e) if attempts < 10 => {
                attempts += 1;
                tracing::debug!(error = %e, "create database retry");
                tokio::time::sleep(Duration::from_millis(50 * attempts)).await;
            }
            Err(e) => panic!("cannot create test database: {e}"),
        }
    }
    let _ = admin.close().await;
    let mut url = Url::parse(&admin_url).expect("the test PostgreSQL URL parses");
    url.set_path(&name);
    TestDatabase {
        url: url.to_string(),
        admin_url,
        name,
    }
}

async fn answers(url: &str) -> bool {
    let connect = PgConnection::connect(url);
    match tokio::time::timeout(Duration::from_secs(3), connect).await {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            true
        }
        _ => false,
    }
}

async fn find_server() -> String {
    if let Ok(url) = std::env::var("LMS_TEST_DATABASE_URL") {
        assert!(
            answers(&url).await,
            "LMS_TEST_DATABASE_URL is set but that PostgreSQL does not answer"
        );
        return url;
    }
    if answers(LOCAL_DEFAULT).await {
        return LOCAL_DEFAULT.to_owned();
    }
    #[cfg(feature = "containers")]
    if let Some(url) = containers::postgres().await {
        return url;
    }
    panic!(
        "no PostgreSQL for tests: set LMS_TEST_DATABASE_URL, or start one on 127.0.0.1:5432 with \
         trust auth for user postgres (`pg_ctlcluster <version> main start`), or run Docker so \
         testcontainers can start one"
    );
}

#[cfg(feature = "containers")]
mod containers {
    use testcontainers::runners::AsyncRunner;
    use testcontainers_modules::postgres::Postgres;

    /// Starts a PostgreSQL container that lives as long as the test process.
    pub(super) async fn postgres() -> Option<String> {
        let container = Postgres::default().start().await.ok()?;
        let port = container.get_host_port_ipv4(5432).await.ok()?;
        // Kept for the life of the process: tests share the server, each with its own database.
        std::mem::forget(container);
        Some(format!(
            "postgres://postgres:postgres@127.0.0.1:{port}/postgres"
        ))
    }
}
