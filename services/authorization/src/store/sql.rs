//! The SQL adapter. One body of queries, written once in `sql_store!` and compiled for
//! PostgreSQL and for SQLite: both accept `$n` placeholders, `ON CONFLICT` and `RETURNING`, and
//! sqlx binds UUIDs to `UUID` and 16-byte `BLOB` columns alike. The migrations differ per backend.

use lms_kernel::{
    AssignmentId, CustomRoleId, Grant, Grants, Permission, Reach, ResponsibilitySet, RoleId,
    TenantId, TenantSettings, UnitId, UserId, UserStatus,
};
use sqlx::Row;
use uuid::Uuid;

use super::{
    AssignmentRecord, AuditEntry, AuditRecord, Change, FactBatch, HeldCustomRole, ObjectType,
    Relationship, RelationshipFilter, Revision, RoleRecord, Stamp, Store, StoreError, SubjectRows,
    SubjectStatus,
};

/// `RELATION_PARENT_UNIT` and `RELATION_CLIENT`, the relations the store itself follows.
const PARENT_UNIT: i16 = 1;
const CLIENT: i16 = 12;
/// How deep a unit tree may be before the store calls it corrupt (a cycle guard).
const MAX_UNIT_DEPTH: usize = 64;

/// Grants as stored: `permission@reach` names, comma-separated.
pub fn grants_to_text(grants: &Grants) -> String {
    grants
        .iter()
        .map(|g| g.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn grants_from_text(text: &str) -> Result<Grants, StoreError> {
    text.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (permission, reach) = part
                .split_once('@')
                .ok_or_else(|| StoreError::Corrupt(format!("grant {part:?}")))?;
            Ok(Grant {
                permission: Permission::parse(permission)
                    .ok_or_else(|| StoreError::Corrupt(format!("permission {permission:?}")))?,
                reach: Reach::parse(reach)
                    .ok_or_else(|| StoreError::Corrupt(format!("reach {reach:?}")))?,
            })
        })
        .collect()
}

fn status_from_i16(value: i16) -> Result<UserStatus, StoreError> {
    UserStatus::from_code(value).ok_or_else(|| StoreError::Corrupt(format!("user status {value}")))
}

fn role_id_from_text(text: &str) -> Result<RoleId, StoreError> {
    RoleId::parse(text).ok_or_else(|| StoreError::Corrupt(format!("role id {text:?}")))
}

/// Maps the one-course-tutor unique index to its domain error.
fn course_tutor_conflict(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db)
            if db.message().contains("relationships_one_course_tutor")
                || (db.is_unique_violation()
                    && db
                        .message()
                        .contains("relationships.tenant_id, relationships.resource_id")) =>
        {
            StoreError::CourseTutorTaken
        }
        _ => StoreError::Database(error),
    }
}

fn name_conflict(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::DuplicateName,
        _ => StoreError::Database(error),
    }
}

macro_rules! sql_store {
    ($(#[$doc:meta])* $store:ident, $db:ty, role_id_text: $role_text:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $store {
            pool: sqlx::Pool<$db>,
        }

        impl $store {
            /// A store over `pool`, whose database has the authorization migrations applied.
            pub fn new(pool: sqlx::Pool<$db>) -> Self {
                Self { pool }
            }
        }

        fn role_from_row(row: &<$db as sqlx::Database>::Row) -> Result<RoleRecord, StoreError> {
            let copied_from: Option<String> = row.try_get("copied_from")?;
            Ok(RoleRecord {
                id: CustomRoleId::from_uuid(row.try_get("role_id")?),
                name: row.try_get("name")?,
                description: row.try_get("description")?,
                grants: grants_from_text(&row.try_get::<String, _>("grants")?)?,
                responsibilities: ResponsibilitySet::from_bits(row.try_get::<i16, _>("responsibilities")? as u8),
                copied_from: copied_from.as_deref().map(role_id_from_text).transpose()?,
                version: row.try_get("version")?,
                created: Stamp { actor: row.try_get("created_by")?, at: row.try_get("created_at")? },
                updated: Stamp { actor: row.try_get("updated_by")?, at: row.try_get("updated_at")? },
            })
        }

        fn assignment_from_row(row: &<$db as sqlx::Database>::Row) -> Result<AssignmentRecord, StoreError> {
            Ok(AssignmentRecord {
                id: AssignmentId::from_uuid(row.try_get("assignment_id")?),
                user: UserId::from_uuid(row.try_get("user_id")?),
                role: role_id_from_text(&row.try_get::<String, _>("role_id")?)?,
                unit: row.try_get::<Option<Uuid>, _>("unit_id")?.map(UnitId::from_uuid),
                valid_from: row.try_get("valid_from")?,
                valid_until: row.try_get("valid_until")?,
                source: row.try_get("source")?,
                main_role: row.try_get("main_role")?,
                assigned: Stamp { actor: row.try_get("assigned_by")?, at: row.try_get("assigned_at")? },
            })
        }

        fn relationship_from_row(row: &<$db as sqlx::Database>::Row) -> Result<Relationship, StoreError> {
            Ok(Relationship {
                resource_type: row.try_get("resource_type")?,
                resource_id: row.try_get("resource_id")?,
                relation: row.try_get("relation")?,
                subject_type: row.try_get("subject_type")?,
                subject_id: row.try_get("subject_id")?,
                valid_from: row.try_get("valid_from")?,
                valid_until: row.try_get("valid_until")?,
            })
        }

        /// Bumps the tenant's revision inside `tx` and answers the new one.
        async fn bump(tx: &mut sqlx::Transaction<'_, $db>, tenant: TenantId) -> Result<Revision, StoreError> {
            let revision: i64 = sqlx::query_scalar(
                "INSERT INTO tenant_revisions (tenant_id, revision) VALUES ($1, 1) \
                 ON CONFLICT (tenant_id) DO UPDATE SET revision = tenant_revisions.revision + 1 \
                 RETURNING revision",
            )
            .bind(tenant.as_uuid())
            .fetch_one(&mut **tx)
            .await?;
            Ok(Revision(revision))
        }

        async fn append_audit(tx: &mut sqlx::Transaction<'_, $db>, tenant: TenantId, entry: &AuditEntry) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO audit_records (tenant_id, actor_id, at, action, object_type, object_id, before_json, after_json) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(tenant.as_uuid())
            .bind(&entry.stamp.actor)
            .bind(entry.stamp.at)
            .bind(entry.action)
            .bind(entry.object_type)
            .bind(&entry.object_id)
            .bind(&entry.before)
            .bind(&entry.after)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        /// Rows per multi-row statement (eight parameters each, far below either engine's limit).
        const ROWS_PER_STATEMENT: usize = 1000;

        /// Upserts relationships; of one key touched twice, the later touch wins, as it would
        /// one statement at a time (a single upsert may not touch a row twice).
        async fn upsert_relationships(
            tx: &mut sqlx::Transaction<'_, $db>,
            tenant: TenantId,
            touches: &[&Relationship],
        ) -> Result<(), StoreError> {
            let mut latest: Vec<&Relationship> = Vec::with_capacity(touches.len());
            let mut seen = std::collections::HashSet::with_capacity(touches.len());
            for r in touches.iter().rev() {
                if seen.insert((r.resource_type, r.resource_id, r.relation, r.subject_type, r.subject_id)) {
                    latest.push(r);
                }
            }
            latest.reverse();
            for chunk in latest.chunks(ROWS_PER_STATEMENT) {
                let mut query = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO relationships (tenant_id, resource_type, resource_id, relation, subject_type, subject_id, valid_from, valid_until) ",
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
                    " ON CONFLICT (tenant_id, resource_type, resource_id, relation, subject_type, subject_id) \
                     DO UPDATE SET valid_from = excluded.valid_from, valid_until = excluded.valid_until",
                );
                query.build().execute(&mut **tx).await.map_err(course_tutor_conflict)?;
            }
            Ok(())
        }

        /// Upserts subject statuses; the last status given for a user wins.
        async fn upsert_statuses(
            tx: &mut sqlx::Transaction<'_, $db>,
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
                let mut query = sqlx::QueryBuilder::<$db>::new(
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

        impl Store for $store {
            async fn revision(&self, tenant: TenantId) -> Result<Revision, StoreError> {
                let revision: Option<i64> = sqlx::query_scalar("SELECT revision FROM tenant_revisions WHERE tenant_id = $1")
                    .bind(tenant.as_uuid())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(Revision(revision.unwrap_or(0)))
            }

            async fn insert_role(&self, tenant: TenantId, role: &RoleRecord, audit: AuditEntry) -> Result<Revision, StoreError> {
                let mut tx = self.pool.begin().await?;
                let revision = bump(&mut tx, tenant).await?;
                sqlx::query(
                    "INSERT INTO roles (tenant_id, role_id, name, name_key, description, grants, responsibilities, copied_from, version, created_by, created_at, updated_by, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(tenant.as_uuid())
                .bind(role.id.as_uuid())
                .bind(&role.name)
                .bind(role.name.to_lowercase())
                .bind(&role.description)
                .bind(grants_to_text(&role.grants))
                .bind(i16::from(role.responsibilities.bits()))
                .bind(role.copied_from.map(|id| id.to_string()))
                .bind(role.version)
                .bind(&role.created.actor)
                .bind(role.created.at)
                .bind(&role.updated.actor)
                .bind(role.updated.at)
                .execute(&mut *tx)
                .await
                .map_err(name_conflict)?;
                append_audit(&mut tx, tenant, &audit).await?;
                tx.commit().await?;
                Ok(revision)
            }

            async fn update_role(&self, tenant: TenantId, role: &RoleRecord, expected_version: Option<i64>, audit: AuditEntry) -> Result<Option<Revision>, StoreError> {
                let mut tx = self.pool.begin().await?;
                let revision = bump(&mut tx, tenant).await?;
                let stored: Option<i64> = sqlx::query_scalar("SELECT version FROM roles WHERE tenant_id = $1 AND role_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(role.id.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(stored) = stored else { return Ok(None) };
                if let Some(expected) = expected_version.filter(|expected| *expected != stored) {
                    return Err(StoreError::VersionMismatch { expected });
                }
                sqlx::query(
                    "UPDATE roles SET name = $3, name_key = $4, description = $5, grants = $6, version = $7, updated_by = $8, updated_at = $9 \
                     WHERE tenant_id = $1 AND role_id = $2",
                )
                .bind(tenant.as_uuid())
                .bind(role.id.as_uuid())
                .bind(&role.name)
                .bind(role.name.to_lowercase())
                .bind(&role.description)
                .bind(grants_to_text(&role.grants))
                .bind(stored + 1)
                .bind(&role.updated.actor)
                .bind(role.updated.at)
                .execute(&mut *tx)
                .await
                .map_err(name_conflict)?;
                append_audit(&mut tx, tenant, &audit).await?;
                tx.commit().await?;
                Ok(Some(revision))
            }

            async fn delete_role(&self, tenant: TenantId, role: CustomRoleId, audit: AuditEntry) -> Result<Option<Revision>, StoreError> {
                let mut tx = self.pool.begin().await?;
                let revision = bump(&mut tx, tenant).await?;
                let holders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM role_assignments WHERE tenant_id = $1 AND role_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(role.to_string())
                    .fetch_one(&mut *tx)
                    .await?;
                if holders > 0 {
                    return Err(StoreError::RoleHeld { holders });
                }
                let deleted = sqlx::query("DELETE FROM roles WHERE tenant_id = $1 AND role_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(role.as_uuid())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if deleted == 0 {
                    return Ok(None);
                }
                append_audit(&mut tx, tenant, &audit).await?;
                tx.commit().await?;
                Ok(Some(revision))
            }

            async fn role(&self, tenant: TenantId, role: CustomRoleId) -> Result<Option<RoleRecord>, StoreError> {
                sqlx::query("SELECT * FROM roles WHERE tenant_id = $1 AND role_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(role.as_uuid())
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(role_from_row)
                    .transpose()
            }

            async fn roles(&self, tenant: TenantId, after_name_key: Option<&str>, limit: i64) -> Result<Vec<RoleRecord>, StoreError> {
                sqlx::query("SELECT * FROM roles WHERE tenant_id = $1 AND name_key > $2 ORDER BY name_key LIMIT $3")
                    .bind(tenant.as_uuid())
                    .bind(after_name_key.unwrap_or(""))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(role_from_row)
                    .collect()
            }

            async fn insert_assignment(&self, tenant: TenantId, assignment: &AssignmentRecord, audit: AuditEntry) -> Result<Revision, StoreError> {
                let mut tx = self.pool.begin().await?;
                let revision = bump(&mut tx, tenant).await?;
                if assignment.main_role {
                    sqlx::query("UPDATE role_assignments SET main_role = $3 WHERE tenant_id = $1 AND user_id = $2")
                        .bind(tenant.as_uuid())
                        .bind(assignment.user.as_uuid())
                        .bind(false)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(
                    "INSERT INTO role_assignments (tenant_id, assignment_id, user_id, role_id, unit_id, valid_from, valid_until, source, main_role, assigned_by, assigned_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(tenant.as_uuid())
                .bind(assignment.id.as_uuid())
                .bind(assignment.user.as_uuid())
                .bind(assignment.role.to_string())
                .bind(assignment.unit.map(|unit| unit.as_uuid()))
                .bind(assignment.valid_from)
                .bind(assignment.valid_until)
                .bind(assignment.source)
                .bind(assignment.main_role)
                .bind(&assignment.assigned.actor)
                .bind(assignment.assigned.at)
                .execute(&mut *tx)
                .await?;
                append_audit(&mut tx, tenant, &audit).await?;
                tx.commit().await?;
                Ok(revision)
            }

            async fn delete_assignment(&self, tenant: TenantId, assignment: AssignmentId, audit: AuditEntry) -> Result<Option<(AssignmentRecord, Revision)>, StoreError> {
                let mut tx = self.pool.begin().await?;
                let revision = bump(&mut tx, tenant).await?;
                let row = sqlx::query("DELETE FROM role_assignments WHERE tenant_id = $1 AND assignment_id = $2 RETURNING *")
                    .bind(tenant.as_uuid())
                    .bind(assignment.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let record = assignment_from_row(&row)?;
                append_audit(&mut tx, tenant, &audit).await?;
                tx.commit().await?;
                Ok(Some((record, revision)))
            }

            async fn assignment(&self, tenant: TenantId, assignment: AssignmentId) -> Result<Option<AssignmentRecord>, StoreError> {
                sqlx::query("SELECT * FROM role_assignments WHERE tenant_id = $1 AND assignment_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(assignment.as_uuid())
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(assignment_from_row)
                    .transpose()
            }

            async fn assignments_of(&self, tenant: TenantId, user: UserId) -> Result<Vec<AssignmentRecord>, StoreError> {
                sqlx::query("SELECT * FROM role_assignments WHERE tenant_id = $1 AND user_id = $2 ORDER BY assignment_id")
                    .bind(tenant.as_uuid())
                    .bind(user.as_uuid())
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(assignment_from_row)
                    .collect()
            }

            async fn holders_of(&self, tenant: TenantId, role: RoleId, after: Option<AssignmentId>, limit: i64) -> Result<Vec<AssignmentRecord>, StoreError> {
                sqlx::query(
                    "SELECT * FROM role_assignments WHERE tenant_id = $1 AND role_id = $2 AND assignment_id > $3 \
                     ORDER BY assignment_id LIMIT $4",
                )
                .bind(tenant.as_uuid())
                .bind(role.to_string())
                .bind(after.map_or(Uuid::nil(), |id| id.as_uuid()))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(assignment_from_row)
                .collect()
            }

            async fn set_main_role(&self, tenant: TenantId, user: UserId, assignment: AssignmentId, audit: AuditEntry) -> Result<Option<AssignmentRecord>, StoreError> {
                let mut tx = self.pool.begin().await?;
                let owned: Option<Uuid> = sqlx::query_scalar("SELECT assignment_id FROM role_assignments WHERE tenant_id = $1 AND user_id = $2 AND assignment_id = $3")
                    .bind(tenant.as_uuid())
                    .bind(user.as_uuid())
                    .bind(assignment.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?;
                if owned.is_none() {
                    return Ok(None);
                }
                sqlx::query("UPDATE role_assignments SET main_role = (assignment_id = $3) WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(user.as_uuid())
                    .bind(assignment.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                let row = sqlx::query("SELECT * FROM role_assignments WHERE tenant_id = $1 AND assignment_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(assignment.as_uuid())
                    .fetch_one(&mut *tx)
                    .await?;
                append_audit(&mut tx, tenant, &audit).await?;
                tx.commit().await?;
                assignment_from_row(&row).map(Some)
            }

            async fn audit_records(&self, tenant: TenantId, object: Option<(ObjectType, String)>, before_sequence: Option<i64>, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
                let (object_type, object_id) = object.unwrap_or((0, String::new()));
                let rows = sqlx::query(
                    "SELECT * FROM audit_records WHERE tenant_id = $1 AND sequence < $2 \
                     AND ($3 = 0 OR (object_type = $3 AND object_id = $4)) \
                     ORDER BY sequence DESC LIMIT $5",
                )
                .bind(tenant.as_uuid())
                .bind(before_sequence.unwrap_or(i64::MAX))
                .bind(object_type)
                .bind(object_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let action: String = row.try_get("action")?;
                        Ok(AuditRecord {
                            sequence: row.try_get("sequence")?,
                            entry: AuditEntry {
                                stamp: Stamp { actor: row.try_get("actor_id")?, at: row.try_get("at")? },
                                action: audit_action(&action)?,
                                object_type: row.try_get("object_type")?,
                                object_id: row.try_get("object_id")?,
                                before: row.try_get("before_json")?,
                                after: row.try_get("after_json")?,
                            },
                        })
                    })
                    .collect()
            }

            async fn apply_facts(&self, tenant: TenantId, batch: &FactBatch) -> Result<(Revision, bool), StoreError> {
                let mut tx = self.pool.begin().await?;
                let revision = bump(&mut tx, tenant).await?;
                let fresh = sqlx::query("INSERT INTO applied_events (event_id, revision) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING")
                    .bind(batch.event_id)
                    .bind(revision.0)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                if !fresh {
                    // Applied before: leave everything, including the revision, as it was.
                    tx.rollback().await?;
                    return Ok((self.revision(tenant).await?, true));
                }
                // Runs of touches go in multi-row upserts (a 1,000-person import is a handful of
                // statements, not thousands); a delete ends a run, so the batch's order holds.
                let mut touches: Vec<&Relationship> = Vec::new();
                for change in &batch.changes {
                    match change {
                        Change::Touch(r) => touches.push(r),
                        Change::Delete(r) => {
                            upsert_relationships(&mut tx, tenant, &std::mem::take(&mut touches)).await?;
                            sqlx::query(
                                "DELETE FROM relationships WHERE tenant_id = $1 AND resource_type = $2 AND resource_id = $3 \
                                 AND relation = $4 AND subject_type = $5 AND subject_id = $6",
                            )
                            .bind(tenant.as_uuid())
                            .bind(r.resource_type)
                            .bind(r.resource_id)
                            .bind(r.relation)
                            .bind(r.subject_type)
                            .bind(r.subject_id)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                }
                upsert_relationships(&mut tx, tenant, &touches).await?;
                if let Some(settings) = batch.settings {
                    sqlx::query(
                        "INSERT INTO tenant_facts (tenant_id, locations_enabled, clients_enabled, mfa_required_for_admins) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (tenant_id) DO UPDATE SET locations_enabled = excluded.locations_enabled, \
                         clients_enabled = excluded.clients_enabled, mfa_required_for_admins = excluded.mfa_required_for_admins",
                    )
                    .bind(tenant.as_uuid())
                    .bind(settings.locations_enabled)
                    .bind(settings.clients_enabled)
                    .bind(settings.mfa_required_for_admins)
                    .execute(&mut *tx)
                    .await?;
                }
                upsert_statuses(&mut tx, tenant, &batch.statuses).await?;
                tx.commit().await?;
                Ok((revision, false))
            }

            async fn relationships(&self, tenant: TenantId, filter: RelationshipFilter, after: Option<Relationship>, limit: i64) -> Result<Vec<Relationship>, StoreError> {
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
                    condition(&mut sql, " AND resource_type = ${0} AND resource_id = ${1}", 2);
                }
                if filter.relation.is_some() {
                    condition(&mut sql, " AND relation = ${0}", 1);
                }
                if filter.subject.is_some() {
                    condition(&mut sql, " AND subject_type = ${0} AND subject_id = ${1}", 2);
                }
                if after.is_some() {
                    condition(
                        &mut sql,
                        " AND (resource_type > ${0} OR (resource_type = ${0} AND (resource_id > ${1} OR (resource_id = ${1} AND \
                         (relation > ${2} OR (relation = ${2} AND (subject_type > ${3} OR (subject_type = ${3} AND subject_id > ${4}))))))))",
                        5,
                    );
                }
                condition(&mut sql, " ORDER BY resource_type, resource_id, relation, subject_type, subject_id LIMIT ${0}", 1);
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
                    query = query.bind(r.resource_type).bind(r.resource_id).bind(r.relation).bind(r.subject_type).bind(r.subject_id);
                }
                query
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(relationship_from_row)
                    .collect()
            }

            async fn subject_rows(&self, tenant: TenantId, user: UserId) -> Result<(SubjectRows, Revision), StoreError> {
                // One statement: one round trip, and one snapshot on both backends (a
                // multi-statement READ COMMITTED transaction would not be one). Each part of the
                // union fills the generic columns its own way; `part` says which.
                let rows = sqlx::query(concat!(
                    "SELECT CAST(0 AS BIGINT) AS part, CAST(NULL AS UUID) AS u1, CAST(NULL AS UUID) AS u2, revision AS n1, CAST(NULL AS BIGINT) AS n2, \
                       CAST(NULL AS BIGINT) AS n3, CAST(NULL AS BIGINT) AS n4, CAST(NULL AS BIGINT) AS n5, CAST(NULL AS TEXT) AS t1, CAST(NULL AS TEXT) AS t2 \
                       FROM tenant_revisions WHERE tenant_id = $1 \
                     UNION ALL SELECT 1, NULL, NULL, CASE WHEN locations_enabled THEN 1 ELSE 0 END, CASE WHEN clients_enabled THEN 1 ELSE 0 END, \
                       CASE WHEN mfa_required_for_admins THEN 1 ELSE 0 END, NULL, NULL, NULL, NULL FROM tenant_facts WHERE tenant_id = $1 \
                     UNION ALL SELECT 2, subject_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL \
                       FROM relationships WHERE tenant_id = $1 AND resource_type = $5 AND resource_id = $1 AND relation = $3 \
                     UNION ALL SELECT 3, NULL, NULL, status, CASE WHEN restrict_bookings THEN 1 ELSE 0 END, NULL, NULL, NULL, NULL, NULL \
                       FROM subject_statuses WHERE tenant_id = $1 AND user_id = $2 \
                     UNION ALL SELECT 4, assignment_id, unit_id, valid_from, valid_until, source, CASE WHEN main_role THEN 1 ELSE 0 END, assigned_at, role_id, assigned_by \
                       FROM role_assignments WHERE tenant_id = $1 AND user_id = $2 \
                     UNION ALL SELECT 5, r.role_id, NULL, r.responsibilities, NULL, NULL, NULL, NULL, r.grants, NULL \
                       FROM roles r WHERE r.tenant_id = $1 AND ",
                    $role_text,
                    " IN (SELECT role_id FROM role_assignments WHERE tenant_id = $1 AND user_id = $2) \
                     UNION ALL SELECT 6, resource_id, NULL, resource_type, relation, valid_from, valid_until, NULL, NULL, NULL \
                       FROM relationships WHERE tenant_id = $1 AND subject_type = $4 AND subject_id = $2"
                ))
                .bind(tenant.as_uuid())
                .bind(user.as_uuid())
                .bind(CLIENT)
                .bind(USER_TYPE)
                .bind(TENANT_TYPE)
                .fetch_all(&self.pool)
                .await?;
                let mut subject = SubjectRows::default();
                let mut revision = 0;
                let mut assignments = Vec::new();
                for row in &rows {
                    let part: i64 = row.try_get("part")?;
                    let n = |name: &str| row.try_get::<Option<i64>, _>(name);
                    let u = |name: &str| row.try_get::<Option<Uuid>, _>(name);
                    let t = |name: &str| row.try_get::<Option<String>, _>(name);
                    let required = |value: Option<i64>| value.ok_or_else(|| StoreError::Corrupt(format!("subject rows part {part}")));
                    let uuid = |value: Option<Uuid>| value.ok_or_else(|| StoreError::Corrupt(format!("subject rows part {part}")));
                    match part {
                        0 => revision = required(n("n1")?)?,
                        1 => {
                            subject.settings = TenantSettings {
                                locations_enabled: required(n("n1")?)? == 1,
                                clients_enabled: required(n("n2")?)? == 1,
                                mfa_required_for_admins: required(n("n3")?)? == 1,
                            }
                        }
                        2 => subject.clients.push(TenantId::from_uuid(uuid(u("u1")?)?)),
                        3 => {
                            subject.status = Some(SubjectStatus {
                                user,
                                status: status_from_i16(required(n("n1")?)? as i16)?,
                                restrict_bookings: required(n("n2")?)? == 1,
                            })
                        }
                        4 => assignments.push(AssignmentRecord {
                            id: AssignmentId::from_uuid(uuid(u("u1")?)?),
                            user,
                            role: role_id_from_text(&t("t1")?.unwrap_or_default())?,
                            unit: u("u2")?.map(UnitId::from_uuid),
                            valid_from: n("n1")?,
                            valid_until: n("n2")?,
                            source: required(n("n3")?)? as i16,
                            main_role: required(n("n4")?)? == 1,
                            assigned: Stamp { actor: t("t2")?.unwrap_or_default(), at: required(n("n5")?)? },
                        }),
                        5 => subject.custom_roles.push(HeldCustomRole {
                            id: CustomRoleId::from_uuid(uuid(u("u1")?)?),
                            grants: grants_from_text(&t("t1")?.unwrap_or_default())?,
                            responsibilities: ResponsibilitySet::from_bits(required(n("n1")?)? as u8),
                        }),
                        6 => subject.relationships.push(Relationship {
                            resource_type: required(n("n1")?)? as i16,
                            resource_id: uuid(u("u1")?)?,
                            relation: required(n("n2")?)? as i16,
                            subject_type: USER_TYPE,
                            subject_id: user.as_uuid(),
                            valid_from: n("n3")?,
                            valid_until: n("n4")?,
                        }),
                        other => return Err(StoreError::Corrupt(format!("subject rows part {other}"))),
                    }
                }
                assignments.sort_by_key(|a: &AssignmentRecord| a.id);
                subject.assignments = assignments;
                Ok((subject, Revision(revision)))
            }

            async fn unit_ancestors(&self, tenant: TenantId, unit: UnitId) -> Result<Vec<UnitId>, StoreError> {
                let mut chain = vec![unit];
                while chain.len() <= MAX_UNIT_DEPTH {
                    let current = chain[chain.len() - 1];
                    let parent: Option<Uuid> = sqlx::query_scalar(
                        "SELECT subject_id FROM relationships WHERE tenant_id = $1 AND resource_type = $2 AND resource_id = $3 AND relation = $4",
                    )
                    .bind(tenant.as_uuid())
                    .bind(UNIT_TYPE)
                    .bind(current.as_uuid())
                    .bind(PARENT_UNIT)
                    .fetch_optional(&self.pool)
                    .await?;
                    match parent.map(UnitId::from_uuid) {
                        Some(parent) if !chain.contains(&parent) => chain.push(parent),
                        Some(_) => return Err(StoreError::Corrupt(format!("unit cycle at {current}"))),
                        None => return Ok(chain),
                    }
                }
                Err(StoreError::Corrupt(format!("unit tree deeper than {MAX_UNIT_DEPTH}")))
            }
        }
    };
}

/// `OBJECT_TYPE_TENANT`, `OBJECT_TYPE_UNIT` and `OBJECT_TYPE_USER`.
const TENANT_TYPE: i16 = 1;
const UNIT_TYPE: i16 = 2;
const USER_TYPE: i16 = 3;

/// The audit actions the service writes; stored as text, read back as the same static strings.
pub(crate) const AUDIT_ACTIONS: &[&str] = &[
    "role.created",
    "role.updated",
    "role.deleted",
    "role_assignment.created",
    "role_assignment.revoked",
    "role_assignment.main_role_set",
];

fn audit_action(text: &str) -> Result<&'static str, StoreError> {
    AUDIT_ACTIONS
        .iter()
        .find(|action| **action == text)
        .copied()
        .ok_or_else(|| StoreError::Corrupt(format!("audit action {text:?}")))
}

mod postgres {
    use super::*;
    sql_store!(
        /// The store on PostgreSQL.
        PgStore,
        sqlx::Postgres,
        role_id_text: "CAST(r.role_id AS TEXT)"
    );
}

mod sqlite {
    use super::*;
    sql_store!(
        /// The store on SQLite.
        SqliteStore,
        sqlx::Sqlite,
        // A 16-byte BLOB as the hyphenated lowercase UUID text assignments store.
        role_id_text: "lower(substr(hex(r.role_id), 1, 8) || '-' || substr(hex(r.role_id), 9, 4) || '-' || substr(hex(r.role_id), 13, 4) || '-' || substr(hex(r.role_id), 17, 4) || '-' || substr(hex(r.role_id), 21, 12))"
    );
}

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_round_trip_through_their_stored_text() {
        let grants = lms_kernel::Template::ManagerTutor.grants();
        assert_eq!(grants_from_text(&grants_to_text(&grants)).unwrap(), grants);
        assert_eq!(grants_from_text("").unwrap(), Grants::EMPTY);
        assert!(grants_from_text("users.fly@tenant").is_err());
    }
}
