//! The gRPC face of the authorization service, one module per gRPC service.

mod assignments;
mod permissions;
mod relationships;
mod roles;

use std::sync::Arc;

use lms_api::authorization::v1::permission_service_server::PermissionServiceServer;
use lms_api::authorization::v1::relationship_service_server::RelationshipServiceServer;
use lms_api::authorization::v1::role_assignment_service_server::RoleAssignmentServiceServer;
use lms_api::authorization::v1::role_service_server::RoleServiceServer;
use lms_runtime::GrpcServer;
use lms_runtime::auth::Caller;
use tonic::Status;

use crate::core::Core;
use crate::store::Store;

/// Adds every gRPC service of authorization, over `core`, to `server`.
pub fn add_services<S: Store>(server: GrpcServer, core: Arc<Core<S>>) -> GrpcServer {
    server
        .add_service(RoleServiceServer::new(roles::Roles(core.clone())))
        .add_service(RoleAssignmentServiceServer::new(assignments::Assignments(
            core.clone(),
        )))
        .add_service(RelationshipServiceServer::new(
            relationships::Relationships(core.clone()),
        ))
        .add_service(PermissionServiceServer::new(permissions::Permissions(core)))
}

/// The verified caller of a request, owned.
fn caller<T>(request: &tonic::Request<T>) -> Result<Caller, Status> {
    lms_runtime::auth::caller(request).cloned()
}
