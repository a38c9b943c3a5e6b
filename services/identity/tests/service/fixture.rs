//! Identity and authorization running together for one test, with a created tenant.

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::tenant_service_client::TenantServiceClient;
use lms_api::identity::v1::user_service_client::UserServiceClient;
use lms_api::identity::v1::{
    CreateTenantRequest, GetJwksRequest, NewUser, SignInRequest, TenantSettings, TokenPair,
    sign_in_response,
};
use lms_kernel::{TenantId, UserId};
use lms_runtime::ServiceName;
use lms_runtime::client::CallCredentials;
use lms_testkit::{
    TestAuth, TestDatabase, TestRedis, TestService, postgres_database, redis, service_context,
};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub const ADMIN_EMAIL: &str = "ada@example.org";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

pub type Authed = InterceptedService<Channel, CallCredentials>;

/// Identity and authorization for one test, and a tenant created by an operator.
pub struct Platform {
    _auth: TestAuth,
    pub identity: TestService,
    pub authorization: TestService,
    pub tenant: TenantId,
    pub admin: UserId,
    _databases: Vec<TestDatabase>,
    _redis: TestRedis,
}

impl Platform {
    pub async fn start() -> Platform {
        lms_testkit::trace_init();
        let auth = TestAuth::new();
        let (authz_db, identity_db, redis) = (
            postgres_database().await,
            postgres_database().await,
            redis().await,
        );
        let authz_context = service_context(
            ServiceName::Authorization,
            authz_db.url(),
            Some(&redis),
            &auth,
        );
        let authz_verifier = authz_context.verifier.clone();
        let authorization =
            TestService::start(lms_authorization::build(authz_context).await.unwrap()).await;
        let mut identity_context =
            service_context(ServiceName::Identity, identity_db.url(), None, &auth);
        identity_context.set_endpoint(
            ServiceName::Authorization,
            format!("http://{}", authorization.addr()),
        );
        let identity =
            TestService::start(lms_identity::build(identity_context).await.unwrap()).await;
        // Authorization trusts what identity publishes (`lms serve` fetches it; here, at once).
        let jwks = AuthenticationServiceClient::new(identity.channel())
            .get_jwks(GetJwksRequest {})
            .await
            .unwrap()
            .into_inner()
            .jwks_json;
        authz_verifier.replace_published_keys(&jwks).unwrap();

        let created =
            TenantServiceClient::new(identity.authorized(&auth.service_token("operator")))
                .create_tenant(CreateTenantRequest {
                    name: "Acme Training".into(),
                    settings: Some(TenantSettings::default()),
                    access_coordinator: Some(NewUser {
                        email: ADMIN_EMAIL.into(),
                        given_name: "Ada".into(),
                        family_name: "Lovelace".into(),
                        password: ADMIN_PASSWORD.into(),
                        ..Default::default()
                    }),
                })
                .await
                .unwrap()
                .into_inner();
        assert!(
            created.written_at.is_some(),
            "the tenant reached authorization before the answer"
        );
        Platform {
            tenant: TenantId::parse(&created.tenant.unwrap().tenant_id).unwrap(),
            admin: UserId::parse(&created.access_coordinator.unwrap().user_id).unwrap(),
            _auth: auth,
            identity,
            authorization,
            _databases: vec![authz_db, identity_db],
            _redis: redis,
        }
    }

    pub fn authn(&self) -> AuthenticationServiceClient<Channel> {
        AuthenticationServiceClient::new(self.identity.channel())
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Result<TokenPair, tonic::Status> {
        let response = self
            .authn()
            .sign_in(SignInRequest {
                tenant_id: self.tenant.to_string(),
                email: email.into(),
                password: password.into(),
            })
            .await?
            .into_inner();
        match response.outcome {
            Some(sign_in_response::Outcome::Tokens(tokens)) => Ok(tokens),
            other => panic!("expected tokens, got {other:?}"),
        }
    }

    pub async fn admin_token(&self) -> String {
        self.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .unwrap()
            .access_token
    }

    pub fn users(&self, token: &str) -> UserServiceClient<Authed> {
        UserServiceClient::new(self.identity.authorized(token))
    }

    pub fn tenants(&self, token: &str) -> TenantServiceClient<Authed> {
        TenantServiceClient::new(self.identity.authorized(token))
    }

    pub fn decisions(&self, token: &str) -> PermissionServiceClient<Authed> {
        PermissionServiceClient::new(self.authorization.authorized(token))
    }
}

/// The `ErrorInfo.reason` of a status.
pub fn reason(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

/// The fields a BadRequest names.
pub fn fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}
