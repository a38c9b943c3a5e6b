//! `IdentityAuditService`: reading the trail of identity's changes. A tenant's trail is allowed
//! to holders of `audit.read` over the tenant, the permission authorization's own audit asks;
//! the platform's own trail (no tenant) to platform operators alone.

use std::sync::Arc;

use lms_api::common::v1::ObjectType;
use lms_api::identity::v1::identity_audit_service_server::IdentityAuditService;
use lms_api::identity::v1::{
    AuditRecord as PbAuditRecord, ListAuditRecordsRequest, ListAuditRecordsResponse,
    ListPlatformAuditRecordsRequest, ListPlatformAuditRecordsResponse,
};
use lms_kernel::Permission;
use lms_runtime::ApiError;
use lms_runtime::audit::{Listing, page_token};
use lms_runtime::auth::{acting, operator, verified};
use lms_runtime::paging::{page, page_size};
use tonic::{Request, Response, Status};

use crate::audit::{AuditEntry, AuditFilter};
use crate::convert::{reference, timestamp};
use crate::core::Core;
use crate::store::Store;

pub struct Audit<S>(pub Arc<Core<S>>);

fn record(entry: AuditEntry) -> PbAuditRecord {
    PbAuditRecord {
        sequence: entry.sequence,
        at: Some(timestamp(entry.at)),
        actor_user_id: entry.actor_user.map(|u| u.to_string()).unwrap_or_default(),
        actor_session_id: entry.actor_session.unwrap_or_default(),
        actor_service: entry.actor_service.unwrap_or_default(),
        action: entry.action,
        object_type: entry.object_type,
        object_id: entry.object_id,
        before_json: entry.before_json.unwrap_or_default(),
        after_json: entry.after_json.unwrap_or_default(),
    }
}

/// The filter a request asks for, each field named when it is wrong.
fn filter(r: &ListAuditRecordsRequest) -> Result<AuditFilter, ApiError> {
    Listing {
        object_type: &r.object_type,
        object_id: &r.object_id,
        actor_user_id: &r.actor_user_id,
        action: &r.action,
        page_token: &r.page_token,
    }
    .filter()
}

/// The filter of a platform listing: by object and action (operators act as services, so
/// there is no acting person to filter by).
fn platform_filter(r: &ListPlatformAuditRecordsRequest) -> Result<AuditFilter, ApiError> {
    Listing {
        object_type: &r.object_type,
        object_id: &r.object_id,
        action: &r.action,
        page_token: &r.page_token,
        ..Default::default()
    }
    .filter()
}

#[tonic::async_trait]
impl<S: Store + Clone> IdentityAuditService for Audit<S> {
    async fn list_audit_records(
        &self,
        request: Request<ListAuditRecordsRequest>,
    ) -> Result<Response<ListAuditRecordsResponse>, Status> {
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let filter = filter(request.get_ref())?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::AuditRead,
                reference(ObjectType::Tenant, tenant),
            )
            .await?;
        let limit = page_size(request.get_ref().page_size, 100, 1000);
        let entries = self
            .0
            .store
            .audit_records(Some(tenant), &filter, limit + 1)
            .await?;
        let (entries, next_page_token) = page(entries, limit, page_token);
        Ok(Response::new(ListAuditRecordsResponse {
            records: entries.into_iter().map(record).collect(),
            next_page_token,
        }))
    }

    async fn list_platform_audit_records(
        &self,
        request: Request<ListPlatformAuditRecordsRequest>,
    ) -> Result<Response<ListPlatformAuditRecordsResponse>, Status> {
        operator(verified(&request)?, "read the platform's audit trail")?;
        let filter = platform_filter(request.get_ref())?;
        let limit = page_size(request.get_ref().page_size, 100, 1000);
        let entries = self.0.store.audit_records(None, &filter, limit + 1).await?;
        let (entries, next_page_token) = page(entries, limit, page_token);
        Ok(Response::new(ListPlatformAuditRecordsResponse {
            records: entries.into_iter().map(record).collect(),
            next_page_token,
        }))
    }
}
