//! Identity and authorization running together for one test, with a created tenant.

use std::time::{Duration, Instant};

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::{AssignRoleRequest, CheckRequest, Decision, ListUserRolesRequest};
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ConsistencyToken, ObjectReference, ObjectType};
use lms_api::identity::v1::approval_service_client::ApprovalServiceClient;
use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::group_service_client::GroupServiceClient;
use lms_api::identity::v1::import_service_client::ImportServiceClient;
use lms_api::identity::v1::tenant_service_client::TenantServiceClient;
use lms_api::identity::v1::unit_service_client::UnitServiceClient;
use lms_api::identity::v1::user_service_client::UserServiceClient;
use lms_api::identity::v1::{
    BeginTotpEnrolmentRequest, ConfirmTotpEnrolmentRequest, CreateServiceAccountRequest,
    CreateServiceAccountResponse, CreateTenantRequest, CreateUserRequest, GetJwksRequest,
    GetUserRequest, ImportCsvRequest, ImportCsvResponse, ImportKind, ImportOptions,
    IssueServiceTokenRequest, ListUsersRequest, NewUser, SignInRequest, TenantSettings, TokenPair,
    UpdateTenantSettingsRequest, User, VerifyMfaRequest, import_csv_request, sign_in_response,
};
use lms_kernel::{TenantId, UserId};
use lms_runtime::ServiceName;
use lms_runtime::client::CallCredentials;
use lms_runtime::config::SignInConfig;
use lms_testkit::{
    TestAuth, TestDatabase, TestRedis, TestService, postgres_database, redis, service_context,
};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub const ADMIN_EMAIL: &str = "ada@example.org";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
pub const USER_PASSWORD: &str = "violet kettle under moonlight";

pub type Authed = InterceptedService<Channel, CallCredentials>;

/// Identity and authorization for one test, and a tenant created by an operator.
pub struct Platform {
    auth: TestAuth,
    pub identity: TestService,
    pub authorization: TestService,
    pub tenant: TenantId,
    pub admin: UserId,
    /// The keys authorization verifies tokens with (tests make it follow identity).
    pub authorization_verifier: lms_runtime::auth::TokenVerifier,
    /// Identity's database (PostgreSQL, or a SQLite file).
    pub identity_url: String,
    _databases: Vec<TestDatabase>,
    _files: Option<tempfile::TempDir>,
    _redis: TestRedis,
}

impl Platform {
    pub async fn start() -> Platform {
        Self::start_with(TenantSettings::default()).await
    }

    /// A platform whose tenant has `settings`.
    pub async fn start_with(settings: TenantSettings) -> Platform {
        Self::start_full(settings, 180).await
    }

    /// A platform where accounts count as unused after `unused_account_days`.
    pub async fn start_full(settings: TenantSettings, unused_account_days: u32) -> Platform {
        Self::start_on(settings, unused_account_days, false, |_| {}).await
    }

    /// A platform whose identity keeps its data in a SQLite file (the embedded default) and
    /// whose sign-in settings `tune` changes.
    pub async fn start_on_sqlite_with(tune: impl FnOnce(&mut SignInConfig)) -> Platform {
        Self::start_on(TenantSettings::default(), 180, true, tune).await
    }

    /// A platform whose sign-in settings `tune` changes.
    pub async fn start_with_sign_in(tune: impl FnOnce(&mut SignInConfig)) -> Platform {
        Self::start_on(TenantSettings::default(), 180, false, tune).await
    }

    async fn start_on(
        settings: TenantSettings,
        unused_account_days: u32,
        identity_on_sqlite: bool,
        tune: impl FnOnce(&mut SignInConfig),
    ) -> Platform {
        lms_testkit::trace_init();
        let auth = TestAuth::new();
        let (authz_db, identity_db, redis) = (
            postgres_database().await,
            postgres_database().await,
            redis().await,
        );
        let files = identity_on_sqlite.then(|| tempfile::tempdir().unwrap());
        let identity_url = match &files {
            Some(dir) => lms_testkit::sqlite_url(dir.path(), "identity"),
            None => identity_db.url().to_owned(),
        };
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
            service_context(ServiceName::Identity, &identity_url, Some(&redis), &auth);
        identity_context.sign_in.unused_account_days = unused_account_days;
        tune(&mut identity_context.sign_in);
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
        authz_verifier.merge_published_keys(&jwks).unwrap();

        let created =
            TenantServiceClient::new(identity.authorized(&auth.service_token("operator")))
                .create_tenant(CreateTenantRequest {
                    name: "Acme Training".into(),
                    settings: Some(settings),
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
            auth,
            identity,
            authorization,
            authorization_verifier: authz_verifier,
            identity_url,
            _databases: vec![authz_db, identity_db],
            _files: files,
            _redis: redis,
        }
    }

    /// Another identity replica on the same database, delivering to the same authorization.
    pub async fn identity_replica(&self) -> TestService {
        self.identity_replica_with(|_| {}).await
    }

    /// Another identity replica on the same database, with its context changed by `tune`.
    pub async fn identity_replica_with(
        &self,
        tune: impl FnOnce(&mut lms_runtime::ServiceContext),
    ) -> TestService {
        let mut context =
            service_context(ServiceName::Identity, &self.identity_url, None, &self.auth);
        tune(&mut context);
        context.set_endpoint(
            ServiceName::Authorization,
            format!("http://{}", self.authorization.addr()),
        );
        TestService::start(lms_identity::build(context).await.unwrap()).await
    }

    /// This test's Redis, as the services see it: its URL and key prefix.
    pub fn redis_url(&self) -> lms_runtime::SecretString {
        lms_runtime::SecretString::new(self._redis.url())
    }

    /// The key prefix the services use in Redis.
    pub fn redis_prefix(&self) -> &str {
        self._redis.prefix()
    }

    /// The database of authorization (tests read what it applied).
    pub fn authorization_url(&self) -> &str {
        self._databases[0].url()
    }

    pub fn authn(&self) -> AuthenticationServiceClient<Channel> {
        AuthenticationServiceClient::new(self.identity.channel())
    }

    pub fn authn_as(&self, token: &str) -> AuthenticationServiceClient<Authed> {
        AuthenticationServiceClient::new(self.identity.authorized(token))
    }

    /// Identity's own service token for the test tenant (what its outbox relay uses).
    pub fn identity_service_token(&self) -> String {
        self.auth.tenant_service_token("identity", self.tenant)
    }

    /// A platform operator's token (a service token naming no tenant).
    pub fn operator_token(&self) -> String {
        self.auth.service_token("operator")
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

    /// Enrols the token's user in TOTP (confirmed with the current step) and answers the base32
    /// secret.
    pub async fn enrol_totp(&self, token: &str) -> String {
        let secret = self
            .authn_as(token)
            .begin_totp_enrolment(BeginTotpEnrolmentRequest {})
            .await
            .unwrap()
            .into_inner()
            .secret;
        self.authn_as(token)
            .confirm_totp_enrolment(ConfirmTotpEnrolmentRequest {
                code: lms_identity::mfa::code_for_base32(&secret, now()).unwrap(),
            })
            .await
            .unwrap();
        secret
    }

    /// Signs `email` in with their password and then a TOTP code of `secret` (the next step's,
    /// so the code that confirmed the enrolment is not replayed): the access token.
    pub async fn sign_in_with_second_factor(
        &self,
        email: &str,
        password: &str,
        secret: &str,
    ) -> String {
        let outcome = self
            .authn()
            .sign_in(SignInRequest {
                tenant_id: self.tenant.to_string(),
                email: email.into(),
                password: password.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .outcome;
        let Some(sign_in_response::Outcome::MfaChallenge(challenge)) = outcome else {
            panic!("expected a second factor to be asked, got {outcome:?}");
        };
        self.authn()
            .verify_mfa(VerifyMfaRequest {
                mfa_challenge: challenge,
                code: lms_identity::mfa::code_for_base32(secret, now() + 30).unwrap(),
            })
            .await
            .unwrap()
            .into_inner()
            .tokens
            .unwrap()
            .access_token
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

    pub fn groups(&self, token: &str) -> GroupServiceClient<Authed> {
        GroupServiceClient::new(self.identity.authorized(token))
    }

    pub fn approvals(&self, token: &str) -> ApprovalServiceClient<Authed> {
        ApprovalServiceClient::new(self.identity.authorized(token))
    }

    pub fn roles(&self, token: &str) -> RoleAssignmentServiceClient<Authed> {
        RoleAssignmentServiceClient::new(self.authorization.authorized(token))
    }

    pub fn units(&self, token: &str) -> UnitServiceClient<Authed> {
        UnitServiceClient::new(self.identity.authorized(token))
    }

    /// Creates an active user with a password, employed at `unit` (the Guest account when
    /// empty), and answers their id.
    pub async fn create_user(&self, admin: &str, email: &str, unit: &str) -> String {
        self.users(admin)
            .create_user(CreateUserRequest {
                user: Some(NewUser {
                    email: email.into(),
                    given_name: "Test".into(),
                    family_name: "Person".into(),
                    password: USER_PASSWORD.into(),
                    main_unit_id: unit.into(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap()
            .into_inner()
            .user
            .unwrap()
            .user_id
    }

    /// A new user (password `USER_PASSWORD`) holding the built-in role `template` at the tenant,
    /// signed in: (id, access token).
    pub async fn holder(&self, admin: &str, email: &str, template: &str) -> (String, String) {
        let id = self.create_user(admin, email, "").await;
        self.assign(admin, &id, template, "").await;
        let token = self
            .sign_in(email, USER_PASSWORD)
            .await
            .unwrap()
            .access_token;
        (id, token)
    }

    /// Assigns a built-in role (by template key) at `unit` (the tenant when empty).
    pub async fn assign(&self, admin: &str, user: &str, template: &str, unit: &str) {
        RoleAssignmentServiceClient::new(self.authorization.authorized(admin))
            .assign_role(AssignRoleRequest {
                user_id: user.into(),
                role_id: format!("builtin:{template}"),
                unit_id: unit.into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }

    /// Assigns a built-in role as a trusted service of the tenant (roles no person in the
    /// tenant may hand out, such as Master Administrator).
    pub async fn assign_as_service(&self, user: &str, template: &str) {
        let token = self.auth.tenant_service_token("provisioning", self.tenant);
        RoleAssignmentServiceClient::new(self.authorization.authorized(&token))
            .assign_role(AssignRoleRequest {
                user_id: user.into(),
                role_id: format!("builtin:{template}"),
                ..Default::default()
            })
            .await
            .unwrap();
    }

    /// Creates another tenant, with its own Access Coordinator; answers (tenant, coordinator).
    pub async fn another_tenant(&self, name: &str, email: &str) -> (String, String) {
        let created = TenantServiceClient::new(self.identity.authorized(&self.operator_token()))
            .create_tenant(CreateTenantRequest {
                name: name.into(),
                settings: Some(TenantSettings::default()),
                access_coordinator: Some(NewUser {
                    email: email.into(),
                    given_name: "Other".into(),
                    family_name: "Coordinator".into(),
                    password: USER_PASSWORD.into(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap()
            .into_inner();
        (
            created.tenant.unwrap().tenant_id,
            created.access_coordinator.unwrap().user_id,
        )
    }

    /// The tenant's administrator switches client tenants on.
    pub async fn enable_clients(&self, admin: &str) {
        self.tenants(admin)
            .update_tenant_settings(UpdateTenantSettingsRequest {
                settings: Some(TenantSettings {
                    clients_enabled: true,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["clients_enabled".into()],
                }),
            })
            .await
            .unwrap();
    }

    /// A user as identity shows them.
    pub async fn user(&self, token: &str, id: &str) -> User {
        self.users(token)
            .get_user(GetUserRequest { user_id: id.into() })
            .await
            .unwrap()
            .into_inner()
            .user
            .unwrap()
    }

    /// The role ids a user holds now.
    pub async fn roles_of(&self, token: &str, user: &str) -> Vec<String> {
        self.try_roles_of(token, user).await.unwrap()
    }

    /// The role ids a user holds now, or why they cannot be read (for example the user's
    /// facts have not reached authorization yet: `RESOURCE_UNKNOWN`).
    pub async fn try_roles_of(
        &self,
        token: &str,
        user: &str,
    ) -> Result<Vec<String>, tonic::Status> {
        Ok(self
            .roles(token)
            .list_user_roles(ListUserRolesRequest {
                user_id: user.into(),
                include_inactive: false,
            })
            .await?
            .into_inner()
            .assignments
            .into_iter()
            .map(|a| a.role_id)
            .collect())
    }

    /// Whether `token`'s user may do `permission` on `resource`, at least as fresh as `at`.
    pub async fn allowed(
        &self,
        token: &str,
        permission: &str,
        resource: ObjectReference,
        at: Option<ConsistencyToken>,
    ) -> bool {
        let requirement = match at {
            Some(at) => Requirement::AtLeastAsFresh(at),
            None => Requirement::FullyConsistent(true),
        };
        let checked = self
            .decisions(token)
            .check(CheckRequest {
                permission: permission.into(),
                resource: Some(resource),
                consistency: Some(Consistency {
                    requirement: Some(requirement),
                }),
                subject_id: String::new(),
            })
            .await;
        match checked {
            Ok(response) => response.into_inner().decision() == Decision::Allowed,
            // A token whose session ended (suspension, anonymisation) allows nothing.
            Err(status) if reason(&status) == "TOKEN_REVOKED" => false,
            Err(status) => panic!("check failed: {status:?}"),
        }
    }
}

/// The `ErrorInfo.reason` of a status.
/// Seconds since the Unix epoch (TOTP steps are counted from it).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

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

/// A reference to an object of the test's tenant.
pub fn object(kind: ObjectType, id: &str) -> ObjectReference {
    ObjectReference {
        r#type: kind as i32,
        id: id.into(),
        tenant_id: String::new(),
    }
}

/// Retries `probe` until it is refused with `TOKEN_REVOKED`, for at most a second.
pub async fn refused_within_a_second<F, Fut>(mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), tonic::Status>>,
{
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        match probe().await {
            Err(status) if reason(&status) == "TOKEN_REVOKED" => return,
            other if Instant::now() > deadline => panic!("still {other:?} after a second"),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Imports `file` as `token`'s caller: of `kind`, with (`skip_bad_rows`, `people_data_feed`)
/// `options`; answers every progress message (the last says done).
pub async fn import(
    platform: &Platform,
    token: &str,
    kind: ImportKind,
    options: (bool, bool),
    file: &str,
) -> Result<Vec<ImportCsvResponse>, tonic::Status> {
    let mut messages = vec![ImportCsvRequest {
        part: Some(import_csv_request::Part::Options(ImportOptions {
            kind: kind as i32,
            skip_bad_rows: options.0,
            people_data_feed: options.1,
        })),
    }];
    // Small chunks, so rows straddle chunk boundaries.
    messages.extend(file.as_bytes().chunks(7).map(|chunk| ImportCsvRequest {
        part: Some(import_csv_request::Part::Chunk(chunk.to_vec())),
    }));
    let mut stream = ImportServiceClient::new(platform.identity.authorized(token))
        .import_csv(tokio_stream::iter(messages))
        .await?
        .into_inner();
    let mut progress = Vec::new();
    while let Some(message) = stream.message().await? {
        progress.push(message);
    }
    assert!(
        progress.last().is_some_and(|m| m.done),
        "the last message says done"
    );
    Ok(progress)
}

/// How many people `admin` lists in the tenant.
pub async fn people(platform: &Platform, admin: &str) -> usize {
    platform
        .users(admin)
        .list_users(ListUsersRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .users
        .len()
}

/// Waits (at most ten seconds) until the relay delivered what the import committed.
pub async fn eventually_roles(platform: &Platform, admin: &str, user: &str, manager: bool) {
    for _ in 0..100 {
        // Until the imported person's facts arrive, authorization does not know them.
        let roles = match platform.try_roles_of(admin, user).await {
            Ok(roles) => roles,
            Err(status) if reason(&status) == "RESOURCE_UNKNOWN" => Vec::new(),
            Err(status) => panic!("{status:?}"),
        };
        if roles.contains(&"builtin:manager".to_owned()) == manager {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the feed's role for {user} never reached authorization (manager: {manager})");
}

/// Creates an account as `token`'s caller: for `tenant_id` (empty: the caller's own, or the
/// platform for an operator).
pub async fn create_account(
    platform: &Platform,
    token: &str,
    name: &str,
    scopes: &[&str],
    tenant_id: &str,
) -> Result<CreateServiceAccountResponse, tonic::Status> {
    platform
        .authn_as(token)
        .create_service_account(CreateServiceAccountRequest {
            name: name.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            tenant_id: tenant_id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Trades an account's id and secret for a token.
pub async fn issue_token(
    platform: &Platform,
    created: &CreateServiceAccountResponse,
) -> Result<String, tonic::Status> {
    platform
        .authn()
        .issue_service_token(IssueServiceTokenRequest {
            service_account_id: created.service_account_id.clone(),
            client_secret: created.client_secret.clone(),
            tenant_id: String::new(),
        })
        .await
        .map(|r| r.into_inner().access_token)
}
