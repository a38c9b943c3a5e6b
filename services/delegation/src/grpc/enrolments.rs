//! `EnrolmentService`: Enrolments and enrolment requests. Not built yet: every RPC answers `UNIMPLEMENTED` through the
//! generated default methods until its issue fills it in (acting → parse → decide → kernel rule
//! → commit or read → convert, as in identity and authorization).

use lms_api::delegation::v1::enrolment_service_server::{EnrolmentService, EnrolmentServiceServer};

/// Enrolments and enrolment requests.
#[derive(Debug, Default, Clone, Copy)]
pub struct Enrolments;

#[tonic::async_trait]
impl EnrolmentService for Enrolments {}

/// The gRPC service.
pub fn service() -> EnrolmentServiceServer<Enrolments> {
    EnrolmentServiceServer::new(Enrolments)
}
