//! The SQL adapter: one body of queries in `sql_store!`, compiled for PostgreSQL and SQLite
//! (both accept `$n` placeholders, `ON CONFLICT` and `RETURNING`; sqlx binds UUIDs to `UUID` and
//! 16-byte `BLOB` columns alike).

use lms_kernel::unit::{check_delete, check_move};
use lms_kernel::{Email, GroupId, TenantId, TenantSettings, UnitError, UnitId, UnitKind, UserId};
use lms_runtime::outbox;
use lms_runtime::transaction::begin_write;
use sqlx::Row;
use uuid::Uuid;

use super::{
    CustomField, Deleted, EmploymentChange, EmploymentRecord, GroupRecord, ImportBatch,
    ImportSnapshot, ImportedUser, MfaChallenge, Moved, NamedManager, NewEvent, Redeemed,
    RefreshRecord, ServiceAccountRecord, Store, StoreError, TenantRecord, TotpState, UnitFilter,
    UnitRecord, UserChange, UserFilter, UserRecord, account_kind_from_number, status_from_number,
    unit_kind_from_number,
};

/// Maps unique-index violations to what the caller sent twice. PostgreSQL names the index
/// (`units_external`), SQLite the columns (`units.tenant_id, units.external_id`).
fn duplicate(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let message = db.message();
            let resource = ["units", "groups", "custom_fields", "service_accounts"]
                .into_iter()
                .find(|table| message.contains(table))
                .map_or("user", |table| table.trim_end_matches('s'));
            let field = if message.contains("email") {
                "email"
            } else if message.contains("external") {
                "external_id"
            } else if message.contains("key") || message.contains("name") {
                "name"
            } else {
                "id"
            };
            StoreError::Duplicate { resource, field }
        }
        _ => StoreError::Database(error),
    }
}

fn email_from(text: Option<String>) -> Result<Option<Email>, StoreError> {
    text.map(|text| Email::parse(&text).map_err(|_| StoreError::Corrupt(format!("email {text:?}"))))
        .transpose()
}

macro_rules! sql_store {
    ($(#[$doc:meta])* $store:ident, $db:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $store {
            pool: sqlx::Pool<$db>,
        }

        impl $store {
            /// A store over `pool`, whose database has the identity migrations applied.
            pub fn new(pool: sqlx::Pool<$db>) -> Self {
                Self { pool }
            }
        }

        fn tenant_from_row(row: &<$db as sqlx::Database>::Row) -> Result<TenantRecord, StoreError> {
            Ok(TenantRecord {
                id: TenantId::from_uuid(row.try_get("tenant_id")?),
                name: row.try_get("name")?,
                settings: TenantSettings {
                    locations_enabled: row.try_get("locations_enabled")?,
                    clients_enabled: row.try_get("clients_enabled")?,
                    mfa_required_for_admins: row.try_get("mfa_required_for_admins")?,
                },
                master: row.try_get::<Option<Uuid>, _>("master_tenant_id")?.map(TenantId::from_uuid),
                access_coordinator: row
                    .try_get::<Option<Uuid>, _>("access_coordinator_user_id")?
                    .map(UserId::from_uuid),
                created_by: row.try_get("created_by")?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn unit_from_row(row: &<$db as sqlx::Database>::Row) -> Result<UnitRecord, StoreError> {
            Ok(UnitRecord {
                id: UnitId::from_uuid(row.try_get("unit_id")?),
                kind: unit_kind_from_number(row.try_get("kind")?)?,
                name: row.try_get("name")?,
                parent: row.try_get::<Option<Uuid>, _>("parent_unit_id")?.map(UnitId::from_uuid),
                external_id: row.try_get("external_id")?,
            })
        }

        fn user_from_row(row: &<$db as sqlx::Database>::Row) -> Result<UserRecord, StoreError> {
            Ok(UserRecord {
                id: UserId::from_uuid(row.try_get("user_id")?),
                email: email_from(row.try_get("email")?)?,
                given_name: row.try_get("given_name")?,
                family_name: row.try_get("family_name")?,
                status: status_from_number(row.try_get("status")?)?,
                account_kind: account_kind_from_number(row.try_get("account_kind")?)?,
                restrict_bookings: row.try_get("restrict_bookings")?,
                primary_group: row.try_get::<Option<Uuid>, _>("primary_group_id")?.map(GroupId::from_uuid),
                custom_fields: row.try_get("custom_fields")?,
                external_id: row.try_get("external_id")?,
                password_hash: row.try_get("password_hash")?,
                failed_sign_ins: row.try_get("failed_sign_ins")?,
                locked_until: row.try_get("locked_until")?,
                last_sign_in_at: row.try_get("last_sign_in_at")?,
                created_by: row.try_get("created_by")?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn employment_from_row(row: &<$db as sqlx::Database>::Row) -> Result<EmploymentRecord, StoreError> {
            Ok(EmploymentRecord {
                id: row.try_get("employment_id")?,
                user: UserId::from_uuid(row.try_get("user_id")?),
                unit: UnitId::from_uuid(row.try_get("unit_id")?),
                starts_at: row.try_get("starts_at")?,
                ends_at: row.try_get("ends_at")?,
                main_account: row.try_get("main_account")?,
            })
        }

        fn refresh_from_row(row: &<$db as sqlx::Database>::Row) -> Result<RefreshRecord, StoreError> {
            Ok(RefreshRecord {
                family: row.try_get("family_id")?,
                tenant: TenantId::from_uuid(row.try_get("tenant_id")?),
                user: UserId::from_uuid(row.try_get("user_id")?),
                amr: row.try_get("amr")?,
                expires_at: row.try_get("expires_at")?,
                used_at: row.try_get("used_at")?,
                revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
            })
        }

        async fn insert_user<'c, E>(executor: E, tenant: TenantId, user: &UserRecord) -> Result<(), StoreError>
        where
            E: sqlx::Executor<'c, Database = $db>,
        {
            sqlx::query(
                "INSERT INTO users (tenant_id, user_id, email, given_name, family_name, status, \
                 account_kind, restrict_bookings, custom_fields, external_id, password_hash, \
                 created_by, created_at, primary_group_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(tenant.as_uuid())
            .bind(user.id.as_uuid())
            .bind(user.email.as_ref().map(|e| e.as_str().to_owned()))
            .bind(&user.given_name)
            .bind(&user.family_name)
            .bind(user.status.code())
            .bind(user.account_kind.code())
            .bind(user.restrict_bookings)
            .bind(&user.custom_fields)
            .bind(&user.external_id)
            .bind(&user.password_hash)
            .bind(&user.created_by)
            .bind(user.created_at)
            .bind(user.primary_group.map(|g| g.as_uuid()))
            .execute(executor)
            .await
            .map_err(duplicate)?;
            Ok(())
        }

        async fn insert_employment<'c, E>(executor: E, tenant: TenantId, employment: &EmploymentRecord) -> Result<(), StoreError>
        where
            E: sqlx::Executor<'c, Database = $db>,
        {
            sqlx::query(
                "INSERT INTO employments (tenant_id, employment_id, user_id, unit_id, starts_at, \
                 ends_at, main_account) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(tenant.as_uuid())
            .bind(employment.id)
            .bind(employment.user.as_uuid())
            .bind(employment.unit.as_uuid())
            .bind(employment.starts_at)
            .bind(employment.ends_at)
            .bind(employment.main_account)
            .execute(executor)
            .await?;
            Ok(())
        }


        /// Serialises the tenant's structural changes (the unit tree, group membership): a
        /// no-op write takes the tenant row's lock on PostgreSQL and the write lock on SQLite.
        async fn lock_tenant<'c, E>(executor: E, tenant: TenantId) -> Result<(), StoreError>
        where
            E: sqlx::Executor<'c, Database = $db>,
        {
            sqlx::query("UPDATE tenants SET name = name WHERE tenant_id = $1")
                .bind(tenant.as_uuid())
                .execute(executor)
                .await?;
            Ok(())
        }

        async fn insert_unit<'c, E>(executor: E, tenant: TenantId, unit: &UnitRecord) -> Result<(), StoreError>
        where
            E: sqlx::Executor<'c, Database = $db>,
        {
            sqlx::query(
                "INSERT INTO units (tenant_id, unit_id, kind, name, parent_unit_id, external_id) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(tenant.as_uuid())
            .bind(unit.id.as_uuid())
            .bind(unit.kind.code())
            .bind(&unit.name)
            .bind(unit.parent.map(|u| u.as_uuid()))
            .bind(&unit.external_id)
            .execute(executor)
            .await
            .map_err(duplicate)?;
            Ok(())
        }

        async fn unit_in<'c, E>(executor: E, tenant: TenantId, unit: UnitId) -> Result<Option<UnitRecord>, StoreError>
        where
            E: sqlx::Executor<'c, Database = $db>,
        {
            sqlx::query("SELECT * FROM units WHERE tenant_id = $1 AND unit_id = $2")
                .bind(tenant.as_uuid())
                .bind(unit.as_uuid())
                .fetch_optional(executor)
                .await?
                .as_ref()
                .map(unit_from_row)
                .transpose()
        }

        fn group_from_row(row: &<$db as sqlx::Database>::Row) -> Result<GroupRecord, StoreError> {
            Ok(GroupRecord {
                id: GroupId::from_uuid(row.try_get("group_id")?),
                name: row.try_get("name")?,
                manager: row.try_get::<Option<Uuid>, _>("manager_user_id")?.map(UserId::from_uuid),
                administrators: Vec::new(),
                external_id: row.try_get("external_id")?,
                created_at: row.try_get("created_at")?,
            })
        }

        /// The group with its administrators, read through `tx`.
        async fn group_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            tenant: TenantId,
            group: GroupId,
        ) -> Result<Option<GroupRecord>, StoreError> {
            let Some(mut record) = sqlx::query("SELECT * FROM user_groups WHERE tenant_id = $1 AND group_id = $2")
                .bind(tenant.as_uuid())
                .bind(group.as_uuid())
                .fetch_optional(&mut **tx)
                .await?
                .as_ref()
                .map(group_from_row)
                .transpose()?
            else {
                return Ok(None);
            };
            record.administrators = sqlx::query_scalar::<_, Uuid>(
                "SELECT user_id FROM group_administrators WHERE tenant_id = $1 AND group_id = $2 ORDER BY user_id",
            )
            .bind(tenant.as_uuid())
            .bind(group.as_uuid())
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .map(UserId::from_uuid)
            .collect();
            Ok(Some(record))
        }

        async fn existing_group(
            tx: &mut sqlx::Transaction<'_, $db>,
            tenant: TenantId,
            group: GroupId,
        ) -> Result<GroupRecord, StoreError> {
            group_in(tx, tenant, group).await?.ok_or_else(|| StoreError::Missing {
                what: "group",
                id: group.to_string(),
            })
        }

        async fn existing_user(
            tx: &mut sqlx::Transaction<'_, $db>,
            tenant: TenantId,
            user: UserId,
        ) -> Result<UserRecord, StoreError> {
            sqlx::query("SELECT * FROM users WHERE tenant_id = $1 AND user_id = $2")
                .bind(tenant.as_uuid())
                .bind(user.as_uuid())
                .fetch_optional(&mut **tx)
                .await?
                .as_ref()
                .map(user_from_row)
                .transpose()?
                .ok_or_else(|| StoreError::Missing { what: "user", id: user.to_string() })
        }


        async fn employment_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            tenant: TenantId,
            employment: Uuid,
        ) -> Result<EmploymentRecord, StoreError> {
            sqlx::query("SELECT * FROM employments WHERE tenant_id = $1 AND employment_id = $2")
                .bind(tenant.as_uuid())
                .bind(employment)
                .fetch_optional(&mut **tx)
                .await?
                .as_ref()
                .map(employment_from_row)
                .transpose()?
                .ok_or_else(|| StoreError::Missing { what: "employment", id: employment.to_string() })
        }

        /// Makes `employment` the only main one of its user; answers the previous main one.
        async fn make_main(
            tx: &mut sqlx::Transaction<'_, $db>,
            tenant: TenantId,
            employment: &EmploymentRecord,
        ) -> Result<Option<EmploymentRecord>, StoreError> {
            let previous = sqlx::query(
                "SELECT * FROM employments WHERE tenant_id = $1 AND user_id = $2 AND main_account \
                 AND employment_id <> $3",
            )
            .bind(tenant.as_uuid())
            .bind(employment.user.as_uuid())
            .bind(employment.id)
            .fetch_optional(&mut **tx)
            .await?
            .as_ref()
            .map(employment_from_row)
            .transpose()?;
            sqlx::query(
                "UPDATE employments SET main_account = (employment_id = $3) \
                 WHERE tenant_id = $1 AND user_id = $2",
            )
            .bind(tenant.as_uuid())
            .bind(employment.user.as_uuid())
            .bind(employment.id)
            .execute(&mut **tx)
            .await?;
            Ok(previous)
        }

        impl Store for $store {
            async fn create_tenant(
                &self,
                tenant: &TenantRecord,
                guest: &UnitRecord,
                first_user: &UserRecord,
                employment: &EmploymentRecord,
                events: &[NewEvent],
            ) -> Result<(), StoreError> {
                let mut tx = begin_write(&self.pool).await?;
                sqlx::query(
                    "INSERT INTO tenants (tenant_id, name, locations_enabled, clients_enabled, \
                     mfa_required_for_admins, master_tenant_id, access_coordinator_user_id, \
                     created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(tenant.id.as_uuid())
                .bind(&tenant.name)
                .bind(tenant.settings.locations_enabled)
                .bind(tenant.settings.clients_enabled)
                .bind(tenant.settings.mfa_required_for_admins)
                .bind(tenant.master.map(|t| t.as_uuid()))
                .bind(tenant.access_coordinator.map(|u| u.as_uuid()))
                .bind(&tenant.created_by)
                .bind(tenant.created_at)
                .execute(&mut *tx)
                .await?;
                insert_unit(&mut *tx, tenant.id, guest).await?;
                insert_user(&mut *tx, tenant.id, first_user).await?;
                insert_employment(&mut *tx, tenant.id, employment).await?;
                outbox::append(&mut *tx, tenant.id, events).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn tenant(&self, tenant: TenantId) -> Result<Option<TenantRecord>, StoreError> {
                sqlx::query("SELECT * FROM tenants WHERE tenant_id = $1")
                    .bind(tenant.as_uuid())
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(tenant_from_row)
                    .transpose()
            }

            async fn unit(&self, tenant: TenantId, unit: UnitId) -> Result<Option<UnitRecord>, StoreError> {
                unit_in(&self.pool, tenant, unit).await
            }

            async fn create_unit(&self, tenant: TenantId, unit: &UnitRecord, events: &[NewEvent]) -> Result<(), StoreError> {
                let mut tx = begin_write(&self.pool).await?;
                lock_tenant(&mut *tx, tenant).await?;
                if let Some(parent) = unit.parent
                    && unit_in(&mut *tx, tenant, parent).await?.is_none()
                {
                    return Err(StoreError::Missing { what: "unit", id: parent.to_string() });
                }
                insert_unit(&mut *tx, tenant, unit).await?;
                outbox::append(&mut *tx, tenant, events).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn units(&self, tenant: TenantId, filter: UnitFilter, limit: i64) -> Result<Vec<UnitRecord>, StoreError> {
                sqlx::query(
                    "SELECT * FROM units WHERE tenant_id = $1 \
                     AND ($2 IS NULL OR parent_unit_id = $2) AND ($3 IS NULL OR kind = $3) \
                     AND ($4 IS NULL OR unit_id > $4) ORDER BY unit_id LIMIT $5",
                )
                .bind(tenant.as_uuid())
                .bind(filter.parent.map(|u| u.as_uuid()))
                .bind(filter.kind.map(UnitKind::code))
                .bind(filter.after.map(|u| u.as_uuid()))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(unit_from_row)
                .collect()
            }

            async fn rename_unit(&self, tenant: TenantId, unit: UnitId, name: &str) -> Result<Option<UnitRecord>, StoreError> {
                sqlx::query("UPDATE units SET name = $3 WHERE tenant_id = $1 AND unit_id = $2 RETURNING *")
                    .bind(tenant.as_uuid())
                    .bind(unit.as_uuid())
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(unit_from_row)
                    .transpose()
            }

            async fn move_unit<F>(&self, tenant: TenantId, unit: UnitId, parent: Option<UnitId>, events: F) -> Result<Moved, StoreError>
            where
                F: FnOnce(&UnitRecord) -> Vec<NewEvent> + Send,
            {
                let mut tx = begin_write(&self.pool).await?;
                lock_tenant(&mut *tx, tenant).await?;
                let Some(before) = unit_in(&mut *tx, tenant, unit).await? else {
                    return Ok(Moved::NotFound(unit));
                };
                let (parent_kind, ancestors) = match parent {
                    Some(parent) => {
                        let Some(record) = unit_in(&mut *tx, tenant, parent).await? else {
                            return Ok(Moved::NotFound(parent));
                        };
                        // The new parent and its ancestors, the facts the cycle rule reads.
                        let ancestors: Vec<Uuid> = sqlx::query_scalar(
                            "WITH RECURSIVE chain (unit_id, depth) AS ( \
                               SELECT unit_id, 0 FROM units WHERE tenant_id = $1 AND unit_id = $2 \
                               UNION ALL \
                               SELECT u.parent_unit_id, c.depth + 1 FROM chain c \
                               JOIN units u ON u.tenant_id = $1 AND u.unit_id = c.unit_id \
                               WHERE u.parent_unit_id IS NOT NULL AND c.depth < 256) \
                             SELECT unit_id FROM chain",
                        )
                        .bind(tenant.as_uuid())
                        .bind(parent.as_uuid())
                        .fetch_all(&mut *tx)
                        .await?;
                        (Some(record.kind), ancestors.into_iter().map(UnitId::from_uuid).collect())
                    }
                    None => (None, Vec::new()),
                };
                match check_move(unit, before.kind, parent_kind, &ancestors) {
                    Ok(()) => {}
                    Err(UnitError::Cycle) => return Ok(Moved::Cycle),
                    Err(refused) => return Ok(Moved::Refused(refused)),
                }
                sqlx::query("UPDATE units SET parent_unit_id = $3 WHERE tenant_id = $1 AND unit_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(unit.as_uuid())
                    .bind(parent.map(|u| u.as_uuid()))
                    .execute(&mut *tx)
                    .await?;
                outbox::append(&mut *tx, tenant, &events(&before)).await?;
                tx.commit().await?;
                Ok(Moved::Moved(before))
            }

            async fn delete_unit<F>(&self, tenant: TenantId, unit: UnitId, now: i64, events: F) -> Result<Deleted, StoreError>
            where
                F: FnOnce(&UnitRecord) -> Vec<NewEvent> + Send,
            {
                let mut tx = begin_write(&self.pool).await?;
                lock_tenant(&mut *tx, tenant).await?;
                let Some(before) = unit_in(&mut *tx, tenant, unit).await? else {
                    return Ok(Deleted::NotFound);
                };
                let children: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM units WHERE tenant_id = $1 AND parent_unit_id = $2",
                )
                .bind(tenant.as_uuid())
                .bind(unit.as_uuid())
                .fetch_one(&mut *tx)
                .await?;
                let employees: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM employments WHERE tenant_id = $1 AND unit_id = $2 \
                     AND (ends_at IS NULL OR ends_at > $3)",
                )
                .bind(tenant.as_uuid())
                .bind(unit.as_uuid())
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                let count = |n: i64| usize::try_from(n).unwrap_or(usize::MAX);
                match check_delete(before.kind, count(children), count(employees)) {
                    Ok(()) => {}
                    Err(UnitError::HasChildren) => return Ok(Deleted::HasChildren),
                    Err(UnitError::HasEmployees) => return Ok(Deleted::HasEmployees),
                    Err(refused) => return Ok(Deleted::Refused(refused)),
                }
                sqlx::query("DELETE FROM units WHERE tenant_id = $1 AND unit_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(unit.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                outbox::append(&mut *tx, tenant, &events(&before)).await?;
                tx.commit().await?;
                Ok(Deleted::Deleted(before))
            }

            async fn create_group(&self, tenant: TenantId, group: &GroupRecord) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO user_groups (tenant_id, group_id, name, manager_user_id, external_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(tenant.as_uuid())
                .bind(group.id.as_uuid())
                .bind(&group.name)
                .bind(group.manager.map(|u| u.as_uuid()))
                .bind(&group.external_id)
                .bind(group.created_at)
                .execute(&self.pool)
                .await
                .map_err(duplicate)?;
                Ok(())
            }

            async fn group(&self, tenant: TenantId, group: GroupId) -> Result<Option<GroupRecord>, StoreError> {
                let mut tx = begin_write(&self.pool).await?;
                let record = group_in(&mut tx, tenant, group).await?;
                tx.commit().await?;
                Ok(record)
            }

            async fn groups(&self, tenant: TenantId, after: Option<GroupId>, limit: i64) -> Result<Vec<GroupRecord>, StoreError> {
                let mut groups: Vec<GroupRecord> = sqlx::query(
                    "SELECT * FROM user_groups WHERE tenant_id = $1 AND ($2 IS NULL OR group_id > $2) \
                     ORDER BY group_id LIMIT $3",
                )
                .bind(tenant.as_uuid())
                .bind(after.map(|g| g.as_uuid()))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(group_from_row)
                .collect::<Result<_, _>>()?;
                if let (Some(first), Some(last)) = (groups.first(), groups.last()) {
                    let rows = sqlx::query(
                        "SELECT group_id, user_id FROM group_administrators WHERE tenant_id = $1 \
                         AND group_id >= $2 AND group_id <= $3 ORDER BY group_id, user_id",
                    )
                    .bind(tenant.as_uuid())
                    .bind(first.id.as_uuid())
                    .bind(last.id.as_uuid())
                    .fetch_all(&self.pool)
                    .await?;
                    for row in &rows {
                        let group = GroupId::from_uuid(row.try_get("group_id")?);
                        if let Some(record) = groups.iter_mut().find(|g| g.id == group) {
                            record.administrators.push(UserId::from_uuid(row.try_get("user_id")?));
                        }
                    }
                }
                Ok(groups)
            }

            async fn rename_group(&self, tenant: TenantId, group: GroupId, name: &str) -> Result<Option<GroupRecord>, StoreError> {
                let mut tx = begin_write(&self.pool).await?;
                sqlx::query("UPDATE user_groups SET name = $3 WHERE tenant_id = $1 AND group_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(group.as_uuid())
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                let record = group_in(&mut tx, tenant, group).await?;
                tx.commit().await?;
                Ok(record)
            }

            async fn delete_group<F>(&self, tenant: TenantId, group: GroupId, events: F) -> Result<(), StoreError>
            where
                F: FnOnce(&GroupRecord) -> Vec<NewEvent> + Send,
            {
                let mut tx = begin_write(&self.pool).await?;
                lock_tenant(&mut *tx, tenant).await?;
                let before = existing_group(&mut tx, tenant, group).await?;
                let members: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM group_members WHERE tenant_id = $1 AND group_id = $2",
                )
                .bind(tenant.as_uuid())
                .bind(group.as_uuid())
                .fetch_one(&mut *tx)
                .await?;
                if members > 0 {
                    return Err(StoreError::NotEmpty("the group has members"));
                }
                for table in ["group_administrators", "user_groups"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DELETE FROM {table} WHERE tenant_id = $1 AND group_id = $2"
                    )))
                    .bind(tenant.as_uuid())
                    .bind(group.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                }
                outbox::append(&mut *tx, tenant, &events(&before)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn add_group_members(&self, tenant: TenantId, group: GroupId, users: &[UserId], events: &[NewEvent]) -> Result<(), StoreError> {
                let mut tx = begin_write(&self.pool).await?;
                lock_tenant(&mut *tx, tenant).await?;
                existing_group(&mut tx, tenant, group).await?;
                for user in users {
                    existing_user(&mut tx, tenant, *user).await?;
                    sqlx::query(
                        "INSERT INTO group_members (tenant_id, group_id, user_id) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(tenant.as_uuid())
                    .bind(group.as_uuid())
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                }
                outbox::append(&mut *tx, tenant, events).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn remove_group_members<F>(&self, tenant: TenantId, group: GroupId, users: &[UserId], events: F) -> Result<(), StoreError>
            where
                F: FnOnce(&[UserId]) -> Vec<NewEvent> + Send,
            {
                let mut tx = begin_write(&self.pool).await?;
                lock_tenant(&mut *tx, tenant).await?;
                existing_group(&mut tx, tenant, group).await?;
                let mut lost_primary = Vec::new();
                for user in users {
                    sqlx::query("DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND user_id = $3")
                        .bind(tenant.as_uuid())
                        .bind(group.as_uuid())
                        .bind(user.as_uuid())
                        .execute(&mut *tx)
                        .await?;
                    let cleared = sqlx::query(
                        "UPDATE users SET primary_group_id = NULL \
                         WHERE tenant_id = $1 AND user_id = $2 AND primary_group_id = $3",
                    )
                    .bind(tenant.as_uuid())
                    .bind(user.as_uuid())
                    .bind(group.as_uuid())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if cleared > 0 {
                        lost_primary.push(*user);
                    }
                }
                outbox::append(&mut *tx, tenant, &events(&lost_primary)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn group_members(&self, tenant: TenantId, group: GroupId, after: Option<UserId>, limit: i64) -> Result<Vec<UserId>, StoreError> {
                Ok(sqlx::query_scalar::<_, Uuid>(
                    "SELECT user_id FROM group_members WHERE tenant_id = $1 AND group_id = $2 \
                     AND ($3 IS NULL OR user_id > $3) ORDER BY user_id LIMIT $4",
                )
                .bind(tenant.as_uuid())
                .bind(group.as_uuid())
                .bind(after.map(|u| u.as_uuid()))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(UserId::from_uuid)
                .collect())
            }

            async fn set_primary_group<F>(&self, tenant: TenantId, user: UserId, group: GroupId, events: F) -> Result<(), StoreError>
            where
                F: FnOnce(Option<GroupId>) -> Vec<NewEvent> + Send,
            {
                let mut tx = begin_write(&self.pool).await?;
                lock_tenant(&mut *tx, tenant).await?;
                existing_group(&mut tx, tenant, group).await?;
                let before = existing_user(&mut tx, tenant, user).await?.primary_group;
                sqlx::query("UPDATE users SET primary_group_id = $3 WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(user.as_uuid())
                    .bind(group.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO group_members (tenant_id, group_id, user_id) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(tenant.as_uuid())
                .bind(group.as_uuid())
                .bind(user.as_uuid())
                .execute(&mut *tx)
                .await?;
                outbox::append(&mut *tx, tenant, &events(before)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn set_group_manager<F>(&self, tenant: TenantId, group: GroupId, manager: Option<UserId>, events: F) -> Result<(), StoreError>
            where
                F: FnOnce(Option<UserId>) -> Vec<NewEvent> + Send,
            {
                let mut tx = begin_write(&self.pool).await?;
                lock_tenant(&mut *tx, tenant).await?;
                let before = existing_group(&mut tx, tenant, group).await?.manager;
                if let Some(manager) = manager {
                    existing_user(&mut tx, tenant, manager).await?;
                }
                sqlx::query("UPDATE user_groups SET manager_user_id = $3 WHERE tenant_id = $1 AND group_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(group.as_uuid())
                    .bind(manager.map(|m| m.as_uuid()))
                    .execute(&mut *tx)
                    .await?;
                outbox::append(&mut *tx, tenant, &events(before)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn set_group_administrator(&self, tenant: TenantId, group: GroupId, user: UserId, administrator: bool, events: &[NewEvent]) -> Result<(), StoreError> {
                let mut tx = begin_write(&self.pool).await?;
                lock_tenant(&mut *tx, tenant).await?;
                existing_group(&mut tx, tenant, group).await?;
                existing_user(&mut tx, tenant, user).await?;
                let statement = if administrator {
                    "INSERT INTO group_administrators (tenant_id, group_id, user_id) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING"
                } else {
                    "DELETE FROM group_administrators WHERE tenant_id = $1 AND group_id = $2 AND user_id = $3"
                };
                sqlx::query(statement)
                    .bind(tenant.as_uuid())
                    .bind(group.as_uuid())
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                outbox::append(&mut *tx, tenant, events).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn define_custom_field(&self, tenant: TenantId, field: &CustomField) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO custom_fields (tenant_id, key, label, mandatory) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (tenant_id, key) DO UPDATE SET label = excluded.label, mandatory = excluded.mandatory",
                )
                .bind(tenant.as_uuid())
                .bind(&field.key)
                .bind(&field.label)
                .bind(field.mandatory)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn custom_fields(&self, tenant: TenantId) -> Result<Vec<CustomField>, StoreError> {
                let rows = sqlx::query("SELECT key, label, mandatory FROM custom_fields WHERE tenant_id = $1 ORDER BY key")
                    .bind(tenant.as_uuid())
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| {
                        Ok(CustomField {
                            key: row.try_get("key")?,
                            label: row.try_get("label")?,
                            mandatory: row.try_get("mandatory")?,
                        })
                    })
                    .collect()
            }

            async fn set_named_manager(&self, tenant: TenantId, naming: &NamedManager, named: bool, events: &[NewEvent]) -> Result<(), StoreError> {
                let mut tx = begin_write(&self.pool).await?;
                existing_user(&mut tx, tenant, naming.user).await?;
                let statement = if named {
                    "INSERT INTO named_managers (tenant_id, user_id, target_type, target_id, purpose) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
                } else {
                    "DELETE FROM named_managers WHERE tenant_id = $1 AND user_id = $2 \
                     AND target_type = $3 AND target_id = $4 AND purpose = $5"
                };
                sqlx::query(statement)
                    .bind(tenant.as_uuid())
                    .bind(naming.user.as_uuid())
                    .bind(naming.target_type)
                    .bind(naming.target)
                    .bind(naming.purpose)
                    .execute(&mut *tx)
                    .await?;
                outbox::append(&mut *tx, tenant, events).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn update_tenant_settings(&self, tenant: TenantId, settings: TenantSettings, events: &[NewEvent]) -> Result<TenantRecord, StoreError> {
                let mut tx = begin_write(&self.pool).await?;
                let row = sqlx::query(
                    "UPDATE tenants SET locations_enabled = $2, clients_enabled = $3, mfa_required_for_admins = $4 \
                     WHERE tenant_id = $1 RETURNING *",
                )
                .bind(tenant.as_uuid())
                .bind(settings.locations_enabled)
                .bind(settings.clients_enabled)
                .bind(settings.mfa_required_for_admins)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::Missing { what: "tenant", id: tenant.to_string() })?;
                let record = tenant_from_row(&row)?;
                outbox::append(&mut *tx, tenant, events).await?;
                tx.commit().await?;
                Ok(record)
            }

            async fn link_client(&self, master: TenantId, client: TenantId, link: bool, events: &[NewEvent]) -> Result<(), StoreError> {
                let mut tx = begin_write(&self.pool).await?;
                lock_tenant(&mut *tx, master).await?;
                let changed = if link {
                    // The rule (Tenant::can_take_client) was checked by the caller; this is the
                    // conditional write against a concurrent link of the client by another
                    // master, or of a client to it. The master's own row is locked above.
                    sqlx::query(
                        "UPDATE tenants SET master_tenant_id = $1 WHERE tenant_id = $2 \
                         AND master_tenant_id IS NULL \
                         AND NOT EXISTS (SELECT 1 FROM tenants c WHERE c.master_tenant_id = $2)",
                    )
                } else {
                    sqlx::query("UPDATE tenants SET master_tenant_id = NULL WHERE tenant_id = $2 AND master_tenant_id = $1")
                }
                .bind(master.as_uuid())
                .bind(client.as_uuid())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 0 {
                    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants WHERE tenant_id = $1")
                        .bind(client.as_uuid())
                        .fetch_one(&mut *tx)
                        .await?;
                    if exists == 0 {
                        return Err(StoreError::Missing { what: "tenant", id: client.to_string() });
                    }
                    return Err(StoreError::Refused {
                        reason: if link { "CLIENT_NOT_LINKABLE" } else { "NOT_A_CLIENT" },
                        message: if link {
                            "the tenant became a client or a master meanwhile".into()
                        } else {
                            "the tenant is not a client of this tenant".into()
                        },
                    });
                }
                outbox::append(&mut *tx, master, events).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn client_tenants(&self, master: TenantId, after: Option<TenantId>, limit: i64) -> Result<Vec<TenantRecord>, StoreError> {
                sqlx::query(
                    "SELECT * FROM tenants WHERE master_tenant_id = $1 AND ($2 IS NULL OR tenant_id > $2) \
                     ORDER BY tenant_id LIMIT $3",
                )
                .bind(master.as_uuid())
                .bind(after.map(|t| t.as_uuid()))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(tenant_from_row)
                .collect()
            }

            async fn import_snapshot(&self, tenant: TenantId) -> Result<ImportSnapshot, StoreError> {
                let mut snapshot = ImportSnapshot::default();
                let users = sqlx::query(
                    "SELECT u.user_id, u.external_id, u.email, u.given_name, u.family_name, u.custom_fields, \
                     u.primary_group_id, u.feed_role, u.status, e.employment_id, e.unit_id \
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
                    let main = match (
                        row.try_get::<Option<Uuid>, _>("employment_id")?,
                        row.try_get::<Option<Uuid>, _>("unit_id")?,
                    ) {
                        (Some(employment), Some(unit)) => Some((employment, UnitId::from_uuid(unit))),
                        _ => None,
                    };
                    snapshot.users.insert(
                        external,
                        ImportedUser {
                            id: UserId::from_uuid(row.try_get("user_id")?),
                            email,
                            given_name: row.try_get("given_name")?,
                            family_name: row.try_get("family_name")?,
                            custom_fields: row.try_get("custom_fields")?,
                            main,
                            primary_group: row
                                .try_get::<Option<Uuid>, _>("primary_group_id")?
                                .map(GroupId::from_uuid),
                            feed_role: row.try_get("feed_role")?,
                            status: status_from_number(row.try_get("status")?)?,
                        },
                    );
                }
                for row in sqlx::query("SELECT * FROM units WHERE tenant_id = $1 AND external_id IS NOT NULL")
                    .bind(tenant.as_uuid())
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                {
                    let unit = unit_from_row(row)?;
                    if let Some(external) = unit.external_id.clone() {
                        snapshot.units.insert(external, unit);
                    }
                }
                for row in sqlx::query("SELECT group_id, external_id FROM user_groups WHERE tenant_id = $1 AND external_id IS NOT NULL")
                    .bind(tenant.as_uuid())
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                {
                    snapshot
                        .groups
                        .insert(row.try_get("external_id")?, GroupId::from_uuid(row.try_get("group_id")?));
                }
                Ok(snapshot)
            }

            async fn apply_import(&self, tenant: TenantId, batch: &ImportBatch) -> Result<(), StoreError> {
                let mut tx = begin_write(&self.pool).await?;
                if !batch.units.is_empty() {
                    let mut query = sqlx::QueryBuilder::<$db>::new(
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
                for (unit, name, parent) in &batch.units_changed {
                    sqlx::query("UPDATE units SET name = $3, parent_unit_id = $4 WHERE tenant_id = $1 AND unit_id = $2")
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
                    let mut users = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO users (tenant_id, user_id, email, given_name, family_name, status, \
                         account_kind, restrict_bookings, custom_fields, external_id, created_by, created_at, \
                         primary_group_id, feed_role) ",
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
                    let mut employments = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO employments (tenant_id, employment_id, user_id, unit_id, starts_at, ends_at, main_account) ",
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
                        let mut query = sqlx::QueryBuilder::<$db>::new(
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
                        "UPDATE users SET email = $3, given_name = $4, family_name = $5, custom_fields = $6, \
                         feed_role = $7, primary_group_id = COALESCE($8, primary_group_id) \
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
                outbox::append(&mut *tx, tenant, &batch.events).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn guest_account(&self, tenant: TenantId) -> Result<Option<UnitRecord>, StoreError> {
                sqlx::query("SELECT * FROM units WHERE tenant_id = $1 AND kind = $2")
                    .bind(tenant.as_uuid())
                    .bind(UnitKind::GuestAccount.code())
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(unit_from_row)
                    .transpose()
            }

            async fn create_user(
                &self,
                tenant: TenantId,
                user: &UserRecord,
                employment: &EmploymentRecord,
                events: &[NewEvent],
            ) -> Result<(), StoreError> {
                let mut tx = begin_write(&self.pool).await?;
                insert_user(&mut *tx, tenant, user).await?;
                insert_employment(&mut *tx, tenant, employment).await?;
                outbox::append(&mut *tx, tenant, events).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn user(&self, tenant: TenantId, user: UserId) -> Result<Option<UserRecord>, StoreError> {
                sqlx::query("SELECT * FROM users WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(user.as_uuid())
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(user_from_row)
                    .transpose()
            }

            async fn update_user<F>(&self, tenant: TenantId, user: UserId, change: F) -> Result<UserRecord, StoreError>
            where
                F: FnOnce(&mut UserRecord) -> Result<UserChange, StoreError> + Send,
            {
                let mut tx = begin_write(&self.pool).await?;
                // A no-op write takes the row's lock first, so two changes never interleave.
                sqlx::query("UPDATE users SET status = status WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                let mut record = existing_user(&mut tx, tenant, user).await?;
                let committed = change(&mut record)?;
                sqlx::query(
                    "UPDATE users SET email = $3, given_name = $4, family_name = $5, status = $6, \
                     restrict_bookings = $7, custom_fields = $8, external_id = $9, \
                     account_kind = $10, password_hash = $11 \
                     WHERE tenant_id = $1 AND user_id = $2",
                )
                .bind(tenant.as_uuid())
                .bind(user.as_uuid())
                .bind(record.email.as_ref().map(|e| e.as_str().to_owned()))
                .bind(&record.given_name)
                .bind(&record.family_name)
                .bind(record.status.code())
                .bind(record.restrict_bookings)
                .bind(&record.custom_fields)
                .bind(&record.external_id)
                .bind(record.account_kind.code())
                .bind(&record.password_hash)
                .execute(&mut *tx)
                .await
                .map_err(duplicate)?;
                if committed.erase_second_factor {
                    sqlx::query(
                        "UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL \
                         WHERE tenant_id = $1 AND user_id = $2",
                    )
                    .bind(tenant.as_uuid())
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("DELETE FROM mfa_challenges WHERE tenant_id = $1 AND user_id = $2")
                        .bind(tenant.as_uuid())
                        .bind(user.as_uuid())
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(reason) = committed.end_sessions {
                    sqlx::query(
                        "INSERT INTO revoked_sessions (family_id, revoked_at, reason) \
                         SELECT DISTINCT family_id, $3, $4 FROM refresh_tokens \
                         WHERE tenant_id = $1 AND user_id = $2 AND expires_at > $3 \
                         ON CONFLICT (family_id) DO NOTHING",
                    )
                    .bind(tenant.as_uuid())
                    .bind(user.as_uuid())
                    .bind(crate::clock::now())
                    .bind(reason)
                    .execute(&mut *tx)
                    .await?;
                }
                outbox::append(&mut *tx, tenant, &committed.events).await?;
                tx.commit().await?;
                Ok(record)
            }

            async fn users(&self, tenant: TenantId, filter: &UserFilter, limit: i64) -> Result<Vec<UserRecord>, StoreError> {
                let mut query = sqlx::QueryBuilder::<$db>::new("SELECT u.* FROM users u WHERE u.tenant_id = ");
                query.push_bind(tenant.as_uuid());
                if let Some(status) = filter.status {
                    query.push(" AND u.status = ").push_bind(status.code());
                }
                if let Some(unit) = filter.unit {
                    query
                        .push(" AND EXISTS (SELECT 1 FROM employments e WHERE e.tenant_id = u.tenant_id \
                               AND e.user_id = u.user_id AND e.unit_id = ")
                        .push_bind(unit.as_uuid())
                        .push(" AND e.starts_at <= ")
                        .push_bind(filter.now)
                        .push(" AND (e.ends_at IS NULL OR e.ends_at > ")
                        .push_bind(filter.now)
                        .push("))");
                }
                if let Some(group) = filter.group {
                    query
                        .push(" AND EXISTS (SELECT 1 FROM group_members m WHERE m.tenant_id = u.tenant_id \
                               AND m.user_id = u.user_id AND m.group_id = ")
                        .push_bind(group.as_uuid())
                        .push(")");
                }
                if let Some(text) = &filter.query {
                    query
                        .push(" AND lower(u.given_name || ' ' || u.family_name || ' ' || COALESCE(u.email, '')) LIKE ")
                        .push_bind(format!("%{}%", text.replace('%', "").replace('_', "")));
                }
                if let Some(only) = &filter.only {
                    if only.is_empty() {
                        return Ok(Vec::new());
                    }
                    query.push(" AND u.user_id IN (");
                    let mut ids = query.separated(", ");
                    for user in only {
                        ids.push_bind(user.as_uuid());
                    }
                    query.push(")");
                }
                if let Some(after) = filter.after {
                    query.push(" AND u.user_id > ").push_bind(after.as_uuid());
                }
                query.push(" ORDER BY u.user_id LIMIT ").push_bind(limit);
                query
                    .build()
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(user_from_row)
                    .collect()
            }

            async fn count_users(&self, tenant: TenantId, status: lms_kernel::UserStatus) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND status = $2")
                    .bind(tenant.as_uuid())
                    .bind(status.code())
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn delete_user<F>(&self, tenant: TenantId, user: UserId, check: F) -> Result<UserRecord, StoreError>
            where
                F: FnOnce(&UserRecord, &[EmploymentRecord]) -> Result<Vec<NewEvent>, StoreError> + Send,
            {
                let mut tx = begin_write(&self.pool).await?;
                lock_tenant(&mut *tx, tenant).await?;
                let record = existing_user(&mut tx, tenant, user).await?;
                let employments: Vec<EmploymentRecord> = sqlx::query("SELECT * FROM employments WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(user.as_uuid())
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(employment_from_row)
                    .collect::<Result<_, _>>()?;
                let events = check(&record, &employments)?;
                sqlx::query(
                    "INSERT INTO revoked_sessions (family_id, revoked_at, reason) \
                     SELECT DISTINCT family_id, $3, 'account deleted' FROM refresh_tokens \
                     WHERE tenant_id = $1 AND user_id = $2 AND expires_at > $3 \
                     ON CONFLICT (family_id) DO NOTHING",
                )
                .bind(tenant.as_uuid())
                .bind(user.as_uuid())
                .bind(crate::clock::now())
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE user_groups SET manager_user_id = NULL WHERE tenant_id = $1 AND manager_user_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                for table in ["employments", "group_members", "group_administrators", "users"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DELETE FROM {table} WHERE tenant_id = $1 AND user_id = $2"
                    )))
                    .bind(tenant.as_uuid())
                    .bind(user.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                }
                outbox::append(&mut *tx, tenant, &events).await?;
                tx.commit().await?;
                Ok(record)
            }

            async fn transfer_access_coordinator(&self, tenant: TenantId, from: UserId, to: UserId, events: &[NewEvent]) -> Result<TenantRecord, StoreError> {
                let mut tx = begin_write(&self.pool).await?;
                let successor = existing_user(&mut tx, tenant, to).await?;
                if successor.status != lms_kernel::UserStatus::Active {
                    return Err(StoreError::Refused {
                        reason: "NOT_ACTIVE",
                        message: format!("the new Access Coordinator's account is {}", successor.status.name()),
                    });
                }
                let handed_over = sqlx::query(
                    "UPDATE tenants SET access_coordinator_user_id = $3 \
                     WHERE tenant_id = $1 AND access_coordinator_user_id = $2",
                )
                .bind(tenant.as_uuid())
                .bind(from.as_uuid())
                .bind(to.as_uuid())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if handed_over == 0 {
                    return Err(StoreError::Refused {
                        reason: "ACCESS_COORDINATOR_CHANGED",
                        message: "the Access Coordinator changed meanwhile; read the tenant again".into(),
                    });
                }
                outbox::append(&mut *tx, tenant, events).await?;
                let record = sqlx::query("SELECT * FROM tenants WHERE tenant_id = $1")
                    .bind(tenant.as_uuid())
                    .fetch_one(&mut *tx)
                    .await?;
                let record = tenant_from_row(&record)?;
                tx.commit().await?;
                Ok(record)
            }

            async fn user_by_email(&self, tenant: TenantId, email: &Email) -> Result<Option<UserRecord>, StoreError> {
                sqlx::query("SELECT * FROM users WHERE tenant_id = $1 AND email = $2")
                    .bind(tenant.as_uuid())
                    .bind(email.as_str())
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(user_from_row)
                    .transpose()
            }

            async fn employments(&self, tenant: TenantId, user: UserId) -> Result<Vec<EmploymentRecord>, StoreError> {
                sqlx::query(
                    "SELECT * FROM employments WHERE tenant_id = $1 AND user_id = $2 \
                     ORDER BY starts_at, employment_id",
                )
                .bind(tenant.as_uuid())
                .bind(user.as_uuid())
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(employment_from_row)
                .collect()
            }

            async fn employments_of(&self, tenant: TenantId, users: &[UserId]) -> Result<Vec<EmploymentRecord>, StoreError> {
                if users.is_empty() {
                    return Ok(Vec::new());
                }
                let mut query = sqlx::QueryBuilder::<$db>::new("SELECT * FROM employments WHERE tenant_id = ");
                query.push_bind(tenant.as_uuid()).push(" AND user_id IN (");
                let mut ids = query.separated(", ");
                for user in users {
                    ids.push_bind(user.as_uuid());
                }
                query.push(") ORDER BY user_id, starts_at, employment_id");
                query
                    .build()
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(employment_from_row)
                    .collect()
            }

            async fn employment(&self, tenant: TenantId, employment: Uuid) -> Result<Option<EmploymentRecord>, StoreError> {
                sqlx::query("SELECT * FROM employments WHERE tenant_id = $1 AND employment_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(employment)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(employment_from_row)
                    .transpose()
            }

            async fn add_employment<F>(&self, tenant: TenantId, employment: &EmploymentRecord, events: F) -> Result<(), StoreError>
            where
                F: FnOnce(&EmploymentChange) -> Vec<NewEvent> + Send,
            {
                let mut tx = begin_write(&self.pool).await?;
                existing_user(&mut tx, tenant, employment.user).await?;
                if unit_in(&mut *tx, tenant, employment.unit).await?.is_none() {
                    return Err(StoreError::Missing { what: "unit", id: employment.unit.to_string() });
                }
                insert_employment(&mut *tx, tenant, &EmploymentRecord { main_account: false, ..employment.clone() }).await?;
                let previous_main = if employment.main_account {
                    make_main(&mut tx, tenant, employment).await?
                } else {
                    None
                };
                let change = EmploymentChange { before: employment.clone(), previous_main };
                outbox::append(&mut *tx, tenant, &events(&change)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn end_employment<F>(&self, tenant: TenantId, employment: Uuid, ends_at: i64, check: F) -> Result<EmploymentRecord, StoreError>
            where
                F: FnOnce(&EmploymentRecord, &[EmploymentRecord]) -> Result<Vec<NewEvent>, StoreError> + Send,
            {
                let mut tx = begin_write(&self.pool).await?;
                let before = employment_in(&mut tx, tenant, employment).await?;
                let all: Vec<EmploymentRecord> = sqlx::query("SELECT * FROM employments WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(before.user.as_uuid())
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(employment_from_row)
                    .collect::<Result<_, _>>()?;
                let events = check(&before, &all)?;
                sqlx::query("UPDATE employments SET ends_at = $3 WHERE tenant_id = $1 AND employment_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(employment)
                    .bind(ends_at)
                    .execute(&mut *tx)
                    .await?;
                outbox::append(&mut *tx, tenant, &events).await?;
                tx.commit().await?;
                Ok(EmploymentRecord { ends_at: Some(ends_at), ..before })
            }

            async fn set_main_employment<F>(&self, tenant: TenantId, employment: Uuid, events: F) -> Result<EmploymentRecord, StoreError>
            where
                F: FnOnce(&EmploymentChange) -> Vec<NewEvent> + Send,
            {
                let mut tx = begin_write(&self.pool).await?;
                let before = employment_in(&mut tx, tenant, employment).await?;
                let previous_main = make_main(&mut tx, tenant, &before).await?;
                let change = EmploymentChange { before: before.clone(), previous_main };
                outbox::append(&mut *tx, tenant, &events(&change)).await?;
                tx.commit().await?;
                Ok(EmploymentRecord { main_account: true, ..before })
            }

            async fn record_failed_sign_in(&self, tenant: TenantId, user: UserId, locked_until: Option<i64>) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE users SET failed_sign_ins = failed_sign_ins + 1, \
                     locked_until = COALESCE($3, locked_until) WHERE tenant_id = $1 AND user_id = $2",
                )
                .bind(tenant.as_uuid())
                .bind(user.as_uuid())
                .bind(locked_until)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn record_sign_in(&self, tenant: TenantId, user: UserId, at: i64) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE users SET failed_sign_ins = 0, locked_until = NULL, last_sign_in_at = $3 \
                     WHERE tenant_id = $1 AND user_id = $2",
                )
                .bind(tenant.as_uuid())
                .bind(user.as_uuid())
                .bind(at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn set_password(&self, tenant: TenantId, user: UserId, hash: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE users SET password_hash = $3 WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(user.as_uuid())
                    .bind(hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn totp(&self, tenant: TenantId, user: UserId) -> Result<TotpState, StoreError> {
                let row = sqlx::query(
                    "SELECT totp_secret, totp_pending_secret, totp_last_step FROM users \
                     WHERE tenant_id = $1 AND user_id = $2",
                )
                .bind(tenant.as_uuid())
                .bind(user.as_uuid())
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| StoreError::Missing { what: "user", id: user.to_string() })?;
                Ok(TotpState {
                    secret: row.try_get("totp_secret")?,
                    pending: row.try_get("totp_pending_secret")?,
                    last_step: row.try_get("totp_last_step")?,
                })
            }

            async fn begin_totp(&self, tenant: TenantId, user: UserId, secret: &[u8]) -> Result<(), StoreError> {
                sqlx::query("UPDATE users SET totp_pending_secret = $3 WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(user.as_uuid())
                    .bind(secret)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn confirm_totp(&self, tenant: TenantId, user: UserId, step: i64) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, \
                     totp_last_step = $3 WHERE tenant_id = $1 AND user_id = $2 AND totp_pending_secret IS NOT NULL",
                )
                .bind(tenant.as_uuid())
                .bind(user.as_uuid())
                .bind(step)
                .execute(&self.pool)
                .await?
                .rows_affected();
                Ok(done == 1)
            }

            async fn use_totp_step(&self, tenant: TenantId, user: UserId, step: i64) -> Result<bool, StoreError> {
                // One conditional write: of two sign-ins racing with the same code, one wins.
                let done = sqlx::query(
                    "UPDATE users SET totp_last_step = $3 WHERE tenant_id = $1 AND user_id = $2 \
                     AND (totp_last_step IS NULL OR totp_last_step < $3)",
                )
                .bind(tenant.as_uuid())
                .bind(user.as_uuid())
                .bind(step)
                .execute(&self.pool)
                .await?
                .rows_affected();
                Ok(done == 1)
            }

            async fn add_mfa_challenge(&self, hash: &[u8], challenge: &MfaChallenge) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO mfa_challenges (challenge_hash, tenant_id, user_id, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(hash)
                .bind(challenge.tenant.as_uuid())
                .bind(challenge.user.as_uuid())
                .bind(challenge.expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn mfa_challenge(&self, hash: &[u8]) -> Result<Option<MfaChallenge>, StoreError> {
                let Some(row) = sqlx::query("SELECT * FROM mfa_challenges WHERE challenge_hash = $1")
                    .bind(hash)
                    .fetch_optional(&self.pool)
                    .await?
                else {
                    return Ok(None);
                };
                Ok(Some(MfaChallenge {
                    tenant: TenantId::from_uuid(row.try_get("tenant_id")?),
                    user: UserId::from_uuid(row.try_get("user_id")?),
                    expires_at: row.try_get("expires_at")?,
                    failures: row.try_get("failures")?,
                }))
            }

            async fn fail_mfa_challenge(&self, hash: &[u8], max_failures: i32) -> Result<(), StoreError> {
                let mut tx = begin_write(&self.pool).await?;
                sqlx::query("UPDATE mfa_challenges SET failures = failures + 1 WHERE challenge_hash = $1")
                    .bind(hash)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM mfa_challenges WHERE challenge_hash = $1 AND failures >= $2")
                    .bind(hash)
                    .bind(max_failures)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delete_mfa_challenge(&self, hash: &[u8]) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM mfa_challenges WHERE challenge_hash = $1")
                    .bind(hash)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                Ok(done == 1)
            }

            async fn create_service_account(&self, account: &ServiceAccountRecord) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO service_accounts (service_account_id, name, secret_hash, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(account.id)
                .bind(&account.name)
                .bind(&account.secret_hash)
                .bind(&account.created_by)
                .bind(account.created_at)
                .execute(&self.pool)
                .await
                .map_err(duplicate)?;
                Ok(())
            }

            async fn service_account(&self, id: Uuid) -> Result<Option<ServiceAccountRecord>, StoreError> {
                let Some(row) = sqlx::query("SELECT * FROM service_accounts WHERE service_account_id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                else {
                    return Ok(None);
                };
                Ok(Some(ServiceAccountRecord {
                    id: row.try_get("service_account_id")?,
                    name: row.try_get("name")?,
                    secret_hash: row.try_get("secret_hash")?,
                    created_by: row.try_get("created_by")?,
                    created_at: row.try_get("created_at")?,
                }))
            }

            async fn signing_keys(&self) -> Result<Vec<(String, Vec<u8>, i64)>, StoreError> {
                let rows = sqlx::query("SELECT kid, private_key, created_at FROM signing_keys ORDER BY created_at, kid")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| Ok((row.try_get("kid")?, row.try_get("private_key")?, row.try_get("created_at")?)))
                    .collect()
            }

            async fn add_signing_key(&self, kid: &str, pkcs8: &[u8], created_at: i64, retire_before: i64) -> Result<(), StoreError> {
                let mut tx = begin_write(&self.pool).await?;
                sqlx::query("INSERT INTO signing_keys (kid, private_key, created_at) VALUES ($1, $2, $3)")
                    .bind(kid)
                    .bind(pkcs8)
                    .bind(created_at)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM signing_keys WHERE created_at < $1")
                    .bind(retire_before)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn add_refresh_token(&self, hash: &[u8], record: &RefreshRecord, issued_at: i64) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_hash, family_id, tenant_id, user_id, amr, \
                     issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(hash)
                .bind(record.family)
                .bind(record.tenant.as_uuid())
                .bind(record.user.as_uuid())
                .bind(&record.amr)
                .bind(issued_at)
                .bind(record.expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn redeem_refresh_token(&self, hash: &[u8], next_hash: &[u8], now: i64, next_expires_at: i64) -> Result<Redeemed, StoreError> {
                let mut tx = begin_write(&self.pool).await?;
                let row = sqlx::query(
                    "SELECT t.*, s.revoked_at FROM refresh_tokens t \
                     LEFT JOIN revoked_sessions s ON s.family_id = t.family_id WHERE t.token_hash = $1",
                )
                .bind(hash)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(record) = row.as_ref().map(refresh_from_row).transpose()? else {
                    return Ok(Redeemed::Unknown);
                };
                // Retire the token only if nobody else did: of two concurrent uses, one wins and
                // the other is a reuse.
                let retired = if record.revoked || record.used_at.is_some() {
                    0
                } else {
                    sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL")
                        .bind(hash)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                };
                if retired == 0 {
                    sqlx::query(
                        "INSERT INTO revoked_sessions (family_id, revoked_at, reason) VALUES ($1, $2, $3) \
                         ON CONFLICT (family_id) DO NOTHING",
                    )
                    .bind(record.family)
                    .bind(now)
                    .bind("refresh token reused")
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    return Ok(Redeemed::Reused(record));
                }
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_hash, family_id, tenant_id, user_id, amr, \
                     issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(next_hash)
                .bind(record.family)
                .bind(record.tenant.as_uuid())
                .bind(record.user.as_uuid())
                .bind(&record.amr)
                .bind(now)
                .bind(next_expires_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Redeemed::Rotated(record))
            }

            async fn revoke_session(&self, family: Uuid, now: i64, reason: &str) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO revoked_sessions (family_id, revoked_at, reason) VALUES ($1, $2, $3) \
                     ON CONFLICT (family_id) DO NOTHING",
                )
                .bind(family)
                .bind(now)
                .bind(reason)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn revoke_user_sessions(&self, tenant: TenantId, user: UserId, now: i64, reason: &str) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO revoked_sessions (family_id, revoked_at, reason) \
                     SELECT DISTINCT family_id, $3, $4 FROM refresh_tokens \
                     WHERE tenant_id = $1 AND user_id = $2 AND expires_at > $3 \
                     ON CONFLICT (family_id) DO NOTHING",
                )
                .bind(tenant.as_uuid())
                .bind(user.as_uuid())
                .bind(now)
                .bind(reason)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

        }
    };
}

mod postgres {
    use super::*;
    sql_store!(
        /// The identity store on PostgreSQL.
        PgStore,
        sqlx::Postgres
    );
}

mod sqlite {
    use super::*;
    sql_store!(
        /// The identity store on SQLite (the embedded default).
        SqliteStore,
        sqlx::Sqlite
    );
}

pub use postgres::PgStore;
pub use sqlite::SqliteStore;
