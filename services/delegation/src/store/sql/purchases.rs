//! Shop orders, a Purchaser's invitations and the shop webhook's generation.
//!
//! An order takes its course's lock (as enrolments do) so a course is never archived beneath
//! the enrolment a single seat makes; invitations take their order's lock, so two invitations
//! sent at once never offer more seats than were bought.

use lms_kernel::{CourseId, InvitationId, OrderId, TenantId, UserId};
use lms_runtime::outbox;
use lms_runtime::transaction::begin_write;
use sqlx::Row as _;

use super::audit::append_audit;
use super::courses::changeable_course;
use super::enrolments::enrol_in;
use super::{Db, LOCK_ROWS};
use crate::audit::Audit;
use crate::store::sql::SqlStore;
use crate::store::{
    EnrolmentRecord, InvitationRecord, InvitationState, Invited, NewEvent, OrderRecord, Placed,
    PurchaseStore, StoreError, ToInvite,
};

type Connection = <Db as sqlx::Database>::Connection;
type Row = <Db as sqlx::Database>::Row;

fn order_from_row(row: &Row) -> Result<OrderRecord, StoreError> {
    let seats: i32 = row.try_get("seats")?;
    Ok(OrderRecord {
        id: OrderId::from_uuid(row.try_get("order_id")?),
        shop_order: row.try_get("shop_order")?,
        course: CourseId::from_uuid(row.try_get("course_id")?),
        buyer: UserId::from_uuid(row.try_get("buyer_id")?),
        seats: u32::try_from(seats).map_err(|_| StoreError::Corrupt(format!("seats {seats}")))?,
        placed_by: row.try_get("placed_by")?,
        placed_at: row.try_get("placed_at")?,
    })
}

fn invitation_from_row(row: &Row) -> Result<InvitationRecord, StoreError> {
    Ok(InvitationRecord {
        id: InvitationId::from_uuid(row.try_get("invitation_id")?),
        order: OrderId::from_uuid(row.try_get("order_id")?),
        email: row.try_get("email")?,
        state: InvitationState::from_code(row.try_get("state")?)?,
        invitee: row
            .try_get::<Option<uuid::Uuid>, _>("invitee_id")?
            .map(UserId::from_uuid),
        invited_at: row.try_get("invited_at")?,
        accepted_at: row.try_get("accepted_at")?,
    })
}

fn refused(reason: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Refused {
        reason,
        message: message.into(),
    }
}

/// The order the shop placed under `shop_order`.
async fn order_by_shop_id(
    connection: &mut Connection,
    tenant: TenantId,
    shop_order: &str,
) -> Result<Option<OrderRecord>, StoreError> {
    sqlx::query("SELECT * FROM orders WHERE tenant_id = $1 AND shop_order = $2")
        .bind(tenant.as_uuid())
        .bind(shop_order)
        .fetch_optional(&mut *connection)
        .await?
        .as_ref()
        .map(order_from_row)
        .transpose()
}

/// The order a webhook delivery placed, when the delivery was seen.
async fn delivered(
    connection: &mut Connection,
    tenant: TenantId,
    webhook: &str,
) -> Result<Option<OrderRecord>, StoreError> {
    sqlx::query(
        "SELECT o.* FROM webhook_deliveries d JOIN orders o ON o.order_id = d.order_id \
         WHERE d.tenant_id = $1 AND d.webhook_id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(webhook)
    .fetch_optional(&mut *connection)
    .await?
    .as_ref()
    .map(order_from_row)
    .transpose()
}

/// An order under its row lock (until the transaction ends).
async fn locked_order(
    connection: &mut Connection,
    tenant: TenantId,
    order: OrderId,
) -> Result<OrderRecord, StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM orders WHERE tenant_id = $1 AND order_id = $2{LOCK_ROWS}"
    )))
    .bind(tenant.as_uuid())
    .bind(order.as_uuid())
    .fetch_optional(&mut *connection)
    .await?
    .as_ref()
    .map(order_from_row)
    .transpose()?
    .ok_or_else(|| StoreError::Missing {
        what: "order",
        id: order.to_string(),
    })
}

/// Enrols `user` on the order's course (the course locked and changeable), unless they are
/// enrolled there already; answers the enrolment made.
async fn enrol_buyer_or_invitee(
    connection: &mut Connection,
    tenant: TenantId,
    order: &OrderRecord,
    user: UserId,
    at: i64,
    audit: &Audit,
) -> Result<Option<EnrolmentRecord>, StoreError> {
    changeable_course(connection, tenant, order.course).await?;
    let record = EnrolmentRecord::new(order.course, user, &audit.actor.label(), at);
    let made = enrol_in(
        connection,
        tenant,
        &[record],
        |_| Vec::new(),
        &audit.clone().named("enrolment.created", "enrolment"),
    )
    .await?;
    Ok(made.into_iter().next())
}

async fn record_delivery(
    connection: &mut Connection,
    tenant: TenantId,
    webhook: &str,
    order: &OrderRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (tenant_id, webhook_id, order_id, received_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(tenant.as_uuid())
    .bind(webhook)
    .bind(order.id.as_uuid())
    .bind(lms_runtime::clock::now())
    .execute(&mut *connection)
    .await?;
    Ok(())
}

async fn save_invitation(
    connection: &mut Connection,
    tenant: TenantId,
    invitation: &InvitationRecord,
    code_hash: &[u8],
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO invitations (tenant_id, invitation_id, order_id, email, code_hash, state, \
         invitee_id, invited_at, accepted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant.as_uuid())
    .bind(invitation.id.as_uuid())
    .bind(invitation.order.as_uuid())
    .bind(&invitation.email)
    .bind(code_hash)
    .bind(invitation.state.code())
    .bind(invitation.invitee.map(|u| u.as_uuid()))
    .bind(invitation.invited_at)
    .bind(invitation.accepted_at)
    .execute(&mut *connection)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

impl PurchaseStore for SqlStore<Db> {
    async fn place_order<F>(
        &self,
        tenant: TenantId,
        order: &OrderRecord,
        webhook: Option<&str>,
        events: F,
        audit: &Audit,
    ) -> Result<Placed, StoreError>
    where
        F: FnOnce(&Placed) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        // A delivery seen before is answered as it was, whatever it says now.
        if let Some(webhook) = webhook
            && let Some(first) = delivered(&mut tx, tenant, webhook).await?
        {
            return Ok(Placed {
                order: first,
                created: false,
                enrolled: None,
            });
        }
        // An order placed before is answered before anything else is read (its course may be
        // archived since); else the course's lock: two deliveries of one new order wait there,
        // and the second finds the first's row on looking again.
        let mut first = order_by_shop_id(&mut tx, tenant, &order.shop_order).await?;
        if first.is_none() {
            changeable_course(&mut tx, tenant, order.course).await?;
            first = order_by_shop_id(&mut tx, tenant, &order.shop_order).await?;
        }
        if let Some(first) = first {
            if !first.same_order(order) {
                return Err(refused(
                    "ORDER_CONFLICT",
                    format!(
                        "the shop placed order {} before with other contents",
                        order.shop_order
                    ),
                ));
            }
            if let Some(webhook) = webhook {
                record_delivery(&mut tx, tenant, webhook, &first).await?;
                tx.commit().await?;
            }
            return Ok(Placed {
                order: first,
                created: false,
                enrolled: None,
            });
        }
        sqlx::query(
            "INSERT INTO orders (tenant_id, order_id, shop_order, course_id, buyer_id, seats, \
             placed_by, placed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant.as_uuid())
        .bind(order.id.as_uuid())
        .bind(&order.shop_order)
        .bind(order.course.as_uuid())
        .bind(order.buyer.as_uuid())
        .bind(i32::try_from(order.seats).unwrap_or(i32::MAX))
        .bind(&order.placed_by)
        .bind(order.placed_at)
        .execute(&mut *tx)
        .await?;
        if let Some(webhook) = webhook {
            record_delivery(&mut tx, tenant, webhook, order).await?;
        }
        let enrolled = match lms_kernel::user::purchase_roles(order.seats, 0).buyer {
            lms_kernel::Template::Student => {
                enrol_buyer_or_invitee(&mut tx, tenant, order, order.buyer, order.placed_at, audit)
                    .await?
            }
            _ => None,
        };
        let placed = Placed {
            order: order.clone(),
            created: true,
            enrolled,
        };
        append_audit(&mut *tx, tenant, &audit.clone().after(order)).await?;
        outbox::append(&mut *tx, tenant, &events(&placed)).await?;
        tx.commit().await?;
        Ok(placed)
    }

    async fn order(
        &self,
        tenant: TenantId,
        order: OrderId,
    ) -> Result<Option<OrderRecord>, StoreError> {
        sqlx::query("SELECT * FROM orders WHERE tenant_id = $1 AND order_id = $2")
            .bind(tenant.as_uuid())
            .bind(order.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(order_from_row)
            .transpose()
    }

    async fn orders(
        &self,
        tenant: TenantId,
        buyer: Option<UserId>,
        after: Option<OrderId>,
        limit: i64,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        sqlx::query(
            "SELECT * FROM orders WHERE tenant_id = $1 \
             AND ($2 IS NULL OR buyer_id = $2) AND ($3 IS NULL OR order_id > $3) \
             ORDER BY order_id LIMIT $4",
        )
        .bind(tenant.as_uuid())
        .bind(buyer.map(|u| u.as_uuid()))
        .bind(after.map(|o| o.as_uuid()))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(order_from_row)
        .collect()
    }

    async fn invite<F>(
        &self,
        tenant: TenantId,
        to: ToInvite<'_>,
        events: F,
        audit: &Audit,
    ) -> Result<Invited, StoreError>
    where
        F: FnOnce(&Invited) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        let order = locked_order(&mut tx, tenant, to.invitation.order).await?;
        if order.buyer != to.purchaser {
            return Err(refused(
                "NOT_THE_PURCHASER",
                "only the order's buyer invites people to its seats",
            ));
        }
        let (sent,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM invitations WHERE order_id = $1")
                .bind(order.id.as_uuid())
                .fetch_one(&mut *tx)
                .await?;
        if sent >= i64::from(order.seats) {
            return Err(refused(
                "NO_SEATS_LEFT",
                format!("all {} seats of the order are offered", order.seats),
            ));
        }
        // The unique indexes answer a second invitation of one address or person.
        if !save_invitation(&mut tx, tenant, &to.invitation, to.code_hash).await? {
            return Err(refused(
                "ALREADY_INVITED",
                "this person or address has a seat of the order already",
            ));
        }
        let enrolled = match to.invitation.invitee {
            Some(invitee) => {
                enrol_buyer_or_invitee(
                    &mut tx,
                    tenant,
                    &order,
                    invitee,
                    to.invitation.invited_at,
                    audit,
                )
                .await?
            }
            None => None,
        };
        let invited = Invited {
            invitation: to.invitation,
            order,
            enrolled,
        };
        append_audit(&mut *tx, tenant, &audit.clone().after(&invited.invitation)).await?;
        outbox::append(&mut *tx, tenant, &events(&invited)).await?;
        tx.commit().await?;
        Ok(invited)
    }

    async fn accept<F>(
        &self,
        tenant: TenantId,
        code_hash: &[u8],
        user: UserId,
        at: i64,
        events: F,
        audit: &Audit,
    ) -> Result<Invited, StoreError>
    where
        F: FnOnce(&Invited) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        let found =
            sqlx::query("SELECT * FROM invitations WHERE tenant_id = $1 AND code_hash = $2")
                .bind(tenant.as_uuid())
                .bind(code_hash)
                .fetch_optional(&mut *tx)
                .await?
                .as_ref()
                .map(invitation_from_row)
                .transpose()?
                .ok_or_else(|| StoreError::Missing {
                    what: "invitation",
                    id: "with that code".into(),
                })?;
        let order = locked_order(&mut tx, tenant, found.order).await?;
        // Read again under the order's lock: an acceptance racing this one has finished.
        let mut invitation = sqlx::query("SELECT * FROM invitations WHERE invitation_id = $1")
            .bind(found.id.as_uuid())
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from)
            .and_then(|row| invitation_from_row(&row))?;
        match invitation.state {
            InvitationState::Accepted if invitation.invitee == Some(user) => {
                return Ok(Invited {
                    invitation,
                    order,
                    enrolled: None,
                });
            }
            InvitationState::Accepted => {
                return Err(refused(
                    "INVITATION_ACCEPTED",
                    "this invitation was accepted already",
                ));
            }
            InvitationState::Pending => {}
        }
        let (held,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM invitations WHERE order_id = $1 AND invitee_id = $2",
        )
        .bind(order.id.as_uuid())
        .bind(user.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
        if held > 0 {
            return Err(refused(
                "ALREADY_INVITED",
                "you hold a seat of this order already",
            ));
        }
        let before = invitation.clone();
        invitation.state = InvitationState::Accepted;
        invitation.invitee = Some(user);
        invitation.accepted_at = Some(at);
        sqlx::query(
            "UPDATE invitations SET state = $2, invitee_id = $3, accepted_at = $4 \
             WHERE invitation_id = $1",
        )
        .bind(invitation.id.as_uuid())
        .bind(invitation.state.code())
        .bind(user.as_uuid())
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let enrolled = enrol_buyer_or_invitee(&mut tx, tenant, &order, user, at, audit).await?;
        let invited = Invited {
            invitation,
            order,
            enrolled,
        };
        append_audit(
            &mut *tx,
            tenant,
            &audit
                .clone()
                .about(invited.invitation.id)
                .before(&before)
                .after(&invited.invitation),
        )
        .await?;
        outbox::append(&mut *tx, tenant, &events(&invited)).await?;
        tx.commit().await?;
        Ok(invited)
    }

    async fn invitations(
        &self,
        tenant: TenantId,
        order: OrderId,
    ) -> Result<Vec<InvitationRecord>, StoreError> {
        sqlx::query(
            "SELECT * FROM invitations WHERE tenant_id = $1 AND order_id = $2 \
             ORDER BY invited_at, invitation_id",
        )
        .bind(tenant.as_uuid())
        .bind(order.as_uuid())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(invitation_from_row)
        .collect()
    }

    async fn webhook_generation(&self, tenant: TenantId) -> Result<Option<u32>, StoreError> {
        let found: Option<(i32,)> =
            sqlx::query_as("SELECT generation FROM shop_webhooks WHERE tenant_id = $1")
                .bind(tenant.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
        found
            .map(|(generation,)| {
                u32::try_from(generation)
                    .map_err(|_| StoreError::Corrupt(format!("webhook generation {generation}")))
            })
            .transpose()
    }

    async fn rotate_webhook(
        &self,
        tenant: TenantId,
        at: i64,
        audit: &Audit,
    ) -> Result<u32, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let (generation,): (i32,) = sqlx::query_as(
            "INSERT INTO shop_webhooks (tenant_id, generation, rotated_by, rotated_at) \
             VALUES ($1, 1, $2, $3) ON CONFLICT (tenant_id) DO UPDATE \
             SET generation = shop_webhooks.generation + 1, rotated_by = $2, rotated_at = $3 \
             RETURNING generation",
        )
        .bind(tenant.as_uuid())
        .bind(audit.actor.label())
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        append_audit(&mut *tx, tenant, audit).await?;
        tx.commit().await?;
        u32::try_from(generation)
            .map_err(|_| StoreError::Corrupt(format!("webhook generation {generation}")))
    }
}
