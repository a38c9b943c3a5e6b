//! The gRPC face of the identity service. RPCs not built yet fall back to the generated
//! defaults, which answer `UNIMPLEMENTED`.

mod approvals;
mod audit;
mod authentication;
mod client_links;
mod coordinator_duty;
mod employments;
mod groups;
mod imports;
mod lockouts;
mod master_administrators;
mod profile_fields;
mod second_factor;
mod service_accounts;
mod tenants;
mod units;
mod users;

use std::sync::Arc;

use lms_api::identity::v1::approval_service_server::ApprovalServiceServer;
use lms_api::identity::v1::authentication_service_server::AuthenticationServiceServer;
use lms_api::identity::v1::group_service_server::GroupServiceServer;
use lms_api::identity::v1::identity_audit_service_server::IdentityAuditServiceServer;
use lms_api::identity::v1::import_service_server::ImportServiceServer;
use lms_api::identity::v1::tenant_service_server::TenantServiceServer;
use lms_api::identity::v1::unit_service_server::UnitServiceServer;
use lms_api::identity::v1::user_service_server::UserServiceServer;

use crate::core::Core;
use crate::store::Store;

/// Adds every gRPC service of identity to `server`.
pub fn add_services<S: Store + Clone>(
    server: lms_runtime::GrpcServer,
    core: Arc<Core<S>>,
) -> lms_runtime::GrpcServer {
    server
        .add_service(TenantServiceServer::new(tenants::Tenants(core.clone())))
        .add_service(UnitServiceServer::new(units::Units(core.clone())))
        .add_service(UserServiceServer::new(users::Users(core.clone())))
        .add_service(GroupServiceServer::new(groups::Groups(core.clone())))
        .add_service(AuthenticationServiceServer::new(
            authentication::Authentication(core.clone()),
        ))
        .add_service(ApprovalServiceServer::new(approvals::Approvals(
            core.clone(),
        )))
        .add_service(IdentityAuditServiceServer::new(audit::Audit(core.clone())))
        .add_service(
            ImportServiceServer::new(imports::Imports::new(core))
                .max_decoding_message_size(imports::MAX_MESSAGE_BYTES),
        )
}
