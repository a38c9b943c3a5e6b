//! Roles, assignments and the audit trail: the administration side.

use lms_kernel::{AssignmentId, CustomRoleId, RoleId, TenantId, UserId};
use uuid::Uuid;

use lms_runtime::outbox::{self, AppendEvents};

use super::decisions::bump;
use super::rows::{assignment_from_row, audit_from_row, role_from_row};
use super::{Db, LOCK_ROWS, begin_write};
use crate::records;
use crate::store::sql::SqlStore;
use crate::store::sql::text::{grants_to_text, name_conflict};
use crate::store::{
    AssignmentRecord, AuditEntry, AuditRecord, Guarded, ObjectType, Revision, RoleRecord,
    RoleStore, StoreError,
};

impl RoleStore for SqlStore<Db> {
    async fn insert_role(
        &self,
        tenant: TenantId,
        role: &RoleRecord,
        audit: AuditEntry,
    ) -> Result<Revision, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let revision = bump(&mut tx, tenant).await?;
        sqlx::query(
            "INSERT INTO roles (tenant_id, role_id, name, name_key, description, grants, \
             responsibilities, copied_from, version, created_by, created_at, updated_by, \
             updated_at) \
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

    async fn update_role(
        &self,
        tenant: TenantId,
        role: &RoleRecord,
        expected_version: Option<i64>,
        audit: AuditEntry,
    ) -> Result<Option<Revision>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let revision = bump(&mut tx, tenant).await?;
        let stored: Option<i64> =
            sqlx::query_scalar("SELECT version FROM roles WHERE tenant_id = $1 AND role_id = $2")
                .bind(tenant.as_uuid())
                .bind(role.id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        if let Some(expected) = expected_version.filter(|expected| *expected != stored) {
            return Err(StoreError::VersionMismatch { expected });
        }
        sqlx::query(
            "UPDATE roles SET name = $3, name_key = $4, description = $5, grants = $6, \
             version = $7, updated_by = $8, updated_at = $9 \
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

    async fn delete_role(
        &self,
        tenant: TenantId,
        role: CustomRoleId,
        audit: AuditEntry,
    ) -> Result<Option<Revision>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let revision = bump(&mut tx, tenant).await?;
        let holders: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM role_assignments WHERE tenant_id = $1 AND role_id = $2",
        )
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

    async fn role(
        &self,
        tenant: TenantId,
        role: CustomRoleId,
    ) -> Result<Option<RoleRecord>, StoreError> {
        sqlx::query("SELECT * FROM roles WHERE tenant_id = $1 AND role_id = $2")
            .bind(tenant.as_uuid())
            .bind(role.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(role_from_row)
            .transpose()
    }

    async fn roles(
        &self,
        tenant: TenantId,
        after_name_key: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RoleRecord>, StoreError> {
        sqlx::query(
            "SELECT * FROM roles WHERE tenant_id = $1 AND name_key > $2 ORDER BY name_key LIMIT $3",
        )
        .bind(tenant.as_uuid())
        .bind(after_name_key.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(role_from_row)
        .collect()
    }

    async fn insert_assignment(
        &self,
        tenant: TenantId,
        assignment: &AssignmentRecord,
        audit: AuditEntry,
    ) -> Result<Revision, StoreError> {
        match insert_assignment(&self.pool, tenant, assignment, audit, None, false).await? {
            Guarded::Added(revision) => Ok(revision),
            other => unreachable!("an unguarded insert always stores, not {other:?}"),
        }
    }

    async fn insert_assignment_guarded(
        &self,
        tenant: TenantId,
        assignment: &AssignmentRecord,
        audit: AuditEntry,
        event: Option<Uuid>,
        unless_held: bool,
    ) -> Result<Guarded, StoreError> {
        insert_assignment(&self.pool, tenant, assignment, audit, event, unless_held).await
    }

    async fn revoke_held(
        &self,
        tenant: TenantId,
        user: UserId,
        role: Option<RoleId>,
        source: Option<i16>,
        event: Uuid,
        audit: impl Fn(&AssignmentRecord) -> AuditEntry + Send,
    ) -> Result<Option<(Vec<AssignmentRecord>, Revision)>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let revision = bump(&mut tx, tenant).await?;
        if !first_application(&mut tx, event, revision).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let rows = sqlx::query(
            "DELETE FROM role_assignments WHERE tenant_id = $1 AND user_id = $2 \
             AND ($3 IS NULL OR role_id = $3) AND ($4 IS NULL OR source = $4) RETURNING *",
        )
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(role.map(|role| role.to_string()))
        .bind(source)
        .fetch_all(&mut *tx)
        .await?;
        let revoked = rows
            .iter()
            .map(assignment_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        for record in &revoked {
            append_audit(&mut tx, tenant, &audit(record)).await?;
        }
        if !revoked.is_empty() {
            record_holder(&mut tx, tenant, user).await?;
        }
        tx.commit().await?;
        Ok(Some((revoked, revision)))
    }

    async fn delete_assignment(
        &self,
        tenant: TenantId,
        assignment: AssignmentId,
        audit: AuditEntry,
    ) -> Result<Option<(AssignmentRecord, Revision)>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let revision = bump(&mut tx, tenant).await?;
        let row = sqlx::query(
            "DELETE FROM role_assignments WHERE tenant_id = $1 AND assignment_id = $2 RETURNING *",
        )
        .bind(tenant.as_uuid())
        .bind(assignment.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let record = assignment_from_row(&row)?;
        append_audit(&mut tx, tenant, &audit).await?;
        record_holder(&mut tx, tenant, record.user).await?;
        tx.commit().await?;
        Ok(Some((record, revision)))
    }

    async fn assignment(
        &self,
        tenant: TenantId,
        assignment: AssignmentId,
    ) -> Result<Option<AssignmentRecord>, StoreError> {
        sqlx::query("SELECT * FROM role_assignments WHERE tenant_id = $1 AND assignment_id = $2")
            .bind(tenant.as_uuid())
            .bind(assignment.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(assignment_from_row)
            .transpose()
    }

    async fn assignments_of(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<AssignmentRecord>, StoreError> {
        sqlx::query(
            "SELECT * FROM role_assignments WHERE tenant_id = $1 AND user_id = $2 \
             ORDER BY assignment_id",
        )
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(assignment_from_row)
        .collect()
    }

    async fn holders_of(
        &self,
        tenant: TenantId,
        role: RoleId,
        after: Option<AssignmentId>,
        limit: i64,
    ) -> Result<Vec<AssignmentRecord>, StoreError> {
        sqlx::query(
            "SELECT * FROM role_assignments WHERE tenant_id = $1 AND role_id = $2 \
             AND assignment_id > $3 ORDER BY assignment_id LIMIT $4",
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

    async fn set_main_role(
        &self,
        tenant: TenantId,
        user: UserId,
        assignment: AssignmentId,
        audit: AuditEntry,
    ) -> Result<Option<AssignmentRecord>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        // Lock the person's assignments in one order before changing them: otherwise two
        // concurrent choices each lock rows in the order the UPDATE meets them, and PostgreSQL
        // may find them waiting on each other (a deadlock, refused with 40P01).
        let held: Vec<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT assignment_id FROM role_assignments \
             WHERE tenant_id = $1 AND user_id = $2 ORDER BY assignment_id{LOCK_ROWS}"
        )))
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .fetch_all(&mut *tx)
        .await?;
        if !held.contains(&assignment.as_uuid()) {
            return Ok(None);
        }
        sqlx::query(
            "UPDATE role_assignments SET main_role = (assignment_id = $3) \
             WHERE tenant_id = $1 AND user_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(assignment.as_uuid())
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT * FROM role_assignments WHERE tenant_id = $1 AND assignment_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(assignment.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
        append_audit(&mut tx, tenant, &audit).await?;
        record_holder(&mut tx, tenant, user).await?;
        tx.commit().await?;
        assignment_from_row(&row).map(Some)
    }

    async fn audit_records(
        &self,
        tenant: TenantId,
        object: Option<(ObjectType, String)>,
        before_sequence: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
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
        rows.iter().map(audit_from_row).collect()
    }
}

async fn append_audit(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_records (tenant_id, actor_id, at, action, object_type, object_id, \
         before_json, after_json) \
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

/// Records `event` as applied at `revision`; false when it was applied before.
async fn first_application(
    tx: &mut sqlx::Transaction<'_, Db>,
    event: Uuid,
    revision: Revision,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO applied_events (event_id, revision) VALUES ($1, $2) \
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event)
    .bind(revision.0)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Tells reporting, in `tx`, every assignment `user` holds as `tx` leaves them (see
/// [`crate::records`]); last in the transaction. The tenant's outbox order is taken before
/// reading: a concurrent change of the holder (a main role chosen, which bumps no revision)
/// either committed before, and is read, or appends its own record after this one.
async fn record_holder(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
    user: UserId,
) -> Result<(), StoreError> {
    tx.hold_order(tenant).await?;
    let assignments = sqlx::query(
        "SELECT * FROM role_assignments WHERE tenant_id = $1 AND user_id = $2 \
         ORDER BY assignment_id",
    )
    .bind(tenant.as_uuid())
    .bind(user.as_uuid())
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(assignment_from_row)
    .collect::<Result<Vec<_>, _>>()?;
    let events = records::role_records(vec![records::holder(user, &assignments)]);
    outbox::append(&mut **tx, tenant, &events).await?;
    Ok(())
}

/// Stores an assignment under its guards (see [`RoleStore::insert_assignment_guarded`]).
async fn insert_assignment(
    pool: &sqlx::Pool<Db>,
    tenant: TenantId,
    assignment: &AssignmentRecord,
    audit: AuditEntry,
    event: Option<Uuid>,
    unless_held: bool,
) -> Result<Guarded, StoreError> {
    let mut tx = begin_write(pool).await?;
    // First, so the tenant's writers queue here and the check below sees what those before
    // this one committed.
    let revision = bump(&mut tx, tenant).await?;
    if let Some(event) = event
        && !first_application(&mut tx, event, revision).await?
    {
        tx.rollback().await?;
        return Ok(Guarded::Replayed);
    }
    if unless_held && let Some(held) = held_like(&mut tx, tenant, assignment).await? {
        // An event stays applied, so a redelivery after a revocation brings nothing back.
        return Ok(match event {
            Some(_) => {
                tx.commit().await?;
                Guarded::Held(held, Some(revision))
            }
            None => {
                tx.rollback().await?;
                Guarded::Held(held, None)
            }
        });
    }
    if assignment.main_role {
        sqlx::query(
            "UPDATE role_assignments SET main_role = $3 WHERE tenant_id = $1 AND user_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(assignment.user.as_uuid())
        .bind(false)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO role_assignments (tenant_id, assignment_id, user_id, role_id, unit_id, \
         valid_from, valid_until, source, main_role, assigned_by, assigned_at) \
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
    record_holder(&mut tx, tenant, assignment.user).await?;
    tx.commit().await?;
    Ok(Guarded::Added(revision))
}

/// The holder's assignment of `assignment`'s role at its place (its unit, or the tenant), in
/// force when `assignment` was stamped; the oldest when there are several.
async fn held_like(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
    assignment: &AssignmentRecord,
) -> Result<Option<AssignmentRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM role_assignments WHERE tenant_id = $1 AND user_id = $2 AND role_id = $3 \
         ORDER BY assigned_at, assignment_id",
    )
    .bind(tenant.as_uuid())
    .bind(assignment.user.as_uuid())
    .bind(assignment.role.to_string())
    .fetch_all(&mut **tx)
    .await?;
    for row in &rows {
        let there = assignment_from_row(row)?;
        if there.unit == assignment.unit && there.is_active(assignment.assigned.at) {
            return Ok(Some(there));
        }
    }
    Ok(None)
}
