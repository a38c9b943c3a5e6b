//! `EnrolmentService`: enrolments and enrolment requests. Enrolling and withdrawing someone is
//! decided on that person (`enrolments.create`: a manager their team, a Local Administrator
//! their location, a learner themselves); a learner's own ask enrols at once or, on a course
//! that needs approval, waits for `enrolments.approve` on the course (the Course Tutor's duty,
//! not a Course Administrator's). Whether someone counts as enrolled is a fact authorization
//! reads (their own-learning grants reach the course through it), delivered before the answer.
//! Progress comes from a tenant's content player with a service token holding
//! `delegation.progress.record`, and nothing else may send it. An approved Teacher gives
//! students access to a course's content by enrolling them (`content_access.grant` on the course
//! and on each student), decided at least as fresh as the token they pass, so the approval's
//! answer works at once.

use std::sync::Arc;

use lms_api::common::v1::ObjectType;
use lms_api::delegation::v1::enrolment_service_server::{EnrolmentService, EnrolmentServiceServer};
use lms_api::delegation::v1::{
    DecideEnrolmentRequestRequest, DecideEnrolmentRequestResponse, EnrolRequest, EnrolResponse,
    GrantContentAccessRequest, GrantContentAccessResponse, ListEnrolmentRequestsRequest,
    ListEnrolmentRequestsResponse, ListEnrolmentsRequest, ListEnrolmentsResponse,
    RecordProgressRequest, RecordProgressResponse, RequestEnrolmentRequest,
    RequestEnrolmentResponse, WithdrawRequest, WithdrawResponse,
};
use lms_kernel::{CourseId, EnrolmentRequestId, Permission, ProgressEffect, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Acting, Scope, acting, scoped_tenant, verified};
use lms_runtime::clock::now;
use lms_runtime::paging::{page, page_size};
use lms_runtime::peers::Visible;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::audit::Actor;
use crate::convert::{
    attempt_id, count, distinct_ids, enrolment, enrolment_request, optional_id, progress,
    reference, request_state, required_id,
};
use crate::core::Core;
use crate::enrolling::{DecidedBy, Enrolled, Enrolling, MAX_NAMED_USERS};
use crate::relationships;
use crate::store::{Asked, EnrolmentFilter, Report, Store, Verdict};

/// Enrolments and enrolment requests.
pub struct Enrolments<S>(pub Arc<Core<S>>);

/// Whose enrolments or requests a listing reads, once the caller may.
struct Listing {
    course: Option<CourseId>,
    user: Option<UserId>,
}

impl<S: Store + Clone> Enrolments<S> {
    /// Who may list what: a learner's own (or, for those who may read that person's
    /// enrolments, anyone's), optionally narrowed to a course; a whole course only for those
    /// who deploy it (its Course Tutor and Course Administrators, the tenant's course
    /// administrators) or who read every person's enrolments in the tenant. A learner's own-learning grants reach every course they are enrolled
    /// on, so `enrolments.read` on the course alone would show them every classmate.
    async fn listing(
        &self,
        acting: &Acting,
        course_id: &str,
        user_id: &str,
    ) -> Result<Listing, ApiError> {
        let course = optional_id("course_id", course_id, CourseId::parse)?;
        let user = optional_id("user_id", user_id, UserId::parse)?;
        match (course, user) {
            (None, None) => {
                return Err(ApiError::invalid_field(
                    "course_id",
                    "name a course, a learner (user_id), or both",
                ));
            }
            (Some(course), Some(user)) if user != acting.user => {
                self.course_wide(acting, course).await?;
            }
            (Some(course), None) => self.course_wide(acting, course).await?,
            (_, Some(user)) => {
                self.0
                    .authorization
                    .require(
                        acting,
                        Permission::EnrolmentsRead,
                        reference(ObjectType::User, user),
                    )
                    .await?;
            }
        }
        Ok(Listing { course, user })
    }

    async fn course_wide(&self, acting: &Acting, course: CourseId) -> Result<(), ApiError> {
        for permission in [Permission::EnrolmentsRead, Permission::CoursesDeploy] {
            let decided = self
                .0
                .authorization
                .require(acting, permission, reference(ObjectType::Course, course))
                .await;
            if let Err(refused) = decided {
                // Whoever reads every person's enrolments in the tenant reads them by course
                // too, whichever course: a listing here holds only the tenant's own people. So
                // the client's administrators read their people on a course granted to them
                // (in effect or ended), which nobody of the client deploys.
                let denied = matches!(refused, ApiError::PermissionDenied { .. });
                if denied && self.reads_everyones_enrolments(acting).await? {
                    return Ok(());
                }
                return Err(refused);
            }
        }
        Ok(())
    }

    /// Whether the acting person may read the enrolments of every person of their tenant (a
    /// tenant-wide grant of `enrolments.read`).
    async fn reads_everyones_enrolments(&self, acting: &Acting) -> Result<bool, ApiError> {
        let visible = self
            .0
            .authorization
            .visible(acting, Permission::EnrolmentsRead, ObjectType::User, "", 1)
            .await;
        match visible {
            Ok(Visible::All) => Ok(true),
            Ok(Visible::Only { .. }) | Err(ApiError::FailedPrecondition { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Enrols the learners named in `course_id` and `user_ids` as the caller, decided as
    /// `decided_by` says: what Enrol and GrantContentAccess share.
    async fn enrol_named<T>(
        &self,
        request: &Request<T>,
        course_id: &str,
        user_ids: &[String],
        decided_by: DecidedBy,
    ) -> Result<Enrolled, ApiError> {
        let acting = acting(request)?;
        let actor = Actor::of(request)?;
        let course = required_id("course_id", course_id, CourseId::parse)?;
        let users = distinct_ids("user_ids", user_ids, MAX_NAMED_USERS, UserId::parse)?;
        if users.is_empty() {
            return Err(ApiError::invalid_field("user_ids", "name at least one"));
        }
        self.0
            .enrol_people(Enrolling {
                acting: &acting,
                actor: &actor,
                course,
                named: &users,
                members: &[],
                decided_by,
            })
            .await
    }

    async fn enrol(&self, request: Request<EnrolRequest>) -> Result<EnrolResponse, ApiError> {
        let r = request.get_ref();
        let enrolled = self
            .enrol_named(
                &request,
                &r.course_id,
                &r.user_ids,
                DecidedBy::EnrolmentsCreate,
            )
            .await?;
        Ok(EnrolResponse {
            users_enrolled: count(enrolled.made.len()),
            enrolments: enrolled.made.iter().map(enrolment).collect(),
            written_at: enrolled.written_at,
        })
    }

    async fn grant_content_access(
        &self,
        request: Request<GrantContentAccessRequest>,
    ) -> Result<GrantContentAccessResponse, ApiError> {
        let r = request.get_ref();
        let enrolled = self
            .enrol_named(
                &request,
                &r.course_id,
                &r.user_ids,
                DecidedBy::ContentAccessGrant,
            )
            .await?;
        Ok(GrantContentAccessResponse {
            users_enrolled: count(enrolled.made.len()),
            enrolments: enrolled.made.iter().map(enrolment).collect(),
            written_at: enrolled.written_at,
        })
    }

    async fn withdraw(
        &self,
        request: Request<WithdrawRequest>,
    ) -> Result<WithdrawResponse, ApiError> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let course = required_id("course_id", &r.course_id, CourseId::parse)?;
        let user = required_id("user_id", &r.user_id, UserId::parse)?;
        // A BatchCheck of one: it tells a user id nobody has (NOT_FOUND) from one not theirs.
        self.0
            .authorization
            .require_each(
                &acting,
                Permission::EnrolmentsCreate,
                "user_id",
                vec![reference(ObjectType::User, user)],
            )
            .await?;
        let audit = Actor::of(&request)?.did("enrolment.withdrawn", "enrolment", "");
        let withdrawn = self
            .0
            .store
            .withdraw(
                acting.tenant,
                course,
                user,
                now(),
                relationships::enrolment_withdrawn,
                &audit,
            )
            .await?
            .ok_or_else(|| {
                ApiError::not_found("enrolment", format!("of user {user} on course {course}"))
            })?;
        Ok(WithdrawResponse {
            enrolment: Some(enrolment(&withdrawn.enrolment)),
            written_at: self.0.deliver(acting.tenant).await,
        })
    }

    async fn list(
        &self,
        request: Request<ListEnrolmentsRequest>,
    ) -> Result<ListEnrolmentsResponse, ApiError> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let listing = self.listing(&acting, &r.course_id, &r.user_id).await?;
        let limit = page_size(r.page_size, 100, 1000);
        let filter = EnrolmentFilter {
            course: listing.course,
            user: listing.user,
            request_state: None,
            after: optional_id("page_token", &r.page_token, Uuid::try_parse)?,
        };
        let found = self
            .0
            .store
            .enrolments(acting.tenant, filter, limit + 1)
            .await?;
        let (found, next_page_token) = page(found, limit, |e| e.id.to_string());
        Ok(ListEnrolmentsResponse {
            enrolments: found.iter().map(enrolment).collect(),
            next_page_token,
        })
    }

    async fn ask(
        &self,
        request: Request<RequestEnrolmentRequest>,
    ) -> Result<RequestEnrolmentResponse, ApiError> {
        let acting = acting(&request)?;
        let course = required_id("course_id", &request.get_ref().course_id, CourseId::parse)?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::EnrolmentsCreate,
                reference(ObjectType::User, acting.user),
            )
            .await?;
        // Only a course they may see: one a catalogue deployed to them offers, one their roles
        // let them read, or one granted to their tenant. Without it, any course id in the
        // tenant could be asked for.
        let (_, seen) = self.0.takeable(acting.tenant, course).await?;
        self.0
            .authorization
            .require(&acting, Permission::CoursesRead, seen)
            .await?;
        let audit = Actor::of(&request)?.did("enrolment.enrolled", "enrolment", "");
        let asked = self
            .0
            .store
            .ask_to_join(
                acting.tenant,
                course,
                acting.user,
                now(),
                relationships::enrolments_made,
                &audit,
            )
            .await?;
        let written_at = self.0.deliver(acting.tenant).await;
        Ok(match asked {
            Asked::Enrolled(made) => RequestEnrolmentResponse {
                request: None,
                enrolment: Some(enrolment(&made)),
                written_at,
            },
            Asked::Requested(waiting) => RequestEnrolmentResponse {
                request: Some(enrolment_request(&waiting)),
                enrolment: None,
                written_at,
            },
        })
    }

    async fn list_requests(
        &self,
        request: Request<ListEnrolmentRequestsRequest>,
    ) -> Result<ListEnrolmentRequestsResponse, ApiError> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let request_state = request_state("status", r.status)?;
        let listing = self.listing(&acting, &r.course_id, &r.user_id).await?;
        let limit = page_size(r.page_size, 100, 1000);
        let filter = EnrolmentFilter {
            course: listing.course,
            user: listing.user,
            request_state,
            after: optional_id("page_token", &r.page_token, Uuid::try_parse)?,
        };
        let found = self
            .0
            .store
            .enrolment_requests(acting.tenant, filter, limit + 1)
            .await?;
        let (found, next_page_token) = page(found, limit, |q| q.id.to_string());
        Ok(ListEnrolmentRequestsResponse {
            requests: found.iter().map(enrolment_request).collect(),
            next_page_token,
        })
    }

    async fn decide(
        &self,
        request: Request<DecideEnrolmentRequestRequest>,
    ) -> Result<DecideEnrolmentRequestResponse, ApiError> {
        let acting = acting(&request)?;
        let actor = Actor::of(&request)?;
        let r = request.get_ref();
        let id = required_id("request_id", &r.request_id, EnrolmentRequestId::parse)?;
        let missing = || ApiError::not_found("enrolment request", id.to_string());
        // The course is the request's: read first to know where the decision is asked.
        let asked = self
            .0
            .store
            .enrolment_request(acting.tenant, id)
            .await?
            .ok_or_else(missing)?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::EnrolmentsApprove,
                reference(ObjectType::Course, asked.course),
            )
            .await?;
        let action = match r.approve {
            true => "enrolment_request.approved",
            false => "enrolment_request.rejected",
        };
        let (decided, made) = self
            .0
            .store
            .decide_request(
                acting.tenant,
                Verdict {
                    request: id,
                    approve: r.approve,
                    by: &actor.label(),
                    at: now(),
                },
                relationships::enrolments_made,
                &actor.did(action, "enrolment_request", id),
            )
            .await?
            .ok_or_else(missing)?;
        Ok(DecideEnrolmentRequestResponse {
            request: Some(enrolment_request(&decided)),
            enrolment: made.as_ref().map(enrolment),
            written_at: self.0.deliver(acting.tenant).await,
        })
    }

    async fn record_progress(
        &self,
        request: Request<RecordProgressRequest>,
    ) -> Result<RecordProgressResponse, ApiError> {
        let tenant = scoped_tenant(verified(&request)?, Scope::ProgressRecord)?;
        let r = request.get_ref();
        let report = Report {
            course: required_id("course_id", &r.course_id, CourseId::parse)?,
            user: required_id("user_id", &r.user_id, UserId::parse)?,
            attempt: attempt_id(&r.attempt_id)?,
            progress: progress(r.progress, r.score)?,
            at: now(),
        };
        let audit = Actor::of(&request)?.did("enrolment.progressed", "enrolment", "");
        let recorded = self.0.store.record_progress(tenant, report, &audit).await?;
        Ok(RecordProgressResponse {
            enrolment: Some(enrolment(&recorded.enrolment)),
            applied: matches!(recorded.effect, ProgressEffect::Moves(_)),
            // Progress changes no fact authorization reads (a completed learner still counts
            // as enrolled): the token covers the tenant's changes so far.
            written_at: self.0.deliver(tenant).await,
        })
    }
}

#[tonic::async_trait]
impl<S: Store + Clone> EnrolmentService for Enrolments<S> {
    async fn enrol(
        &self,
        request: Request<EnrolRequest>,
    ) -> Result<Response<EnrolResponse>, Status> {
        Ok(Response::new(Enrolments::enrol(self, request).await?))
    }

    async fn withdraw(
        &self,
        request: Request<WithdrawRequest>,
    ) -> Result<Response<WithdrawResponse>, Status> {
        Ok(Response::new(Enrolments::withdraw(self, request).await?))
    }

    async fn list_enrolments(
        &self,
        request: Request<ListEnrolmentsRequest>,
    ) -> Result<Response<ListEnrolmentsResponse>, Status> {
        Ok(Response::new(self.list(request).await?))
    }

    async fn request_enrolment(
        &self,
        request: Request<RequestEnrolmentRequest>,
    ) -> Result<Response<RequestEnrolmentResponse>, Status> {
        Ok(Response::new(self.ask(request).await?))
    }

    async fn list_enrolment_requests(
        &self,
        request: Request<ListEnrolmentRequestsRequest>,
    ) -> Result<Response<ListEnrolmentRequestsResponse>, Status> {
        Ok(Response::new(self.list_requests(request).await?))
    }

    async fn decide_enrolment_request(
        &self,
        request: Request<DecideEnrolmentRequestRequest>,
    ) -> Result<Response<DecideEnrolmentRequestResponse>, Status> {
        Ok(Response::new(self.decide(request).await?))
    }

    async fn record_progress(
        &self,
        request: Request<RecordProgressRequest>,
    ) -> Result<Response<RecordProgressResponse>, Status> {
        Ok(Response::new(
            Enrolments::record_progress(self, request).await?,
        ))
    }

    async fn grant_content_access(
        &self,
        request: Request<GrantContentAccessRequest>,
    ) -> Result<Response<GrantContentAccessResponse>, Status> {
        Ok(Response::new(
            Enrolments::grant_content_access(self, request).await?,
        ))
    }
}

/// The gRPC service.
pub fn service<S: Store + Clone>(core: Arc<Core<S>>) -> EnrolmentServiceServer<Enrolments<S>> {
    EnrolmentServiceServer::new(Enrolments(core))
}
