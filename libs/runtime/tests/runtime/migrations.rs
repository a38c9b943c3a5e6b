//! A service that may not change the schema (`apply_migrations = false`) waits for `lms
//! migrate` and then opens; it never migrates itself, and a schema it cannot trust stops it.

use std::time::Duration;

use lms_runtime::{Database, Migrations, SecretString};

static MIGRATIONS: Migrations = Migrations {
    postgres: sqlx::migrate!("../../services/delegation/migrations/postgres"),
    sqlite: sqlx::migrate!("../../services/delegation/migrations/sqlite"),
};

/// On `database`, fresh: every migration is missing and the wait does not end until someone
/// else migrates; then nothing is missing and the wait ends.
async fn awaits_until_migrated(database: Database, migrator: &sqlx::migrate::Migrator) {
    let all: Vec<i64> = migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| m.version)
        .collect();
    assert!(!all.is_empty());
    assert_eq!(database.missing_migrations(&MIGRATIONS).await.unwrap(), all);

    let waiting = database.clone();
    let wait = tokio::spawn(async move {
        waiting
            .await_migrations(&MIGRATIONS, Duration::from_millis(50))
            .await
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!wait.is_finished(), "opened before the migrations ran");
    assert_eq!(
        database.missing_migrations(&MIGRATIONS).await.unwrap(),
        all,
        "the wait changed the schema"
    );

    database.migrate(&MIGRATIONS).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .expect("still waiting after the migrations ran")
        .unwrap()
        .unwrap();
    assert_eq!(
        database.missing_migrations(&MIGRATIONS).await.unwrap(),
        Vec::<i64>::new()
    );

    // What waiting would not mend is an error, not a wait: a migration that failed halfway,
    // or one that ran with other text than this build's.
    let first = all[0];
    run(
        &database,
        "UPDATE _sqlx_migrations SET success = FALSE WHERE version = $1",
        first,
    )
    .await;
    let dirty = database
        .await_migrations(&MIGRATIONS, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(dirty.to_string().contains(&first.to_string()), "{dirty}");
    run(
        &database,
        "UPDATE _sqlx_migrations SET success = TRUE WHERE version = $1",
        first,
    )
    .await;
    run(
        &database,
        "UPDATE _sqlx_migrations SET checksum = substr(checksum, 1, 1) WHERE version = $1",
        first,
    )
    .await;
    let edited = database
        .await_migrations(&MIGRATIONS, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(edited.to_string().contains(&first.to_string()), "{edited}");
}

/// Runs `sql` with `version` bound to its one parameter.
async fn run(database: &Database, sql: &str, version: i64) {
    match database {
        Database::Postgres(pool) => {
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .bind(version)
                .execute(pool)
                .await
                .unwrap();
        }
        Database::Sqlite(pool) => {
            sqlx::query(sqlx::AssertSqlSafe(sql.replace("$1", "?1")))
                .bind(version)
                .execute(pool)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_service_awaiting_migrations_opens_once_they_ran_on_postgres() {
    let test = lms_testkit::postgres_database().await;
    let database = Database::connect(&SecretString::new(test.url()), 2)
        .await
        .unwrap();
    awaits_until_migrated(database, &MIGRATIONS.postgres).await;
}

#[tokio::test]
async fn a_service_awaiting_migrations_opens_once_they_ran_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/delegation.db", dir.path().display());
    let database = Database::connect(&SecretString::new(url), 2).await.unwrap();
    awaits_until_migrated(database, &MIGRATIONS.sqlite).await;
}
