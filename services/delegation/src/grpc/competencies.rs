//! `CompetencyService`: competency checks, signed off for a learner enrolled on the course by
//! whoever holds `competencies.sign_off` there: its Course Tutor (Course Administrators do not,
//! DESIGN §1) and the tenant's training administrators; never by the learner themselves. A course's checks are listed to those who run it; a person's to
//! themselves and those who may read theirs.

use std::sync::Arc;

use lms_api::common::v1::ObjectType;
use lms_api::delegation::v1::competency_service_server::{
    CompetencyService, CompetencyServiceServer,
};
use lms_api::delegation::v1::{
    ListCompetencyChecksRequest, ListCompetencyChecksResponse, SignOffCompetencyRequest,
    SignOffCompetencyResponse,
};
use lms_kernel::{CompetencyCheckId, CourseId, Permission, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::acting;
use lms_runtime::clock::now;
use lms_runtime::paging::{page, page_size};
use tonic::{Request, Response, Status};

use crate::audit::Actor;
use crate::convert::{competency, note, optional_id, reference, required_id};
use crate::core::Core;
use crate::store::{CompetencyFilter, CompetencyRecord, Store};

/// Competency checks.
pub struct Competencies<S>(pub Arc<Core<S>>);

impl<S: Store + Clone> Competencies<S> {
    async fn sign_off(
        &self,
        request: Request<SignOffCompetencyRequest>,
    ) -> Result<SignOffCompetencyResponse, ApiError> {
        let r = request.get_ref();
        let (acting, course) = self
            .0
            .on_course(&request, &r.course_id, Permission::CompetenciesSignOff)
            .await?;
        let actor = Actor::of(&request)?;
        let user = required_id("user_id", &r.user_id, UserId::parse)?;
        if user == acting.user {
            return Err(ApiError::PermissionDenied {
                reason: "SELF_SIGN_OFF",
                message: "nobody signs off their own competency".into(),
                metadata: Default::default(),
            });
        }
        let check = CompetencyRecord {
            id: CompetencyCheckId::generate(),
            course,
            user,
            note: note(&r.note)?,
            signed_off_by: actor.label(),
            signed_off_at: now(),
        };
        let (stored, created) = self
            .0
            .store
            .sign_off(
                acting.tenant,
                &check,
                |_| Vec::new(),
                &actor.did("competency.signed_off", "competency_check", check.id),
            )
            .await?;
        Ok(SignOffCompetencyResponse {
            check: Some(competency(&stored)),
            created,
        })
    }

    async fn list(
        &self,
        request: Request<ListCompetencyChecksRequest>,
    ) -> Result<ListCompetencyChecksResponse, ApiError> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let course = optional_id("course_id", &r.course_id, CourseId::parse)?;
        let user = optional_id("user_id", &r.user_id, UserId::parse)?;
        let authorization = &self.0.authorization;
        match (course, user) {
            // A whole course: those who run it. A learner's own-learning grants reach the
            // course too, so reading alone would show them every classmate's.
            (Some(course), None) => {
                for permission in [Permission::CompetenciesRead, Permission::CoursesDeploy] {
                    authorization
                        .require(&acting, permission, reference(ObjectType::Course, course))
                        .await?;
                }
            }
            (_, user) => {
                let person = user.unwrap_or(acting.user);
                authorization
                    .require(
                        &acting,
                        Permission::CompetenciesRead,
                        reference(ObjectType::User, person),
                    )
                    .await?;
            }
        }
        let user = user.or(course.is_none().then_some(acting.user));
        let limit = page_size(r.page_size, 100, 1000);
        let filter = CompetencyFilter {
            course,
            user,
            after: optional_id("page_token", &r.page_token, CompetencyCheckId::parse)?,
        };
        let rows = self
            .0
            .store
            .competency_checks(acting.tenant, &filter, limit + 1)
            .await?;
        let (rows, next_page_token) = page(rows, limit, |row| row.id.to_string());
        Ok(ListCompetencyChecksResponse {
            checks: rows.iter().map(competency).collect(),
            next_page_token,
        })
    }
}

#[tonic::async_trait]
impl<S: Store + Clone> CompetencyService for Competencies<S> {
    async fn sign_off_competency(
        &self,
        request: Request<SignOffCompetencyRequest>,
    ) -> Result<Response<SignOffCompetencyResponse>, Status> {
        Ok(Response::new(self.sign_off(request).await?))
    }

    async fn list_competency_checks(
        &self,
        request: Request<ListCompetencyChecksRequest>,
    ) -> Result<Response<ListCompetencyChecksResponse>, Status> {
        Ok(Response::new(self.list(request).await?))
    }
}

/// The gRPC service.
pub fn service<S: Store + Clone>(core: Arc<Core<S>>) -> CompetencyServiceServer<Competencies<S>> {
    CompetencyServiceServer::new(Competencies(core))
}
