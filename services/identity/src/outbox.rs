//! The outbox relay (DESIGN.md §2). A write commits its data and an outbox row together; the
//! handler then delivers the tenant's pending rows to authorization before it answers, so the
//! answer carries authorization's consistency token. What could not be delivered (authorization
//! down) stays pending and a background loop retries it. Rows of one tenant are delivered in
//! commit order, one delivery at a time, so a later change is never overtaken by an earlier one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lms_api::authorization::v1::{AssignRoleRequest, WriteRelationshipsRequest};
use lms_api::common::v1::ConsistencyToken;
use lms_kernel::TenantId;
use lms_runtime::ApiError;
use prost::Message;
use tokio_util::sync::CancellationToken;

use crate::authz::Authorization;
use crate::store::{NewEvent, OutboxEvent, Store};

/// Facts for authorization: a `WriteRelationshipsRequest`.
pub const FACTS: &str = "authorization.facts";
/// A role assignment made by identity: an `AssignRoleRequest`.
pub const ASSIGN_ROLE: &str = "authorization.assign_role";
/// Taking a role back: an `AssignRoleRequest` naming the holder and the role; every
/// assignment of that role the holder has is revoked.
pub const REVOKE_ROLE: &str = "authorization.revoke_role";
/// How often pending rows are retried.
const RETRY_EVERY: Duration = Duration::from_secs(2);
/// Rows delivered per round.
const BATCH: i64 = 100;

/// A facts event, with its event id inside (authorization applies each id once).
pub fn facts_event(mut request: WriteRelationshipsRequest) -> NewEvent {
    let event_id = uuid::Uuid::now_v7();
    request.event_id = event_id.to_string();
    NewEvent {
        event_id,
        topic: FACTS,
        payload: request.encode_to_vec(),
    }
}

/// A role-assignment event.
pub fn assign_role_event(request: &AssignRoleRequest) -> NewEvent {
    NewEvent {
        event_id: uuid::Uuid::now_v7(),
        topic: ASSIGN_ROLE,
        payload: request.encode_to_vec(),
    }
}

/// An event taking `template` back from `user`.
pub fn revoke_role_event(user: lms_kernel::UserId, template: lms_kernel::Template) -> NewEvent {
    NewEvent {
        event_id: uuid::Uuid::now_v7(),
        topic: REVOKE_ROLE,
        payload: AssignRoleRequest {
            user_id: user.to_string(),
            role_id: lms_kernel::RoleId::BuiltIn(template).to_string(),
            ..Default::default()
        }
        .encode_to_vec(),
    }
}

/// Delivers outbox rows to authorization.
pub struct Relay<S> {
    store: S,
    authorization: Authorization,
    /// One delivery at a time per tenant keeps commit order.
    delivering: Mutex<HashMap<TenantId, Arc<tokio::sync::Mutex<()>>>>,
}

impl<S> std::fmt::Debug for Relay<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").finish_non_exhaustive()
    }
}

impl<S: Store + Clone> Relay<S> {
    /// A relay over `store` delivering to `authorization`.
    pub fn new(store: S, authorization: Authorization) -> Self {
        Self {
            store,
            authorization,
            delivering: Mutex::default(),
        }
    }

    /// Delivers the tenant's pending rows in order and answers the token after the last one,
    /// or `None` when nothing was pending. Stops at the first failure (the row stays pending).
    pub async fn deliver(&self, tenant: TenantId) -> Result<Option<ConsistencyToken>, ApiError> {
        let lock = self
            .delivering
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(tenant)
            .or_default()
            .clone();
        let _turn = lock.lock().await;
        let mut token = None;
        loop {
            let pending = self.store.pending_events(tenant, BATCH).await?;
            if pending.is_empty() {
                return Ok(token);
            }
            for event in pending {
                match self.send(&event).await {
                    Ok(Some(written_at)) => token = Some(written_at),
                    Ok(None) => {}
                    Err(ApiError::Forwarded(status)) => {
                        // Authorization refuses it for good; retrying would block every later
                        // change of the tenant.
                        tracing::error!(
                            sequence = event.sequence,
                            topic = %event.topic,
                            code = ?status.code(),
                            error = %status.message(),
                            "outbox event refused by authorization; dropped"
                        );
                    }
                    Err(error) => return Err(error),
                }
                self.store.mark_delivered(event.sequence).await?;
            }
        }
    }

    /// Delivers one event; answers authorization's token when the event changed something.
    async fn send(&self, event: &OutboxEvent) -> Result<Option<ConsistencyToken>, ApiError> {
        let corrupt = |error: prost::DecodeError| ApiError::internal(error);
        match event.topic.as_str() {
            FACTS => {
                let request =
                    WriteRelationshipsRequest::decode(event.payload.as_slice()).map_err(corrupt)?;
                self.authorization
                    .write(event.tenant, request)
                    .await
                    .map(Some)
            }
            ASSIGN_ROLE => {
                let request =
                    AssignRoleRequest::decode(event.payload.as_slice()).map_err(corrupt)?;
                self.authorization
                    .assign(event.tenant, request)
                    .await
                    .map(Some)
            }
            REVOKE_ROLE => {
                let request =
                    AssignRoleRequest::decode(event.payload.as_slice()).map_err(corrupt)?;
                self.authorization
                    .revoke_role_of(event.tenant, request)
                    .await
            }
            other => {
                tracing::error!(topic = other, "unknown outbox topic; dropped");
                Ok(None)
            }
        }
    }

    /// Retries pending rows of every tenant until `shutdown`.
    pub fn spawn_retries(self: Arc<Self>, shutdown: CancellationToken) {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(RETRY_EVERY) => {}
                }
                let tenants = match self.store.tenants_with_pending_events().await {
                    Ok(tenants) => tenants,
                    Err(error) => {
                        tracing::warn!(%error, "outbox not readable");
                        continue;
                    }
                };
                for tenant in tenants {
                    if let Err(error) = self.deliver(tenant).await {
                        tracing::warn!(%tenant, %error, "outbox delivery failed; will retry");
                    }
                }
            }
        });
    }
}
