//! `ResponsibilityService`: the Course Tutor, Course Administrators and Event Administrators.
//! Giving one needs `responsibilities.assign` on the course or event, a holder whose
//! roles allow the duty (the responsibility matrix, asked of authorization before anything is
//! saved) and whom the caller outranks (a duty widens what its holder may do, like a role).
//! One Course Tutor at any moment is the kernel's rule, checked under the course's lock so two
//! replicas cannot both succeed. The facts reach authorization before the answer, which carries
//! their token; a window's end takes the duty away by itself, in authorization's decisions too.

use std::sync::Arc;

use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::delegation::v1::responsibility_service_server::{
    ResponsibilityService, ResponsibilityServiceServer,
};
use lms_api::delegation::v1::{
    AssignResponsibilityRequest, AssignResponsibilityResponse, ListResponsibilitiesRequest,
    ListResponsibilitiesResponse, RemoveResponsibilityRequest, RemoveResponsibilityResponse,
};
use lms_kernel::{CourseId, EventId, Permission, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Acting, acting};
use lms_runtime::clock::now;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::audit::Actor;
use crate::convert::{Duty, DutyObject, duty, optional_id, reference, required_id, responsibility};
use crate::core::Core;
use crate::relationships;
use crate::store::{ResponsibilityFilter, ResponsibilityRecord, Store};

/// Responsibilities.
pub struct Responsibilities<S>(pub Arc<Core<S>>);

/// The course or event a duty is on, as authorization names it.
fn object_of(duty: &Duty) -> ObjectReference {
    match duty.object {
        DutyObject::Course(course) => reference(ObjectType::Course, course),
        DutyObject::Event(event) => reference(ObjectType::Event, event),
    }
}

impl<S: Store + Clone> Responsibilities<S> {
    async fn may_assign_on(&self, acting: &Acting, duty: &Duty) -> Result<(), ApiError> {
        self.0
            .authorization
            .require(acting, Permission::ResponsibilitiesAssign, object_of(duty))
            .await
    }

    async fn assign(
        &self,
        request: Request<AssignResponsibilityRequest>,
    ) -> Result<AssignResponsibilityResponse, ApiError> {
        let acting = acting(&request)?;
        let now = now();
        let duty = duty(request.get_ref().responsibility.as_ref(), now, true)?;
        self.may_assign_on(&acting, &duty).await?;
        let object = duty.object.id();
        if duty.user != acting.user {
            self.0
                .authorization
                .require_outranks(&acting, duty.user)
                .await?;
        }
        self.0
            .authorization
            .require_eligible(&acting, duty.user, duty.kind)
            .await?;
        let actor = Actor::of(&request)?;
        let record = ResponsibilityRecord {
            kind: duty.kind,
            object,
            user: duty.user,
            window: duty.window,
            assigned_by: actor.label(),
            assigned_at: now,
        };
        let audit = actor.did(
            "responsibility.given",
            "responsibility",
            format!("{}:{}:{}", duty.kind, object, duty.user),
        );
        self.0
            .store
            .give_responsibility(
                acting.tenant,
                &record,
                now,
                &relationships::responsibility_given(&record),
                &audit,
            )
            .await?;
        Ok(AssignResponsibilityResponse {
            written_at: self.0.deliver(acting.tenant).await,
            responsibility: Some(responsibility(&record)),
        })
    }

    async fn remove(
        &self,
        request: Request<RemoveResponsibilityRequest>,
    ) -> Result<RemoveResponsibilityResponse, ApiError> {
        let acting = acting(&request)?;
        let duty = duty(request.get_ref().responsibility.as_ref(), now(), false)?;
        self.may_assign_on(&acting, &duty).await?;
        let object = duty.object.id();
        // Taking a duty away changes what its holder may do, like giving one: only those who
        // outrank them may.
        if duty.user != acting.user {
            self.0
                .authorization
                .require_outranks(&acting, duty.user)
                .await?;
        }
        let audit = Actor::of(&request)?.did(
            "responsibility.taken",
            "responsibility",
            format!("{}:{}:{}", duty.kind, object, duty.user),
        );
        // The facts to take back name the window as stored; the delete matches without it.
        let taken_record = ResponsibilityRecord {
            kind: duty.kind,
            object,
            user: duty.user,
            window: duty.window,
            assigned_by: String::new(),
            assigned_at: 0,
        };
        self.0
            .store
            .take_responsibility(
                acting.tenant,
                duty.kind,
                object,
                duty.user,
                &relationships::responsibility_taken(&taken_record),
                &audit,
            )
            .await?
            .ok_or_else(|| {
                ApiError::not_found(
                    "responsibility",
                    format!("{} of {} on {object}", duty.kind, duty.user),
                )
            })?;
        Ok(RemoveResponsibilityResponse {
            written_at: self.0.deliver(acting.tenant).await,
        })
    }

    async fn list(
        &self,
        request: Request<ListResponsibilitiesRequest>,
    ) -> Result<ListResponsibilitiesResponse, ApiError> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let user = optional_id("user_id", &r.user_id, UserId::parse)?;
        let object = match &r.object {
            None => None,
            Some(object) => match ObjectType::try_from(object.r#type) {
                Ok(ObjectType::Course) => {
                    let course = required_id("object.id", &object.id, CourseId::parse)?;
                    Some((
                        reference(ObjectType::Course, course),
                        Permission::CoursesRead,
                    ))
                }
                Ok(ObjectType::Event) => {
                    let event = required_id("object.id", &object.id, EventId::parse)?;
                    Some((reference(ObjectType::Event, event), Permission::EventsRead))
                }
                _ => {
                    return Err(ApiError::invalid_field(
                        "object.type",
                        "responsibilities are listed on a course or an event",
                    ));
                }
            },
        };
        match (&object, user) {
            (None, None) => {
                return Err(ApiError::invalid_field(
                    "object",
                    "name a course, an event or a user (or both)",
                ));
            }
            (Some((object, permission)), _) => {
                self.0
                    .authorization
                    .require(&acting, *permission, object.clone())
                    .await?;
            }
            (None, Some(user)) if user == acting.user => {}
            (None, Some(user)) => {
                self.0
                    .authorization
                    .require(
                        &acting,
                        Permission::UsersRead,
                        reference(ObjectType::User, user),
                    )
                    .await?;
            }
        }
        let filter = ResponsibilityFilter {
            object: object
                .map(|(object, _)| Uuid::parse_str(&object.id))
                .transpose()
                .map_err(|_| ApiError::invalid_field("object.id", "is not an id"))?,
            user,
        };
        let found = self.0.store.responsibilities(acting.tenant, filter).await?;
        Ok(ListResponsibilitiesResponse {
            responsibilities: found.iter().map(responsibility).collect(),
        })
    }
}

#[tonic::async_trait]
impl<S: Store + Clone> ResponsibilityService for Responsibilities<S> {
    async fn assign_responsibility(
        &self,
        request: Request<AssignResponsibilityRequest>,
    ) -> Result<Response<AssignResponsibilityResponse>, Status> {
        Ok(Response::new(self.assign(request).await?))
    }

    async fn remove_responsibility(
        &self,
        request: Request<RemoveResponsibilityRequest>,
    ) -> Result<Response<RemoveResponsibilityResponse>, Status> {
        Ok(Response::new(self.remove(request).await?))
    }

    async fn list_responsibilities(
        &self,
        request: Request<ListResponsibilitiesRequest>,
    ) -> Result<Response<ListResponsibilitiesResponse>, Status> {
        Ok(Response::new(self.list(request).await?))
    }
}

/// The gRPC service.
pub fn service<S: Store + Clone>(
    core: Arc<Core<S>>,
) -> ResponsibilityServiceServer<Responsibilities<S>> {
    ResponsibilityServiceServer::new(Responsibilities(core))
}
