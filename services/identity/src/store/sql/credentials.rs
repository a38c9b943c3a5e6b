//! Credentials: passwords and lockout, TOTP, pending second factors, service accounts,
//! signing keys and refresh tokens.

use crate::audit::Audit;
use lms_kernel::{TenantId, UserId};
use lms_runtime::transaction::begin_write;
use sqlx::Row as _;
use uuid::Uuid;

use super::audit::append_audit;
use super::rows::{refresh_from_row, service_account_from_row};
use super::{Db, LOCK_ROWS};
use crate::lockout::{AttemptKey, AttemptState, Lockout};
use crate::sealing::{Place, Sealer};
use crate::store::sql::{SqlStore, duplicate};
use crate::store::{
    AccountReach, AccountSecret, Attempt, CredentialStore, MfaChallenge, Redeemed, RefreshRecord,
    ServiceAccountRecord, StoreError, TotpState,
};

/// Reads the attempt state of `key` in `tx`, creating its row if need be, and holds the row
/// until the transaction ends, so each reservation and settlement sees the one before.
async fn attempt_state(
    tx: &mut sqlx::Transaction<'static, Db>,
    key: &AttemptKey,
    now: i64,
) -> Result<AttemptState, StoreError> {
    // The no-op update takes the row lock (PostgreSQL); SQLite's write transaction holds the
    // whole database.
    let row = sqlx::query(
        "INSERT INTO credential_attempts (attempt_key, last_attempt_at) VALUES ($1, $2) \
         ON CONFLICT (attempt_key) DO UPDATE SET in_flight = credential_attempts.in_flight \
         RETURNING failures, in_flight, locked_until, last_attempt_at",
    )
    .bind(key.as_slice())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    let count = |column: &str| -> Result<u32, StoreError> {
        Ok(u32::try_from(row.try_get::<i32, _>(column)?).unwrap_or(0))
    };
    Ok(AttemptState {
        failures: count("failures")?,
        in_flight: count("in_flight")?,
        locked_until: row.try_get("locked_until")?,
        last_attempt_at: row.try_get("last_attempt_at")?,
    })
}

async fn save_attempt_state(
    tx: &mut sqlx::Transaction<'static, Db>,
    key: &AttemptKey,
    state: &AttemptState,
) -> Result<(), StoreError> {
    let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    sqlx::query(
        "UPDATE credential_attempts SET failures = $2, in_flight = $3, locked_until = $4, \
         last_attempt_at = $5 WHERE attempt_key = $1",
    )
    .bind(key.as_slice())
    .bind(count(state.failures))
    .bind(count(state.in_flight))
    .bind(state.locked_until)
    .bind(state.last_attempt_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl CredentialStore for SqlStore<Db> {
    async fn reserve_attempt(
        &self,
        key: &AttemptKey,
        now: i64,
        lockout: &Lockout,
    ) -> Result<Attempt, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let mut state = attempt_state(&mut tx, key, now).await?;
        let attempt = lockout.reserve(&mut state, now);
        if attempt == Attempt::Allowed {
            save_attempt_state(&mut tx, key, &state).await?;
        }
        tx.commit().await?;
        Ok(attempt)
    }

    async fn settle_attempt(
        &self,
        key: &AttemptKey,
        now: i64,
        failed: bool,
        lockout: &Lockout,
    ) -> Result<bool, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        // The row may be gone: a parallel success cleared it. A failure still counts.
        let mut state = attempt_state(&mut tx, key, now).await?;
        let locked = lockout.settle(&mut state, now, failed);
        save_attempt_state(&mut tx, key, &state).await?;
        tx.commit().await?;
        Ok(locked)
    }

    async fn lift_lockout(
        &self,
        tenant: TenantId,
        keys: &[AttemptKey],
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        for key in keys {
            sqlx::query("DELETE FROM credential_attempts WHERE attempt_key = $1")
                .bind(key.as_slice())
                .execute(&mut *tx)
                .await?;
        }
        append_audit(&mut *tx, tenant, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn clear_attempts(&self, key: &AttemptKey) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM credential_attempts WHERE attempt_key = $1")
            .bind(key.as_slice())
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
        sqlx::query("UPDATE users SET last_sign_in_at = $3 WHERE tenant_id = $1 AND user_id = $2")
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
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query("UPDATE users SET password_hash = $3 WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant.as_uuid())
            .bind(user.as_uuid())
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        // Only that it changed: never the hash.
        append_audit(&mut *tx, tenant, audit).await?;
        tx.commit().await?;
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
        let place = Place::Totp(tenant, user);
        let secret: Option<Vec<u8>> = row.try_get("totp_secret")?;
        let pending: Option<Vec<u8>> = row.try_get("totp_pending_secret")?;
        // A secret that does not open is an error, never "no second factor": sign-in stops.
        Ok(TotpState {
            secret: secret
                .map(|stored| opened(&self.sealer, place, &stored, "totp secret"))
                .transpose()?,
            pending: pending
                .map(|stored| opened(&self.sealer, place, &stored, "pending totp secret"))
                .transpose()?,
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
        .bind(self.sealer.seal(Place::Totp(tenant, user), secret))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn confirm_totp(
        &self,
        tenant: TenantId,
        user: UserId,
        step: i64,
        audit: &Audit,
    ) -> Result<bool, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let done = sqlx::query(
            "UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, \
             totp_last_step = $3 \
             WHERE tenant_id = $1 AND user_id = $2 AND totp_pending_secret IS NOT NULL",
        )
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(step)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 1 {
            append_audit(&mut *tx, tenant, audit).await?;
        }
        tx.commit().await?;
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
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query("DELETE FROM mfa_challenges WHERE tenant_id = $1 AND user_id = $2")
            .bind(challenge.tenant.as_uuid())
            .bind(challenge.user.as_uuid())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO mfa_challenges (challenge_hash, tenant_id, user_id, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(hash)
        .bind(challenge.tenant.as_uuid())
        .bind(challenge.user.as_uuid())
        .bind(challenge.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn take_mfa_guess(
        &self,
        hash: &[u8],
        now: i64,
        max_guesses: i32,
    ) -> Result<Option<MfaChallenge>, StoreError> {
        // Counted before the code is checked, in one conditional write: parallel guesses at one
        // challenge get `max_guesses` through, no more.
        let Some(row) = sqlx::query(
            "UPDATE mfa_challenges SET failures = failures + 1 \
             WHERE challenge_hash = $1 AND expires_at > $2 AND failures < $3 \
             RETURNING tenant_id, user_id, expires_at, failures",
        )
        .bind(hash)
        .bind(now)
        .bind(max_guesses)
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
        audit: &Audit,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO service_accounts (service_account_id, name, scopes, secret_hash, \
             secret_id, secret_created_at, created_by, created_at, tenant_id, holder_user_id, \
             secret_second_factor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(account.id)
        .bind(&account.name)
        .bind(account.scopes.to_claim())
        .bind(&account.secret_hash)
        .bind(account.secret_id)
        .bind(account.secret_created_at)
        .bind(&account.created_by)
        .bind(account.created_at)
        .bind(account.owner.tenant().map(|t| t.as_uuid()))
        .bind(account.owner.holder().map(|u| u.as_uuid()))
        .bind(account.secret_second_factor)
        .execute(&mut *tx)
        .await
        .map_err(duplicate)?;
        // The name is the account's, not a person's; the holder is an id.
        let mut audit = audit
            .clone()
            .noting("name", account.name.as_str())
            .noting("scopes", account.scopes.to_claim());
        if let Some(holder) = account.owner.holder() {
            audit = audit.noting("holder", holder.to_string());
        }
        append_audit(&mut *tx, account.owner.tenant(), &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn service_account(&self, id: Uuid) -> Result<Option<ServiceAccountRecord>, StoreError> {
        sqlx::query("SELECT * FROM service_accounts WHERE service_account_id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| service_account_from_row(&row))
            .transpose()
    }

    async fn service_accounts(
        &self,
        reach: AccountReach,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<ServiceAccountRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM service_accounts \
             WHERE ($1 IS NULL OR tenant_id = $1) AND ($2 IS NULL OR service_account_id > $2) \
             ORDER BY service_account_id LIMIT $3",
        )
        .bind(reach.tenant().map(|t| t.as_uuid()))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(service_account_from_row).collect()
    }

    async fn rotate_service_account_secret(
        &self,
        id: Uuid,
        reach: AccountReach,
        secret: AccountSecret<'_>,
        now: i64,
        audit: &Audit,
    ) -> Result<Option<(ServiceAccountRecord, Uuid)>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        // Locked until commit: two rotations at once must each revoke the secret they replace.
        let Some(old) = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT secret_id FROM service_accounts \
             WHERE service_account_id = $1 AND ($2 IS NULL OR tenant_id = $2){LOCK_ROWS}"
        )))
        .bind(id)
        .bind(reach.tenant().map(|t| t.as_uuid()))
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        // Accounts older than secret ids stand for their first secret with their own id.
        let old = old.try_get::<Option<Uuid>, _>("secret_id")?.unwrap_or(id);
        let row = sqlx::query(
            "UPDATE service_accounts SET secret_hash = $2, secret_id = $3, secret_created_at = $4, \
             secret_second_factor = $5 \
             WHERE service_account_id = $1 RETURNING *",
        )
        .bind(id)
        .bind(secret.hash)
        .bind(secret.id)
        .bind(now)
        .bind(secret.second_factor)
        .fetch_one(&mut *tx)
        .await?;
        let account = service_account_from_row(&row)?;
        revoke(&mut *tx, old, now, "service_secret_rotated").await?;
        append_audit(&mut *tx, account.owner.tenant(), audit).await?;
        tx.commit().await?;
        Ok(Some((account, old)))
    }

    async fn disable_service_account(
        &self,
        id: Uuid,
        reach: AccountReach,
        now: i64,
        audit: &Audit,
    ) -> Result<Option<ServiceAccountRecord>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let Some(row) = sqlx::query(
            "UPDATE service_accounts SET disabled_at = COALESCE(disabled_at, $2) \
             WHERE service_account_id = $1 AND ($3 IS NULL OR tenant_id = $3) RETURNING *",
        )
        .bind(id)
        .bind(now)
        .bind(reach.tenant().map(|t| t.as_uuid()))
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let account = service_account_from_row(&row)?;
        // Again on an account disabled already: nothing new to revoke or to audit.
        if account.disabled_at == Some(now) {
            revoke(&mut *tx, account.secret_id, now, "service_account_disabled").await?;
            append_audit(&mut *tx, account.owner.tenant(), audit).await?;
        }
        tx.commit().await?;
        Ok(Some(account))
    }

    async fn signing_keys(&self) -> Result<Vec<(String, Vec<u8>, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, private_key, created_at FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            let kid: String = row.try_get("kid")?;
            let stored: Vec<u8> = row.try_get("private_key")?;
            // Like a key that does not decode: it can neither sign nor verify, so it is left out
            // (and rotated past) rather than stopping every sign-in.
            match self.sealer.open(Place::SigningKey(&kid), &stored) {
                Ok(opened) => keys.push((kid, opened.plain, row.try_get("created_at")?)),
                Err(error) => {
                    tracing::error!(%kid, %error, "stored signing key does not open; skipped")
                }
            }
        }
        Ok(keys)
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
            .bind(self.sealer.seal(Place::SigningKey(kid), pkcs8))
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
        next_expires_at: impl FnOnce(Uuid) -> i64 + Send,
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
            revoke(&mut *tx, record.family, now, "refresh token reused").await?;
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
        .bind(next_expires_at(record.family))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Redeemed::Rotated(record))
    }

    async fn revoke_session(&self, family: Uuid, now: i64, reason: &str) -> Result<(), StoreError> {
        revoke(&self.pool, family, now, reason).await
    }

    async fn revoke_user_sessions(
        &self,
        tenant: TenantId,
        user: UserId,
        keep: Option<Uuid>,
        now: i64,
        reason: &str,
    ) -> Result<Vec<Uuid>, StoreError> {
        let rows = sqlx::query(
            "INSERT INTO revoked_sessions (family_id, revoked_at, reason) \
             SELECT DISTINCT family_id, $3, $4 FROM refresh_tokens \
             WHERE tenant_id = $1 AND user_id = $2 AND expires_at > $3 \
             AND ($5 IS NULL OR family_id <> $5) \
             ON CONFLICT (family_id) DO NOTHING RETURNING family_id",
        )
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(now)
        .bind(reason)
        .bind(keep)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok(row.try_get("family_id")?))
            .collect()
    }

    async fn sessions_revoked_since(&self, since: i64) -> Result<Vec<(Uuid, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT family_id, revoked_at FROM revoked_sessions WHERE revoked_at >= $1 \
             ORDER BY revoked_at",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("family_id")?, row.try_get("revoked_at")?)))
            .collect()
    }

    async fn prune_credentials(&self, now: i64, idle_before: i64) -> Result<u64, StoreError> {
        let mut pruned = 0;
        // Each statement names only the bound values it uses: PostgreSQL refuses unused ones.
        for (statement, at) in [
            ("DELETE FROM mfa_challenges WHERE expires_at <= $1", now),
            ("DELETE FROM refresh_tokens WHERE expires_at <= $1", now),
            // A revocation matters while a refresh token of its session could be presented.
            (
                "DELETE FROM revoked_sessions WHERE revoked_at < $1 AND NOT EXISTS \
                 (SELECT 1 FROM refresh_tokens t WHERE t.family_id = revoked_sessions.family_id)",
                idle_before,
            ),
        ] {
            pruned += sqlx::query(statement)
                .bind(at)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        pruned += sqlx::query(
            "DELETE FROM credential_attempts WHERE last_attempt_at < $2 \
             AND (locked_until IS NULL OR locked_until <= $1)",
        )
        .bind(now)
        .bind(idle_before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(pruned)
    }
}

/// Records `session` (a sign-in family, or a service account's secret) as revoked.
async fn revoke(
    db: impl sqlx::Executor<'_, Database = Db>,
    session: Uuid,
    now: i64,
    reason: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO revoked_sessions (family_id, revoked_at, reason) VALUES ($1, $2, $3) \
         ON CONFLICT (family_id) DO NOTHING",
    )
    .bind(session)
    .bind(now)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(())
}

/// The secret `stored` at `place`; one that does not open is refused as corrupt (logged with
/// why, never with its bytes).
fn opened(
    sealer: &Sealer,
    place: Place<'_>,
    stored: &[u8],
    what: &str,
) -> Result<Vec<u8>, StoreError> {
    sealer
        .open(place, stored)
        .map(|opened| opened.plain)
        .map_err(|why| StoreError::Corrupt(format!("{what} does not open: {why}")))
}
