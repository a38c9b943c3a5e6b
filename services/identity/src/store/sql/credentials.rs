//! Credentials: passwords and lockout, TOTP, pending second factors, service accounts,
//! signing keys and refresh tokens.

use lms_kernel::{TenantId, UserId};
use lms_runtime::transaction::begin_write;
use sqlx::Row as _;
use uuid::Uuid;

use super::Db;
use super::rows::refresh_from_row;
use crate::store::sql::{SqlStore, duplicate};
use crate::store::{
    CredentialStore, MfaChallenge, Redeemed, RefreshRecord, ServiceAccountRecord, StoreError,
    TotpState,
};

impl CredentialStore for SqlStore<Db> {
    async fn record_failed_sign_in(
        &self,
        tenant: TenantId,
        user: UserId,
        locked_until: Option<i64>,
    ) -> Result<(), StoreError> {
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

    async fn record_sign_in(
        &self,
        tenant: TenantId,
        user: UserId,
        at: i64,
    ) -> Result<(), StoreError> {
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

    async fn set_password(
        &self,
        tenant: TenantId,
        user: UserId,
        hash: &str,
    ) -> Result<(), StoreError> {
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
        .ok_or_else(|| StoreError::Missing {
            what: "user",
            id: user.to_string(),
        })?;
        Ok(TotpState {
            secret: row.try_get("totp_secret")?,
            pending: row.try_get("totp_pending_secret")?,
            last_step: row.try_get("totp_last_step")?,
        })
    }

    async fn begin_totp(
        &self,
        tenant: TenantId,
        user: UserId,
        secret: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET totp_pending_secret = $3 WHERE tenant_id = $1 AND user_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(secret)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn confirm_totp(
        &self,
        tenant: TenantId,
        user: UserId,
        step: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, \
             totp_last_step = $3 \
             WHERE tenant_id = $1 AND user_id = $2 AND totp_pending_secret IS NOT NULL",
        )
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(step)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    async fn use_totp_step(
        &self,
        tenant: TenantId,
        user: UserId,
        step: i64,
    ) -> Result<bool, StoreError> {
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

    async fn add_mfa_challenge(
        &self,
        hash: &[u8],
        challenge: &MfaChallenge,
    ) -> Result<(), StoreError> {
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

    async fn create_service_account(
        &self,
        account: &ServiceAccountRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO service_accounts (service_account_id, name, secret_hash, created_by, \
             created_at) \
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
        let rows = sqlx::query(
            "SELECT kid, private_key, created_at FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("kid")?,
                    row.try_get("private_key")?,
                    row.try_get("created_at")?,
                ))
            })
            .collect()
    }

    async fn add_signing_key(
        &self,
        kid: &str,
        pkcs8: &[u8],
        created_at: i64,
        retire_before: i64,
    ) -> Result<(), StoreError> {
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

    async fn add_refresh_token(
        &self,
        hash: &[u8],
        record: &RefreshRecord,
        issued_at: i64,
    ) -> Result<(), StoreError> {
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

    async fn redeem_refresh_token(
        &self,
        hash: &[u8],
        next_hash: &[u8],
        now: i64,
        next_expires_at: i64,
    ) -> Result<Redeemed, StoreError> {
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
            sqlx::query(
                "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
            )
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

    async fn revoke_user_sessions(
        &self,
        tenant: TenantId,
        user: UserId,
        now: i64,
        reason: &str,
    ) -> Result<(), StoreError> {
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
