//! Re-sending records and facts to reporting.

use lms_kernel::{CourseId, TenantId, UserId};
use lms_runtime::outbox::{self, AppendEvents, rebuild};
use lms_runtime::transaction::begin_write;
use sqlx::Row as _;
use uuid::Uuid;

use super::Db;
use super::grants::grant_from_row;
use super::purchases::{order_from_row, order_standings};
use super::rows::{
    booking_from_row, competency_from_row, course_from_row, enrolment_from_row, event_from_row,
    lesson_from_row, request_from_row, responsibility_from_row,
};
use crate::store::sql::SqlStore;
use crate::store::{FactKind, RecordKind, RecordStore, StoreError};
use crate::{records, relationships};

type Connection = <Db as sqlx::Database>::Connection;
type Row = <Db as sqlx::Database>::Row;

/// Where a rebuild pages through rows: constants, never input.
struct Source {
    /// `SELECT` list and table (`* FROM t`, `DISTINCT k FROM t`).
    from: &'static str,
    /// The column naming the tenant whose outbox re-sends the row.
    tenant: &'static str,
    /// Further conditions (`AND ...`), or none.
    filter: &'static str,
    /// The key the pages follow.
    key: &'static str,
}

const fn source(table: &'static str, key: &'static str) -> Source {
    Source {
        from: table,
        tenant: "tenant_id",
        filter: "",
        key,
    }
}

/// The table of a kind of record and its key.
fn record_source(kind: RecordKind) -> Source {
    match kind {
        RecordKind::Courses => source("* FROM courses", "course_id"),
        RecordKind::Enrolments => source("* FROM enrolments", "enrolment_id"),
        RecordKind::Events => source("* FROM events", "event_id"),
        RecordKind::Bookings => source("* FROM bookings", "booking_id"),
        RecordKind::Competencies => source("* FROM competency_checks", "check_id"),
        RecordKind::Requests => source("* FROM enrolment_requests", "request_id"),
        RecordKind::Orders => source("* FROM orders", "order_id"),
    }
}

/// At most `limit` rows of `source` of the tenant with keys after `after`, in key order. Two
/// statements rather than `$2 IS NULL OR key > $2`, which a generic plan would read from the
/// tenant's first row for every chunk.
async fn page_of(
    connection: &mut Connection,
    source: &Source,
    tenant: TenantId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Row>, sqlx::Error> {
    let Source {
        from,
        tenant: column,
        filter,
        key,
    } = source;
    match after {
        None => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {from} WHERE {column} = $1 {filter} ORDER BY {key} LIMIT $2"
            )))
            .bind(tenant.as_uuid())
            .bind(limit)
            .fetch_all(&mut *connection)
            .await
        }
        Some(after) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {from} WHERE {column} = $1 {filter} AND {key} > $2 \
                 ORDER BY {key} LIMIT $3"
            )))
            .bind(tenant.as_uuid())
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *connection)
            .await
        }
    }
}

/// The `key` of the last row, if any.
fn last_key(rows: &[Row], key: &str) -> Result<Option<Uuid>, sqlx::Error> {
    rows.last().map(|row| row.try_get(key)).transpose()
}

/// Decodes every row with `decode`.
fn all<T>(rows: &[Row], decode: fn(&Row) -> Result<T, StoreError>) -> Result<Vec<T>, StoreError> {
    rows.iter().map(decode).collect()
}

/// The keys `first..=last` of a page of distinct keys (a course's or event's duties, a
/// person's offers travel with their key's page).
fn key_span(rows: &[Row], key: &str) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(None);
    };
    Ok(Some((first.try_get(key)?, last.try_get(key)?)))
}

impl RecordStore for SqlStore<Db> {
    async fn republish(
        &self,
        tenant: TenantId,
        kind: RecordKind,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<(usize, Option<Uuid>), StoreError> {
        let source = record_source(kind);
        let mut tx = begin_write(&self.pool).await?;
        // Taken before reading: every change committed before is read, every later one is
        // appended after this chunk.
        tx.hold_order(tenant).await?;
        let rows = page_of(&mut tx, &source, tenant, after, limit).await?;
        let events = match kind {
            RecordKind::Courses => all(&rows, course_from_row)?
                .iter()
                .map(|course| records::course_record(course, false))
                .collect(),
            RecordKind::Enrolments => records::enrolment_records(&all(&rows, enrolment_from_row)?),
            RecordKind::Events => all(&rows, event_from_row)?
                .iter()
                .map(records::event_record)
                .collect(),
            RecordKind::Bookings => records::booking_records(&all(&rows, booking_from_row)?),
            RecordKind::Competencies => all(&rows, competency_from_row)?
                .iter()
                .map(records::competency_record)
                .collect(),
            RecordKind::Requests => all(&rows, request_from_row)?
                .iter()
                .map(records::request_record)
                .collect(),
            // Counted after the tenant's outbox order was taken above: an invitation change
            // either committed before and is counted, or appends its own record after these.
            RecordKind::Orders => {
                order_standings(&mut tx, tenant, &all(&rows, order_from_row)?).await?
            }
        };
        outbox::append(&mut *tx, tenant, &events).await?;
        tx.commit().await?;
        Ok((rows.len(), last_key(&rows, source.key)?))
    }

    async fn republish_facts(
        &self,
        tenant: TenantId,
        kind: FactKind,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<(usize, Option<Uuid>), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        tx.hold_order(tenant).await?;
        let source = match kind {
            FactKind::OwningUnits => Source {
                filter: "AND unit_id IS NOT NULL",
                ..source("* FROM courses", "course_id")
            },
            FactKind::Lessons => source("* FROM lessons", "lesson_id"),
            FactKind::Responsibilities => {
                source("DISTINCT object_id FROM responsibilities", "object_id")
            }
            FactKind::Enrolled => source("* FROM enrolments", "enrolment_id"),
            FactKind::Events => source("* FROM events", "event_id"),
            FactKind::Booked => source("* FROM bookings", "booking_id"),
            FactKind::Offered => source("DISTINCT user_id FROM catalogue_learners", "user_id"),
            FactKind::Invitees => Source {
                from: "i.invitation_id, i.invitee_id, o.buyer_id FROM invitations i \
                       JOIN orders o ON o.order_id = i.order_id",
                tenant: "i.tenant_id",
                filter: "AND i.invitee_id IS NOT NULL",
                key: "invitation_id",
            },
            FactKind::Grants => Source {
                tenant: "client_tenant_id",
                ..source("* FROM content_grants", "grant_id")
            },
        };
        let rows = page_of(&mut tx, &source, tenant, after, limit).await?;
        let updates = match kind {
            FactKind::OwningUnits => all(&rows, course_from_row)?
                .iter()
                .filter_map(relationships::owning_unit_holds)
                .collect(),
            FactKind::Lessons => all(&rows, lesson_from_row)?
                .iter()
                .map(relationships::lesson_holds)
                .collect(),
            FactKind::Responsibilities => match key_span(&rows, source.key)? {
                None => Vec::new(),
                Some((first, last)) => sqlx::query(
                    "SELECT * FROM responsibilities WHERE tenant_id = $1 \
                     AND object_id >= $2 AND object_id <= $3",
                )
                .bind(tenant.as_uuid())
                .bind(first)
                .bind(last)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(responsibility_from_row)
                .collect::<Result<Vec<_>, _>>()?
                .iter()
                .filter_map(relationships::responsibility_holds)
                .collect(),
            },
            FactKind::Enrolled => all(&rows, enrolment_from_row)?
                .iter()
                .filter_map(relationships::enrolled_holds)
                .collect(),
            FactKind::Events => all(&rows, event_from_row)?
                .iter()
                .map(relationships::event_holds)
                .collect(),
            FactKind::Booked => all(&rows, booking_from_row)?
                .iter()
                .filter_map(relationships::booked_holds)
                .collect(),
            FactKind::Offered => match key_span(&rows, source.key)? {
                None => Vec::new(),
                Some((first, last)) => {
                    let pairs: Vec<(Uuid, Uuid)> = sqlx::query_as(
                        "SELECT DISTINCT c.course_id, l.user_id FROM catalogue_learners l \
                         JOIN catalogue_courses c ON c.catalogue_id = l.catalogue_id \
                         WHERE l.tenant_id = $1 AND l.user_id >= $2 AND l.user_id <= $3",
                    )
                    .bind(tenant.as_uuid())
                    .bind(first)
                    .bind(last)
                    .fetch_all(&mut *tx)
                    .await?;
                    pairs
                        .into_iter()
                        .map(|(course, user)| {
                            relationships::offered_holds(
                                CourseId::from_uuid(course),
                                UserId::from_uuid(user),
                            )
                        })
                        .collect()
                }
            },
            FactKind::Invitees => rows
                .iter()
                .map(|row| {
                    Ok(relationships::invitee_holds(
                        UserId::from_uuid(row.try_get("buyer_id")?),
                        UserId::from_uuid(row.try_get("invitee_id")?),
                    ))
                })
                .collect::<Result<_, sqlx::Error>>()?,
            FactKind::Grants => all(&rows, grant_from_row)?
                .iter()
                .map(relationships::grant_holds)
                .collect(),
        };
        let events = rebuild::resent_facts(updates, Vec::new());
        outbox::append(&mut *tx, tenant, &events).await?;
        tx.commit().await?;
        Ok((rows.len(), last_key(&rows, source.key)?))
    }
}
