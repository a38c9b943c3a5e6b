//! `LessonService`: a course's ordered lessons. Creating and deleting need `lessons.create` and
//! `lessons.delete` on the course (Tutors hold neither); reading, changing and assigning are
//! decided on the lesson, which authorization knows belongs to its course (the fact is pushed
//! when the lesson is made), so the Course Tutor and Course Administrators act on their
//! courses' lessons and nowhere else.

use std::sync::Arc;

use lms_api::common::v1::ObjectType;
use lms_api::delegation::v1::lesson_service_server::{LessonService, LessonServiceServer};
use lms_api::delegation::v1::{
    AssignLessonRequest, AssignLessonResponse, CreateLessonRequest, CreateLessonResponse,
    DeleteLessonRequest, DeleteLessonResponse, ListLessonsRequest, ListLessonsResponse,
    UpdateLessonRequest, UpdateLessonResponse,
};
use lms_kernel::{GroupId, LessonId, Permission, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Acting, acting};
use lms_runtime::clock::now;
use tonic::{Request, Response, Status};

use crate::audit::Actor;
use crate::convert::{ids, lesson, mask_paths, reference, required_id, title};
use crate::core::Core;
use crate::relationships;
use crate::store::{LessonRecord, Store};

/// Lessons.
pub struct Lessons<S>(pub Arc<Core<S>>);

/// A position the request asks for: `None` when zero (appended), refused when negative.
fn position(field: &str, asked: i32) -> Result<Option<u32>, ApiError> {
    match asked {
        0 => Ok(None),
        n => u32::try_from(n)
            .map(Some)
            .map_err(|_| ApiError::invalid_field(field, "must be 1 or more")),
    }
}

impl<S: Store + Clone> Lessons<S> {
    /// The lesson named in `lesson_id`, after authorization allowed the caller `permission` on
    /// it.
    async fn on_lesson<T>(
        &self,
        request: &Request<T>,
        lesson_id: &str,
        permission: Permission,
    ) -> Result<(Acting, LessonId), ApiError> {
        let acting = acting(request)?;
        let lesson = required_id("lesson_id", lesson_id, LessonId::parse)?;
        self.0
            .authorization
            .require(&acting, permission, reference(ObjectType::Lesson, lesson))
            .await?;
        Ok((acting, lesson))
    }

    async fn create(
        &self,
        request: Request<CreateLessonRequest>,
    ) -> Result<CreateLessonResponse, ApiError> {
        let r = request.get_ref();
        let title = title("title", &r.title)?;
        let asked = position("position", r.position)?;
        let (acting, course) = self
            .0
            .on_course(&request, &r.course_id, Permission::LessonsCreate)
            .await?;
        let record = LessonRecord {
            id: LessonId::generate(),
            course,
            title: title.as_str().to_owned(),
            position: 0,
            created_at: now(),
        };
        let audit = Actor::of(&request)?.did("lesson.created", "lesson", record.id);
        let stored = self
            .0
            .store
            .create_lesson(
                acting.tenant,
                &record,
                asked,
                &relationships::lesson_created(&record),
                &audit,
            )
            .await?;
        Ok(CreateLessonResponse {
            lesson: Some(lesson(&stored)),
            written_at: self.0.deliver(acting.tenant).await,
        })
    }

    async fn update(
        &self,
        request: Request<UpdateLessonRequest>,
    ) -> Result<UpdateLessonResponse, ApiError> {
        let r = request.get_ref();
        let paths = mask_paths(r.update_mask.as_ref())?;
        let given = r.lesson.clone().unwrap_or_default();
        let (mut new_title, mut new_position) = (None, None);
        for path in &paths {
            match path.as_str() {
                "title" => new_title = Some(title("lesson.title", &given.title)?.to_string()),
                "position" => {
                    new_position =
                        Some(position("lesson.position", given.position)?.ok_or_else(|| {
                            ApiError::invalid_field("lesson.position", "must be 1 or more")
                        })?);
                }
                other => {
                    return Err(ApiError::invalid_field(
                        "update_mask",
                        format!("{other:?} cannot be changed; title and position can"),
                    ));
                }
            }
        }
        let (acting, id) = self
            .on_lesson(&request, &r.lesson_id, Permission::LessonsUpdate)
            .await?;
        let audit = Actor::of(&request)?.did("lesson.updated", "lesson", id);
        let updated = self
            .0
            .store
            .update_lesson(
                acting.tenant,
                id,
                new_title.as_deref(),
                new_position,
                &audit,
            )
            .await?
            .ok_or_else(|| ApiError::not_found("lesson", id.to_string()))?;
        Ok(UpdateLessonResponse {
            lesson: Some(lesson(&updated)),
        })
    }

    async fn delete(
        &self,
        request: Request<DeleteLessonRequest>,
    ) -> Result<DeleteLessonResponse, ApiError> {
        let (acting, id) = self
            .on_lesson(
                &request,
                &request.get_ref().lesson_id,
                Permission::LessonsDelete,
            )
            .await?;
        let audit = Actor::of(&request)?.did("lesson.deleted", "lesson", id);
        let Some(record) = self.0.store.lesson(acting.tenant, id).await? else {
            return Err(ApiError::not_found("lesson", id.to_string()));
        };
        self.0
            .store
            .delete_lesson(
                acting.tenant,
                id,
                &relationships::lesson_deleted(&record),
                &audit,
            )
            .await?
            .ok_or_else(|| ApiError::not_found("lesson", id.to_string()))?;
        Ok(DeleteLessonResponse {
            written_at: self.0.deliver(acting.tenant).await,
        })
    }

    async fn assign(
        &self,
        request: Request<AssignLessonRequest>,
    ) -> Result<AssignLessonResponse, ApiError> {
        let r = request.get_ref();
        let users = ids("user_ids", &r.user_ids, UserId::parse)?;
        let groups = ids("group_ids", &r.group_ids, GroupId::parse)?;
        if users.is_empty() && groups.is_empty() {
            return Err(ApiError::invalid_field(
                "user_ids",
                "name at least one user or group",
            ));
        }
        let (acting, id) = self
            .on_lesson(&request, &r.lesson_id, Permission::LessonsAssign)
            .await?;
        let audit = Actor::of(&request)?.did("lesson.assigned", "lesson", id);
        let assigned = self
            .0
            .store
            .assign_lesson(acting.tenant, id, &users, &groups, &audit)
            .await?;
        Ok(AssignLessonResponse {
            assigned: i32::try_from(assigned).unwrap_or(i32::MAX),
        })
    }
}

#[tonic::async_trait]
impl<S: Store + Clone> LessonService for Lessons<S> {
    async fn create_lesson(
        &self,
        request: Request<CreateLessonRequest>,
    ) -> Result<Response<CreateLessonResponse>, Status> {
        Ok(Response::new(self.create(request).await?))
    }

    async fn list_lessons(
        &self,
        request: Request<ListLessonsRequest>,
    ) -> Result<Response<ListLessonsResponse>, Status> {
        let (acting, takeable) = self
            .0
            .on_takeable_course(
                &request,
                &request.get_ref().course_id,
                Permission::LessonsRead,
            )
            .await?;
        // A granted course's lessons are its owner's.
        let owner = takeable
            .granted
            .as_ref()
            .map_or(acting.tenant, |grant| grant.master);
        let lessons = self.0.store.lessons(owner, takeable.course.id).await?;
        Ok(Response::new(ListLessonsResponse {
            lessons: lessons.iter().map(lesson).collect(),
        }))
    }

    async fn update_lesson(
        &self,
        request: Request<UpdateLessonRequest>,
    ) -> Result<Response<UpdateLessonResponse>, Status> {
        Ok(Response::new(self.update(request).await?))
    }

    async fn delete_lesson(
        &self,
        request: Request<DeleteLessonRequest>,
    ) -> Result<Response<DeleteLessonResponse>, Status> {
        Ok(Response::new(self.delete(request).await?))
    }

    async fn assign_lesson(
        &self,
        request: Request<AssignLessonRequest>,
    ) -> Result<Response<AssignLessonResponse>, Status> {
        Ok(Response::new(self.assign(request).await?))
    }
}

/// The gRPC service.
pub fn service<S: Store + Clone>(core: Arc<Core<S>>) -> LessonServiceServer<Lessons<S>> {
    LessonServiceServer::new(Lessons(core))
}
