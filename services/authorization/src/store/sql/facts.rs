//! Facts in (`apply_facts`, once per event) and relationships out.

use lms_kernel::TenantId;
use uuid::Uuid;

use super::decisions::bump;
use super::rows::relationship_from_row;
use super::{Db, begin_write};
use crate::store::sql::SqlStore;
use crate::store::sql::text::course_tutor_conflict;
use crate::store::{
    Applied, Change, DecisionStore, End, FactBatch, FactStore, RelatedFilter, Relationship,
    RelationshipFilter, StoreError, SubjectStatus,
};

/// `RELATION_CLIENT` and `OBJECT_TYPE_TENANT`, as stored.
const CLIENT: i16 = lms_api::authorization::v1::Relation::Client as i16;
const TENANT_TYPE: i16 = lms_api::common::v1::ObjectType::Tenant as i16;

/// The client tenants a batch links or unlinks.
fn linked_clients(batch: &FactBatch) -> impl Iterator<Item = TenantId> + '_ {
    batch.changes.iter().filter_map(|change| {
        let (Change::Touch(r) | Change::Delete(r)) = change;
        (r.relation == CLIENT && r.subject_type == TENANT_TYPE)
            .then(|| TenantId::from_uuid(r.subject_id))
    })
}

/// Whether `tenant` has clients switched on, as stored now.
async fn clients_enabled(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
) -> Result<bool, StoreError> {
    let enabled: Option<bool> =
        sqlx::query_scalar("SELECT clients_enabled FROM tenant_facts WHERE tenant_id = $1")
            .bind(tenant.as_uuid())
            .fetch_optional(&mut **tx)
            .await?;
    Ok(enabled.unwrap_or(false))
}

/// The client tenants of `master`.
async fn clients_of(
    tx: &mut sqlx::Transaction<'_, Db>,
    master: TenantId,
) -> Result<Vec<TenantId>, StoreError> {
    let clients: Vec<Uuid> = sqlx::query_scalar(
        "SELECT subject_id FROM relationships WHERE tenant_id = $1 AND resource_type = $2 \
         AND resource_id = $1 AND relation = $3 AND subject_type = $2",
    )
    .bind(master.as_uuid())
    .bind(TENANT_TYPE)
    .bind(CLIENT)
    .fetch_all(&mut **tx)
    .await?;
    Ok(clients.into_iter().map(TenantId::from_uuid).collect())
}

impl FactStore for SqlStore<Db> {
    async fn applied(&self, event: Uuid) -> Result<bool, StoreError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT revision FROM applied_events WHERE event_id = $1")
                .bind(event)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    async fn apply_fact_batches(
        &self,
        tenant: TenantId,
        batches: &[FactBatch],
    ) -> Result<Applied, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let revision = bump(&mut tx, tenant).await?;
        let mut replays = Vec::with_capacity(batches.len());
        let mut moves_clients = Vec::new();
        let mut settings_changed = false;
        for batch in batches {
            let fresh = sqlx::query(
                "INSERT INTO applied_events (event_id, revision) VALUES ($1, $2) \
                 ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(batch.event_id)
            .bind(revision.0)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            replays.push(!fresh);
            if fresh {
                if let Some(settings) = &batch.settings {
                    settings_changed |=
                        clients_enabled(&mut tx, tenant).await? != settings.clients_enabled;
                }
                apply_batch(&mut tx, tenant, batch).await?;
                moves_clients.extend(linked_clients(batch));
            }
        }
        if replays.iter().all(|replay| *replay) {
            // Every one applied before: leave everything, including the revision, as it was.
            tx.rollback().await?;
            return Ok(Applied {
                revision: self.revision(tenant).await?,
                replays,
                clients: Vec::new(),
            });
        }
        // Only switching clients on or off concerns them (not an MFA or locations toggle).
        if settings_changed {
            moves_clients.extend(clients_of(&mut tx, tenant).await?);
        }
        moves_clients.sort();
        moves_clients.dedup();
        // The client's people read the master's grants with the link and the master's
        // switches: their cached facts go stale now, so the client's revision moves too.
        let mut clients = Vec::with_capacity(moves_clients.len());
        for client in moves_clients {
            clients.push((client, bump(&mut tx, client).await?));
        }
        tx.commit().await?;
        Ok(Applied {
            revision,
            replays,
            clients,
        })
    }

    async fn relationships(
        &self,
        tenant: TenantId,
        filter: RelationshipFilter,
        after: Option<Relationship>,
        limit: i64,
    ) -> Result<Vec<Relationship>, StoreError> {
        // Only the conditions present, so that every variant uses an index (a generic
        // plan for `$n = 0 OR ...` would scan the tenant).
        let mut sql = String::from("SELECT * FROM relationships WHERE tenant_id = $1");
        let mut next = 2;
        let mut condition = |sql: &mut String, text: &str, params: usize| {
            let mut text = text.to_owned();
            for i in 0..params {
                text = text.replace(&format!("${{{i}}}"), &format!("${}", next + i));
            }
            next += params;
            sql.push_str(&text);
        };
        if filter.resource.is_some() {
            condition(
                &mut sql,
                " AND resource_type = ${0} AND resource_id = ${1}",
                2,
            );
        }
        if filter.relation.is_some() {
            condition(&mut sql, " AND relation = ${0}", 1);
        }
        if filter.subject.is_some() {
            condition(
                &mut sql,
                " AND subject_type = ${0} AND subject_id = ${1}",
                2,
            );
        }
        if after.is_some() {
            condition(
                &mut sql,
                " AND (resource_type > ${0} OR (resource_type = ${0} AND \
                 (resource_id > ${1} OR (resource_id = ${1} AND \
                 (relation > ${2} OR (relation = ${2} AND \
                 (subject_type > ${3} OR (subject_type = ${3} AND subject_id > ${4}))))))))",
                5,
            );
        }
        condition(
            &mut sql,
            " ORDER BY resource_type, resource_id, relation, subject_type, subject_id LIMIT ${0}",
            1,
        );
        // Built from the fixed fragments above only; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.as_uuid());
        if let Some((kind, id)) = filter.resource {
            query = query.bind(kind).bind(id);
        }
        if let Some(relation) = filter.relation {
            query = query.bind(relation);
        }
        if let Some((kind, id)) = filter.subject {
            query = query.bind(kind).bind(id);
        }
        if let Some(r) = after {
            query = query
                .bind(r.resource_type)
                .bind(r.resource_id)
                .bind(r.relation)
                .bind(r.subject_type)
                .bind(r.subject_id);
        }
        query
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(relationship_from_row)
            .collect()
    }

    async fn related(
        &self,
        tenant: TenantId,
        filter: RelatedFilter<'_>,
        after: Option<Relationship>,
        limit: i64,
    ) -> Result<Vec<Relationship>, StoreError> {
        if filter.ids.is_empty() {
            return Ok(Vec::new());
        }
        let (kind_column, id_column) = match filter.end {
            End::Resource => ("resource_type", "resource_id"),
            End::Subject => ("subject_type", "subject_id"),
        };
        let mut query =
            sqlx::QueryBuilder::<Db>::new("SELECT * FROM relationships WHERE tenant_id = ");
        query.push_bind(tenant.as_uuid());
        query.push(" AND relation = ").push_bind(filter.relation);
        query
            .push(format_args!(" AND {kind_column} = "))
            .push_bind(filter.kind);
        query.push(format_args!(" AND {id_column} IN ("));
        let mut ids = query.separated(", ");
        for id in filter.ids {
            ids.push_bind(*id);
        }
        query.push(")");
        if let Some(r) = after {
            query
                .push(" AND (resource_type > ")
                .push_bind(r.resource_type)
                .push(" OR (resource_type = ")
                .push_bind(r.resource_type)
                .push(" AND (resource_id > ")
                .push_bind(r.resource_id)
                .push(" OR (resource_id = ")
                .push_bind(r.resource_id)
                .push(" AND (relation > ")
                .push_bind(r.relation)
                .push(" OR (relation = ")
                .push_bind(r.relation)
                .push(" AND (subject_type > ")
                .push_bind(r.subject_type)
                .push(" OR (subject_type = ")
                .push_bind(r.subject_type)
                .push(" AND subject_id > ")
                .push_bind(r.subject_id)
                .push("))))))))");
        }
        query
            .push(" ORDER BY resource_type, resource_id, relation, subject_type, subject_id LIMIT ")
            .push_bind(limit);
        query
            .build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(relationship_from_row)
            .collect()
    }
}

/// Rows per multi-row statement (eight parameters each, far below either engine's limit).
const ROWS_PER_STATEMENT: usize = 1000;

/// Applies one event's changes, settings and statuses in the caller's transaction.
async fn apply_batch(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
    batch: &FactBatch,
) -> Result<(), StoreError> {
    // Runs of touches go in multi-row upserts (a 1,000-person import is a handful of
    // statements, not thousands); a delete ends a run, so the batch's order holds.
    let mut touches: Vec<&Relationship> = Vec::new();
    for change in &batch.changes {
        match change {
            Change::Touch(r) => touches.push(r),
            Change::Delete(r) => {
                upsert_relationships(&mut *tx, tenant, &std::mem::take(&mut touches)).await?;
                sqlx::query(
                    "DELETE FROM relationships WHERE tenant_id = $1 AND resource_type = $2 \
                         AND resource_id = $3 AND relation = $4 AND subject_type = $5 \
                         AND subject_id = $6",
                )
                .bind(tenant.as_uuid())
                .bind(r.resource_type)
                .bind(r.resource_id)
                .bind(r.relation)
                .bind(r.subject_type)
                .bind(r.subject_id)
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    upsert_relationships(&mut *tx, tenant, &touches).await?;
    if let Some(settings) = batch.settings {
        sqlx::query(
            "INSERT INTO tenant_facts (tenant_id, locations_enabled, clients_enabled, \
                 mfa_required_for_admins) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id) DO UPDATE SET \
                 locations_enabled = excluded.locations_enabled, \
                 clients_enabled = excluded.clients_enabled, \
                 mfa_required_for_admins = excluded.mfa_required_for_admins",
        )
        .bind(tenant.as_uuid())
        .bind(settings.locations_enabled)
        .bind(settings.clients_enabled)
        .bind(settings.mfa_required_for_admins)
        .execute(&mut **tx)
        .await?;
    }
    upsert_statuses(&mut *tx, tenant, &batch.statuses).await?;
    Ok(())
}

/// Upserts relationships; of one key touched twice, the later touch wins, as it would
/// one statement at a time (a single upsert may not touch a row twice).
async fn upsert_relationships(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
    touches: &[&Relationship],
) -> Result<(), StoreError> {
    let mut latest: Vec<&Relationship> = Vec::with_capacity(touches.len());
    let mut seen = std::collections::HashSet::with_capacity(touches.len());
    for r in touches.iter().rev() {
        if seen.insert((
            r.resource_type,
            r.resource_id,
            r.relation,
            r.subject_type,
            r.subject_id,
        )) {
            latest.push(r);
        }
    }
    latest.reverse();
    for chunk in latest.chunks(ROWS_PER_STATEMENT) {
        let mut query = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO relationships (tenant_id, resource_type, resource_id, relation, \
             subject_type, subject_id, valid_from, valid_until) ",
        );
        query.push_values(chunk, |mut row, r| {
            row.push_bind(tenant.as_uuid())
                .push_bind(r.resource_type)
                .push_bind(r.resource_id)
                .push_bind(r.relation)
                .push_bind(r.subject_type)
                .push_bind(r.subject_id)
                .push_bind(r.valid_from)
                .push_bind(r.valid_until);
        });
        query.push(
            " ON CONFLICT (tenant_id, resource_type, resource_id, relation, subject_type, \
             subject_id) DO UPDATE SET valid_from = excluded.valid_from, valid_until = excluded.valid_until",
        );
        query
            .build()
            .execute(&mut **tx)
            .await
            .map_err(course_tutor_conflict)?;
    }
    Ok(())
}

/// Upserts subject statuses; the last status given for a user wins.
async fn upsert_statuses(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
    statuses: &[SubjectStatus],
) -> Result<(), StoreError> {
    let mut latest: Vec<&SubjectStatus> = Vec::with_capacity(statuses.len());
    let mut seen = std::collections::HashSet::with_capacity(statuses.len());
    for status in statuses.iter().rev() {
        if seen.insert(status.user) {
            latest.push(status);
        }
    }
    for chunk in latest.chunks(ROWS_PER_STATEMENT) {
        let mut query = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO subject_statuses (tenant_id, user_id, status, restrict_bookings) ",
        );
        query.push_values(chunk, |mut row, status| {
            row.push_bind(tenant.as_uuid())
                .push_bind(status.user.as_uuid())
                .push_bind(status.status.code())
                .push_bind(status.restrict_bookings);
        });
        query.push(
            " ON CONFLICT (tenant_id, user_id) DO UPDATE SET status = excluded.status, \
             restrict_bookings = excluded.restrict_bookings",
        );
        query.build().execute(&mut **tx).await?;
    }
    Ok(())
}
