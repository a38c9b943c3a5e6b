//! The gRPC face of the reporting service: one module per proto service.
//!
//! Handlers not written yet fall back to the generated defaults, which answer `UNIMPLEMENTED`
//! (only this package and delegation's get default methods; see `libs/api/build.rs`).

mod access_review;
mod reports;

/// Adds every gRPC service of reporting to `server`.
pub fn add_services(server: lms_runtime::GrpcServer) -> lms_runtime::GrpcServer {
    server
        .add_service(reports::service())
        .add_service(access_review::service())
}
