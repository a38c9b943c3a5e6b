//! `ReportService`: Scoped reports. Not built yet: every RPC answers `UNIMPLEMENTED` through the
//! generated default methods until its issue fills it in (acting → parse → decide → kernel rule
//! → commit or read → convert, as in identity and authorization).

use lms_api::reporting::v1::report_service_server::{ReportService, ReportServiceServer};

/// Scoped reports.
#[derive(Debug, Default, Clone, Copy)]
pub struct Reports;

#[tonic::async_trait]
impl ReportService for Reports {}

/// The gRPC service.
pub fn service() -> ReportServiceServer<Reports> {
    ReportServiceServer::new(Reports)
}
