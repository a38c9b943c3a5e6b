//! The gRPC face of the authorization service. Handlers not written yet fall back to the generated
//! defaults, which answer `UNIMPLEMENTED`; each RPC is built in its own issue.

use lms_api::authorization::v1::permission_service_server::{
    PermissionService, PermissionServiceServer,
};
use lms_api::authorization::v1::relationship_service_server::{
    RelationshipService, RelationshipServiceServer,
};
use lms_api::authorization::v1::role_assignment_service_server::{
    RoleAssignmentService, RoleAssignmentServiceServer,
};
use lms_api::authorization::v1::role_service_server::{RoleService, RoleServiceServer};

/// Role templates and custom roles.
#[derive(Debug, Default, Clone, Copy)]
pub struct Roles;

#[tonic::async_trait]
impl RoleService for Roles {}

/// Role assignments and their audit trail.
#[derive(Debug, Default, Clone, Copy)]
pub struct RoleAssignments;

#[tonic::async_trait]
impl RoleAssignmentService for RoleAssignments {}

/// The relationship facts decisions read.
#[derive(Debug, Default, Clone, Copy)]
pub struct Relationships;

#[tonic::async_trait]
impl RelationshipService for Relationships {}

/// Decisions.
#[derive(Debug, Default, Clone, Copy)]
pub struct Permissions;

#[tonic::async_trait]
impl PermissionService for Permissions {}

/// Adds every gRPC service of authorization to `server`.
pub fn add_services(server: lms_runtime::GrpcServer) -> lms_runtime::GrpcServer {
    server
        .add_service(RoleServiceServer::new(Roles))
        .add_service(RoleAssignmentServiceServer::new(RoleAssignments))
        .add_service(RelationshipServiceServer::new(Relationships))
        .add_service(PermissionServiceServer::new(Permissions))
}
