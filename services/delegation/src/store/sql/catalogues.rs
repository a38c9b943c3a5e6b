//! Catalogues, their courses and the people they are deployed to.
//!
//! Every write takes the tenant's catalogue lock first ([`lock_catalogues`]), then any course
//! lock: what a person is still offered after a removal is read from the other catalogues, so
//! no other catalogue may change under that read (and course removal takes the same lock).

use std::collections::HashSet;

use lms_kernel::{CatalogueId, CourseId, TenantId, UserId};
use lms_runtime::outbox;
use lms_runtime::transaction::begin_write;
use serde_json::json;
use sqlx::Row as _;
use uuid::Uuid;

use super::audit::append_audits;
use super::courses::changeable_course;
use super::{Db, LOCK_CATALOGUES};
use crate::audit::Audit;
use crate::store::sql::SqlStore;
use crate::store::{
    Audience, CatalogueFilter, CatalogueRecord, CatalogueStore, Changed, NewEvent, Offers,
    StoreError,
};

type Connection = <Db as sqlx::Database>::Connection;

/// Rows per multi-row insert: far below either backend's limit on bound values.
const ROWS_PER_INSERT: usize = 500;

/// Takes the tenant's catalogue lock until the transaction ends (nothing on SQLite, whose write
/// transaction holds the database's write lock already).
pub(super) async fn lock_catalogues(
    connection: &mut Connection,
    tenant: TenantId,
) -> Result<(), StoreError> {
    if !LOCK_CATALOGUES.is_empty() {
        sqlx::query(LOCK_CATALOGUES)
            .bind(format!("catalogues:{tenant}"))
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

fn missing(catalogue: CatalogueId) -> StoreError {
    StoreError::Missing {
        what: "catalogue",
        id: catalogue.to_string(),
    }
}

async fn courses_of(
    connection: &mut Connection,
    tenant: TenantId,
    catalogue: CatalogueId,
) -> Result<Vec<CourseId>, StoreError> {
    let rows: Vec<Uuid> = sqlx::query_scalar(
        "SELECT course_id FROM catalogue_courses WHERE tenant_id = $1 AND catalogue_id = $2 \
         ORDER BY added_at, course_id",
    )
    .bind(tenant.as_uuid())
    .bind(catalogue.as_uuid())
    .fetch_all(&mut *connection)
    .await?;
    Ok(rows.into_iter().map(CourseId::from_uuid).collect())
}

async fn learners_of(
    connection: &mut Connection,
    tenant: TenantId,
    catalogue: CatalogueId,
) -> Result<Vec<UserId>, StoreError> {
    let rows: Vec<Uuid> = sqlx::query_scalar(
        "SELECT user_id FROM catalogue_learners WHERE tenant_id = $1 AND catalogue_id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(catalogue.as_uuid())
    .fetch_all(&mut *connection)
    .await?;
    Ok(rows.into_iter().map(UserId::from_uuid).collect())
}

/// The people some catalogue deployed to them offers `course` (as stored now).
pub(super) async fn offered(
    connection: &mut Connection,
    tenant: TenantId,
    course: CourseId,
) -> Result<HashSet<UserId>, StoreError> {
    let rows: Vec<Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT l.user_id FROM catalogue_courses c \
         JOIN catalogue_learners l ON l.catalogue_id = c.catalogue_id \
         WHERE c.tenant_id = $1 AND c.course_id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(course.as_uuid())
    .fetch_all(&mut *connection)
    .await?;
    Ok(rows.into_iter().map(UserId::from_uuid).collect())
}

/// Of `candidates` (whose catalogue was just taken from them), those no catalogue offers any
/// more.
async fn ended(
    connection: &mut Connection,
    tenant: TenantId,
    courses: &[CourseId],
    users: &[UserId],
) -> Result<Vec<(CourseId, UserId)>, StoreError> {
    let mut ended = Vec::new();
    if users.is_empty() {
        return Ok(ended);
    }
    for course in courses {
        let still = offered(connection, tenant, *course).await?;
        ended.extend(
            users
                .iter()
                .filter(|user| !still.contains(user))
                .map(|user| (*course, *user)),
        );
    }
    Ok(ended)
}

fn pairs(courses: &[CourseId], users: &[UserId]) -> Vec<(CourseId, UserId)> {
    courses
        .iter()
        .flat_map(|course| users.iter().map(move |user| (*course, *user)))
        .collect()
}

async fn read_catalogue(
    connection: &mut Connection,
    tenant: TenantId,
    catalogue: CatalogueId,
) -> Result<Option<CatalogueRecord>, StoreError> {
    let Some(row) = sqlx::query(
        "SELECT *, (SELECT COUNT(*) FROM catalogue_learners l \
           WHERE l.catalogue_id = catalogues.catalogue_id) AS learner_count \
         FROM catalogues WHERE tenant_id = $1 AND catalogue_id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(catalogue.as_uuid())
    .fetch_optional(&mut *connection)
    .await?
    else {
        return Ok(None);
    };
    let mut record = catalogue_from_row(&row)?;
    record.courses = courses_of(connection, tenant, catalogue).await?;
    Ok(Some(record))
}

/// The catalogue, which must exist.
async fn existing(
    connection: &mut Connection,
    tenant: TenantId,
    catalogue: CatalogueId,
) -> Result<CatalogueRecord, StoreError> {
    read_catalogue(connection, tenant, catalogue)
        .await?
        .ok_or_else(|| missing(catalogue))
}

fn catalogue_from_row(row: &<Db as sqlx::Database>::Row) -> Result<CatalogueRecord, StoreError> {
    Ok(CatalogueRecord {
        id: CatalogueId::from_uuid(row.try_get("catalogue_id")?),
        name: row.try_get("name")?,
        courses: Vec::new(),
        learner_count: row.try_get("learner_count")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Puts each of `courses` (active ones) in `catalogue`, skipping those it holds; answers those
/// added.
async fn insert_courses(
    connection: &mut Connection,
    tenant: TenantId,
    catalogue: CatalogueId,
    courses: &[CourseId],
    at: i64,
) -> Result<Vec<CourseId>, StoreError> {
    let mut added = Vec::new();
    for course in courses {
        changeable_course(connection, tenant, *course).await?;
        let inserted = sqlx::query(
            "INSERT INTO catalogue_courses (tenant_id, catalogue_id, course_id, added_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(tenant.as_uuid())
        .bind(catalogue.as_uuid())
        .bind(course.as_uuid())
        .bind(at)
        .execute(&mut *connection)
        .await?
        .rows_affected();
        if inserted > 0 {
            added.push(*course);
        }
    }
    Ok(added)
}

/// Commits `audits` and the events of `changed` in `tx`.
async fn finish<F>(
    mut tx: sqlx::Transaction<'static, Db>,
    tenant: TenantId,
    changed: &Changed,
    events: F,
    audits: &[Audit],
) -> Result<(), StoreError>
where
    F: FnOnce(&Offers) -> Vec<NewEvent> + Send,
{
    append_audits(&mut tx, tenant, audits).await?;
    outbox::append(&mut *tx, tenant, &events(&changed.offers)).await?;
    tx.commit().await?;
    Ok(())
}

impl CatalogueStore for SqlStore<Db> {
    async fn create_catalogue(
        &self,
        tenant: TenantId,
        catalogue: &CatalogueRecord,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        lock_catalogues(&mut tx, tenant).await?;
        sqlx::query(
            "INSERT INTO catalogues (tenant_id, catalogue_id, name, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant.as_uuid())
        .bind(catalogue.id.as_uuid())
        .bind(&catalogue.name)
        .bind(&catalogue.created_by)
        .bind(catalogue.created_at)
        .execute(&mut *tx)
        .await?;
        insert_courses(
            &mut tx,
            tenant,
            catalogue.id,
            &catalogue.courses,
            catalogue.created_at,
        )
        .await?;
        // Deployed to nobody: it offers nothing yet.
        finish(
            tx,
            tenant,
            &Changed::default(),
            |_| Vec::new(),
            std::slice::from_ref(audit),
        )
        .await
    }

    async fn catalogue(
        &self,
        tenant: TenantId,
        catalogue: CatalogueId,
    ) -> Result<Option<CatalogueRecord>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        read_catalogue(&mut connection, tenant, catalogue).await
    }

    async fn deployed_to(
        &self,
        tenant: TenantId,
        catalogue: CatalogueId,
        user: UserId,
    ) -> Result<bool, StoreError> {
        let found: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM catalogue_learners \
             WHERE tenant_id = $1 AND catalogue_id = $2 AND user_id = $3",
        )
        .bind(tenant.as_uuid())
        .bind(catalogue.as_uuid())
        .bind(user.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    async fn catalogues(
        &self,
        tenant: TenantId,
        filter: CatalogueFilter,
        limit: i64,
    ) -> Result<Vec<CatalogueRecord>, StoreError> {
        let mut query = sqlx::QueryBuilder::<Db>::new(
            "SELECT *, (SELECT COUNT(*) FROM catalogue_learners l \
               WHERE l.catalogue_id = catalogues.catalogue_id) AS learner_count \
             FROM catalogues WHERE tenant_id = ",
        );
        query.push_bind(tenant.as_uuid());
        if let Some(learner) = filter.learner {
            query
                .push(
                    " AND catalogue_id IN (SELECT catalogue_id FROM catalogue_learners \
                     WHERE tenant_id = ",
                )
                .push_bind(tenant.as_uuid())
                .push(" AND user_id = ")
                .push_bind(learner.as_uuid())
                .push(")");
        }
        if let Some(after) = filter.after {
            query.push(" AND catalogue_id > ").push_bind(after);
        }
        query.push(" ORDER BY catalogue_id LIMIT ").push_bind(limit);
        let mut connection = self.pool.acquire().await?;
        let rows = query.build().fetch_all(&mut *connection).await?;
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut record = catalogue_from_row(row)?;
            record.courses = courses_of(&mut connection, tenant, record.id).await?;
            records.push(record);
        }
        Ok(records)
    }

    async fn add_catalogue_courses<F>(
        &self,
        tenant: TenantId,
        catalogues: &[CatalogueId],
        courses: &[CourseId],
        at: i64,
        events: F,
        audit: &Audit,
    ) -> Result<Changed, StoreError>
    where
        F: FnOnce(&Offers) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        lock_catalogues(&mut tx, tenant).await?;
        let mut changed = Changed::default();
        let mut audits = Vec::with_capacity(catalogues.len());
        for catalogue in catalogues {
            let before = existing(&mut tx, tenant, *catalogue).await?;
            let added = insert_courses(&mut tx, tenant, *catalogue, courses, at).await?;
            let learners = learners_of(&mut tx, tenant, *catalogue).await?;
            changed.count += added.len();
            changed.offers.begun.extend(pairs(&added, &learners));
            let after = existing(&mut tx, tenant, *catalogue).await?;
            audits.push(audit.clone().about(catalogue).before(&before).after(&after));
        }
        finish(tx, tenant, &changed, events, &audits).await?;
        Ok(changed)
    }

    async fn remove_catalogue_course<F>(
        &self,
        tenant: TenantId,
        catalogue: CatalogueId,
        course: CourseId,
        events: F,
        audit: &Audit,
    ) -> Result<Changed, StoreError>
    where
        F: FnOnce(&Offers) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        lock_catalogues(&mut tx, tenant).await?;
        let before = existing(&mut tx, tenant, catalogue).await?;
        let removed = sqlx::query(
            "DELETE FROM catalogue_courses \
             WHERE tenant_id = $1 AND catalogue_id = $2 AND course_id = $3",
        )
        .bind(tenant.as_uuid())
        .bind(catalogue.as_uuid())
        .bind(course.as_uuid())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if removed == 0 {
            return Err(StoreError::Missing {
                what: "course in catalogue",
                id: course.to_string(),
            });
        }
        let learners = learners_of(&mut tx, tenant, catalogue).await?;
        let changed = Changed {
            count: 1,
            offers: Offers {
                begun: Vec::new(),
                ended: ended(&mut tx, tenant, &[course], &learners).await?,
            },
        };
        let after = existing(&mut tx, tenant, catalogue).await?;
        let audit = audit.clone().before(&before).after(&after);
        finish(tx, tenant, &changed, events, std::slice::from_ref(&audit)).await?;
        Ok(changed)
    }

    async fn deploy_catalogue<F>(
        &self,
        tenant: TenantId,
        audience: Audience<'_>,
        events: F,
        audit: &Audit,
    ) -> Result<Changed, StoreError>
    where
        F: FnOnce(&Offers) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        lock_catalogues(&mut tx, tenant).await?;
        let catalogue = existing(&mut tx, tenant, audience.catalogue).await?;
        let mut added = Vec::new();
        for chunk in audience.users.chunks(ROWS_PER_INSERT) {
            let mut query = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO catalogue_learners \
                 (tenant_id, catalogue_id, user_id, deployed_by, deployed_at) ",
            );
            query.push_values(chunk, |mut row, user| {
                row.push_bind(tenant.as_uuid())
                    .push_bind(audience.catalogue.as_uuid())
                    .push_bind(user.as_uuid())
                    .push_bind(audience.by.to_owned())
                    .push_bind(audience.at);
            });
            query.push(" ON CONFLICT DO NOTHING RETURNING user_id");
            let inserted: Vec<Uuid> = query
                .build_query_scalar::<Uuid>()
                .fetch_all(&mut *tx)
                .await?;
            added.extend(inserted.into_iter().map(UserId::from_uuid));
        }
        let changed = Changed {
            count: added.len(),
            offers: Offers {
                begun: pairs(&catalogue.courses, &added),
                ended: Vec::new(),
            },
        };
        let mut audit = audit.clone();
        audit.after = Some(json!({
            "catalogue_id": catalogue.id.to_string(),
            "user_ids": added.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }));
        finish(tx, tenant, &changed, events, std::slice::from_ref(&audit)).await?;
        Ok(changed)
    }

    async fn withdraw_catalogue<F>(
        &self,
        tenant: TenantId,
        audience: Audience<'_>,
        events: F,
        audit: &Audit,
    ) -> Result<Changed, StoreError>
    where
        F: FnOnce(&Offers) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        lock_catalogues(&mut tx, tenant).await?;
        let catalogue = existing(&mut tx, tenant, audience.catalogue).await?;
        let mut removed = Vec::new();
        for user in audience.users {
            let gone = sqlx::query(
                "DELETE FROM catalogue_learners \
                 WHERE tenant_id = $1 AND catalogue_id = $2 AND user_id = $3",
            )
            .bind(tenant.as_uuid())
            .bind(catalogue.id.as_uuid())
            .bind(user.as_uuid())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if gone > 0 {
                removed.push(*user);
            }
        }
        let changed = Changed {
            count: removed.len(),
            offers: Offers {
                begun: Vec::new(),
                ended: ended(&mut tx, tenant, &catalogue.courses, &removed).await?,
            },
        };
        let mut audit = audit.clone();
        audit.before = Some(json!({
            "catalogue_id": catalogue.id.to_string(),
            "user_ids": removed.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }));
        finish(tx, tenant, &changed, events, std::slice::from_ref(&audit)).await?;
        Ok(changed)
    }

    async fn delete_catalogue<F>(
        &self,
        tenant: TenantId,
        catalogue: CatalogueId,
        events: F,
        audit: &Audit,
    ) -> Result<Changed, StoreError>
    where
        F: FnOnce(&Offers) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        lock_catalogues(&mut tx, tenant).await?;
        let record = existing(&mut tx, tenant, catalogue).await?;
        let learners = learners_of(&mut tx, tenant, catalogue).await?;
        let mut audit = audit.clone().before(&record);
        // Who it was deployed to, so the trail says whose offers the deletion ended.
        if let Some(serde_json::Value::Object(before)) = audit.before.as_mut() {
            before.insert(
                "user_ids".into(),
                learners.iter().map(ToString::to_string).collect(),
            );
        }
        // Its courses and people go with it (ON DELETE CASCADE).
        sqlx::query("DELETE FROM catalogues WHERE tenant_id = $1 AND catalogue_id = $2")
            .bind(tenant.as_uuid())
            .bind(catalogue.as_uuid())
            .execute(&mut *tx)
            .await?;
        let changed = Changed {
            count: 1,
            offers: Offers {
                begun: Vec::new(),
                ended: ended(&mut tx, tenant, &record.courses, &learners).await?,
            },
        };
        finish(tx, tenant, &changed, events, std::slice::from_ref(&audit)).await?;
        Ok(changed)
    }
}
