//! The reads behind decisions: the tenant's revision, a subject's rows, a resource's rows, a
//! unit's ancestors.

use std::sync::LazyLock;

use lms_kernel::{
    AssignmentId, CustomRoleId, ResponsibilitySet, TenantId, TenantSettings, UnitId, UserId,
};
use sqlx::Row;
use uuid::Uuid;

use super::{Db, ROLE_ID_TEXT};
use crate::store::sql::SqlStore;
use crate::store::sql::chains::{Link, MAX_UNIT_DEPTH, unit_chains};
use crate::store::sql::text::{grants_from_text, role_id_from_text, status_from_i16};
use crate::store::{
    AssignmentRecord, DecisionStore, HeldCustomRole, Relationship, ResourceRows, Revision, Stamp,
    StoreError, SubjectRows, SubjectStatus,
};

/// The relations the store itself follows (`RELATION_*`).
const PARENT_UNIT: i16 = 1;
const EMPLOYEE: i16 = 2;
const PRIMARY_MEMBER: i16 = 4;
const MEMBER: i16 = 5;
const PARENT_COURSE: i16 = 11;
const CLIENT: i16 = 12;
const INVITEE: i16 = 13;
const OWNING_UNIT: i16 = 17;
/// The object types it reads by (`OBJECT_TYPE_*`).
const TENANT_TYPE: i16 = 1;
const UNIT_TYPE: i16 = 2;
const USER_TYPE: i16 = 3;
const COURSE_TYPE: i16 = 6;
const LESSON_TYPE: i16 = 7;
const EVENT_TYPE: i16 = 8;

/// Everything [`DecisionStore::subject_rows`] reads, as one statement: one round trip, and one
/// snapshot on both backends (a multi-statement READ COMMITTED transaction would not be one).
/// Each part of the union fills the generic columns its own way; `part` says which. Parameters:
/// tenant, user, `CLIENT`, `USER_TYPE`, `TENANT_TYPE`, `COURSE_TYPE`. The content grants to the
/// tenant (part 7, `relation = 21`: RELATION_GRANTED_BY written out, so that both engines match
/// the partial index `relationships_granted` whatever plan they keep) are read through that
/// index alone, each with whether its master still has the tenant as a client and clients
/// switched on: two key lookups in the master's rows.
pub(super) static SUBJECT_ROWS: LazyLock<String> = LazyLock::new(|| {
    [
        "SELECT CAST(0 AS BIGINT) AS part, CAST(NULL AS UUID) AS u1, CAST(NULL AS UUID) AS u2, \
           revision AS n1, CAST(NULL AS BIGINT) AS n2, CAST(NULL AS BIGINT) AS n3, \
           CAST(NULL AS BIGINT) AS n4, CAST(NULL AS BIGINT) AS n5, \
           CAST(NULL AS TEXT) AS t1, CAST(NULL AS TEXT) AS t2 \
           FROM tenant_revisions WHERE tenant_id = $1 \
         UNION ALL SELECT 1, NULL, NULL, CASE WHEN locations_enabled THEN 1 ELSE 0 END, \
           CASE WHEN clients_enabled THEN 1 ELSE 0 END, \
           CASE WHEN mfa_required_for_admins THEN 1 ELSE 0 END, NULL, NULL, NULL, NULL \
           FROM tenant_facts WHERE tenant_id = $1 \
         UNION ALL SELECT 2, subject_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL \
           FROM relationships \
           WHERE tenant_id = $1 AND resource_type = $5 AND resource_id = $1 AND relation = $3 \
         UNION ALL SELECT 3, NULL, NULL, status, CASE WHEN restrict_bookings THEN 1 ELSE 0 END, \
           NULL, NULL, NULL, NULL, NULL \
           FROM subject_statuses WHERE tenant_id = $1 AND user_id = $2 \
         UNION ALL SELECT 4, assignment_id, unit_id, valid_from, valid_until, source, \
           CASE WHEN main_role THEN 1 ELSE 0 END, assigned_at, role_id, assigned_by \
           FROM role_assignments WHERE tenant_id = $1 AND user_id = $2 \
         UNION ALL SELECT 5, r.role_id, NULL, r.responsibilities, NULL, NULL, NULL, NULL, \
           r.grants, NULL \
           FROM roles r WHERE r.tenant_id = $1 AND ",
        ROLE_ID_TEXT,
        " IN (SELECT role_id FROM role_assignments WHERE tenant_id = $1 AND user_id = $2) \
         UNION ALL SELECT 6, resource_id, NULL, resource_type, relation, valid_from, valid_until, \
           NULL, NULL, NULL \
           FROM relationships WHERE tenant_id = $1 AND subject_type = $4 AND subject_id = $2 \
         UNION ALL SELECT 7, g.resource_id, g.subject_id, g.resource_type, g.relation, \
           g.valid_from, g.valid_until, \
           CASE WHEN EXISTS (SELECT 1 FROM relationships c WHERE c.tenant_id = g.subject_id \
             AND c.resource_type = $5 AND c.resource_id = g.subject_id AND c.relation = $3 \
             AND c.subject_type = $5 AND c.subject_id = $1) \
             AND EXISTS (SELECT 1 FROM tenant_facts f WHERE f.tenant_id = g.subject_id \
             AND f.clients_enabled) THEN 1 ELSE 0 END, NULL, NULL \
           FROM relationships g WHERE g.tenant_id = $1 AND g.relation = 21 \
           AND g.subject_type = $5 AND g.resource_type = $6",
    ]
    .concat()
});

/// Everything [`DecisionStore::resource_rows`] reads, as one statement (one round trip, one
/// snapshot, the revision among the rows), laid out like [`SUBJECT_ROWS`]. Parameters: the
/// owner tenant, the resource's id, its type. Parts that do not concern the type are cut by a
/// condition on the type parameter alone, which both engines evaluate once, before any row.
///
/// `read` holds the relationships the type needs, read once for the answer and for `starts`:
/// the units the resource involves. It is `MATERIALIZED` (both engines accept the word) because
/// SQLite, which keeps no statistics here, would otherwise fold it into `starts`, where only
/// key columns are wanted, and walk the tenant's part of the covering primary key instead of
/// searching the subject index (`sqlite::tests` holds it to that). `chain` walks up from
/// each start, one level per step, to its first `RELATION_PARENT_UNIT` in key order (a unit has
/// one parent; were there two, the walk stays one chain), and one level past [`MAX_UNIT_DEPTH`] so that a cycle or a tree too
/// deep shows in the rows rather than looping; the scalar subquery leaves a top unit's parent
/// NULL, which ends its walk. `$2` needs no cast in `starts`: sqlx declares each parameter's
/// type on PostgreSQL, and SQLite compares the bound BLOB as it is.
pub(super) static RESOURCE_ROWS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH RECURSIVE \
         read AS MATERIALIZED ( \
           SELECT resource_type, resource_id, relation, subject_type, subject_id, valid_from, \
             valid_until \
           FROM relationships WHERE tenant_id = $1 AND subject_type = {USER_TYPE} \
           AND subject_id = $2 AND relation IN ({EMPLOYEE}, {PRIMARY_MEMBER}, {MEMBER}, {INVITEE}) \
           AND $3 = {USER_TYPE} \
           UNION ALL SELECT resource_type, resource_id, relation, subject_type, subject_id, \
             valid_from, valid_until \
           FROM relationships WHERE tenant_id = $1 AND resource_type = {COURSE_TYPE} \
           AND resource_id = $2 AND relation = {OWNING_UNIT} AND $3 = {COURSE_TYPE} \
           UNION ALL SELECT resource_type, resource_id, relation, subject_type, subject_id, \
             valid_from, valid_until \
           FROM relationships WHERE tenant_id = $1 AND resource_type = $3 AND resource_id = $2 \
           AND relation = {PARENT_COURSE} AND $3 IN ({LESSON_TYPE}, {EVENT_TYPE})), \
         starts (unit) AS ( \
           SELECT $2 WHERE $3 = {UNIT_TYPE} \
           UNION ALL SELECT resource_id FROM read WHERE relation = {EMPLOYEE} \
           UNION ALL SELECT subject_id FROM read WHERE relation = {OWNING_UNIT}), \
         chain (start, unit, depth) AS ( \
           SELECT unit, unit, 0 FROM starts \
           UNION ALL SELECT c.start, \
             (SELECT p.subject_id FROM relationships p WHERE p.tenant_id = $1 \
               AND p.resource_type = {UNIT_TYPE} AND p.resource_id = c.unit \
               AND p.relation = {PARENT_UNIT} ORDER BY p.subject_type, p.subject_id LIMIT 1), \
             c.depth + 1 \
           FROM chain c WHERE c.unit IS NOT NULL AND c.depth < {MAX_UNIT_DEPTH}) \
         SELECT CAST(0 AS BIGINT) AS part, CAST(NULL AS UUID) AS u1, CAST(NULL AS UUID) AS u2, \
           revision AS n1, CAST(NULL AS BIGINT) AS n2, CAST(NULL AS BIGINT) AS n3, \
           CAST(NULL AS BIGINT) AS n4, CAST(NULL AS BIGINT) AS n5 \
           FROM tenant_revisions WHERE tenant_id = $1 \
         UNION ALL SELECT 1, NULL, NULL, status, CASE WHEN restrict_bookings THEN 1 ELSE 0 END, \
           NULL, NULL, NULL \
           FROM subject_statuses WHERE tenant_id = $1 AND user_id = $2 AND $3 = {USER_TYPE} \
         UNION ALL SELECT 2, resource_id, subject_id, resource_type, relation, subject_type, \
           valid_from, valid_until FROM read \
         UNION ALL SELECT 3, start, unit, depth, NULL, NULL, NULL, NULL \
           FROM chain WHERE unit IS NOT NULL"
    )
});

impl DecisionStore for SqlStore<Db> {
    async fn revision(&self, tenant: TenantId) -> Result<Revision, StoreError> {
        let revision: Option<i64> =
            sqlx::query_scalar("SELECT revision FROM tenant_revisions WHERE tenant_id = $1")
                .bind(tenant.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
        Ok(Revision(revision.unwrap_or(0)))
    }

    async fn revisions(&self, tenants: &[Uuid]) -> Result<Vec<(Uuid, i64)>, StoreError> {
        let mut revisions: Vec<(Uuid, i64)> = tenants.iter().map(|t| (*t, 0)).collect();
        let mut stored = std::collections::HashMap::new();
        for chunk in tenants.chunks(500) {
            let mut query = sqlx::QueryBuilder::<Db>::new(
                "SELECT tenant_id, revision FROM tenant_revisions WHERE tenant_id IN (",
            );
            let mut ids = query.separated(", ");
            for tenant in chunk {
                ids.push_bind(*tenant);
            }
            query.push(")");
            for row in query.build().fetch_all(&self.pool).await? {
                stored.insert(
                    row.try_get::<Uuid, _>("tenant_id")?,
                    row.try_get::<i64, _>("revision")?,
                );
            }
        }
        for (tenant, revision) in &mut revisions {
            *revision = stored.get(tenant).copied().unwrap_or(0);
        }
        Ok(revisions)
    }

    async fn subject_rows(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<(SubjectRows, Revision), StoreError> {
        let rows = sqlx::query(SUBJECT_ROWS.as_str())
            .bind(tenant.as_uuid())
            .bind(user.as_uuid())
            .bind(CLIENT)
            .bind(USER_TYPE)
            .bind(TENANT_TYPE)
            .bind(COURSE_TYPE)
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
            let required = |value: Option<i64>| {
                value.ok_or_else(|| StoreError::Corrupt(format!("subject rows part {part}")))
            };
            let uuid = |value: Option<Uuid>| {
                value.ok_or_else(|| StoreError::Corrupt(format!("subject rows part {part}")))
            };
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
                    assigned: Stamp {
                        actor: t("t2")?.unwrap_or_default(),
                        at: required(n("n5")?)?,
                    },
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
                7 => {
                    let master = uuid(u("u2")?)?;
                    if required(n("n5")?)? == 1 {
                        subject.linked_masters.push(TenantId::from_uuid(master));
                    }
                    subject.relationships.push(Relationship {
                        resource_type: required(n("n1")?)? as i16,
                        resource_id: uuid(u("u1")?)?,
                        relation: required(n("n2")?)? as i16,
                        subject_type: TENANT_TYPE,
                        subject_id: master,
                        valid_from: n("n3")?,
                        valid_until: n("n4")?,
                    });
                }
                other => return Err(StoreError::Corrupt(format!("subject rows part {other}"))),
            }
        }
        subject.linked_masters.sort();
        subject.linked_masters.dedup();
        assignments.sort_by_key(|a: &AssignmentRecord| a.id);
        subject.assignments = assignments;
        Ok((subject, Revision(revision)))
    }

    async fn resource_rows(
        &self,
        tenant: TenantId,
        kind: i16,
        id: Uuid,
    ) -> Result<(ResourceRows, Revision), StoreError> {
        let rows = sqlx::query(RESOURCE_ROWS.as_str())
            .bind(tenant.as_uuid())
            .bind(id)
            .bind(kind)
            .fetch_all(&self.pool)
            .await?;
        let mut resource = ResourceRows::default();
        let mut revision = 0;
        let mut links = Vec::new();
        for row in &rows {
            let part: i64 = row.try_get("part")?;
            let corrupt = || StoreError::Corrupt(format!("resource rows part {part}"));
            let n = |name: &str| -> Result<i64, StoreError> {
                row.try_get::<Option<i64>, _>(name)?.ok_or_else(corrupt)
            };
            let u = |name: &str| -> Result<Uuid, StoreError> {
                row.try_get::<Option<Uuid>, _>(name)?.ok_or_else(corrupt)
            };
            match part {
                0 => revision = n("n1")?,
                1 => {
                    resource.status = Some(SubjectStatus {
                        user: UserId::from_uuid(id),
                        status: status_from_i16(n("n1")? as i16)?,
                        restrict_bookings: n("n2")? == 1,
                    })
                }
                2 => resource.relationships.push(Relationship {
                    resource_type: n("n1")? as i16,
                    resource_id: u("u1")?,
                    relation: n("n2")? as i16,
                    subject_type: n("n3")? as i16,
                    subject_id: u("u2")?,
                    valid_from: row.try_get("n4")?,
                    valid_until: row.try_get("n5")?,
                }),
                3 => links.push(Link {
                    start: u("u1")?,
                    depth: n("n1")?,
                    unit: u("u2")?,
                }),
                other => return Err(StoreError::Corrupt(format!("resource rows part {other}"))),
            }
        }
        resource.relationships.sort_by_key(|r| {
            (
                r.resource_type,
                r.resource_id,
                r.relation,
                r.subject_type,
                r.subject_id,
            )
        });
        resource.unit_chains = unit_chains(links)?;
        Ok((resource, Revision(revision)))
    }

    async fn statuses(
        &self,
        tenant: TenantId,
        after: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<SubjectStatus>, StoreError> {
        sqlx::query(
            "SELECT user_id, status, restrict_bookings FROM subject_statuses WHERE tenant_id = $1 AND user_id > $2 \
             ORDER BY user_id LIMIT $3",
        )
        .bind(tenant.as_uuid())
        .bind(after.map_or(Uuid::nil(), |user| user.as_uuid()))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(SubjectStatus {
                user: UserId::from_uuid(row.try_get("user_id")?),
                status: status_from_i16(row.try_get("status")?)?,
                restrict_bookings: row.try_get("restrict_bookings")?,
            })
        })
        .collect()
    }

    async fn unit_ancestors(
        &self,
        tenant: TenantId,
        unit: UnitId,
    ) -> Result<Vec<UnitId>, StoreError> {
        // A unit's rows are its chain: the same walk, and the same guard, as every decision's.
        let (mut rows, _) = self
            .resource_rows(tenant, UNIT_TYPE, unit.as_uuid())
            .await?;
        Ok(rows.unit_chains.remove(&unit).unwrap_or_else(|| vec![unit]))
    }

    async fn unit_known(&self, tenant: TenantId, unit: UnitId) -> Result<bool, StoreError> {
        // The relationship branches are index lookups (by resource, by subject); the last reads
        // only when the unit has no fact, through the tenant's assignments.
        let known: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM relationships WHERE tenant_id = $1 \
               AND resource_type = $2 AND resource_id = $3) \
             OR EXISTS (SELECT 1 FROM relationships WHERE tenant_id = $1 \
               AND subject_type = $2 AND subject_id = $3) \
             OR EXISTS (SELECT 1 FROM role_assignments WHERE tenant_id = $1 AND unit_id = $3)",
        )
        .bind(tenant.as_uuid())
        .bind(UNIT_TYPE)
        .bind(unit.as_uuid())
        .fetch_one(&self.pool)
        .await?;
        Ok(known)
    }
}

/// Bumps the tenant's revision inside `tx` and answers the new one.
pub(super) async fn bump(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant: TenantId,
) -> Result<Revision, StoreError> {
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
