//! The reseal pass over both backends. Values already sealed under the current KEK are skipped
//! in SQL by their first bytes, so a start with nothing to do reads no secrets.

use lms_kernel::{TenantId, UserId};
use lms_runtime::transaction::begin_write;
use sqlx::Row as _;
use uuid::Uuid;

use super::Db;
use crate::sealing::Place;
use crate::store::sql::SqlStore;
use crate::store::{ResealStore, Resealed, StoreError};

/// The two TOTP columns (the confirmed secret, an enrolment waiting for its first code), each
/// with the statement that reseals it only if it still holds what was read.
const TOTP_COLUMNS: [(&str, &str); 2] = [
    (
        "totp_secret",
        "UPDATE users SET totp_secret = $3 \
         WHERE tenant_id = $1 AND user_id = $2 AND totp_secret = $4",
    ),
    (
        "totp_pending_secret",
        "UPDATE users SET totp_pending_secret = $3 \
         WHERE tenant_id = $1 AND user_id = $2 AND totp_pending_secret = $4",
    ),
];

impl ResealStore for SqlStore<Db> {
    async fn reseal_secrets(&self, batch: u32) -> Result<Resealed, StoreError> {
        let prefix = self.sealer.current_prefix();
        let prefix_len = prefix.len() as i32;
        let mut done = Resealed::default();

        let keys = sqlx::query(
            "SELECT kid, private_key FROM signing_keys WHERE substr(private_key, 1, $1) <> $2",
        )
        .bind(prefix_len)
        .bind(&prefix)
        .fetch_all(&self.pool)
        .await?;
        if !keys.is_empty() {
            let mut tx = begin_write(&self.pool).await?;
            for row in &keys {
                let kid: String = row.try_get("kid")?;
                let stored: Vec<u8> = row.try_get("private_key")?;
                let place = Place::SigningKey(&kid);
                match self.sealer.open_or_adopt(place, &stored) {
                    Ok(opened) => {
                        done.resealed += sqlx::query(
                            "UPDATE signing_keys SET private_key = $2 \
                             WHERE kid = $1 AND private_key = $3",
                        )
                        .bind(&kid)
                        .bind(self.sealer.seal(place, &opened.plain))
                        .bind(&stored)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    }
                    Err(error) => {
                        tracing::error!(%kid, %error, "stored signing key does not open; left as it is");
                        done.unopened += 1;
                    }
                }
            }
            tx.commit().await?;
        }

        // Paged by user, so a value that never opens is passed over instead of found again.
        let mut after = (Uuid::nil(), Uuid::nil());
        loop {
            let rows = sqlx::query(
                "SELECT tenant_id, user_id, totp_secret, totp_pending_secret FROM users \
                 WHERE (tenant_id, user_id) > ($1, $2) \
                   AND ((totp_secret IS NOT NULL AND substr(totp_secret, 1, $3) <> $4) \
                     OR (totp_pending_secret IS NOT NULL \
                         AND substr(totp_pending_secret, 1, $3) <> $4)) \
                 ORDER BY tenant_id, user_id LIMIT $5",
            )
            .bind(after.0)
            .bind(after.1)
            .bind(prefix_len)
            .bind(&prefix)
            .bind(i64::from(batch))
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = (last.try_get("tenant_id")?, last.try_get("user_id")?);
            let mut tx = begin_write(&self.pool).await?;
            for row in &rows {
                let tenant = TenantId::from_uuid(row.try_get("tenant_id")?);
                let user = UserId::from_uuid(row.try_get("user_id")?);
                let place = Place::Totp(tenant, user);
                for (column, reseal) in TOTP_COLUMNS {
                    let Some(stored) = row.try_get::<Option<Vec<u8>>, _>(column)? else {
                        continue;
                    };
                    if stored.starts_with(&prefix) {
                        continue;
                    }
                    match self.sealer.open_or_adopt(place, &stored) {
                        Ok(opened) => {
                            done.resealed += sqlx::query(reseal)
                                .bind(tenant.as_uuid())
                                .bind(user.as_uuid())
                                .bind(self.sealer.seal(place, &opened.plain))
                                .bind(&stored)
                                .execute(&mut *tx)
                                .await?
                                .rows_affected();
                        }
                        Err(error) => {
                            tracing::error!(%tenant, %user, column, %error, "stored totp secret does not open; left as it is");
                            done.unopened += 1;
                        }
                    }
                }
            }
            tx.commit().await?;
            if rows.len() < batch as usize {
                break;
            }
        }
        Ok(done)
    }
}
