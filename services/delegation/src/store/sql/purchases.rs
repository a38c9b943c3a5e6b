//! Shop orders, a Purchaser's invitations and the shop webhook's generation.
//!
//! A new order takes its course's lock (as enrolments do) so a course is never archived beneath
//! the enrolment a single seat makes; invitations take their order's lock, so two invitations
//! sent at once never offer more seats than were bought. The rules are the kernel's
//! (`purchase_roles`, `check_invitation`); the SQL reads what they need and writes what they
//! answer.

use lms_kernel::user::{check_invitation, purchase_roles};
use lms_kernel::{CourseId, InvitationId, OrderId, Template, TenantId, UserId};
use lms_runtime::outbox;
use lms_runtime::transaction::begin_write;
use sqlx::Row as _;

use super::audit::append_audit;
use super::courses::changeable_course;
use super::enrolments::enrol_in;
use super::notifications::notify;
use super::{Db, LOCK_ROWS};
use crate::audit::Audit;
use crate::notices::{About, NoticeKind};
use crate::records::order_record;
use crate::store::sql::SqlStore;
use crate::store::{
    Acceptance, EnrolmentRecord, InvitationRecord, InvitationState, Invited, NewEvent, OrderRecord,
    Placed, PurchaseStore, StoreError, ToInvite, same_delivery,
};

type Connection = <Db as sqlx::Database>::Connection;
type Row = <Db as sqlx::Database>::Row;

pub(super) fn order_from_row(row: &Row) -> Result<OrderRecord, StoreError> {
    let seats: i32 = row.try_get("seats")?;
    Ok(OrderRecord {
        id: OrderId::from_uuid(row.try_get("order_id")?),
        shop_order: row.try_get("shop_order")?,
        course: CourseId::from_uuid(row.try_get("course_id")?),
        buyer: UserId::from_uuid(row.try_get("buyer_id")?),
        buyer_email: row.try_get("buyer_email")?,
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
        addressee: row
            .try_get::<Option<uuid::Uuid>, _>("addressee_id")?
            .map(UserId::from_uuid),
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

/// The orders a webhook delivery placed (none when it was not seen).
async fn delivered_orders(
    connection: &mut Connection,
    tenant: TenantId,
    webhook: &str,
) -> Result<Vec<OrderRecord>, StoreError> {
    sqlx::query(
        "SELECT o.* FROM webhook_deliveries d JOIN orders o ON o.order_id = d.order_id \
         WHERE d.tenant_id = $1 AND d.webhook_id = $2 AND o.tenant_id = $1 ORDER BY o.order_id",
    )
    .bind(tenant.as_uuid())
    .bind(webhook)
    .fetch_all(&mut *connection)
    .await?
    .iter()
    .map(order_from_row)
    .collect()
}

/// The events telling reporting how each of `orders` (in id order) stands: its invitations
/// waiting and taken, counted at once in the caller's transaction (over the ids' span; other
/// orders in it are counted and left out). A live change counts its
/// order under the order's lock (or as it is created); a rebuild counts a page of orders after
/// taking the tenant's outbox order, so an invitation changed since appends its own record
/// after these.
pub(super) async fn order_standings(
    connection: &mut Connection,
    tenant: TenantId,
    orders: &[OrderRecord],
) -> Result<Vec<NewEvent>, StoreError> {
    let (Some(first), Some(last)) = (orders.first(), orders.last()) else {
        return Ok(Vec::new());
    };
    let counted: std::collections::HashMap<uuid::Uuid, (i64, i64)> = sqlx::query_as(
        "SELECT order_id, SUM(CASE WHEN state = $4 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN state = $5 THEN 1 ELSE 0 END) FROM invitations \
         WHERE tenant_id = $1 AND order_id BETWEEN $2 AND $3 GROUP BY order_id",
    )
    .bind(tenant.as_uuid())
    .bind(first.id.as_uuid())
    .bind(last.id.as_uuid())
    .bind(InvitationState::Pending.code())
    .bind(InvitationState::Accepted.code())
    .fetch_all(&mut *connection)
    .await?
    .into_iter()
    .map(|(order, waiting, taken)| (order, (waiting, taken)))
    .collect();
    Ok(orders
        .iter()
        .map(|order| {
            let (waiting, taken) = counted
                .get(&order.id.as_uuid())
                .copied()
                .unwrap_or_default();
            order_record(order, waiting, taken)
        })
        .collect())
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
         addressee_id, invitee_id, invited_at, accepted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
    )
    .bind(tenant.as_uuid())
    .bind(invitation.id.as_uuid())
    .bind(invitation.order.as_uuid())
    .bind(&invitation.email)
    .bind(code_hash)
    .bind(invitation.state.code())
    .bind(invitation.addressee.map(|u| u.as_uuid()))
    .bind(invitation.invitee.map(|u| u.as_uuid()))
    .bind(invitation.invited_at)
    .bind(invitation.accepted_at)
    .execute(&mut *connection)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Places one order in the caller's transaction (see [`PurchaseStore::place_orders`]).
async fn place_in(
    connection: &mut Connection,
    tenant: TenantId,
    order: &OrderRecord,
    webhook: Option<&str>,
    audit: &Audit,
) -> Result<Placed, StoreError> {
    // An order placed before is answered before anything else is read (its course may be
    // archived since); else the course's lock, and the insert settles a race between two
    // deliveries of one new order (or two orders reusing one shop id).
    let mut first = order_by_shop_id(connection, tenant, &order.shop_order).await?;
    if first.is_none() {
        changeable_course(connection, tenant, order.course).await?;
        let inserted = sqlx::query(
            "INSERT INTO orders (tenant_id, order_id, shop_order, course_id, buyer_id, \
             buyer_email, seats, placed_by, placed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (tenant_id, shop_order) DO NOTHING",
        )
        .bind(tenant.as_uuid())
        .bind(order.id.as_uuid())
        .bind(&order.shop_order)
        .bind(order.course.as_uuid())
        .bind(order.buyer.as_uuid())
        .bind(&order.buyer_email)
        .bind(i32::try_from(order.seats).unwrap_or(i32::MAX))
        .bind(&order.placed_by)
        .bind(order.placed_at)
        .execute(&mut *connection)
        .await?
        .rows_affected();
        if inserted == 0 {
            // Another writer's row made the insert a no-op: it must be there to read.
            first = Some(
                order_by_shop_id(connection, tenant, &order.shop_order)
                    .await?
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "order {} neither inserted nor found",
                            order.shop_order
                        ))
                    })?,
            );
        }
    }
    let placed = match first {
        Some(first) if !first.same_order(order) => {
            return Err(refused(
                "ORDER_CONFLICT",
                format!(
                    "the shop placed order {} before with other contents",
                    order.shop_order
                ),
            ));
        }
        Some(first) => Placed::before(first),
        None => {
            let enrolled = match purchase_roles(order.seats, 0).buyer {
                Template::Student => {
                    enrol_buyer_or_invitee(
                        connection,
                        tenant,
                        order,
                        order.buyer,
                        order.placed_at,
                        audit,
                    )
                    .await?
                }
                _ => None,
            };
            append_audit(
                &mut *connection,
                tenant,
                &audit.clone().about(order.id).after(order),
            )
            .await?;
            Placed {
                order: order.clone(),
                created: true,
                enrolled,
            }
        }
    };
    if let Some(webhook) = webhook {
        record_delivery(connection, tenant, webhook, &placed.order).await?;
    }
    Ok(placed)
}

/// The invitation `how` names: by its code, or by its id for its addressee alone (to anyone
/// else it does not exist).
async fn find_invitation(
    connection: &mut Connection,
    tenant: TenantId,
    how: Acceptance<'_>,
    user: UserId,
) -> Result<InvitationRecord, StoreError> {
    let query = match how {
        Acceptance::Code(hash) => {
            sqlx::query("SELECT * FROM invitations WHERE tenant_id = $1 AND code_hash = $2")
                .bind(tenant.as_uuid())
                .bind(hash)
        }
        Acceptance::Addressed(id) => sqlx::query(
            "SELECT * FROM invitations WHERE tenant_id = $1 AND invitation_id = $2 \
             AND addressee_id = $3",
        )
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .bind(user.as_uuid()),
    };
    query
        .fetch_optional(&mut *connection)
        .await?
        .as_ref()
        .map(invitation_from_row)
        .transpose()?
        .ok_or_else(|| StoreError::Missing {
            what: "invitation",
            id: match how {
                Acceptance::Code(_) => "with that code".into(),
                Acceptance::Addressed(id) => id.to_string(),
            },
        })
}

/// The invitation `how` names, read under its order's lock, with the order.
async fn invitation_to_take(
    connection: &mut Connection,
    tenant: TenantId,
    how: Acceptance<'_>,
    user: UserId,
) -> Result<(InvitationRecord, OrderRecord), StoreError> {
    let found = find_invitation(connection, tenant, how, user).await?;
    let order = locked_order(connection, tenant, found.order).await?;
    // Read again under the order's lock: an acceptance racing this one has finished.
    let invitation = find_invitation(connection, tenant, how, user).await?;
    Ok((invitation, order))
}

impl PurchaseStore for SqlStore<Db> {
    async fn delivered(
        &self,
        tenant: TenantId,
        webhook: &str,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        delivered_orders(&mut connection, tenant, webhook).await
    }

    async fn order_by_shop_id(
        &self,
        tenant: TenantId,
        shop_order: &str,
    ) -> Result<Option<OrderRecord>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        order_by_shop_id(&mut connection, tenant, shop_order).await
    }

    async fn place_orders<F>(
        &self,
        tenant: TenantId,
        orders: &[OrderRecord],
        webhook: Option<&str>,
        events: F,
        audit: &Audit,
    ) -> Result<Vec<Placed>, StoreError>
    where
        F: FnOnce(&[Placed]) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        // A delivery seen before is answered as it was, whatever it says now.
        if let Some(webhook) = webhook {
            let first = delivered_orders(&mut tx, tenant, webhook).await?;
            if !first.is_empty() {
                if !same_delivery(&first, orders.iter().map(|o| o.shop_order.as_str())) {
                    return Err(refused(
                        "DELIVERY_CONFLICT",
                        format!("delivery {webhook} placed other orders before"),
                    ));
                }
                return Ok(first.into_iter().map(Placed::before).collect());
            }
        }
        // Courses are locked in id order, so two deliveries naming the same courses in another
        // order never wait on each other; the answer keeps the delivery's order.
        let mut by_course: Vec<usize> = (0..orders.len()).collect();
        by_course.sort_by_key(|i| orders[*i].course.as_uuid());
        let mut placed: Vec<Option<Placed>> = vec![None; orders.len()];
        for i in by_course {
            placed[i] = Some(place_in(&mut tx, tenant, &orders[i], webhook, audit).await?);
        }
        let placed: Vec<Placed> = placed.into_iter().flatten().collect();
        let mut appended = events(&placed);
        let mut created: Vec<OrderRecord> = placed
            .iter()
            .filter(|placed| placed.created)
            .map(|placed| placed.order.clone())
            .collect();
        created.sort_by_key(|order| order.id.as_uuid());
        appended.extend(order_standings(&mut tx, tenant, &created).await?);
        outbox::append(&mut *tx, tenant, &appended).await?;
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

    async fn invite(
        &self,
        tenant: TenantId,
        to: ToInvite<'_>,
        audit: &Audit,
    ) -> Result<InvitationRecord, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let order = locked_order(&mut tx, tenant, to.invitation.order).await?;
        if order.buyer != to.purchaser {
            return Err(refused(
                "NOT_THE_PURCHASER",
                "only the order's buyer invites people to its seats",
            ));
        }
        let (sent,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM invitations WHERE tenant_id = $1 AND order_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(order.id.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
        check_invitation(order.seats, u32::try_from(sent).unwrap_or(u32::MAX))
            .map_err(|error| refused(error.reason(), error.to_string()))?;
        // The unique index answers a second invitation of one address.
        if !save_invitation(&mut tx, tenant, &to.invitation, to.code_hash).await? {
            return Err(refused(
                "ALREADY_INVITED",
                "this address was invited to the order already",
            ));
        }
        if let Some(addressee) = to.invitation.addressee {
            let about = About {
                learner: addressee,
                course: order.course,
                event: None,
                object: to.invitation.id.as_uuid(),
                at: to.invitation.invited_at,
            };
            notify(&mut tx, tenant, NoticeKind::InvitationReceived, about).await?;
        }
        append_audit(&mut *tx, tenant, &audit.clone().after(&to.invitation)).await?;
        let standing = order_standings(&mut tx, tenant, std::slice::from_ref(&order)).await?;
        outbox::append(&mut *tx, tenant, &standing).await?;
        tx.commit().await?;
        Ok(to.invitation)
    }

    async fn cancel_invitation(
        &self,
        tenant: TenantId,
        purchaser: UserId,
        invitation: InvitationId,
        audit: &Audit,
    ) -> Result<InvitationRecord, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let missing = || StoreError::Missing {
            what: "invitation",
            id: invitation.to_string(),
        };
        let found =
            sqlx::query("SELECT * FROM invitations WHERE tenant_id = $1 AND invitation_id = $2")
                .bind(tenant.as_uuid())
                .bind(invitation.as_uuid())
                .fetch_optional(&mut *tx)
                .await?
                .as_ref()
                .map(invitation_from_row)
                .transpose()?
                .ok_or_else(missing)?;
        // Under the order's lock, as invitations are sent and taken; a cancel racing this one
        // has finished, and its invitation is gone.
        let order = locked_order(&mut tx, tenant, found.order).await?;
        if order.buyer != purchaser {
            return Err(missing());
        }
        let (still,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM invitations WHERE tenant_id = $1 AND invitation_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(invitation.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
        if still == 0 {
            return Err(missing());
        }
        let deleted = sqlx::query(
            "DELETE FROM invitations WHERE tenant_id = $1 AND invitation_id = $2 AND state = $3",
        )
        .bind(tenant.as_uuid())
        .bind(invitation.as_uuid())
        .bind(InvitationState::Pending.code())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if deleted == 0 {
            return Err(refused(
                "INVITATION_ACCEPTED",
                "this invitation was accepted: its seat is taken",
            ));
        }
        append_audit(
            &mut *tx,
            tenant,
            &audit.clone().about(found.id).before(&found),
        )
        .await?;
        let standing = order_standings(&mut tx, tenant, std::slice::from_ref(&order)).await?;
        outbox::append(&mut *tx, tenant, &standing).await?;
        tx.commit().await?;
        Ok(found)
    }

    async fn accept<F>(
        &self,
        tenant: TenantId,
        how: Acceptance<'_>,
        user: UserId,
        at: i64,
        events: F,
        audit: &Audit,
    ) -> Result<Invited, StoreError>
    where
        F: FnOnce(&Invited) -> Vec<NewEvent> + Send,
    {
        let mut tx = begin_write(&self.pool).await?;
        let (mut invitation, order) = invitation_to_take(&mut tx, tenant, how, user).await?;
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
            "SELECT COUNT(*) FROM invitations \
             WHERE tenant_id = $1 AND order_id = $2 AND invitee_id = $3",
        )
        .bind(tenant.as_uuid())
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
            "UPDATE invitations SET state = $3, invitee_id = $4, accepted_at = $5 \
             WHERE tenant_id = $1 AND invitation_id = $2",
        )
        .bind(tenant.as_uuid())
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
        let mut appended = events(&invited);
        appended
            .extend(order_standings(&mut tx, tenant, std::slice::from_ref(&invited.order)).await?);
        outbox::append(&mut *tx, tenant, &appended).await?;
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
