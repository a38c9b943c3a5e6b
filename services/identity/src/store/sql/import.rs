//! Imports: the snapshot an import matches against, and one batch applied whole.

use lms_kernel::{GroupId, TenantId, UnitId, UserId};
use lms_runtime::outbox;
use lms_runtime::transaction::begin_write;
use sqlx::Row as _;
use uuid::Uuid;

use super::Db;
use super::rows::{employment_from_row, unit_from_row};
use super::users::insert_employment;
use crate::audit::{Actor, on_behalf};
use crate::directory_record;
use crate::store::sql::{SqlStore, duplicate};
use crate::store::{
    EmploymentRecord, ImportBatch, ImportSnapshot, ImportStore, ImportedUser, StoreError,
    status_from_number,
};

impl ImportStore for SqlStore<Db> {
    async fn import_snapshot(&self, tenant: TenantId) -> Result<ImportSnapshot, StoreError> {
        let mut snapshot = ImportSnapshot::default();
        let users = sqlx::query(
            "SELECT u.user_id, u.external_id, u.email, u.given_name, u.family_name, \
             u.custom_fields, u.primary_group_id, u.feed_role, u.status, e.employment_id, \
             e.unit_id, e.starts_at, e.ends_at \
             FROM users u LEFT JOIN employments e ON e.tenant_id = u.tenant_id \
             AND e.user_id = u.user_id AND e.main_account WHERE u.tenant_id = $1",
        )
        .bind(tenant.as_uuid())
        .fetch_all(&self.pool)
        .await?;
        for row in &users {
            let external: Option<String> = row.try_get("external_id")?;
            let email: Option<String> = row.try_get("email")?;
            if let Some(email) = &email {
                snapshot.emails.insert(email.clone(), external.clone());
            }
            let Some(external) = external else { continue };
            let user = UserId::from_uuid(row.try_get("user_id")?);
            let main = match (
                row.try_get::<Option<Uuid>, _>("employment_id")?,
                row.try_get::<Option<Uuid>, _>("unit_id")?,
            ) {
                (Some(employment), Some(unit)) => Some(EmploymentRecord {
                    id: employment,
                    user,
                    unit: UnitId::from_uuid(unit),
                    starts_at: row.try_get("starts_at")?,
                    ends_at: row.try_get("ends_at")?,
                    main_account: true,
                }),
                _ => None,
            };
            snapshot.users.insert(
                external,
                ImportedUser {
                    id: user,
                    email,
                    given_name: row.try_get("given_name")?,
                    family_name: row.try_get("family_name")?,
                    custom_fields: row.try_get("custom_fields")?,
                    main,
                    others: Vec::new(),
                    primary_group: row
                        .try_get::<Option<Uuid>, _>("primary_group_id")?
                        .map(GroupId::from_uuid),
                    feed_role: row.try_get("feed_role")?,
                    status: status_from_number(row.try_get("status")?)?,
                },
            );
        }
        // Their other employments: a move ends the main one and starts another, and the
        // person's facts at either unit are read from all of theirs there.
        let others = sqlx::query(
            "SELECT e.*, u.external_id FROM employments e JOIN users u \
             ON u.tenant_id = e.tenant_id AND u.user_id = e.user_id \
             WHERE e.tenant_id = $1 AND NOT e.main_account AND u.external_id IS NOT NULL",
        )
        .bind(tenant.as_uuid())
        .fetch_all(&self.pool)
        .await?;
        for row in &others {
            let external: String = row.try_get("external_id")?;
            if let Some(user) = snapshot.users.get_mut(&external) {
                user.others.push(employment_from_row(row)?);
            }
        }
        for row in sqlx::query("SELECT * FROM units WHERE tenant_id = $1")
            .bind(tenant.as_uuid())
            .fetch_all(&self.pool)
            .await?
            .iter()
        {
            let unit = unit_from_row(row)?;
            snapshot.unit_parents.insert(unit.id, unit.parent);
            if let Some(external) = unit.external_id.clone() {
                snapshot.units.insert(external, unit);
            }
        }
        for row in sqlx::query(
            "SELECT group_id, external_id FROM user_groups \
             WHERE tenant_id = $1 AND external_id IS NOT NULL",
        )
        .bind(tenant.as_uuid())
        .fetch_all(&self.pool)
        .await?
        .iter()
        {
            snapshot.groups.insert(
                row.try_get("external_id")?,
                GroupId::from_uuid(row.try_get("group_id")?),
            );
        }
        Ok(snapshot)
    }

    async fn apply_import(
        &self,
        tenant: TenantId,
        batch: &ImportBatch,
        by: &Actor,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        if !batch.units.is_empty() {
            let mut query = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO units (tenant_id, unit_id, kind, name, parent_unit_id, external_id) ",
            );
            query.push_values(&batch.units, |mut row, unit| {
                row.push_bind(tenant.as_uuid())
                    .push_bind(unit.id.as_uuid())
                    .push_bind(unit.kind.code())
                    .push_bind(unit.name.clone())
                    .push_bind(unit.parent.map(|p| p.as_uuid()))
                    .push_bind(unit.external_id.clone());
            });
            query.build().execute(&mut *tx).await.map_err(duplicate)?;
        }
        // Reporting's records of the units, as this batch leaves them.
        let units: Vec<_> = batch
            .units
            .iter()
            .map(directory_record::unit_of)
            .chain(
                batch
                    .units_changed
                    .iter()
                    .map(|(unit, name, parent)| directory_record::unit(*unit, name, *parent)),
            )
            .collect();
        for (unit, name, parent) in &batch.units_changed {
            sqlx::query(
                "UPDATE units SET name = $3, parent_unit_id = $4 \
                 WHERE tenant_id = $1 AND unit_id = $2",
            )
            .bind(tenant.as_uuid())
            .bind(unit.as_uuid())
            .bind(name)
            .bind(parent.map(|p| p.as_uuid()))
            .execute(&mut *tx)
            .await?;
        }
        if !batch.created.is_empty() {
            // Multi-row inserts: one statement per table per batch is what makes a
            // 100,000-row file take seconds rather than minutes.
            let mut users = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO users (tenant_id, user_id, email, given_name, family_name, status, \
                 account_kind, restrict_bookings, custom_fields, external_id, created_by, \
                 created_at, primary_group_id, feed_role) ",
            );
            users.push_values(&batch.created, |mut row, (user, _, role)| {
                row.push_bind(tenant.as_uuid())
                    .push_bind(user.id.as_uuid())
                    .push_bind(user.email.as_ref().map(|e| e.as_str().to_owned()))
                    .push_bind(user.given_name.clone())
                    .push_bind(user.family_name.clone())
                    .push_bind(user.status.code())
                    .push_bind(user.account_kind.code())
                    .push_bind(user.restrict_bookings)
                    .push_bind(user.custom_fields.clone())
                    .push_bind(user.external_id.clone())
                    .push_bind(user.created_by.clone())
                    .push_bind(user.created_at)
                    .push_bind(user.primary_group.map(|g| g.as_uuid()))
                    .push_bind(role.clone());
            });
            users.build().execute(&mut *tx).await.map_err(duplicate)?;
            let mut employments = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO employments (tenant_id, employment_id, user_id, unit_id, starts_at, \
                 ends_at, main_account) ",
            );
            employments.push_values(&batch.created, |mut row, (_, employment, _)| {
                row.push_bind(tenant.as_uuid())
                    .push_bind(employment.id)
                    .push_bind(employment.user.as_uuid())
                    .push_bind(employment.unit.as_uuid())
                    .push_bind(employment.starts_at)
                    .push_bind(employment.ends_at)
                    .push_bind(employment.main_account);
            });
            employments.build().execute(&mut *tx).await?;
            let members: Vec<_> = batch
                .created
                .iter()
                .filter_map(|(user, _, _)| user.primary_group.map(|g| (g, user.id)))
                .collect();
            if !members.is_empty() {
                let mut query = sqlx::QueryBuilder::<Db>::new(
                    "INSERT INTO group_members (tenant_id, group_id, user_id) ",
                );
                query.push_values(&members, |mut row, (group, user)| {
                    row.push_bind(tenant.as_uuid())
                        .push_bind(group.as_uuid())
                        .push_bind(user.as_uuid());
                });
                query.build().execute(&mut *tx).await?;
            }
        }
        for change in &batch.changed {
            sqlx::query(
                "UPDATE users SET email = $3, given_name = $4, family_name = $5, \
                 custom_fields = $6, feed_role = $7, \
                 primary_group_id = COALESCE($8, primary_group_id) \
                 WHERE tenant_id = $1 AND user_id = $2",
            )
            .bind(tenant.as_uuid())
            .bind(change.user.as_uuid())
            .bind(change.email.as_str())
            .bind(&change.given_name)
            .bind(&change.family_name)
            .bind(&change.custom_fields)
            .bind(&change.feed_role)
            .bind(change.primary_group.map(|g| g.as_uuid()))
            .execute(&mut *tx)
            .await
            .map_err(duplicate)?;
            if let Some(group) = change.primary_group {
                sqlx::query(
                    "INSERT INTO group_members (tenant_id, group_id, user_id) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(tenant.as_uuid())
                .bind(group.as_uuid())
                .bind(change.user.as_uuid())
                .execute(&mut *tx)
                .await?;
            }
            if let Some(employment) = &change.new_main {
                if let Some(old) = change.end_main {
                    sqlx::query(
                        "UPDATE employments SET main_account = FALSE, ends_at = $3 \
                         WHERE tenant_id = $1 AND employment_id = $2",
                    )
                    .bind(tenant.as_uuid())
                    .bind(old)
                    .bind(employment.starts_at)
                    .execute(&mut *tx)
                    .await?;
                }
                insert_employment(&mut *tx, tenant, employment).await?;
            }
        }
        outbox::append(&mut *tx, tenant, &on_behalf(&batch.events, by)).await?;
        let created = crate::person_record::people_records(batch.created.iter().map(|(u, _, _)| u));
        outbox::append(&mut *tx, tenant, &created).await?;
        let changed: Vec<UserId> = batch.changed.iter().map(|change| change.user).collect();
        super::users::record_people(&mut tx, tenant, &changed).await?;
        let units = directory_record::directory_records(units, Vec::new());
        outbox::append(&mut *tx, tenant, &units).await?;
        tx.commit().await?;
        Ok(())
    }
}
