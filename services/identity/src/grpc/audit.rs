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
use lms_kernel::{Permission, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::{acting, operator, verified};
use lms_runtime::paging::{page, page_size};
use tonic::{Request, Response, Status};

use crate::audit::{AuditEntry, AuditFilter};
use crate::convert::{optional_id, reference, timestamp};
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
    Ok(AuditFilter {
        object: object(&r.object_type, &r.object_id)?,
        actor: optional_id("actor_user_id", &r.actor_user_id, UserId::parse)?,
        action: action(&r.action),
        before: before(&r.page_token)?,
    })
}

/// The filter of a platform listing: by object and action (operators act as services, so
/// there is no acting person to filter by).
fn platform_filter(r: &ListPlatformAuditRecordsRequest) -> Result<AuditFilter, ApiError> {
    Ok(AuditFilter {
        object: object(&r.object_type, &r.object_id)?,
        actor: None,
        action: action(&r.action),
        before: before(&r.page_token)?,
    })
}

/// One action's records, when one is named.
fn action(action: &str) -> Option<String> {
    let action = action.trim();
    (!action.is_empty()).then(|| action.to_owned())
}

/// One object's records, when both its type and its id are given.
fn object(object_type: &str, object_id: &str) -> Result<Option<(String, String)>, ApiError> {
    Ok(match (object_type.trim(), object_id.trim()) {
        ("", "") => None,
        ("", _) => {
            return Err(ApiError::invalid_field(
                "object_type",
                "is required with object_id",
            ));
        }
        (_, "") => {
            return Err(ApiError::invalid_field(
                "object_id",
                "is required with object_type",
            ));
        }
        (kind, id) => Some((kind.to_owned(), id.to_owned())),
    })
}

/// The sequence a page token says the next page starts below.
fn before(page_token: &str) -> Result<Option<i64>, ApiError> {
    match page_token {
        "" => Ok(None),
        token => token
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::invalid_field("page_token", "is not a token from a listing")),
    }
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
        let (entries, next_page_token) = page(entries, limit, |e| e.sequence.to_string());
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
        let (entries, next_page_token) = page(entries, limit, |e| e.sequence.to_string());
        Ok(Response::new(ListPlatformAuditRecordsResponse {
            records: entries.into_iter().map(record).collect(),
            next_page_token,
        }))
    }
}
