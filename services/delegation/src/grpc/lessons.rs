//! `LessonService`: Lessons of a course. Not built yet: every RPC answers `UNIMPLEMENTED` through the
//! generated default methods until its issue fills it in (acting → parse → decide → kernel rule
//! → commit or read → convert, as in identity and authorization).

use lms_api::delegation::v1::lesson_service_server::{LessonService, LessonServiceServer};

/// Lessons of a course.
#[derive(Debug, Default, Clone, Copy)]
pub struct Lessons;

#[tonic::async_trait]
impl LessonService for Lessons {}

/// The gRPC service.
pub fn service() -> LessonServiceServer<Lessons> {
    LessonServiceServer::new(Lessons)
}
