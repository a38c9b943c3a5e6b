//! `CatalogueService`: Catalogues. Not built yet: every RPC answers `UNIMPLEMENTED` through the
//! generated default methods until its issue fills it in (acting → parse → decide → kernel rule
//! → commit or read → convert, as in identity and authorization).

use lms_api::delegation::v1::catalogue_service_server::{CatalogueService, CatalogueServiceServer};

/// Catalogues.
#[derive(Debug, Default, Clone, Copy)]
pub struct Catalogues;

#[tonic::async_trait]
impl CatalogueService for Catalogues {}

/// The gRPC service.
pub fn service() -> CatalogueServiceServer<Catalogues> {
    CatalogueServiceServer::new(Catalogues)
}
