//! The SQLite build of the adapter: what differs from PostgreSQL, then the shared files.

use sqlx::{Pool, Transaction};

type Db = sqlx::Sqlite;

/// Begins a write transaction holding the write lock from the start (`BEGIN IMMEDIATE`). A
/// deferred transaction that reads before it writes must upgrade its lock, and of two that
/// try at once one fails with SQLITE_BUSY straight away (`busy_timeout` does not cover an
/// upgrade); an immediate one waits its turn instead.
async fn begin_write(pool: &Pool<Db>) -> Result<Transaction<'static, Db>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// A custom role's id (`roles.role_id`, a 16-byte BLOB) as the hyphenated lowercase UUID
/// text `role_assignments` stores.
const ROLE_ID_TEXT: &str = "lower(\
    substr(hex(r.role_id), 1, 8) || '-' || substr(hex(r.role_id), 9, 4) || '-' || \
    substr(hex(r.role_id), 13, 4) || '-' || substr(hex(r.role_id), 17, 4) || '-' || \
    substr(hex(r.role_id), 21, 12))";

/// Nothing: the write transaction holds the database's write lock already.
const LOCK_ROWS: &str = "";

#[path = "decisions.rs"]
mod decisions;
#[path = "facts.rs"]
mod facts;
#[path = "records.rs"]
mod records;
#[path = "roles.rs"]
mod roles;
#[path = "rows.rs"]
mod rows;

#[cfg(test)]
mod tests {
    use sqlx::Row as _;

    use super::decisions::{RESOURCE_ROWS, SUBJECT_ROWS};

    /// SQLite keeps no statistics on these tables, and given the choice it may prefer walking
    /// the tenant's part of a covering index to searching a narrower one: correct answers, but
    /// a cold decision that reads every relationship of the tenant. Each read of the
    /// relationships a decision makes must search by more than the tenant.
    #[tokio::test]
    async fn decision_statements_search_relationships_by_more_than_the_tenant() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        crate::MIGRATIONS.sqlite.run(&pool).await.unwrap();
        for statement in [RESOURCE_ROWS.as_str(), SUBJECT_ROWS.as_str()] {
            let plan = sqlx::query(sqlx::AssertSqlSafe(format!(
                "EXPLAIN QUERY PLAN {statement}"
            )))
            .bind(uuid::Uuid::now_v7())
            .bind(uuid::Uuid::now_v7())
            .bind(3_i16)
            .bind(3_i16)
            .bind(1_i16)
            .fetch_all(&pool)
            .await
            .unwrap();
            let steps: Vec<String> = plan.iter().map(|row| row.get(3)).collect();
            assert!(
                steps.iter().any(|step| step.contains("relationships")),
                "{steps:#?}"
            );
            // The content grants to the subject's tenant, by their own partial index.
            if statement == SUBJECT_ROWS.as_str() {
                assert!(
                    steps
                        .iter()
                        .any(|step| step.contains("relationships_granted")),
                    "{steps:#?}"
                );
            }
            for step in steps.iter().filter(|step| step.contains("relationships")) {
                assert!(
                    step.starts_with("SEARCH") && !step.ends_with("(tenant_id=?)"),
                    "{step} in {steps:#?}"
                );
            }
        }
    }
}
