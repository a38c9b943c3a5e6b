//! Re-sending people and their facts to reporting.

use lms_api::common::v1::ObjectType;
use lms_kernel::{GroupId, NamedTarget, NamingPurpose, TenantId, UserId};
use lms_runtime::outbox::{self, AppendEvents, rebuild};
use lms_runtime::transaction::begin_write;
use sqlx::Row as _;
use uuid::Uuid;

use super::Db;
use super::rows::{employment_from_row, unit_from_row, user_from_row};
use crate::directory_record;
use crate::person_record::people_records;
use crate::relationships;
use crate::store::sql::SqlStore;
use crate::store::{FactKind, RecordStore, StoreError};

type Connection = <Db as sqlx::Database>::Connection;
type Row = <Db as sqlx::Database>::Row;

/// At most `limit` of the tenant's rows of `table` with `key` after `after`, in key order. Two
/// statements rather than `$2 IS NULL OR key > $2`, which a generic plan would read from the
/// tenant's first row for every chunk. `table` and `key` are constants.
async fn page_of(
    connection: &mut Connection,
    table: &str,
    key: &str,
    tenant: TenantId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Row>, sqlx::Error> {
    match after {
        None => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT * FROM {table} WHERE tenant_id = $1 ORDER BY {key} LIMIT $2"
            )))
            .bind(tenant.as_uuid())
            .bind(limit)
            .fetch_all(&mut *connection)
            .await
        }
        Some(after) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT * FROM {table} WHERE tenant_id = $1 AND {key} > $2 ORDER BY {key} LIMIT $3"
            )))
            .bind(tenant.as_uuid())
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *connection)
            .await
        }
    }
}

/// At most `limit` distinct `user_id`s of the tenant's rows of `table` after `after`, in order
/// (`table` is a constant).
async fn distinct_users(
    connection: &mut Connection,
    table: &str,
    tenant: TenantId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    match after {
        None => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT DISTINCT user_id FROM {table} WHERE tenant_id = $1 \
                 ORDER BY user_id LIMIT $2"
            )))
            .bind(tenant.as_uuid())
            .bind(limit)
            .fetch_all(&mut *connection)
            .await
        }
        Some(after) => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT DISTINCT user_id FROM {table} WHERE tenant_id = $1 AND user_id > $2 \
                 ORDER BY user_id LIMIT $3"
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

/// `(group, user)` pairs of `table` for the groups from `first` to `last`.
async fn group_pairs(
    connection: &mut Connection,
    table: &str,
    tenant: TenantId,
    (first, last): (Uuid, Uuid),
) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT group_id, user_id FROM {table} WHERE tenant_id = $1 \
         AND group_id >= $2 AND group_id <= $3"
    )))
    .bind(tenant.as_uuid())
    .bind(first)
    .bind(last)
    .fetch_all(&mut *connection)
    .await
}

impl RecordStore for SqlStore<Db> {
    async fn tenant_ids(
        &self,
        after: Option<TenantId>,
        limit: i64,
    ) -> Result<Vec<TenantId>, StoreError> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT tenant_id FROM tenants WHERE ($1 IS NULL OR tenant_id > $1) \
             ORDER BY tenant_id LIMIT $2",
        )
        .bind(after.map(|t| t.as_uuid()))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(TenantId::from_uuid).collect())
    }

    async fn republish_people(
        &self,
        tenant: TenantId,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<(usize, Option<Uuid>), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        // Taken before reading: every change committed before is read, every later one is
        // appended after this chunk.
        tx.hold_order(tenant).await?;
        let users = page_of(&mut tx, "users", "user_id", tenant, after, limit)
            .await?
            .iter()
            .map(user_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        outbox::append(&mut *tx, tenant, &people_records(&users)).await?;
        tx.commit().await?;
        Ok((users.len(), users.last().map(|user| user.id.as_uuid())))
    }

    async fn republish_directory(
        &self,
        tenant: TenantId,
        groups: bool,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<(usize, Option<Uuid>), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        tx.hold_order(tenant).await?;
        let (table, key) = match groups {
            true => ("user_groups", "group_id"),
            false => ("units", "unit_id"),
        };
        let rows = page_of(&mut tx, table, key, tenant, after, limit).await?;
        let events = match groups {
            true => {
                let groups = rows
                    .iter()
                    .map(|row| {
                        Ok(directory_record::group(
                            GroupId::from_uuid(row.try_get("group_id")?),
                            &row.try_get::<String, _>("name")?,
                        ))
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                directory_record::directory_records(Vec::new(), groups)
            }
            false => {
                let units = rows
                    .iter()
                    .map(|row| unit_from_row(row).map(|unit| directory_record::unit_of(&unit)))
                    .collect::<Result<Vec<_>, _>>()?;
                directory_record::directory_records(units, Vec::new())
            }
        };
        outbox::append(&mut *tx, tenant, &events).await?;
        tx.commit().await?;
        Ok((rows.len(), last_key(&rows, key)?))
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
        let (mut updates, mut statuses) = (Vec::new(), Vec::new());
        let (count, last) = match kind {
            FactKind::Tenant if after.is_some() => (0, None),
            FactKind::Tenant => {
                let coordinator: Option<Option<Uuid>> = sqlx::query_scalar(
                    "SELECT access_coordinator_user_id FROM tenants WHERE tenant_id = $1",
                )
                .bind(tenant.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(user) = coordinator.flatten() {
                    updates.push(relationships::access_coordinator_holds(
                        tenant,
                        UserId::from_uuid(user),
                    ));
                }
                let clients: Vec<Uuid> = sqlx::query_scalar(
                    "SELECT tenant_id FROM tenants WHERE master_tenant_id = $1 ORDER BY tenant_id",
                )
                .bind(tenant.as_uuid())
                .fetch_all(&mut *tx)
                .await?;
                for client in clients {
                    updates.push(relationships::client_holds(
                        tenant,
                        TenantId::from_uuid(client),
                    ));
                }
                (1, None)
            }
            FactKind::Units => {
                let rows = page_of(&mut tx, "units", "unit_id", tenant, after, limit).await?;
                for row in &rows {
                    updates.extend(relationships::unit_holds(tenant, &unit_from_row(row)?));
                }
                (rows.len(), last_key(&rows, "unit_id")?)
            }
            FactKind::People => {
                let rows = page_of(&mut tx, "users", "user_id", tenant, after, limit).await?;
                for row in &rows {
                    let user = user_from_row(row)?;
                    statuses.push(relationships::status(&user));
                    if let Some(group) = user.primary_group {
                        updates.extend(relationships::team(user.id, None, group));
                    }
                }
                (rows.len(), last_key(&rows, "user_id")?)
            }
            FactKind::Employments => {
                // A page of the people employed, with every employment of theirs: the facts at
                // a unit are read from all of a person's employments there.
                let people = distinct_users(&mut tx, "employments", tenant, after, limit).await?;
                if let (Some(first), Some(last)) = (people.first(), people.last()) {
                    let employments = sqlx::query(
                        "SELECT * FROM employments WHERE tenant_id = $1 \
                         AND user_id >= $2 AND user_id <= $3 ORDER BY user_id",
                    )
                    .bind(tenant.as_uuid())
                    .bind(first)
                    .bind(last)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(employment_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                    let now = lms_runtime::clock::now();
                    for theirs in employments.chunk_by(|a, b| a.user == b.user) {
                        for employment in theirs {
                            updates.extend(relationships::employed(employment, theirs, now));
                        }
                    }
                }
                (people.len(), people.last().copied())
            }
            FactKind::Groups => {
                let rows =
                    page_of(&mut tx, "user_groups", "group_id", tenant, after, limit).await?;
                let mut range = None;
                for row in &rows {
                    let group: Uuid = row.try_get("group_id")?;
                    let manager: Option<Uuid> = row.try_get("manager_user_id")?;
                    if let Some(manager) = manager {
                        updates.push(relationships::manager_holds(
                            GroupId::from_uuid(group),
                            UserId::from_uuid(manager),
                        ));
                    }
                    range = Some((range.map_or(group, |(first, _)| first), group));
                }
                if let Some(range) = range {
                    for (group, user) in
                        group_pairs(&mut tx, "group_administrators", tenant, range).await?
                    {
                        updates.push(relationships::administrator_holds(
                            GroupId::from_uuid(group),
                            UserId::from_uuid(user),
                        ));
                    }
                }
                (rows.len(), last_key(&rows, "group_id")?)
            }
            FactKind::Members => {
                // A page of the people in groups, with every membership of theirs.
                let people = distinct_users(&mut tx, "group_members", tenant, after, limit).await?;
                if let (Some(first), Some(last)) = (people.first(), people.last()) {
                    let pairs: Vec<(Uuid, Uuid)> = sqlx::query_as(
                        "SELECT group_id, user_id FROM group_members WHERE tenant_id = $1 \
                             AND user_id >= $2 AND user_id <= $3",
                    )
                    .bind(tenant.as_uuid())
                    .bind(first)
                    .bind(last)
                    .fetch_all(&mut *tx)
                    .await?;
                    for (group, user) in pairs {
                        updates.push(relationships::member_holds(
                            GroupId::from_uuid(group),
                            UserId::from_uuid(user),
                        ));
                    }
                }
                (people.len(), people.last().copied())
            }
            FactKind::NamedManagers => {
                // A page of the people named, with every naming of theirs that is a relation.
                let named = distinct_users(&mut tx, "named_managers", tenant, after, limit).await?;
                if let (Some(first), Some(last)) = (named.first(), named.last()) {
                    let namings: Vec<(Uuid, i16, Uuid)> = sqlx::query_as(
                        "SELECT user_id, target_type, target_id FROM named_managers \
                         WHERE tenant_id = $1 AND purpose = $2 AND user_id >= $3 AND user_id <= $4",
                    )
                    .bind(tenant.as_uuid())
                    .bind(NamingPurpose::Manages.code())
                    .bind(first)
                    .bind(last)
                    .fetch_all(&mut *tx)
                    .await?;
                    for (user, target_type, target) in namings {
                        let kind = match NamedTarget::from_code(target_type) {
                            Some(NamedTarget::User) => ObjectType::User,
                            Some(NamedTarget::Unit) => ObjectType::Unit,
                            None => {
                                return Err(StoreError::Corrupt(format!(
                                    "named manager target type {target_type}"
                                )));
                            }
                        };
                        updates.push(relationships::named_manager_holds(
                            kind,
                            target,
                            UserId::from_uuid(user),
                        ));
                    }
                }
                (named.len(), named.last().copied())
            }
        };
        outbox::append(&mut *tx, tenant, &rebuild::resent_facts(updates, statuses)).await?;
        tx.commit().await?;
        Ok((count, last))
    }
}
