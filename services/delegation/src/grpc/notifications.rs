//! `NotificationService`: the pending notifications delegation wrote with its changes
//! (`crate::notices` says who hears of what). A person reads and acknowledges their own and no
//! one else's; a tenant's mailer, an account a platform operator made for the tenant holding
//! `delegation.notifications.read`, reads and acknowledges the whole tenant's, to send them on.
//! An integration a person made reads only that person's.

use std::sync::Arc;

use lms_api::delegation::v1::notification_service_server::{
    NotificationService, NotificationServiceServer,
};
use lms_api::delegation::v1::{
    AcknowledgeNotificationsRequest, AcknowledgeNotificationsResponse, ListNotificationsRequest,
    ListNotificationsResponse, Notification, NotificationKind,
};
use lms_kernel::{TenantId, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Caller, Scope, scoped_tenant, verified};
use lms_runtime::clock::now;
use lms_runtime::paging::{page, page_size};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::convert::{count, ids, optional_id, timestamp};
use crate::core::Core;
use crate::notices::NoticeKind;
use crate::store::{NotificationFilter, NotificationRecord, Store};

/// Notifications acknowledged in one call at most.
const MAX_ACKNOWLEDGED: usize = 1000;

/// Pending notifications.
pub struct Notifications<S>(pub Arc<Core<S>>);

/// Whose notifications the caller reads: a person their own; a mailer a platform operator set
/// up for the tenant (held by nobody) the tenant's; an integration a person made reaches no
/// further than that person, so it reads theirs.
fn reader<T>(request: &Request<T>) -> Result<(TenantId, Option<UserId>), ApiError> {
    match verified(request)? {
        Caller::User { tenant, user, .. } => Ok((*tenant, Some(*user))),
        caller @ Caller::Integration {
            holder: Some(holder),
            ..
        } => Ok((
            scoped_tenant(caller, Scope::NotificationsRead)?,
            Some(*holder),
        )),
        caller => Ok((scoped_tenant(caller, Scope::NotificationsRead)?, None)),
    }
}

fn kind(kind: NoticeKind) -> NotificationKind {
    match kind {
        NoticeKind::BookingRequested => NotificationKind::BookingRequested,
        NoticeKind::BookingMade => NotificationKind::BookingMade,
        NoticeKind::BookingDeclined => NotificationKind::BookingDeclined,
        NoticeKind::BookingCancelled => NotificationKind::BookingCancelled,
        NoticeKind::EventCancelled => NotificationKind::EventCancelled,
        NoticeKind::EnrolmentRequested => NotificationKind::EnrolmentRequested,
        NoticeKind::CompetencySignedOff => NotificationKind::CompetencySignedOff,
        NoticeKind::InvitationReceived => NotificationKind::InvitationReceived,
        NoticeKind::BookingWaitlisted => NotificationKind::BookingWaitlisted,
    }
}

fn notification(record: &NotificationRecord) -> Notification {
    Notification {
        notification_id: record.id.to_string(),
        recipient_user_id: record.recipient.to_string(),
        kind: kind(record.kind) as i32,
        learner_user_id: record.learner.to_string(),
        course_id: record.course.to_string(),
        event_id: record.event.map(|e| e.to_string()).unwrap_or_default(),
        object_id: record.object.to_string(),
        created_at: Some(timestamp(record.created_at)),
    }
}

#[tonic::async_trait]
impl<S: Store + Clone> NotificationService for Notifications<S> {
    async fn list_notifications(
        &self,
        request: Request<ListNotificationsRequest>,
    ) -> Result<Response<ListNotificationsResponse>, Status> {
        let (tenant, recipient) = reader(&request)?;
        let r = request.get_ref();
        let limit = page_size(r.page_size, 100, 1000);
        let filter = NotificationFilter {
            recipient,
            after: optional_id("page_token", &r.page_token, Uuid::parse_str)?,
        };
        let rows = self
            .0
            .store
            .notifications(tenant, filter, limit + 1)
            .await?;
        let (rows, next_page_token) = page(rows, limit, |row| row.id.to_string());
        Ok(Response::new(ListNotificationsResponse {
            notifications: rows.iter().map(notification).collect(),
            next_page_token,
        }))
    }

    async fn acknowledge_notifications(
        &self,
        request: Request<AcknowledgeNotificationsRequest>,
    ) -> Result<Response<AcknowledgeNotificationsResponse>, Status> {
        let (tenant, recipient) = reader(&request)?;
        let given = &request.get_ref().notification_ids;
        if given.len() > MAX_ACKNOWLEDGED {
            return Err(ApiError::invalid_field(
                "notification_ids",
                format!("at most {MAX_ACKNOWLEDGED}"),
            )
            .into());
        }
        let ids = ids("notification_ids", given, Uuid::parse_str)?;
        let acknowledged = self
            .0
            .store
            .acknowledge(tenant, recipient, &ids, now())
            .await?;
        Ok(Response::new(AcknowledgeNotificationsResponse {
            acknowledged: count(usize::try_from(acknowledged).unwrap_or(usize::MAX)),
        }))
    }
}

/// The gRPC service.
pub fn service<S: Store + Clone>(
    core: Arc<Core<S>>,
) -> NotificationServiceServer<Notifications<S>> {
    NotificationServiceServer::new(Notifications(core))
}
