//! `DelegationAuditService`: reading the trail of delegation's changes. Allowed to holders of
//! `audit.read` over the caller's tenant, the permission identity's and authorization's trails
//! ask; the tenant is the token's, so nobody reads another tenant's records.

use std::sync::Arc;

use lms_api::common::v1::ObjectType;
use lms_api::delegation::v1::delegation_audit_service_server::{
    DelegationAuditService, DelegationAuditServiceServer,
};
use lms_api::delegation::v1::{AuditRecord, ListAuditRecordsRequest, ListAuditRecordsResponse};
use lms_kernel::Permission;
use lms_runtime::ApiError;
use lms_runtime::audit::{AuditEntry, Listing, page_token};
use lms_runtime::auth::acting;
use lms_runtime::paging::{page, page_size};
use tonic::{Request, Response, Status};

use crate::convert::{reference, timestamp};
use crate::core::Core;
use crate::store::Store;

/// The audit trail.
pub struct Audit<S>(pub Arc<Core<S>>);

fn record(entry: AuditEntry) -> AuditRecord {
    AuditRecord {
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

impl<S: Store + Clone> Audit<S> {
    async fn list(
        &self,
        request: Request<ListAuditRecordsRequest>,
    ) -> Result<ListAuditRecordsResponse, ApiError> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let filter = Listing {
            object_type: &r.object_type,
            object_id: &r.object_id,
            actor_user_id: &r.actor_user_id,
            action: &r.action,
            page_token: &r.page_token,
        }
        .filter()?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::AuditRead,
                reference(ObjectType::Tenant, acting.tenant),
            )
            .await?;
        let limit = page_size(r.page_size, 100, 1000);
        let entries = self
            .0
            .store
            .audit_records(acting.tenant, &filter, limit + 1)
            .await?;
        let (entries, next_page_token) = page(entries, limit, page_token);
        Ok(ListAuditRecordsResponse {
            records: entries.into_iter().map(record).collect(),
            next_page_token,
        })
    }
}

#[tonic::async_trait]
impl<S: Store + Clone> DelegationAuditService for Audit<S> {
    async fn list_audit_records(
        &self,
        request: Request<ListAuditRecordsRequest>,
    ) -> Result<Response<ListAuditRecordsResponse>, Status> {
        Ok(Response::new(self.list(request).await?))
    }
}

pub fn service<S: Store + Clone>(core: Arc<Core<S>>) -> DelegationAuditServiceServer<Audit<S>> {
    DelegationAuditServiceServer::new(Audit(core))
}
