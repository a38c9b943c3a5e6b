//! `AccessReviewService`: The access review. Not built yet: every RPC answers `UNIMPLEMENTED` through the
//! generated default methods until its issue fills it in (acting → parse → decide → kernel rule
//! → commit or read → convert, as in identity and authorization).

use lms_api::reporting::v1::access_review_service_server::{
    AccessReviewService, AccessReviewServiceServer,
};

/// The access review.
#[derive(Debug, Default, Clone, Copy)]
pub struct AccessReview;

#[tonic::async_trait]
impl AccessReviewService for AccessReview {}

/// The gRPC service.
pub fn service() -> AccessReviewServiceServer<AccessReview> {
    AccessReviewServiceServer::new(AccessReview)
}
