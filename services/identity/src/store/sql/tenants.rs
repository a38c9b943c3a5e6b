//! Tenants: creation, settings, client tenants and the Access Coordinator duty.

use crate::audit::Audit;
use lms_kernel::{TenantId, TenantSettings, UserId};
use lms_runtime::outbox;
use lms_runtime::transaction::begin_write;
use sqlx::Row as _;

use super::Db;
use super::audit::append_audit;
use super::rows::tenant_from_row;
use super::units::insert_unit;
use super::users::{existing_user, insert_employment, insert_user};
use crate::audit::on_behalf;
use crate::store::sql::{SqlStore, lock_tenant};
use crate::store::{
    EmploymentRecord, NewEvent, StoreError, TenantRecord, TenantStore, UnitRecord, UserRecord,
};

impl TenantStore for SqlStore<Db> {
    async fn create_tenant(
        &self,
        tenant: &TenantRecord,
        guest: &UnitRecord,
        first_user: &UserRecord,
        employment: &EmploymentRecord,
        events: &[NewEvent],
        audit: &Audit,
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
        outbox::append(
            &mut *tx,
            tenant.id,
            &crate::person_record::people_records([first_user]),
        )
        .await?;
        outbox::append(
            &mut *tx,
            tenant.id,
            &crate::directory_record::directory_records(
                vec![crate::directory_record::unit_of(guest)],
                Vec::new(),
            ),
        )
        .await?;
        let created = audit.clone().after(tenant);
        append_audit(&mut *tx, tenant.id, &created).await?;
        // The platform's trail too: operators account there for the tenants they made.
        append_audit(&mut *tx, None, &created).await?;
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

    async fn update_tenant_settings(
        &self,
        tenant: TenantId,
        settings: TenantSettings,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<TenantRecord, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let before = sqlx::query("SELECT * FROM tenants WHERE tenant_id = $1")
            .bind(tenant.as_uuid())
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(tenant_from_row)
            .transpose()?;
        let row = sqlx::query(
            "UPDATE tenants SET locations_enabled = $2, clients_enabled = $3, \
             mfa_required_for_admins = $4 \
             WHERE tenant_id = $1 RETURNING *",
        )
        .bind(tenant.as_uuid())
        .bind(settings.locations_enabled)
        .bind(settings.clients_enabled)
        .bind(settings.mfa_required_for_admins)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::Missing {
            what: "tenant",
            id: tenant.to_string(),
        })?;
        let record = tenant_from_row(&row)?;
        outbox::append(&mut *tx, tenant, events).await?;
        let audit = match &before {
            Some(before) => audit.clone().changed(before, &record),
            None => audit.clone().after(&record),
        };
        append_audit(&mut *tx, tenant, &audit).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn invite_client(
        &self,
        master: TenantId,
        client: TenantId,
        invited_by: &str,
        now: i64,
        expires_at: i64,
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO client_invitations \
             (master_tenant_id, client_tenant_id, invited_by, invited_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (master_tenant_id, client_tenant_id) DO UPDATE SET \
             invited_by = excluded.invited_by, invited_at = excluded.invited_at, \
             expires_at = excluded.expires_at",
        )
        .bind(master.as_uuid())
        .bind(client.as_uuid())
        .bind(invited_by)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        append_audit(&mut *tx, master, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn client_invitations(
        &self,
        client: TenantId,
        now: i64,
    ) -> Result<Vec<TenantId>, StoreError> {
        let masters: Vec<uuid::Uuid> = sqlx::query_scalar(
            "SELECT master_tenant_id FROM client_invitations \
             WHERE client_tenant_id = $1 AND expires_at > $2 ORDER BY master_tenant_id",
        )
        .bind(client.as_uuid())
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(masters.into_iter().map(TenantId::from_uuid).collect())
    }

    async fn link_client(
        &self,
        master: TenantId,
        client: TenantId,
        link: bool,
        now: i64,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        lock_tenant(&mut *tx, master).await?;
        if link {
            // The client's consent: a link is made only by consuming a live invitation.
            let consented = sqlx::query(
                "DELETE FROM client_invitations WHERE master_tenant_id = $1 \
                 AND client_tenant_id = $2 AND expires_at > $3",
            )
            .bind(master.as_uuid())
            .bind(client.as_uuid())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if consented == 0 {
                return Err(StoreError::Refused {
                    reason: "NO_INVITATION",
                    message: "that tenant has no live invitation to become a client of this one"
                        .into(),
                });
            }
        }
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
            sqlx::query(
                "UPDATE tenants SET master_tenant_id = NULL \
                 WHERE tenant_id = $2 AND master_tenant_id = $1",
            )
        }
        .bind(master.as_uuid())
        .bind(client.as_uuid())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            let exists: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM tenants WHERE tenant_id = $1")
                    .bind(client.as_uuid())
                    .fetch_one(&mut *tx)
                    .await?;
            if exists == 0 {
                return Err(StoreError::Missing {
                    what: "tenant",
                    id: client.to_string(),
                });
            }
            return Err(StoreError::Refused {
                reason: if link {
                    "CLIENT_NOT_LINKABLE"
                } else {
                    "NOT_A_CLIENT"
                },
                message: if link {
                    "the tenant became a client or a master meanwhile".into()
                } else {
                    "the tenant is not a client of this tenant".into()
                },
            });
        }
        outbox::append(&mut *tx, master, events).await?;
        append_audit(&mut *tx, master, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn unannounced_coordinators(
        &self,
        limit: i64,
    ) -> Result<Vec<(TenantId, UserId)>, StoreError> {
        let rows = sqlx::query(
            "SELECT tenant_id, access_coordinator_user_id FROM tenants \
             WHERE NOT coordinator_announced AND access_coordinator_user_id IS NOT NULL \
             ORDER BY tenant_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    TenantId::from_uuid(row.try_get("tenant_id")?),
                    UserId::from_uuid(row.try_get("access_coordinator_user_id")?),
                ))
            })
            .collect()
    }

    async fn announce_coordinator(
        &self,
        tenant: TenantId,
        coordinator: UserId,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        lock_tenant(&mut *tx, tenant).await?;
        let marked = sqlx::query(
            "UPDATE tenants SET coordinator_announced = TRUE \
             WHERE tenant_id = $1 AND access_coordinator_user_id = $2 AND NOT coordinator_announced",
        )
        .bind(tenant.as_uuid())
        .bind(coordinator.as_uuid())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if marked == 1 {
            outbox::append(&mut *tx, tenant, events).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn client_tenants(
        &self,
        master: TenantId,
        after: Option<TenantId>,
        limit: i64,
    ) -> Result<Vec<TenantRecord>, StoreError> {
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

    async fn transfer_access_coordinator(
        &self,
        tenant: TenantId,
        from: UserId,
        to: UserId,
        events: &[NewEvent],
        audit: &Audit,
    ) -> Result<TenantRecord, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let successor = existing_user(&mut tx, tenant, to).await?;
        if successor.status != lms_kernel::UserStatus::Active {
            return Err(StoreError::Refused {
                reason: "NOT_ACTIVE",
                message: format!(
                    "the new Access Coordinator's account is {}",
                    successor.status.name()
                ),
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
        outbox::append(&mut *tx, tenant, &on_behalf(events, &audit.actor)).await?;
        let record = sqlx::query("SELECT * FROM tenants WHERE tenant_id = $1")
            .bind(tenant.as_uuid())
            .fetch_one(&mut *tx)
            .await?;
        let record = tenant_from_row(&record)?;
        let before = TenantRecord {
            access_coordinator: Some(from),
            ..record.clone()
        };
        append_audit(&mut *tx, tenant, &audit.clone().changed(&before, &record)).await?;
        tx.commit().await?;
        Ok(record)
    }
}
