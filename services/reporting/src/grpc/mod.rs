//! The gRPC face of the reporting service: one module per proto service.
//!
//! Handlers not written yet fall back to the generated defaults, which answer `UNIMPLEMENTED`
//! (only this package and delegation's get default methods; see `libs/api/build.rs`).

mod access_review;
mod reports;

/// Adds every gRPC service of reporting to `server`: reports read `database` inside the scope
/// `authorization` answers for each caller.
pub fn add_services(
    server: lms_runtime::GrpcServer,
    database: lms_runtime::Database,
    authorization: lms_runtime::peers::Authorization,
) -> lms_runtime::GrpcServer {
    server
        .add_service(reports::service(database, authorization))
        .add_service(access_review::service())
}
