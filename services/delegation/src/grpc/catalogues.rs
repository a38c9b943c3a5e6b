//! `CatalogueService`: catalogues of courses, deployed to people. A catalogue offers its courses
//! to the people it is deployed to: they may see them (the kernel's catalogue grounds) and ask
//! to join them; taking one needs an enrolment. Changing catalogues needs `catalogues.update`
//! tenant-wide; putting a course in one is deploying it (`courses.deploy` on the course), and
//! deploying one to people needs `enrolments.create` on each, as enrolling them would. Every
//! change reaches authorization as OFFERED facts, a thousand to an event, before the answer.

use std::sync::Arc;

use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::delegation::v1::catalogue_service_server::{CatalogueService, CatalogueServiceServer};
use lms_api::delegation::v1::{
    AddCatalogueCoursesRequest, AddCatalogueCoursesResponse, CreateCatalogueRequest,
    CreateCatalogueResponse, DeleteCatalogueRequest, DeleteCatalogueResponse,
    DeployCatalogueRequest, DeployCatalogueResponse, GetCatalogueRequest, GetCatalogueResponse,
    ListCataloguesRequest, ListCataloguesResponse, RemoveCatalogueCourseRequest,
    RemoveCatalogueCourseResponse, WithdrawCatalogueRequest, WithdrawCatalogueResponse,
};
use lms_kernel::{CatalogueId, CourseId, GroupId, Permission, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Acting, acting};
use lms_runtime::clock::now;
use lms_runtime::paging::{page, page_size};
use tonic::{Request, Response, Status};

use crate::audit::Actor;
use crate::convert::{catalogue, count, distinct_ids, optional_id, reference, required_id, title};
use crate::core::{Core, MAX_GROUPS};
use crate::enrolling::MAX_NAMED_USERS;
use crate::relationships::offers_changed;
use crate::store::{Audience, CatalogueFilter, CatalogueRecord, Store};

/// Courses one request names at most.
const MAX_COURSES: usize = 1000;

/// Catalogues.
pub struct Catalogues<S>(pub Arc<Core<S>>);

impl<S: Store + Clone> Catalogues<S> {
    fn tenant_wide(acting: &Acting) -> ObjectReference {
        reference(ObjectType::Tenant, acting.tenant)
    }

    /// The person acting once authorization allowed them to change catalogues.
    async fn curator<T>(&self, request: &Request<T>) -> Result<(Acting, Actor), ApiError> {
        let acting = acting(request)?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::CataloguesUpdate,
                Self::tenant_wide(&acting),
            )
            .await?;
        Ok((acting, Actor::of(request)?))
    }

    /// Fails unless the acting person may deploy each of `courses` (`courses.deploy`).
    async fn may_deploy(&self, acting: &Acting, courses: &[CourseId]) -> Result<(), ApiError> {
        if courses.is_empty() {
            return Ok(());
        }
        let refs = courses
            .iter()
            .map(|course| reference(ObjectType::Course, *course))
            .collect();
        self.0
            .authorization
            .require_each(acting, Permission::CoursesDeploy, "course_ids", refs)
            .await
    }

    /// The catalogues the acting person may read: all of them when they may change catalogues,
    /// else those deployed to them (`None` means all).
    async fn readable_by(&self, acting: &Acting) -> Result<Option<UserId>, ApiError> {
        let wide = Self::tenant_wide(acting);
        self.0
            .authorization
            .require(acting, Permission::CataloguesRead, wide.clone())
            .await?;
        let curates = self
            .0
            .authorization
            .allows(acting, Permission::CataloguesUpdate, wide)
            .await?;
        Ok((!curates).then_some(acting.user))
    }

    async fn create(
        &self,
        request: Request<CreateCatalogueRequest>,
    ) -> Result<CreateCatalogueResponse, ApiError> {
        let r = request.get_ref();
        let name = title("name", &r.name)?;
        let courses = distinct_ids("course_ids", &r.course_ids, MAX_COURSES, CourseId::parse)?;
        let (acting, actor) = self.curator(&request).await?;
        self.may_deploy(&acting, &courses).await?;
        let record = CatalogueRecord {
            id: CatalogueId::generate(),
            name: name.as_str().to_owned(),
            courses,
            learner_count: 0,
            created_by: actor.label(),
            created_at: now(),
        };
        let audit = actor
            .did("catalogue.created", "catalogue", record.id)
            .after(&record);
        self.0
            .store
            .create_catalogue(acting.tenant, &record, &audit)
            .await?;
        Ok(CreateCatalogueResponse {
            catalogue: Some(catalogue(&record)),
        })
    }

    async fn get(
        &self,
        request: Request<GetCatalogueRequest>,
    ) -> Result<lms_api::delegation::v1::Catalogue, ApiError> {
        let acting = acting(&request)?;
        let id = required_id(
            "catalogue_id",
            &request.get_ref().catalogue_id,
            CatalogueId::parse,
        )?;
        let learner = self.readable_by(&acting).await?;
        let not_found = || ApiError::not_found("catalogue", id.to_string());
        let record = self
            .0
            .store
            .catalogue(acting.tenant, id)
            .await?
            .ok_or_else(not_found)?;
        // A catalogue not deployed to the caller is, to them, no catalogue at all.
        if let Some(learner) = learner
            && !self.0.store.deployed_to(acting.tenant, id, learner).await?
        {
            return Err(not_found());
        }
        Ok(shown(&record, learner.is_some()))
    }

    async fn list(
        &self,
        request: Request<ListCataloguesRequest>,
    ) -> Result<ListCataloguesResponse, ApiError> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let after = optional_id("page_token", &r.page_token, CatalogueId::parse)?;
        let limit = page_size(r.page_size, 100, 1000);
        let filter = CatalogueFilter {
            learner: self.readable_by(&acting).await?,
            after: after.map(|id| id.as_uuid()),
        };
        let records = self
            .0
            .store
            .catalogues(acting.tenant, filter, limit + 1)
            .await?;
        let (records, next_page_token) = page(records, limit, |c| c.id.to_string());
        let learner = filter.learner.is_some();
        Ok(ListCataloguesResponse {
            catalogues: records.iter().map(|r| shown(r, learner)).collect(),
            next_page_token,
        })
    }

    async fn add_courses(
        &self,
        request: Request<AddCatalogueCoursesRequest>,
    ) -> Result<AddCatalogueCoursesResponse, ApiError> {
        let r = request.get_ref();
        let id = required_id("catalogue_id", &r.catalogue_id, CatalogueId::parse)?;
        let courses = distinct_ids("course_ids", &r.course_ids, MAX_COURSES, CourseId::parse)?;
        if courses.is_empty() {
            return Err(ApiError::invalid_field("course_ids", "name at least one"));
        }
        let (acting, actor) = self.curator(&request).await?;
        self.may_deploy(&acting, &courses).await?;
        let audit = actor.did("catalogue.courses_added", "catalogue", id);
        self.0
            .store
            .add_catalogue_courses(
                acting.tenant,
                &[id],
                &courses,
                now(),
                offers_changed,
                &audit,
            )
            .await?;
        let record = self
            .0
            .store
            .catalogue(acting.tenant, id)
            .await?
            .ok_or_else(|| ApiError::not_found("catalogue", id.to_string()))?;
        Ok(AddCatalogueCoursesResponse {
            catalogue: Some(catalogue(&record)),
            written_at: self.0.deliver(acting.tenant).await,
        })
    }

    async fn remove_course(
        &self,
        request: Request<RemoveCatalogueCourseRequest>,
    ) -> Result<RemoveCatalogueCourseResponse, ApiError> {
        let r = request.get_ref();
        let id = required_id("catalogue_id", &r.catalogue_id, CatalogueId::parse)?;
        let course = required_id("course_id", &r.course_id, CourseId::parse)?;
        let (acting, actor) = self.curator(&request).await?;
        let audit = actor.did("catalogue.course_removed", "catalogue", id);
        self.0
            .store
            .remove_catalogue_course(acting.tenant, id, course, offers_changed, &audit)
            .await?;
        Ok(RemoveCatalogueCourseResponse {
            written_at: self.0.deliver(acting.tenant).await,
        })
    }

    async fn deploy(
        &self,
        request: Request<DeployCatalogueRequest>,
    ) -> Result<DeployCatalogueResponse, ApiError> {
        let r = request.get_ref();
        let id = required_id("catalogue_id", &r.catalogue_id, CatalogueId::parse)?;
        let users = distinct_ids("user_ids", &r.user_ids, MAX_NAMED_USERS, UserId::parse)?;
        let groups = distinct_ids("group_ids", &r.group_ids, MAX_GROUPS, GroupId::parse)?;
        if users.is_empty() && groups.is_empty() {
            return Err(ApiError::invalid_field(
                "user_ids",
                "name users or groups (group_ids) to deploy to",
            ));
        }
        let (acting, actor) = self.curator(&request).await?;
        // Before reading a large group's members for nothing.
        if self.0.store.catalogue(acting.tenant, id).await?.is_none() {
            return Err(ApiError::not_found("catalogue", id.to_string()));
        }
        let members = self.0.members(&acting, &users, &groups).await?;
        self.0.may_enrol_all(&acting, &users, &members).await?;
        let people = [users, members].concat();
        let audit = actor.did("catalogue.deployed", "catalogue", id);
        let by = actor.label();
        let audience = Audience {
            catalogue: id,
            users: &people,
            by: &by,
            at: now(),
        };
        let changed = self
            .0
            .store
            .deploy_catalogue(acting.tenant, audience, offers_changed, &audit)
            .await?;
        Ok(DeployCatalogueResponse {
            users_added: count(changed.count),
            written_at: self.0.deliver(acting.tenant).await,
        })
    }

    async fn withdraw(
        &self,
        request: Request<WithdrawCatalogueRequest>,
    ) -> Result<WithdrawCatalogueResponse, ApiError> {
        let r = request.get_ref();
        let id = required_id("catalogue_id", &r.catalogue_id, CatalogueId::parse)?;
        let users = distinct_ids("user_ids", &r.user_ids, MAX_NAMED_USERS, UserId::parse)?;
        if users.is_empty() {
            return Err(ApiError::invalid_field("user_ids", "name at least one"));
        }
        let (acting, actor) = self.curator(&request).await?;
        let audit = actor.did("catalogue.withdrawn", "catalogue", id);
        let by = actor.label();
        let audience = Audience {
            catalogue: id,
            users: &users,
            by: &by,
            at: now(),
        };
        let changed = self
            .0
            .store
            .withdraw_catalogue(acting.tenant, audience, offers_changed, &audit)
            .await?;
        Ok(WithdrawCatalogueResponse {
            users_removed: count(changed.count),
            written_at: self.0.deliver(acting.tenant).await,
        })
    }

    async fn delete(
        &self,
        request: Request<DeleteCatalogueRequest>,
    ) -> Result<DeleteCatalogueResponse, ApiError> {
        let id = required_id(
            "catalogue_id",
            &request.get_ref().catalogue_id,
            CatalogueId::parse,
        )?;
        let (acting, actor) = self.curator(&request).await?;
        let audit = actor.did("catalogue.deleted", "catalogue", id);
        self.0
            .store
            .delete_catalogue(acting.tenant, id, offers_changed, &audit)
            .await?;
        Ok(DeleteCatalogueResponse {
            written_at: self.0.deliver(acting.tenant).await,
        })
    }
}

/// A catalogue as the caller sees it: a learner it is deployed to sees its name and courses,
/// not who curates it or how many others it reaches.
fn shown(record: &CatalogueRecord, to_learner: bool) -> lms_api::delegation::v1::Catalogue {
    let mut view = catalogue(record);
    if to_learner {
        view.learner_count = 0;
        view.created_by = String::new();
    }
    view
}

#[tonic::async_trait]
impl<S: Store + Clone> CatalogueService for Catalogues<S> {
    async fn create_catalogue(
        &self,
        request: Request<CreateCatalogueRequest>,
    ) -> Result<Response<CreateCatalogueResponse>, Status> {
        Ok(Response::new(self.create(request).await?))
    }

    async fn get_catalogue(
        &self,
        request: Request<GetCatalogueRequest>,
    ) -> Result<Response<GetCatalogueResponse>, Status> {
        Ok(Response::new(GetCatalogueResponse {
            catalogue: Some(self.get(request).await?),
        }))
    }

    async fn list_catalogues(
        &self,
        request: Request<ListCataloguesRequest>,
    ) -> Result<Response<ListCataloguesResponse>, Status> {
        Ok(Response::new(self.list(request).await?))
    }

    async fn add_catalogue_courses(
        &self,
        request: Request<AddCatalogueCoursesRequest>,
    ) -> Result<Response<AddCatalogueCoursesResponse>, Status> {
        Ok(Response::new(self.add_courses(request).await?))
    }

    async fn remove_catalogue_course(
        &self,
        request: Request<RemoveCatalogueCourseRequest>,
    ) -> Result<Response<RemoveCatalogueCourseResponse>, Status> {
        Ok(Response::new(self.remove_course(request).await?))
    }

    async fn deploy_catalogue(
        &self,
        request: Request<DeployCatalogueRequest>,
    ) -> Result<Response<DeployCatalogueResponse>, Status> {
        Ok(Response::new(self.deploy(request).await?))
    }

    async fn withdraw_catalogue(
        &self,
        request: Request<WithdrawCatalogueRequest>,
    ) -> Result<Response<WithdrawCatalogueResponse>, Status> {
        Ok(Response::new(self.withdraw(request).await?))
    }

    async fn delete_catalogue(
        &self,
        request: Request<DeleteCatalogueRequest>,
    ) -> Result<Response<DeleteCatalogueResponse>, Status> {
        Ok(Response::new(self.delete(request).await?))
    }
}

/// The gRPC service.
pub fn service<S: Store + Clone>(core: Arc<Core<S>>) -> CatalogueServiceServer<Catalogues<S>> {
    CatalogueServiceServer::new(Catalogues(core))
}
