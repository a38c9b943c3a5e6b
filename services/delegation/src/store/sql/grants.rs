//! Content grants: the master's record and audit, the client's outbox.

use lms_kernel::{ContentGrantId, CourseId, TenantId, Window};
use lms_runtime::outbox;
use lms_runtime::transaction::begin_write;
use sqlx::Row as _;
use uuid::Uuid;

use super::audit::append_audit;
use super::courses::{changeable_course, course_in, locked_course};
use super::rows::course_from_row;
use super::{Db, LOCK_ROWS};
use crate::audit::Audit;
use crate::store::sql::SqlStore;
use crate::store::{
    CourseRecord, GrantFilter, GrantRecord, GrantStore, NewEvent, StoreError, Takeable,
};

type Connection = <Db as sqlx::Database>::Connection;
type Row = <Db as sqlx::Database>::Row;

pub(super) fn grant_from_row(row: &Row) -> Result<GrantRecord, StoreError> {
    Ok(GrantRecord {
        id: ContentGrantId::from_uuid(row.try_get("grant_id")?),
        master: TenantId::from_uuid(row.try_get("tenant_id")?),
        client: TenantId::from_uuid(row.try_get("client_tenant_id")?),
        course: CourseId::from_uuid(row.try_get("course_id")?),
        window: Window {
            from: row.try_get("valid_from")?,
            until: row.try_get("valid_until")?,
        },
        granted_by: row.try_get("granted_by")?,
        granted_at: row.try_get("granted_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Inserts `record` unless its course is granted to its client already; whether it did.
async fn inserted(connection: &mut Connection, record: &GrantRecord) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO content_grants (tenant_id, grant_id, client_tenant_id, course_id, \
         valid_from, valid_until, granted_by, granted_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (client_tenant_id, course_id) DO NOTHING",
    )
    .bind(record.master.as_uuid())
    .bind(record.id.as_uuid())
    .bind(record.client.as_uuid())
    .bind(record.course.as_uuid())
    .bind(record.window.from)
    .bind(record.window.until)
    .bind(&record.granted_by)
    .bind(record.granted_at)
    .bind(record.updated_at)
    .execute(&mut *connection)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// `master`'s grant, locked until the transaction ends.
async fn locked_grant(
    connection: &mut Connection,
    master: TenantId,
    grant: ContentGrantId,
) -> Result<Option<GrantRecord>, StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM content_grants WHERE tenant_id = $1 AND grant_id = $2{LOCK_ROWS}"
    )))
    .bind(master.as_uuid())
    .bind(grant.as_uuid())
    .fetch_optional(&mut *connection)
    .await?
    .as_ref()
    .map(grant_from_row)
    .transpose()
}

/// The grant of `course` to `client` in effect at `now`, if any; locked until the transaction
/// ends when `lock`, so a revoke waits for an enrolment made under it (and then sees it).
async fn grant_in_effect(
    connection: &mut Connection,
    client: TenantId,
    course: CourseId,
    now: i64,
    lock: bool,
) -> Result<Option<GrantRecord>, StoreError> {
    let lock = if lock { LOCK_ROWS } else { "" };
    let grant = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM content_grants WHERE client_tenant_id = $1 AND course_id = $2{lock}"
    )))
    .bind(client.as_uuid())
    .bind(course.as_uuid())
    .fetch_optional(&mut *connection)
    .await?
    .as_ref()
    .map(grant_from_row)
    .transpose()?;
    Ok(grant.filter(|grant| grant.window.contains(now)))
}

/// The course `tenant`'s people may take: one of its own, or one granted to it and in effect
/// at `now`. Locked until the transaction ends when `lock` (enrolments are made under it).
pub(super) async fn takeable_in(
    connection: &mut Connection,
    tenant: TenantId,
    course: CourseId,
    now: i64,
    lock: bool,
) -> Result<Option<Takeable>, StoreError> {
    if let Some(own) = course_in(connection, tenant, course, lock).await? {
        return Ok(Some(Takeable {
            course: own,
            granted: None,
        }));
    }
    let Some(grant) = grant_in_effect(connection, tenant, course, now, lock).await? else {
        return Ok(None);
    };
    let granted = course_in(connection, grant.master, course, lock).await?;
    Ok(granted.map(|course| Takeable {
        course,
        granted: Some(grant),
    }))
}

impl GrantStore for SqlStore<Db> {
    async fn grant_content(
        &self,
        record: &GrantRecord,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        // Under the course's lock: an archive or erasure waits for the grant, and sees it.
        changeable_course(&mut tx, record.master, record.course).await?;
        if !inserted(&mut tx, record).await? {
            // Named when it is still there (a revoke may have taken it since the insert).
            let existing: Option<Uuid> = sqlx::query_scalar(
                "SELECT grant_id FROM content_grants WHERE client_tenant_id = $1 \
                 AND course_id = $2",
            )
            .bind(record.client.as_uuid())
            .bind(record.course.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
            let grant = existing.map_or_else(String::new, |id| format!(" (grant {id})"));
            return Err(StoreError::Refused {
                reason: "ALREADY_GRANTED",
                message: format!(
                    "course {} is granted to tenant {} already{grant}: change its window with \
                     UpdateContentGrant",
                    record.course, record.client
                ),
            });
        }
        append_audit(&mut *tx, record.master, &audit.clone().after(record)).await?;
        outbox::append(&mut *tx, record.client, events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn grant_courses<F>(
        &self,
        mut records: Vec<GrantRecord>,
        events: F,
        audit: &Audit,
    ) -> Result<Vec<GrantRecord>, StoreError>
    where
        F: FnOnce(&[GrantRecord]) -> Vec<NewEvent> + Send,
    {
        let Some(first) = records.first() else {
            return Ok(Vec::new());
        };
        let (master, client) = (first.master, first.client);
        if records
            .iter()
            .any(|r| r.master != master || r.client != client)
        {
            return Err(StoreError::Corrupt(
                "grants of one call are from one master to one client".into(),
            ));
        }
        // Courses locked in id order, as every multi-course write takes them.
        records.sort_by_key(|record| record.course);
        let mut tx = begin_write(&self.pool).await?;
        let mut made = Vec::new();
        for record in records {
            let active = locked_course(&mut tx, master, record.course)
                .await?
                .is_some_and(|course| course.status == lms_kernel::CourseStatus::Active);
            if !active {
                continue;
            }
            if inserted(&mut tx, &record).await? {
                let audit = audit.clone().about(record.id).after(&record);
                append_audit(&mut *tx, master, &audit).await?;
                made.push(record);
            }
        }
        outbox::append(&mut *tx, client, &events(&made)).await?;
        tx.commit().await?;
        Ok(made)
    }

    async fn change_grant<F>(
        &self,
        master: TenantId,
        grant: ContentGrantId,
        window: Window,
        at: i64,
        events: F,
        audit: &Audit,
    ) -> Result<Option<GrantRecord>, StoreError>
    where
        F: FnOnce(&GrantRecord) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        let Some(before) = locked_grant(&mut tx, master, grant).await? else {
            return Ok(None);
        };
        let after = GrantRecord {
            window,
            updated_at: at,
            ..before.clone()
        };
        sqlx::query(
            "UPDATE content_grants SET valid_from = $2, valid_until = $3, updated_at = $4 \
             WHERE grant_id = $1",
        )
        .bind(grant.as_uuid())
        .bind(window.from)
        .bind(window.until)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let audit = audit.clone().before(&before).after(&after);
        append_audit(&mut *tx, master, &audit).await?;
        outbox::append(&mut *tx, after.client, &events(&after)).await?;
        tx.commit().await?;
        Ok(Some(after))
    }

    async fn revoke_grant<F>(
        &self,
        master: TenantId,
        grant: ContentGrantId,
        events: F,
        audit: &Audit,
    ) -> Result<Option<GrantRecord>, StoreError>
    where
        F: FnOnce(&GrantRecord) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        let Some(before) = locked_grant(&mut tx, master, grant).await? else {
            return Ok(None);
        };
        sqlx::query("DELETE FROM content_grants WHERE grant_id = $1")
            .bind(grant.as_uuid())
            .execute(&mut *tx)
            .await?;
        append_audit(&mut *tx, master, &audit.clone().before(&before)).await?;
        outbox::append(&mut *tx, before.client, &events(&before)).await?;
        tx.commit().await?;
        Ok(Some(before))
    }

    async fn content_grant(
        &self,
        master: TenantId,
        grant: ContentGrantId,
    ) -> Result<Option<GrantRecord>, StoreError> {
        sqlx::query("SELECT * FROM content_grants WHERE tenant_id = $1 AND grant_id = $2")
            .bind(master.as_uuid())
            .bind(grant.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(grant_from_row)
            .transpose()
    }

    async fn content_grants(
        &self,
        master: TenantId,
        filter: GrantFilter,
        limit: i64,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        let mut query =
            sqlx::QueryBuilder::<Db>::new("SELECT * FROM content_grants WHERE tenant_id = ");
        query.push_bind(master.as_uuid());
        if let Some(client) = filter.client {
            query
                .push(" AND client_tenant_id = ")
                .push_bind(client.as_uuid());
        }
        if let Some(after) = filter.after {
            query.push(" AND grant_id > ").push_bind(after.as_uuid());
        }
        query.push(" ORDER BY grant_id LIMIT ").push_bind(limit);
        query
            .build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(grant_from_row)
            .collect()
    }

    async fn granted_courses(
        &self,
        client: TenantId,
        now: i64,
    ) -> Result<Vec<(GrantRecord, CourseRecord)>, StoreError> {
        let grants = sqlx::query(
            "SELECT * FROM content_grants WHERE client_tenant_id = $1 \
             AND (valid_from IS NULL OR valid_from <= $2) \
             AND (valid_until IS NULL OR $2 < valid_until) ORDER BY grant_id",
        )
        .bind(client.as_uuid())
        .bind(now)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(grant_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        if grants.is_empty() {
            return Ok(Vec::new());
        }
        // An archived course stays granted, but is offered no more.
        let mut query = sqlx::QueryBuilder::<Db>::new("SELECT * FROM courses WHERE status = ");
        query.push_bind(lms_kernel::CourseStatus::Active.code());
        query.push(" AND course_id IN (");
        let mut ids = query.separated(", ");
        for grant in &grants {
            ids.push_bind(grant.course.as_uuid());
        }
        query.push(")");
        let courses = query
            .build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(course_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(grants
            .into_iter()
            .filter_map(|grant| {
                let course = courses.iter().find(|c| c.id == grant.course)?.clone();
                Some((grant, course))
            })
            .collect())
    }

    async fn takeable_course(
        &self,
        tenant: TenantId,
        course: CourseId,
        now: i64,
    ) -> Result<Option<Takeable>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        takeable_in(&mut connection, tenant, course, now, false).await
    }
}
