//! The gRPC face of the delegation service: one module per proto service.
//!
//! Handlers not written yet fall back to the generated defaults, which answer `UNIMPLEMENTED`
//! (only this package and reporting's get default methods; see `libs/api/build.rs`).

mod audit;
mod bookings;
mod catalogues;
mod competencies;
mod courses;
mod enrolments;
mod events;
mod grants;
mod lessons;
mod notifications;
mod purchases;
mod responsibilities;

use std::sync::Arc;

use crate::core::Core;
use crate::store::Store;

/// Adds every gRPC service of delegation to `server`.
pub fn add_services<S: Store + Clone>(
    server: lms_runtime::GrpcServer,
    core: Arc<Core<S>>,
) -> lms_runtime::GrpcServer {
    server
        .add_service(courses::service(core.clone()))
        .add_service(lessons::service(core.clone()))
        .add_service(responsibilities::service(core.clone()))
        .add_service(catalogues::service(core.clone()))
        .add_service(enrolments::service(core.clone()))
        .add_service(events::service(core.clone()))
        .add_service(competencies::service(core.clone()))
        .add_service(notifications::service(core.clone()))
        .add_service(purchases::service(core.clone()))
        .add_service(grants::service(core.clone()))
        .add_http_service(crate::webhook::service(core.clone()))
        .add_service(audit::service(core))
}
