//! `CourseService`: courses, owned by the tenant or by one unit. Creating needs
//! `courses.create` where the course will live (so Tutors, who hold no such grant, never
//! create); reading, changing and deleting are decided on the course itself, where the Course
//! Tutor's and Course Administrators' responsibilities apply. A course anyone enrolled on is
//! archived rather than erased. Listing asks authorization once per chunk of visible ids
//! (`LookupResources`), never once per course. Deploying enrols the users named and the members
//! of the groups named (read from identity as the caller), each once, decided on each person a
//! thousand at a time.

use std::sync::Arc;

use lms_api::common::v1::ObjectType;
use lms_api::delegation::v1::course_service_server::{CourseService, CourseServiceServer};
use lms_api::delegation::v1::{
    CreateCourseRequest, CreateCourseResponse, DeleteCourseRequest, DeleteCourseResponse,
    DeployCourseRequest, DeployCourseResponse, GetCourseRequest, GetCourseResponse,
    ListCoursesRequest, ListCoursesResponse, UpdateCourseRequest, UpdateCourseResponse,
};
use lms_kernel::{
    CatalogueId, CourseId, CourseStatus, GroupId, Permission, TenantId, UnitId, UserId,
};
use lms_runtime::ApiError;
use lms_runtime::auth::acting;
use lms_runtime::clock::now;
use lms_runtime::paging::page_size;
use lms_runtime::peers::Listing;
use tonic::{Request, Response, Status};

use crate::audit::Actor;
use crate::convert::{count, description, distinct_ids, mask_paths, optional_id, reference, title};
use crate::core::{Core, MAX_GROUPS};
use crate::enrolling::{DecidedBy, Enrolling, MAX_NAMED_USERS};
use crate::error::archived;
use crate::relationships;
use crate::store::{CourseChange, CourseFilter, CourseRecord, Removed, Store};

/// Courses.
pub struct Courses<S>(pub Arc<Core<S>>);

impl<S: Store + Clone> Courses<S> {
    /// Courses as the API shows them, with the responsibilities in effect on each.
    async fn views(
        &self,
        tenant: TenantId,
        records: &[CourseRecord],
    ) -> Result<Vec<lms_api::delegation::v1::Course>, ApiError> {
        let ids: Vec<_> = records.iter().map(|c| c.id.as_uuid()).collect();
        let duties = self.0.store.responsibilities_on(tenant, &ids).await?;
        let now = now();
        Ok(records
            .iter()
            .map(|record| crate::convert::course(record, &duties, now))
            .collect())
    }

    async fn view(
        &self,
        tenant: TenantId,
        record: &CourseRecord,
    ) -> Result<lms_api::delegation::v1::Course, ApiError> {
        let mut views = self.views(tenant, std::slice::from_ref(record)).await?;
        Ok(views.remove(0))
    }

    async fn list(
        &self,
        request: Request<ListCoursesRequest>,
    ) -> Result<ListCoursesResponse, ApiError> {
        let acting = acting(&request)?;
        let tenant = acting.tenant;
        let r = request.into_inner();
        let after = optional_id("page_token", &r.page_token, CourseId::parse)?;
        let listing = Listing {
            permission: Permission::CoursesRead,
            kind: ObjectType::Course,
            after: after.map(|course| course.as_uuid()),
            limit: page_size(r.page_size, 100, 1000),
        };
        let (courses, next_page_token) = self
            .0
            .authorization
            .visible_page(
                &acting,
                listing,
                |course: &CourseRecord| course.id.as_uuid(),
                |only, wanted| {
                    let filter = CourseFilter {
                        only: only.map(|ids| ids.into_iter().map(CourseId::from_uuid).collect()),
                        after,
                        include_archived: r.include_archived,
                    };
                    async move { Ok(self.0.store.courses(tenant, &filter, wanted).await?) }
                },
            )
            .await?;
        Ok(ListCoursesResponse {
            courses: self.views(tenant, &courses).await?,
            next_page_token,
        })
    }

    async fn create(
        &self,
        request: Request<CreateCourseRequest>,
    ) -> Result<CreateCourseResponse, ApiError> {
        let acting = acting(&request)?;
        let actor = Actor::of(&request)?;
        let r = request.get_ref();
        let title = title("title", &r.title)?;
        let description = description("description", &r.description)?;
        let unit = optional_id("unit_id", &r.unit_id, UnitId::parse)?;
        let place = match unit {
            Some(unit) => reference(ObjectType::Unit, unit),
            None => reference(ObjectType::Tenant, acting.tenant),
        };
        self.0
            .authorization
            .require(&acting, Permission::CoursesCreate, place)
            .await?;
        let now = now();
        let course = CourseRecord {
            id: CourseId::generate(),
            unit,
            title: title.as_str().to_owned(),
            description,
            requires_approval: r.enrolment_requires_approval,
            status: CourseStatus::Active,
            ever_enrolled: false,
            created_by: actor.label(),
            created_at: now,
            updated_at: now,
        };
        let audit = actor.did("course.created", "course", course.id);
        self.0
            .store
            .create_course(
                acting.tenant,
                &course,
                &relationships::course_created(&course),
                &audit,
            )
            .await?;
        Ok(CreateCourseResponse {
            course: Some(self.view(acting.tenant, &course).await?),
            written_at: self.0.deliver(acting.tenant).await,
        })
    }

    async fn update(
        &self,
        request: Request<UpdateCourseRequest>,
    ) -> Result<UpdateCourseResponse, ApiError> {
        let r = request.get_ref();
        let paths = mask_paths(r.update_mask.as_ref())?;
        let given = r.course.clone().unwrap_or_default();
        let mut change = CourseChange::default();
        for path in &paths {
            match path.as_str() {
                "title" => change.title = Some(title("course.title", &given.title)?.to_string()),
                "description" => {
                    change.description =
                        Some(description("course.description", &given.description)?);
                }
                "enrolment_requires_approval" => {
                    change.requires_approval = Some(given.enrolment_requires_approval);
                }
                other => {
                    return Err(ApiError::invalid_field(
                        "update_mask",
                        format!(
                            "{other:?} cannot be changed; title, description and \
                             enrolment_requires_approval can"
                        ),
                    ));
                }
            }
        }
        let (acting, course) = self
            .0
            .on_course(&request, &r.course_id, Permission::CoursesUpdate)
            .await?;
        let audit = Actor::of(&request)?.did("course.updated", "course", course);
        let updated = self
            .0
            .store
            .update_course(acting.tenant, course, &change, now(), &audit)
            .await?
            .ok_or_else(|| ApiError::not_found("course", course.to_string()))?;
        Ok(UpdateCourseResponse {
            course: Some(self.view(acting.tenant, &updated).await?),
            written_at: self.0.deliver(acting.tenant).await,
        })
    }

    async fn deploy(
        &self,
        request: Request<DeployCourseRequest>,
    ) -> Result<DeployCourseResponse, ApiError> {
        let r = request.get_ref();
        let users = distinct_ids("user_ids", &r.user_ids, MAX_NAMED_USERS, UserId::parse)?;
        let groups = distinct_ids("group_ids", &r.group_ids, MAX_GROUPS, GroupId::parse)?;
        let catalogues = distinct_ids(
            "catalogue_ids",
            &r.catalogue_ids,
            MAX_GROUPS,
            CatalogueId::parse,
        )?;
        if users.is_empty() && groups.is_empty() && catalogues.is_empty() {
            return Err(ApiError::invalid_field(
                "user_ids",
                "name users, groups (group_ids) or catalogues (catalogue_ids) to deploy to",
            ));
        }
        let (acting, course) = self
            .0
            .on_course(&request, &r.course_id, Permission::CoursesDeploy)
            .await?;
        let actor = Actor::of(&request)?;
        // Everything that can refuse is asked before anything is written: the course, the
        // catalogues, then the people (enrol_people decides on all of them before it writes).
        let record = self
            .0
            .store
            .course(acting.tenant, course)
            .await?
            .ok_or_else(|| ApiError::not_found("course", course.to_string()))?;
        lms_kernel::course::check_changeable(record.status).map_err(archived)?;
        for catalogue in &catalogues {
            if self
                .0
                .store
                .catalogue(acting.tenant, *catalogue)
                .await?
                .is_none()
            {
                return Err(ApiError::not_found("catalogue", catalogue.to_string()));
            }
        }
        let mut answer = DeployCourseResponse::default();
        if !(users.is_empty() && groups.is_empty()) {
            let members = self.0.members(&acting, &users, &groups).await?;
            let enrolled = self
                .0
                .enrol_people(Enrolling {
                    acting: &acting,
                    actor: &actor,
                    course,
                    named: &users,
                    members: &members,
                    // DeployCourse was decided on the course (`courses.deploy`): its Course
                    // Tutor and administrators deploy it to whom they name.
                    decided_by: DecidedBy::CoursesDeploy,
                })
                .await?;
            answer.users_enrolled = count(enrolled.made.len());
            answer.users_reached = count(users.len() + members.len());
            answer.written_at = enrolled.written_at;
        }
        // Deploying to a catalogue is the same duty on the course (DESIGN §1: its Course Tutor
        // and administrators deploy it to users, groups and catalogues); each catalogue's people
        // are then offered it.
        if !catalogues.is_empty() {
            let audit = actor.did("catalogue.courses_added", "catalogue", "");
            self.0
                .store
                .add_catalogue_courses(
                    acting.tenant,
                    &catalogues,
                    &[course],
                    now(),
                    relationships::offers_changed,
                    &audit,
                )
                .await?;
            answer.written_at = self.0.deliver(acting.tenant).await;
        }
        Ok(answer)
    }

    async fn delete(
        &self,
        request: Request<DeleteCourseRequest>,
    ) -> Result<DeleteCourseResponse, ApiError> {
        let (acting, course) = self
            .0
            .on_course(
                &request,
                &request.get_ref().course_id,
                Permission::CoursesDelete,
            )
            .await?;
        let audit = Actor::of(&request)?.did("course.deleted", "course", course);
        let removed: Removed = self
            .0
            .store
            .remove_course(
                acting.tenant,
                course,
                now(),
                relationships::course_removed,
                &audit,
            )
            .await?
            .ok_or_else(|| ApiError::not_found("course", course.to_string()))?;
        Ok(DeleteCourseResponse {
            written_at: self.0.deliver(acting.tenant).await,
            archived: removed.removal == lms_kernel::Removal::Archive,
        })
    }
}

#[tonic::async_trait]
impl<S: Store + Clone> CourseService for Courses<S> {
    async fn create_course(
        &self,
        request: Request<CreateCourseRequest>,
    ) -> Result<Response<CreateCourseResponse>, Status> {
        Ok(Response::new(self.create(request).await?))
    }

    async fn get_course(
        &self,
        request: Request<GetCourseRequest>,
    ) -> Result<Response<GetCourseResponse>, Status> {
        let (acting, takeable) = self
            .0
            .on_takeable_course(
                &request,
                &request.get_ref().course_id,
                Permission::CoursesRead,
            )
            .await?;
        let view = match takeable.granted {
            // The master's people on it are none of the client's business.
            Some(_) => crate::convert::granted_view(&takeable.course, now()),
            None => self.view(acting.tenant, &takeable.course).await?,
        };
        Ok(Response::new(GetCourseResponse { course: Some(view) }))
    }

    async fn list_courses(
        &self,
        request: Request<ListCoursesRequest>,
    ) -> Result<Response<ListCoursesResponse>, Status> {
        Ok(Response::new(self.list(request).await?))
    }

    async fn update_course(
        &self,
        request: Request<UpdateCourseRequest>,
    ) -> Result<Response<UpdateCourseResponse>, Status> {
        Ok(Response::new(self.update(request).await?))
    }

    async fn delete_course(
        &self,
        request: Request<DeleteCourseRequest>,
    ) -> Result<Response<DeleteCourseResponse>, Status> {
        Ok(Response::new(self.delete(request).await?))
    }

    async fn deploy_course(
        &self,
        request: Request<DeployCourseRequest>,
    ) -> Result<Response<DeployCourseResponse>, Status> {
        Ok(Response::new(self.deploy(request).await?))
    }
}

/// The gRPC service.
pub fn service<S: Store + Clone>(core: Arc<Core<S>>) -> CourseServiceServer<Courses<S>> {
    CourseServiceServer::new(Courses(core))
}
