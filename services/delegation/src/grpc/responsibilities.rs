//! `ResponsibilityService`: Responsibilities on courses and events. Not built yet: every RPC answers `UNIMPLEMENTED` through the
//! generated default methods until its issue fills it in (acting → parse → decide → kernel rule
//! → commit or read → convert, as in identity and authorization).

use lms_api::delegation::v1::responsibility_service_server::{
    ResponsibilityService, ResponsibilityServiceServer,
};

/// Responsibilities on courses and events.
#[derive(Debug, Default, Clone, Copy)]
pub struct Responsibilities;

#[tonic::async_trait]
impl ResponsibilityService for Responsibilities {}

/// The gRPC service.
pub fn service() -> ResponsibilityServiceServer<Responsibilities> {
    ResponsibilityServiceServer::new(Responsibilities)
}
