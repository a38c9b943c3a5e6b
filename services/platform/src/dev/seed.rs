//! The demo tenant: created through identity's public API with the operator's token on the first
//! run, found again (its id is kept in the data directory) on the next, and its administrator
//! signed in.

use std::path::{Path, PathBuf};

use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::tenant_service_client::TenantServiceClient;
use lms_api::identity::v1::{
    CreateTenantRequest, IssueServiceTokenRequest, NewUser, SignInRequest, TenantSettings,
    sign_in_response,
};
use lms_runtime::client::{CallCredentials, connect};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::DevOperator;

/// The demo tenant's administrator (its Access Coordinator).
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.example";
/// Their password: this is a development platform on a laptop, and the banner prints it.
pub const DEMO_ADMIN_PASSWORD: &str = "lms-dev-orchard-lantern";
/// Where the demo tenant's id is kept between runs.
const DEMO_TENANT_FILE: &str = "demo-tenant";

/// Why seeding the demo tenant failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// Identity could not be reached.
    #[error("identity is unreachable: {0}")]
    Connect(#[from] tonic::transport::Error),
    /// Identity refused a call.
    #[error("identity refused {call}: {status}")]
    Refused {
        /// The call.
        call: &'static str,
        /// Its answer.
        status: Box<tonic::Status>,
    },
    /// The data directory could not be written.
    #[error("cannot keep the demo tenant's id in {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Seeds (or finds) the demo tenant once the platform serves.
#[derive(Debug, Clone)]
pub struct Seeder {
    identity: String,
    operator: DevOperator,
    data_dir: PathBuf,
}

/// The demo tenant, signed in.
#[derive(Debug, Clone)]
pub struct Demo {
    /// Its id.
    pub tenant: String,
    /// An access token of its administrator, issued by identity's sign-in.
    pub token: String,
    /// Whether this run created it.
    pub created: bool,
}

fn refused(call: &'static str) -> impl FnOnce(tonic::Status) -> SeedError {
    move |status| SeedError::Refused {
        call,
        status: Box::new(status),
    }
}

impl Seeder {
    /// A seeder calling identity at `identity` as `operator`, keeping what it made in `data_dir`.
    pub fn new(identity: String, operator: DevOperator, data_dir: &Path) -> Self {
        Self {
            identity,
            operator,
            data_dir: data_dir.to_owned(),
        }
    }

    /// A token of the operator, from identity's `IssueServiceToken`.
    async fn operator_token(&self, channel: Channel) -> Result<String, SeedError> {
        let issued = AuthenticationServiceClient::new(channel)
            .issue_service_token(IssueServiceTokenRequest {
                service_account_id: self.operator.client_id.clone(),
                client_secret: self.operator.client_secret.clone(),
            })
            .await
            .map_err(refused("IssueServiceToken"))?
            .into_inner();
        Ok(issued.access_token)
    }

    /// Finds the demo tenant of an earlier run (its id is kept in the data directory) or
    /// creates it through identity, then signs its administrator in. Call once the platform
    /// serves.
    pub async fn seed(&self) -> Result<Demo, SeedError> {
        let channel = connect(self.identity.clone()).await?;
        let path = self.data_dir.join(DEMO_TENANT_FILE);
        let kept = std::fs::read_to_string(&path)
            .ok()
            .map(|id| id.trim().to_owned());
        let (tenant, created) = match kept {
            Some(tenant) if !tenant.is_empty() => (tenant, false),
            _ => {
                let token = self.operator_token(channel.clone()).await?;
                let credentials = CallCredentials::bearer(&token).expect("signed tokens are ASCII");
                let created =
                    TenantServiceClient::new(InterceptedService::new(channel.clone(), credentials))
                        .create_tenant(CreateTenantRequest {
                            name: "Demo Academy".into(),
                            settings: Some(TenantSettings {
                                locations_enabled: true,
                                clients_enabled: false,
                                mfa_required_for_admins: false,
                            }),
                            access_coordinator: Some(NewUser {
                                email: DEMO_ADMIN_EMAIL.into(),
                                given_name: "Demo".into(),
                                family_name: "Administrator".into(),
                                password: DEMO_ADMIN_PASSWORD.into(),
                                ..Default::default()
                            }),
                        })
                        .await
                        .map_err(refused("CreateTenant"))?
                        .into_inner();
                let tenant = created.tenant.unwrap_or_default().tenant_id;
                std::fs::write(&path, &tenant).map_err(|source| SeedError::Io {
                    path: path.clone(),
                    source,
                })?;
                (tenant, true)
            }
        };
        let signed_in = AuthenticationServiceClient::new(channel)
            .sign_in(SignInRequest {
                tenant_id: tenant.clone(),
                email: DEMO_ADMIN_EMAIL.into(),
                password: DEMO_ADMIN_PASSWORD.into(),
            })
            .await
            .map_err(refused("SignIn"))?
            .into_inner();
        let token = match signed_in.outcome {
            Some(sign_in_response::Outcome::Tokens(tokens)) => tokens.access_token,
            _ => {
                return Err(SeedError::Refused {
                    call: "SignIn",
                    status: Box::new(tonic::Status::failed_precondition(
                        "the demo administrator has a second factor; sign in with it",
                    )),
                });
            }
        };
        Ok(Demo {
            tenant,
            token,
            created,
        })
    }
}
