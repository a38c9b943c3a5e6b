//! The gRPC face of the reporting service. Handlers not written yet fall back to the generated
//! defaults, which answer `UNIMPLEMENTED`; each RPC is built in its own issue.

use lms_api::reporting::v1::access_review_service_server::{
    AccessReviewService, AccessReviewServiceServer,
};
use lms_api::reporting::v1::report_service_server::{ReportService, ReportServiceServer};

/// Scoped reports.
#[derive(Debug, Default, Clone, Copy)]
pub struct Reports;

#[tonic::async_trait]
impl ReportService for Reports {}

/// The access review.
#[derive(Debug, Default, Clone, Copy)]
pub struct AccessReview;

#[tonic::async_trait]
impl AccessReviewService for AccessReview {}

/// Adds every gRPC service of reporting to `server`.
pub fn add_services(server: lms_runtime::GrpcServer) -> lms_runtime::GrpcServer {
    server
        .add_service(ReportServiceServer::new(Reports))
        .add_service(AccessReviewServiceServer::new(AccessReview))
}
