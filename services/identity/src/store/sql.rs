//! The SQL adapter: one body of queries in `sql_store!`, compiled for PostgreSQL and SQLite
//! (both accept `$n` placeholders, `ON CONFLICT` and `RETURNING`; sqlx binds UUIDs to `UUID` and
//! 16-byte `BLOB` columns alike).

use lms_kernel::{Email, TenantId, TenantSettings, UnitId, UserId};
use sqlx::Row;
use uuid::Uuid;

use super::{
    EmploymentRecord, NewEvent, OutboxEvent, Redeemed, RefreshRecord, Store, StoreError,
    TenantRecord, UnitRecord, UserRecord, status_from_number,
};

/// Maps unique-index violations to what the caller sent twice.
fn duplicate(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            if db.message().contains("email") {
                StoreError::Duplicate("email")
            } else if db.message().contains("external") {
                StoreError::Duplicate("external_id")
            } else {
                StoreError::Duplicate("id")
            }
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
                kind: row.try_get("kind")?,
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
                account_kind: row.try_get("account_kind")?,
                restrict_bookings: row.try_get("restrict_bookings")?,
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
                 created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(tenant.as_uuid())
            .bind(user.id.as_uuid())
            .bind(user.email.as_ref().map(|e| e.as_str().to_owned()))
            .bind(&user.given_name)
            .bind(&user.family_name)
            .bind(user.status.code())
            .bind(user.account_kind)
            .bind(user.restrict_bookings)
            .bind(&user.custom_fields)
            .bind(&user.external_id)
            .bind(&user.password_hash)
            .bind(&user.created_by)
            .bind(user.created_at)
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

        async fn insert_event<'c, E>(executor: E, tenant: TenantId, event: &NewEvent) -> Result<(), StoreError>
        where
            E: sqlx::Executor<'c, Database = $db>,
        {
            sqlx::query("INSERT INTO outbox (event_id, tenant_id, topic, payload) VALUES ($1, $2, $3, $4)")
                .bind(event.event_id)
                .bind(tenant.as_uuid())
                .bind(event.topic)
                .bind(&event.payload)
                .execute(executor)
                .await?;
            Ok(())
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
                let mut tx = self.pool.begin().await?;
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
                sqlx::query(
                    "INSERT INTO units (tenant_id, unit_id, kind, name, parent_unit_id, external_id) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(tenant.id.as_uuid())
                .bind(guest.id.as_uuid())
                .bind(guest.kind)
                .bind(&guest.name)
                .bind(guest.parent.map(|u| u.as_uuid()))
                .bind(&guest.external_id)
                .execute(&mut *tx)
                .await?;
                insert_user(&mut *tx, tenant.id, first_user).await?;
                insert_employment(&mut *tx, tenant.id, employment).await?;
                for event in events {
                    insert_event(&mut *tx, tenant.id, event).await?;
                }
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
                sqlx::query("SELECT * FROM units WHERE tenant_id = $1 AND unit_id = $2")
                    .bind(tenant.as_uuid())
                    .bind(unit.as_uuid())
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(unit_from_row)
                    .transpose()
            }

            async fn guest_account(&self, tenant: TenantId) -> Result<Option<UnitRecord>, StoreError> {
                sqlx::query("SELECT * FROM units WHERE tenant_id = $1 AND kind = $2")
                    .bind(tenant.as_uuid())
                    .bind(crate::store::unit_kind::GUEST_ACCOUNT)
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
                let mut tx = self.pool.begin().await?;
                insert_user(&mut *tx, tenant, user).await?;
                insert_employment(&mut *tx, tenant, employment).await?;
                for event in events {
                    insert_event(&mut *tx, tenant, event).await?;
                }
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

            async fn signing_keys(&self) -> Result<Vec<(String, Vec<u8>, i64)>, StoreError> {
                let rows = sqlx::query("SELECT kid, private_key, created_at FROM signing_keys ORDER BY created_at, kid")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| Ok((row.try_get("kid")?, row.try_get("private_key")?, row.try_get("created_at")?)))
                    .collect()
            }

            async fn add_signing_key(&self, kid: &str, pkcs8: &[u8], created_at: i64, retire_before: i64) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await?;
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
                let mut tx = self.pool.begin().await?;
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

            async fn pending_events(&self, tenant: TenantId, limit: i64) -> Result<Vec<OutboxEvent>, StoreError> {
                let rows = sqlx::query(
                    "SELECT sequence, event_id, tenant_id, topic, payload FROM outbox \
                     WHERE delivered_at IS NULL AND tenant_id = $1 ORDER BY sequence LIMIT $2",
                )
                .bind(tenant.as_uuid())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(OutboxEvent {
                            sequence: row.try_get("sequence")?,
                            event_id: row.try_get("event_id")?,
                            tenant: TenantId::from_uuid(row.try_get("tenant_id")?),
                            topic: row.try_get("topic")?,
                            payload: row.try_get("payload")?,
                        })
                    })
                    .collect()
            }

            async fn tenants_with_pending_events(&self) -> Result<Vec<TenantId>, StoreError> {
                let rows = sqlx::query("SELECT DISTINCT tenant_id FROM outbox WHERE delivered_at IS NULL")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| Ok(TenantId::from_uuid(row.try_get("tenant_id")?)))
                    .collect()
            }

            async fn mark_delivered(&self, sequence: i64) -> Result<(), StoreError> {
                sqlx::query("UPDATE outbox SET delivered_at = CURRENT_TIMESTAMP WHERE sequence = $1")
                    .bind(sequence)
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
