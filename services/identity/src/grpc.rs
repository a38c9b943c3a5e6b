//! The gRPC face of the identity service. Handlers not written yet fall back to the generated
//! defaults, which answer `UNIMPLEMENTED`; each RPC is built in its own issue.

use lms_api::identity::v1::approval_service_server::{ApprovalService, ApprovalServiceServer};
use lms_api::identity::v1::authentication_service_server::{
    AuthenticationService, AuthenticationServiceServer,
};
use lms_api::identity::v1::group_service_server::{GroupService, GroupServiceServer};
use lms_api::identity::v1::import_service_server::{ImportService, ImportServiceServer};
use lms_api::identity::v1::tenant_service_server::{TenantService, TenantServiceServer};
use lms_api::identity::v1::unit_service_server::{UnitService, UnitServiceServer};
use lms_api::identity::v1::user_service_server::{UserService, UserServiceServer};

/// Tenants, their settings, clients and the Access Coordinator.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tenants;

#[tonic::async_trait]
impl TenantService for Tenants {}

/// The unit tree.
#[derive(Debug, Default, Clone, Copy)]
pub struct Units;

#[tonic::async_trait]
impl UnitService for Units {}

/// Users, employments and custom fields.
#[derive(Debug, Default, Clone, Copy)]
pub struct Users;

#[tonic::async_trait]
impl UserService for Users {}

/// Groups, primary groups, managers and administrators.
#[derive(Debug, Default, Clone, Copy)]
pub struct Groups;

#[tonic::async_trait]
impl GroupService for Groups {}

/// Sign-in, MFA, tokens and keys.
#[derive(Debug, Default, Clone, Copy)]
pub struct Authentication;

#[tonic::async_trait]
impl AuthenticationService for Authentication {}

/// The Access Coordinator's queue.
#[derive(Debug, Default, Clone, Copy)]
pub struct Approvals;

#[tonic::async_trait]
impl ApprovalService for Approvals {}

/// CSV import and the people-data feed.
#[derive(Debug, Default, Clone, Copy)]
pub struct Imports;

#[tonic::async_trait]
impl ImportService for Imports {}

/// Adds every gRPC service of identity to `server`.
pub fn add_services(server: lms_runtime::GrpcServer) -> lms_runtime::GrpcServer {
    server
        .add_service(TenantServiceServer::new(Tenants))
        .add_service(UnitServiceServer::new(Units))
        .add_service(UserServiceServer::new(Users))
        .add_service(GroupServiceServer::new(Groups))
        .add_service(AuthenticationServiceServer::new(Authentication))
        .add_service(ApprovalServiceServer::new(Approvals))
        .add_service(ImportServiceServer::new(Imports))
}
