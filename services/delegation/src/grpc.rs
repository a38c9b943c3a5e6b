//! The gRPC face of the delegation service. Handlers not written yet fall back to the generated
//! defaults, which answer `UNIMPLEMENTED`; each RPC is built in its own issue.

use lms_api::delegation::v1::catalogue_service_server::{CatalogueService, CatalogueServiceServer};
use lms_api::delegation::v1::competency_service_server::{
    CompetencyService, CompetencyServiceServer,
};
use lms_api::delegation::v1::course_service_server::{CourseService, CourseServiceServer};
use lms_api::delegation::v1::enrolment_service_server::{EnrolmentService, EnrolmentServiceServer};
use lms_api::delegation::v1::event_service_server::{EventService, EventServiceServer};
use lms_api::delegation::v1::lesson_service_server::{LessonService, LessonServiceServer};
use lms_api::delegation::v1::responsibility_service_server::{
    ResponsibilityService, ResponsibilityServiceServer,
};

/// Courses.
#[derive(Debug, Default, Clone, Copy)]
pub struct Courses;

#[tonic::async_trait]
impl CourseService for Courses {}

/// Lessons.
#[derive(Debug, Default, Clone, Copy)]
pub struct Lessons;

#[tonic::async_trait]
impl LessonService for Lessons {}

/// Events, bookings and attendance.
#[derive(Debug, Default, Clone, Copy)]
pub struct Events;

#[tonic::async_trait]
impl EventService for Events {}

/// Catalogues.
#[derive(Debug, Default, Clone, Copy)]
pub struct Catalogues;

#[tonic::async_trait]
impl CatalogueService for Catalogues {}

/// Enrolments and enrolment requests.
#[derive(Debug, Default, Clone, Copy)]
pub struct Enrolments;

#[tonic::async_trait]
impl EnrolmentService for Enrolments {}

/// Competency checks.
#[derive(Debug, Default, Clone, Copy)]
pub struct Competencies;

#[tonic::async_trait]
impl CompetencyService for Competencies {}

/// Responsibilities.
#[derive(Debug, Default, Clone, Copy)]
pub struct Responsibilities;

#[tonic::async_trait]
impl ResponsibilityService for Responsibilities {}

/// Adds every gRPC service of delegation to `server`.
pub fn add_services(server: lms_runtime::GrpcServer) -> lms_runtime::GrpcServer {
    server
        .add_service(CourseServiceServer::new(Courses))
        .add_service(LessonServiceServer::new(Lessons))
        .add_service(EventServiceServer::new(Events))
        .add_service(CatalogueServiceServer::new(Catalogues))
        .add_service(EnrolmentServiceServer::new(Enrolments))
        .add_service(CompetencyServiceServer::new(Competencies))
        .add_service(ResponsibilityServiceServer::new(Responsibilities))
}
