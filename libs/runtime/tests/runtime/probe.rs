//! A small service behind the real server stack, standing in for a domain service: it answers
//! with the verified caller's tenant, a domain error, or slowly.

use std::time::Duration;

use lms_api::authorization::v1::permission_service_server::{
    PermissionService, PermissionServiceServer,
};
use lms_api::authorization::v1::{
    BatchCheckRequest, BatchCheckResponse, CheckEscalationRequest, CheckEscalationResponse,
    CheckRequest, CheckResponse, Decision, ExplainRequest, ExplainResponse, ListGrantsRequest,
    ListGrantsResponse, LookupResourcesRequest, LookupResourcesResponse, LookupSubjectsRequest,
    LookupSubjectsResponse,
};
use lms_api::common::v1::ConsistencyToken;
use lms_runtime::store::Database;
use lms_runtime::{ApiError, Application, GrpcServer, SecretString, ServiceContext, ServiceName};
use lms_testkit::{TestAuth, TestService};
use tonic::{Request, Response, Status};

pub struct Probe;

#[tonic::async_trait]
impl PermissionService for Probe {
    async fn check(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        let tenant = lms_runtime::auth::caller(&request)?
            .tenant()
            .map(|t| t.to_string())
            .unwrap_or_default();
        match request.into_inner().permission.as_str() {
            "" => Err(ApiError::invalid_field("permission", "must name a permission").into()),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Err(Status::internal("should have timed out"))
            }
            _ => Ok(Response::new(CheckResponse {
                decision: Decision::Allowed.into(),
                checked_at: Some(ConsistencyToken { token: tenant }),
            })),
        }
    }

    // The stack is probed through Check alone; the contract's other RPCs are not the probe's.
    async fn batch_check(
        &self,
        _: Request<BatchCheckRequest>,
    ) -> Result<Response<BatchCheckResponse>, Status> {
        Err(Status::unimplemented("the probe answers Check only"))
    }

    async fn lookup_resources(
        &self,
        _: Request<LookupResourcesRequest>,
    ) -> Result<Response<LookupResourcesResponse>, Status> {
        Err(Status::unimplemented("the probe answers Check only"))
    }

    async fn lookup_subjects(
        &self,
        _: Request<LookupSubjectsRequest>,
    ) -> Result<Response<LookupSubjectsResponse>, Status> {
        Err(Status::unimplemented("the probe answers Check only"))
    }

    async fn explain(
        &self,
        _: Request<ExplainRequest>,
    ) -> Result<Response<ExplainResponse>, Status> {
        Err(Status::unimplemented("the probe answers Check only"))
    }

    async fn list_grants(
        &self,
        _: Request<ListGrantsRequest>,
    ) -> Result<Response<ListGrantsResponse>, Status> {
        Err(Status::unimplemented("the probe answers Check only"))
    }

    async fn check_escalation(
        &self,
        _: Request<CheckEscalationRequest>,
    ) -> Result<Response<CheckEscalationResponse>, Status> {
        Err(Status::unimplemented("the probe answers Check only"))
    }
}

pub fn context(auth: &TestAuth) -> ServiceContext {
    lms_testkit::service_context(ServiceName::Authorization, "sqlite::memory:", None, auth)
}

pub async fn start(context: ServiceContext) -> TestService {
    let database = Database::connect(&SecretString::new("sqlite::memory:"), 1)
        .await
        .unwrap();
    let server = GrpcServer::bind(&context, &[])
        .await
        .unwrap()
        .add_service(PermissionServiceServer::new(Probe));
    TestService::start(Application::new(server, database)).await
}

pub fn check(permission: &str) -> CheckRequest {
    CheckRequest {
        permission: permission.into(),
        ..Default::default()
    }
}
