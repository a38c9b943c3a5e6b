//! `ApprovalService`: the Access Coordinator's duties. Tutor and teacher accounts wait in
//! `pending_approval` (allowed nothing) until approved, which activates them and gives them the
//! Tutor or Teacher role; a rejected application is deleted; unused accounts are deleted; a
//! Teacher is promoted to Teacher Administrator. Each duty is decided by authorization: the
//! Access Coordinator template holds these permissions, nobody else's does by default.

use std::sync::Arc;

use lms_api::common::v1::{ConsistencyToken, ObjectType};
use lms_api::identity::v1::approval_service_server::ApprovalService;
use lms_api::identity::v1::{
    ApproveAccountRequest, ApproveAccountResponse, DeleteUnusedAccountRequest,
    DeleteUnusedAccountResponse, ListPendingApprovalsRequest, ListPendingApprovalsResponse,
    PromoteTeacherRequest, PromoteTeacherResponse, RejectAccountRequest, RejectAccountResponse,
};
use lms_kernel::{AccountKind, Permission, Template, TenantId, UserId, UserStatus};
use lms_runtime::ApiError;
use lms_runtime::auth::acting;
use lms_runtime::clock::now;
use lms_runtime::paging::{page, page_size};
use tonic::{Request, Response, Status};

use crate::audit::{Actor, Object};
use crate::convert::{self, optional_id, reference, required_id};
use crate::core::Core;
use crate::error::status_refused;
use crate::relationships;
use crate::store::{Store, StoreError, UserChange, UserFilter};

pub struct Approvals<S>(pub Arc<Core<S>>);

impl<S: Store + Clone> Approvals<S> {
    /// The caller and the user named in `user_id`, once authorization allowed `permission` (at
    /// least as fresh as `at`, when the caller passed a token).
    async fn duty<T>(
        &self,
        request: &Request<T>,
        user_id: &str,
        permission: Permission,
        at: Option<ConsistencyToken>,
    ) -> Result<(TenantId, UserId, UserId), Status> {
        let acting = acting(request)?;
        let (tenant, actor) = (acting.tenant, acting.user);
        let user = required_id("user_id", user_id, UserId::parse)?;
        self.0
            .authorization
            .require_at(&acting, permission, reference(ObjectType::User, user), at)
            .await?;
        Ok((tenant, actor, user))
    }
}

#[tonic::async_trait]
impl<S: Store + Clone> ApprovalService for Approvals<S> {
    async fn list_pending_approvals(
        &self,
        request: Request<ListPendingApprovalsRequest>,
    ) -> Result<Response<ListPendingApprovalsResponse>, Status> {
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let r = request.into_inner();
        let after = optional_id("page_token", &r.page_token, UserId::parse)?;
        let limit = page_size(r.page_size, 100, 500);
        self.0
            .authorization
            .require(
                &acting,
                Permission::TutorApprovalsDecide,
                reference(ObjectType::Tenant, tenant),
            )
            .await?;
        let filter = UserFilter {
            status: Some(UserStatus::PendingApproval),
            after,
            now: now(),
            ..Default::default()
        };
        // Ids are time-ordered (UUIDv7): id order is the order people applied in.
        let users = self.0.store.users(tenant, &filter, limit + 1).await?;
        let (users, next_page_token) = page(users, limit, |u| u.id.to_string());
        let total = self
            .0
            .store
            .count_users(tenant, UserStatus::PendingApproval)
            .await?;
        Ok(Response::new(ListPendingApprovalsResponse {
            users: self.0.user_views(tenant, &users).await?,
            next_page_token,
            total: i32::try_from(total).unwrap_or(i32::MAX),
        }))
    }

    async fn approve_account(
        &self,
        request: Request<ApproveAccountRequest>,
    ) -> Result<Response<ApproveAccountResponse>, Status> {
        let by = Actor::of(&request)?;
        let (tenant, actor, user) = self
            .duty(
                &request,
                &request.get_ref().user_id,
                Permission::TutorApprovalsDecide,
                request.get_ref().at_least_as_fresh.clone(),
            )
            .await?;
        let audit = by.did("user.approved", Object::user(user));
        let record = self
            .0
            .store
            .update_user(tenant, user, &audit, |record| {
                record.status = record.status.approve().map_err(status_refused)?;
                let mut events = vec![relationships::status_changed(record)];
                if let Some(role) = record.account_kind.approved_role() {
                    events.push(relationships::role_given(record.id, role));
                }
                Ok(UserChange {
                    events,
                    end_sessions: None,
                    ..Default::default()
                })
            })
            .await?;
        tracing::info!(%tenant, %user, by = %actor, "account approved");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(ApproveAccountResponse {
            user: Some(self.0.user_view(tenant, &record).await?),
            written_at,
        }))
    }

    async fn reject_account(
        &self,
        request: Request<RejectAccountRequest>,
    ) -> Result<Response<RejectAccountResponse>, Status> {
        let by = Actor::of(&request)?;
        let reason = convert::free_text("reason", &request.get_ref().reason)?;
        let (tenant, actor, user) = self
            .duty(
                &request,
                &request.get_ref().user_id,
                Permission::TutorApprovalsDecide,
                request.get_ref().at_least_as_fresh.clone(),
            )
            .await?;
        let audit = by.did("user.rejected", Object::user(user));
        self.0
            .store
            .delete_user(tenant, user, &audit, |record, employments| {
                record.status.reject().map_err(status_refused)?;
                Ok(relationships::user_deleted(record, employments))
            })
            .await?;
        tracing::info!(%tenant, %user, by = %actor, %reason, "application rejected");
        self.0.deliver(tenant).await;
        Ok(Response::new(RejectAccountResponse {}))
    }

    async fn promote_teacher(
        &self,
        request: Request<PromoteTeacherRequest>,
    ) -> Result<Response<PromoteTeacherResponse>, Status> {
        let by = Actor::of(&request)?;
        let (tenant, actor, user) = self
            .duty(
                &request,
                &request.get_ref().user_id,
                Permission::TeachersPromote,
                request.get_ref().at_least_as_fresh.clone(),
            )
            .await?;
        let record = self
            .0
            .store
            .user(tenant, user)
            .await?
            .ok_or_else(|| ApiError::not_found("user", user.to_string()))?;
        if record.account_kind != AccountKind::Teacher || record.status != UserStatus::Active {
            return Err(ApiError::FailedPrecondition {
                reason: "NOT_AN_APPROVED_TEACHER",
                message: "only an approved teacher account is promoted".into(),
            }
            .into());
        }
        // Nothing of identity's changes: the role lives in authorization alone, given through
        // the outbox like every other role identity gives.
        let event = relationships::role_given(user, Template::TeacherAdministrator);
        let audit = by
            .did("user.promoted", Object::user(user))
            .noting("role", "teacher_administrator");
        let written_at = self.0.commit_events(tenant, &[event], &audit).await?;
        tracing::info!(%tenant, %user, by = %actor, "teacher promoted");
        Ok(Response::new(PromoteTeacherResponse { written_at }))
    }

    async fn delete_unused_account(
        &self,
        request: Request<DeleteUnusedAccountRequest>,
    ) -> Result<Response<DeleteUnusedAccountResponse>, Status> {
        let by = Actor::of(&request)?;
        let (tenant, actor, user) = self
            .duty(
                &request,
                &request.get_ref().user_id,
                Permission::AccountsDeleteUnused,
                request.get_ref().at_least_as_fresh.clone(),
            )
            .await?;
        if user == actor {
            return Err(ApiError::FailedPrecondition {
                reason: "ACCOUNT_IN_USE",
                message: "your own account is in use".into(),
            }
            .into());
        }
        self.0.not_the_access_coordinator(tenant, user).await?;
        let idle_since = now() - i64::from(self.0.sign_in.unused_account_days) * 86_400;
        let audit = by.did("user.deleted", Object::user(user));
        self.0
            .store
            .delete_user(tenant, user, &audit, |record, employments| {
                let last_used = record.last_sign_in_at.unwrap_or(record.created_at);
                if last_used > idle_since {
                    return Err(StoreError::Refused {
                        reason: "ACCOUNT_IN_USE",
                        message:
                            "the account was used (or created) too recently to count as unused"
                                .into(),
                    });
                }
                Ok(relationships::user_deleted(record, employments))
            })
            .await?;
        tracing::info!(%tenant, %user, by = %actor, "unused account deleted");
        let written_at = self.0.deliver(tenant).await;
        Ok(Response::new(DeleteUnusedAccountResponse { written_at }))
    }
}
