//! `CourseService`: Courses. Not built yet: every RPC answers `UNIMPLEMENTED` through the
//! generated default methods until its issue fills it in (acting → parse → decide → kernel rule
//! → commit or read → convert, as in identity and authorization).

use lms_api::delegation::v1::course_service_server::{CourseService, CourseServiceServer};

/// Courses.
#[derive(Debug, Default, Clone, Copy)]
pub struct Courses;

#[tonic::async_trait]
impl CourseService for Courses {}

/// The gRPC service.
pub fn service() -> CourseServiceServer<Courses> {
    CourseServiceServer::new(Courses)
}
