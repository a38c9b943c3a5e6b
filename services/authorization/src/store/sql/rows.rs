//! Rows into records, for one backend's row type.

use lms_kernel::{AssignmentId, CustomRoleId, ResponsibilitySet, UnitId, UserId};
use sqlx::Row as _;
use uuid::Uuid;

use super::Db;
use crate::store::sql::text::{audit_action, grants_from_text, role_id_from_text};
use crate::store::{
    AssignmentRecord, AuditEntry, AuditRecord, Relationship, RoleRecord, Stamp, StoreError,
};

type Row = <Db as sqlx::Database>::Row;

pub(super) fn role_from_row(row: &Row) -> Result<RoleRecord, StoreError> {
    let copied_from: Option<String> = row.try_get("copied_from")?;
    Ok(RoleRecord {
        id: CustomRoleId::from_uuid(row.try_get("role_id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        grants: grants_from_text(&row.try_get::<String, _>("grants")?)?,
        responsibilities: ResponsibilitySet::from_bits(
            row.try_get::<i16, _>("responsibilities")? as u8
        ),
        copied_from: copied_from.as_deref().map(role_id_from_text).transpose()?,
        version: row.try_get("version")?,
        created: Stamp {
            actor: row.try_get("created_by")?,
            at: row.try_get("created_at")?,
        },
        updated: Stamp {
            actor: row.try_get("updated_by")?,
            at: row.try_get("updated_at")?,
        },
    })
}

pub(super) fn assignment_from_row(row: &Row) -> Result<AssignmentRecord, StoreError> {
    Ok(AssignmentRecord {
        id: AssignmentId::from_uuid(row.try_get("assignment_id")?),
        user: UserId::from_uuid(row.try_get("user_id")?),
        role: role_id_from_text(&row.try_get::<String, _>("role_id")?)?,
        unit: row
            .try_get::<Option<Uuid>, _>("unit_id")?
            .map(UnitId::from_uuid),
        valid_from: row.try_get("valid_from")?,
        valid_until: row.try_get("valid_until")?,
        source: row.try_get("source")?,
        main_role: row.try_get("main_role")?,
        assigned: Stamp {
            actor: row.try_get("assigned_by")?,
            at: row.try_get("assigned_at")?,
        },
    })
}

pub(super) fn relationship_from_row(row: &Row) -> Result<Relationship, StoreError> {
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

pub(super) fn audit_from_row(row: &Row) -> Result<AuditRecord, StoreError> {
    let action: String = row.try_get("action")?;
    Ok(AuditRecord {
        sequence: row.try_get("sequence")?,
        entry: AuditEntry {
            stamp: Stamp {
                actor: row.try_get("actor_id")?,
                at: row.try_get("at")?,
            },
            action: audit_action(&action)?,
            object_type: row.try_get("object_type")?,
            object_id: row.try_get("object_id")?,
            before: row.try_get("before_json")?,
            after: row.try_get("after_json")?,
        },
    })
}
