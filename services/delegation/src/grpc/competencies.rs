//! `CompetencyService`: Competency checks. Not built yet: every RPC answers `UNIMPLEMENTED` through the
//! generated default methods until its issue fills it in (acting → parse → decide → kernel rule
//! → commit or read → convert, as in identity and authorization).

use lms_api::delegation::v1::competency_service_server::{
    CompetencyService, CompetencyServiceServer,
};

/// Competency checks.
#[derive(Debug, Default, Clone, Copy)]
pub struct Competencies;

#[tonic::async_trait]
impl CompetencyService for Competencies {}

/// The gRPC service.
pub fn service() -> CompetencyServiceServer<Competencies> {
    CompetencyServiceServer::new(Competencies)
}
