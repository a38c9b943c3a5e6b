//! A tenant on a running identity, authorization and delegation, with people who hold the
//! roles the scenarios need, each signed in through identity.

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::{AssignRoleRequest, CheckRequest, Decision};
use lms_api::common::v1::{Consistency, ConsistencyToken, ObjectReference, consistency};
use lms_api::delegation::v1::catalogue_service_client::CatalogueServiceClient;
use lms_api::delegation::v1::competency_service_client::CompetencyServiceClient;
use lms_api::delegation::v1::content_grant_service_client::ContentGrantServiceClient;
use lms_api::delegation::v1::course_service_client::CourseServiceClient;
use lms_api::delegation::v1::enrolment_service_client::EnrolmentServiceClient;
use lms_api::delegation::v1::event_service_client::EventServiceClient;
use lms_api::delegation::v1::lesson_service_client::LessonServiceClient;
use lms_api::delegation::v1::notification_service_client::NotificationServiceClient;
use lms_api::delegation::v1::purchase_service_client::PurchaseServiceClient;
use lms_api::delegation::v1::responsibility_service_client::ResponsibilityServiceClient;
use lms_api::delegation::v1::{CreateCatalogueRequest, DeployCatalogueRequest};
use lms_api::identity::v1::approval_service_client::ApprovalServiceClient;
use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::group_service_client::GroupServiceClient;
use lms_api::identity::v1::tenant_service_client::TenantServiceClient;
use lms_api::identity::v1::unit_service_client::UnitServiceClient;
use lms_api::identity::v1::user_service_client::UserServiceClient;
use lms_api::identity::v1::{
    AcceptClientLinkRequest, AccountKind, AddGroupMembersRequest,
    AppointMasterAdministratorRequest, ApproveAccountRequest, CreateGroupRequest,
    CreateServiceAccountRequest, CreateTenantRequest, CreateUnitRequest, CreateUserRequest,
    IssueServiceTokenRequest, LinkClientTenantRequest, NewUser, SetGroupManagerRequest,
    SetPrimaryGroupRequest, SignInRequest, TenantSettings, UnitKind, sign_in_response,
};
use lms_runtime::config::ServiceAccountConfig;
use lms_runtime::{SecretString, ServiceName};
use lms_testkit::{TestAuth, TestDatabase, TestRedis, TestService, postgres_database, redis};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub const PASSWORD: &str = "a long enough password";

/// The key delegation derives the tenants' shop webhook secrets from.
const SHOP_WEBHOOK_KEY: &str = "an e2e shop webhook key of at least 32 characters";

type Authed = InterceptedService<Channel, lms_runtime::client::CallCredentials>;

/// The three services and one tenant with locations on.
pub struct Platform {
    pub identity: TestService,
    pub authorization: TestService,
    pub delegation: TestService,
    /// Reporting, when started [`Platform::with_reporting`].
    pub reporting: Option<TestService>,
    /// A platform operator's token.
    operator: String,
    pub tenant: String,
    /// The tenant's first administrator (LMS Administrator and Access Coordinator).
    pub admin: String,
    /// The administrator's user id.
    pub admin_id: String,
    /// A location of the tenant.
    pub location: String,
    /// How to start another delegation replica beside the first.
    replica: Replica,
    _databases: [TestDatabase; 4],
    _redis: TestRedis,
}

/// A master tenant and its client, each with its first administrator's token.
pub struct Linked {
    pub master: String,
    /// The master's founder: LMS Administrator and Master Administrator.
    pub master_admin: String,
    pub client: String,
    /// The client's founder: its LMS Administrator.
    pub client_admin: String,
}

/// What a delegation replica is started from: the same database, account and peers.
struct Replica {
    auth: TestAuth,
    database_url: String,
    account: ServiceAccountConfig,
    identity_url: String,
    authorization_url: String,
    /// Whether it publishes its events to Redis, for reporting.
    publishes: bool,
}

/// Reporting on `database_url`, reading the streams of `redis`, asking the replica's peers.
async fn start_reporting(replica: &Replica, database_url: &str, redis: &TestRedis) -> TestService {
    let mut context = lms_testkit::service_context(
        ServiceName::Reporting,
        database_url,
        Some(redis),
        &replica.auth,
    );
    context.auth.fetch_identity_keys = true;
    context.set_endpoint(ServiceName::Identity, replica.identity_url.clone());
    context.set_endpoint(
        ServiceName::Authorization,
        replica.authorization_url.clone(),
    );
    TestService::start(lms_platform::build_service(context).await.unwrap()).await
}

impl Replica {
    async fn start(&self, redis: &TestRedis) -> TestService {
        let mut context = lms_testkit::service_context(
            ServiceName::Delegation,
            &self.database_url,
            self.publishes.then_some(redis),
            &self.auth,
        );
        context.service.service_account = Some(self.account.clone());
        context.service.shop_webhook_key = Some(SecretString::new(SHOP_WEBHOOK_KEY));
        context.auth.fetch_identity_keys = true;
        context.set_endpoint(ServiceName::Identity, self.identity_url.clone());
        context.set_endpoint(ServiceName::Authorization, self.authorization_url.clone());
        TestService::start(lms_platform::build_service(context).await.unwrap()).await
    }
}

impl Platform {
    pub async fn start() -> Self {
        // Three services' boot futures together are large; boxed, each test's stays small.
        Box::pin(Self::boot(false)).await
    }

    /// The platform with reporting as well: identity and delegation publish their events to
    /// Redis, and reporting projects them.
    pub async fn with_reporting() -> Self {
        Box::pin(Self::boot(true)).await
    }

    async fn boot(reporting: bool) -> Self {
        lms_testkit::trace_init();
        let auth = TestAuth::new();
        let redis = redis().await;
        let databases = [
            postgres_database().await,
            postgres_database().await,
            postgres_database().await,
            postgres_database().await,
        ];
        let publishing = reporting.then_some(&redis);
        let authorization_listener = lms_testkit::local_listener();
        let authorization_addr = authorization_listener.local_addr().unwrap();
        let mut identity_context = lms_testkit::service_context(
            ServiceName::Identity,
            databases[0].url(),
            publishing,
            &auth,
        );
        identity_context.set_endpoint(
            ServiceName::Authorization,
            format!("http://{authorization_addr}"),
        );
        let identity =
            TestService::start(lms_platform::build_service(identity_context).await.unwrap()).await;
        let identity_url = format!("http://{}", identity.addr());

        let mut context = lms_testkit::service_context(
            ServiceName::Authorization,
            databases[1].url(),
            Some(&redis),
            &auth,
        );
        context.listen_on(authorization_listener).unwrap();
        context.auth.fetch_identity_keys = true;
        context.set_endpoint(ServiceName::Identity, identity_url.clone());
        let authorization =
            TestService::start(lms_platform::build_service(context).await.unwrap()).await;

        // Delegation's own platform account, made by an operator as a deployment would.
        let operator = auth.service_token("operator");
        let account = AuthenticationServiceClient::new(identity.authorized(&operator))
            .create_service_account(CreateServiceAccountRequest {
                name: "delegation".into(),
                scopes: vec![
                    "authorization.facts.courses".into(),
                    "authorization.roles.shop".into(),
                    "identity.people.lookup".into(),
                ],
                tenant_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let replica = Replica {
            auth,
            database_url: databases[2].url().to_owned(),
            account: ServiceAccountConfig {
                id: account.service_account_id,
                secret: SecretString::new(account.client_secret),
            },
            identity_url,
            authorization_url: format!("http://{authorization_addr}"),
            publishes: reporting,
        };
        let delegation = replica.start(&redis).await;
        let reporting = match reporting {
            true => Some(start_reporting(&replica, databases[3].url(), &redis).await),
            false => None,
        };

        let settings = TenantSettings {
            locations_enabled: true,
            ..Default::default()
        };
        let (tenant, admin_id, admin) = create_tenant(
            &identity,
            &operator,
            "Delegation Academy",
            "admin@academy.example",
            settings,
        )
        .await;
        let location = UnitServiceClient::new(identity.authorized(&admin))
            .create_unit(CreateUnitRequest {
                kind: UnitKind::Location as i32,
                name: "North".into(),
                parent_unit_id: String::new(),
                external_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .unit
            .unwrap()
            .unit_id;
        Self {
            identity,
            authorization,
            delegation,
            reporting,
            operator,
            tenant,
            admin,
            admin_id,
            location,
            replica,
            _databases: databases,
            _redis: redis,
        }
    }

    /// Another tenant on the same services, made by the operator: its id and its first
    /// administrator's token.
    pub async fn another_tenant(&self, name: &str, admin_email: &str) -> (String, String) {
        let (tenant, _, admin) = create_tenant(
            &self.identity,
            &self.operator,
            name,
            admin_email,
            TenantSettings::default(),
        )
        .await;
        (tenant, admin)
    }

    /// A master tenant (clients enabled, its founder appointed Master Administrator by the
    /// operator) and a client tenant that accepted its link.
    pub async fn master_and_client(&self) -> Linked {
        let settings = TenantSettings {
            clients_enabled: true,
            ..Default::default()
        };
        let (master, master_admin_id, master_admin) = create_tenant(
            &self.identity,
            &self.operator,
            "Demo Group",
            "master@group.example",
            settings,
        )
        .await;
        let (client, client_admin) = self
            .another_tenant("Demo Client", "admin@client.example")
            .await;
        TenantServiceClient::new(self.identity.authorized(&self.operator))
            .appoint_master_administrator(AppointMasterAdministratorRequest {
                tenant_id: master.clone(),
                user_id: master_admin_id,
            })
            .await
            .unwrap();
        TenantServiceClient::new(self.identity.authorized(&master_admin))
            .link_client_tenant(LinkClientTenantRequest {
                client_tenant_id: client.clone(),
            })
            .await
            .unwrap();
        TenantServiceClient::new(self.identity.authorized(&client_admin))
            .accept_client_link(AcceptClientLinkRequest {
                master_tenant_id: master.clone(),
            })
            .await
            .unwrap();
        Linked {
            master,
            master_admin,
            client,
            client_admin,
        }
    }

    pub fn grants(&self, token: &str) -> ContentGrantServiceClient<Authed> {
        ContentGrantServiceClient::new(self.delegation.authorized(token))
    }

    /// A new person holding `role` (at `unit` when given), signed in: their id and token.
    pub async fn person(
        &self,
        email: &str,
        role: Option<&str>,
        unit: Option<&str>,
    ) -> (String, String) {
        self.person_in(&self.tenant, &self.admin, email, role, unit)
            .await
    }

    /// A new person of `tenant`, made by its administrator `admin`, holding `role` (at `unit`
    /// when given), signed in: their id and token.
    pub async fn person_in(
        &self,
        tenant: &str,
        admin: &str,
        email: &str,
        role: Option<&str>,
        unit: Option<&str>,
    ) -> (String, String) {
        let mut user = new_user(email);
        user.main_unit_id = unit.unwrap_or_default().into();
        let id = UserServiceClient::new(self.identity.authorized(admin))
            .create_user(CreateUserRequest { user: Some(user) })
            .await
            .unwrap()
            .into_inner()
            .user
            .unwrap()
            .user_id;
        if let Some(role) = role {
            RoleAssignmentServiceClient::new(self.authorization.authorized(admin))
                .assign_role(AssignRoleRequest {
                    user_id: id.clone(),
                    role_id: role.into(),
                    unit_id: unit.unwrap_or_default().into(),
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        let token = sign_in(&self.identity, tenant, email).await;
        (id, token)
    }

    /// Stops reporting (its pending work stays in Redis and its store).
    pub async fn stop_reporting(&mut self) {
        if let Some(reporting) = self.reporting.take() {
            reporting.stop().await.unwrap();
        }
    }

    /// Starts reporting again on its store, as a new pod would.
    pub async fn start_reporting(&mut self) {
        let reporting =
            start_reporting(&self.replica, self._databases[3].url(), &self._redis).await;
        self.reporting = Some(reporting);
    }

    /// Reporting's database, to look at what it projected.
    pub fn reporting_database_url(&self) -> &str {
        self._databases[3].url()
    }

    /// Waits until identity, authorization and delegation published every event they committed.
    async fn wait_published(&self) {
        for database in [
            self._databases[0].url(),
            self._databases[1].url(),
            self.delegation_database_url(),
        ] {
            let pool = sqlx::PgPool::connect(database).await.unwrap();
            let started = std::time::Instant::now();
            loop {
                let unpublished: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
                        .fetch_one(&pool)
                        .await
                        .unwrap();
                if unpublished == 0 {
                    break;
                }
                assert!(started.elapsed() < std::time::Duration::from_secs(20));
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            pool.close().await;
        }
    }

    /// Waits until reporting applied everything the owners committed so far (their
    /// outboxes published, and nothing new applied for a while).
    pub async fn settle_reporting(&self) {
        self.wait_published().await;
        let reporting = sqlx::PgPool::connect(self.reporting_database_url())
            .await
            .unwrap();
        let (mut last, mut same) = (-1_i64, 0);
        while same < 3 {
            let consumed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM consumed_events")
                .fetch_one(&reporting)
                .await
                .unwrap();
            same = if consumed == last { same + 1 } else { 0 };
            last = consumed;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        reporting.close().await;
    }

    /// Waits until identity and delegation published every event they committed, then trims
    /// their event streams to nothing, as `XTRIM` under a short `MAXLEN` does to entries a
    /// stopped reporting never read.
    pub async fn trim_streams(&self) {
        self.wait_published().await;
        let client = ::redis::Client::open(self._redis.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        for service in lms_runtime::outbox::PUBLISHERS {
            let key = format!(
                "{}{}",
                self._redis.prefix(),
                lms_runtime::outbox::stream_key(service)
            );
            ::redis::cmd("XTRIM")
                .arg(&key)
                .arg("MAXLEN")
                .arg(0)
                .query_async::<i64>(&mut connection)
                .await
                .unwrap();
        }
    }

    /// `lms reporting rebuild --tenant <tenant>`, against the owners' stores.
    pub async fn rebuild_reporting(&self, tenant: &str) -> lms_platform::rebuild::Resent {
        let mut config = lms_runtime::Config::default();
        config.service_mut(ServiceName::Identity).database_url =
            SecretString::new(self._databases[0].url());
        config.service_mut(ServiceName::Authorization).database_url =
            SecretString::new(self._databases[1].url());
        config.service_mut(ServiceName::Delegation).database_url =
            SecretString::new(self.delegation_database_url());
        config.sign_in.key_encryption_keys = Some(SecretString::new(lms_testkit::TEST_KEK));
        let tenant = lms_kernel::TenantId::from_uuid(tenant.parse().unwrap());
        // A record a transaction: every chunk's continuation is taken.
        let resent =
            lms_platform::rebuild::rebuild_reporting(&config, vec![tenant], Some(1), |_| {})
                .await
                .unwrap();
        assert_eq!(resent.len(), 1);
        resent[0]
    }

    /// Another delegation replica on the same database and peers, as a second pod would run.
    pub async fn second_delegation(&self) -> TestService {
        self.replica.start(&self._redis).await
    }

    /// Delegation's database, to look at what it committed.
    pub fn authorization_database_url(&self) -> &str {
        self._databases[1].url()
    }

    pub fn delegation_database_url(&self) -> &str {
        &self.replica.database_url
    }

    pub fn events(&self, token: &str) -> EventServiceClient<Authed> {
        EventServiceClient::new(self.delegation.authorized(token))
    }

    pub fn notifications(&self, token: &str) -> NotificationServiceClient<Authed> {
        NotificationServiceClient::new(self.delegation.authorized(token))
    }

    pub fn competencies(&self, token: &str) -> CompetencyServiceClient<Authed> {
        CompetencyServiceClient::new(self.delegation.authorized(token))
    }

    pub fn users(&self, token: &str) -> UserServiceClient<Authed> {
        UserServiceClient::new(self.identity.authorized(token))
    }

    pub fn purchases(&self, token: &str) -> PurchaseServiceClient<Authed> {
        PurchaseServiceClient::new(self.delegation.authorized(token))
    }

    /// A team: a group managed by `manager` whose members have it as their primary group.
    pub async fn team(&self, manager: &str, members: &[String]) -> String {
        let team = self.group("Team", &[]).await;
        let mut groups = self.groups(&self.admin);
        groups
            .set_group_manager(SetGroupManagerRequest {
                group_id: team.clone(),
                manager_user_id: manager.into(),
            })
            .await
            .unwrap();
        for member in members {
            groups
                .set_primary_group(SetPrimaryGroupRequest {
                    user_id: member.clone(),
                    group_id: team.clone(),
                })
                .await
                .unwrap();
        }
        team
    }

    pub fn courses(&self, token: &str) -> CourseServiceClient<Authed> {
        CourseServiceClient::new(self.delegation.authorized(token))
    }

    pub fn lessons(&self, token: &str) -> LessonServiceClient<Authed> {
        LessonServiceClient::new(self.delegation.authorized(token))
    }

    pub fn duties(&self, token: &str) -> ResponsibilityServiceClient<Authed> {
        ResponsibilityServiceClient::new(self.delegation.authorized(token))
    }

    pub fn enrolments(&self, token: &str) -> EnrolmentServiceClient<Authed> {
        EnrolmentServiceClient::new(self.delegation.authorized(token))
    }

    pub fn catalogues(&self, token: &str) -> CatalogueServiceClient<Authed> {
        CatalogueServiceClient::new(self.delegation.authorized(token))
    }

    /// Offers `course` to `learners` as an administrator would, through a new catalogue
    /// deployed to them (so they may see it and ask to join); answers the deployment's token.
    pub async fn offer(&self, course: &str, learners: &[String]) -> Option<ConsistencyToken> {
        let mut catalogues = self.catalogues(&self.admin);
        let catalogue = catalogues
            .create_catalogue(CreateCatalogueRequest {
                name: "Offered".into(),
                course_ids: vec![course.into()],
            })
            .await
            .unwrap()
            .into_inner()
            .catalogue
            .unwrap()
            .catalogue_id;
        catalogues
            .deploy_catalogue(DeployCatalogueRequest {
                catalogue_id: catalogue,
                user_ids: learners.to_vec(),
                group_ids: Vec::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .written_at
    }

    pub fn approvals(&self, token: &str) -> ApprovalServiceClient<Authed> {
        ApprovalServiceClient::new(self.identity.authorized(token))
    }

    /// A new tutor or teacher account (`kind`), made by the administrator: it waits for the
    /// Access Coordinator's approval. Its id.
    pub async fn applicant(&self, email: &str, kind: AccountKind) -> String {
        let mut user = new_user(email);
        user.account_kind = kind as i32;
        UserServiceClient::new(self.identity.authorized(&self.admin))
            .create_user(CreateUserRequest { user: Some(user) })
            .await
            .unwrap()
            .into_inner()
            .user
            .unwrap()
            .user_id
    }

    /// `user` approved by the tenant's Access Coordinator (the administrator): the approval's
    /// token.
    pub async fn approve(&self, user: &str) -> ConsistencyToken {
        self.approvals(&self.admin)
            .approve_account(ApproveAccountRequest {
                user_id: user.into(),
                at_least_as_fresh: None,
            })
            .await
            .unwrap()
            .into_inner()
            .written_at
            .expect("the approval reached authorization first")
    }

    pub fn groups(&self, token: &str) -> GroupServiceClient<Authed> {
        GroupServiceClient::new(self.identity.authorized(token))
    }

    /// A group of the tenant with `members`, made by the administrator.
    pub async fn group(&self, name: &str, members: &[String]) -> String {
        let mut groups = self.groups(&self.admin);
        let group = groups
            .create_group(CreateGroupRequest {
                name: name.into(),
                external_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .group
            .unwrap()
            .group_id;
        if !members.is_empty() {
            groups
                .add_group_members(AddGroupMembersRequest {
                    group_id: group.clone(),
                    user_ids: members.to_vec(),
                })
                .await
                .unwrap();
        }
        group
    }

    /// A token of a new service account of the tenant holding `scopes`, made by the
    /// administrator as a tenant integration would be (CreateServiceAccount, IssueServiceToken).
    pub async fn integration(&self, name: &str, scopes: &[&str]) -> String {
        self.integration_made_by(&self.admin, "", name, scopes)
            .await
    }

    /// A token of a service account a platform operator made for the tenant (held by nobody:
    /// trusted within its scopes, as a tenant's mailer or shop is deployed).
    pub async fn operator_integration(&self, name: &str, scopes: &[&str]) -> String {
        self.integration_made_by(&self.operator, &self.tenant, name, scopes)
            .await
    }

    async fn integration_made_by(
        &self,
        maker: &str,
        tenant: &str,
        name: &str,
        scopes: &[&str],
    ) -> String {
        let account = AuthenticationServiceClient::new(self.identity.authorized(maker))
            .create_service_account(CreateServiceAccountRequest {
                name: name.into(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                tenant_id: tenant.into(),
            })
            .await
            .unwrap()
            .into_inner();
        AuthenticationServiceClient::new(self.identity.channel())
            .issue_service_token(IssueServiceTokenRequest {
                service_account_id: account.service_account_id,
                client_secret: account.client_secret,
                tenant_id: tenant.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .access_token
    }

    /// Whether authorization allows `token`'s holder `permission` on `resource`, at least as
    /// fresh as `at` when given.
    pub async fn allowed(
        &self,
        token: &str,
        permission: &str,
        resource: ObjectReference,
        at: Option<ConsistencyToken>,
    ) -> bool {
        let consistency = at.map(|token| Consistency {
            requirement: Some(consistency::Requirement::AtLeastAsFresh(token)),
        });
        let answer = PermissionServiceClient::new(self.authorization.authorized(token))
            .check(CheckRequest {
                subject_id: String::new(),
                permission: permission.into(),
                resource: Some(resource),
                consistency,
            })
            .await
            .unwrap()
            .into_inner();
        answer.decision() == Decision::Allowed
    }
}

/// A tenant made by `operator` whose Access Coordinator (and LMS Administrator) is
/// `admin_email`: its id, the administrator's id and their signed-in token.
async fn create_tenant(
    identity: &TestService,
    operator: &str,
    name: &str,
    admin_email: &str,
    settings: TenantSettings,
) -> (String, String, String) {
    let created = TenantServiceClient::new(identity.authorized(operator))
        .create_tenant(CreateTenantRequest {
            name: name.into(),
            settings: Some(settings),
            access_coordinator: Some(new_user(admin_email)),
        })
        .await
        .unwrap()
        .into_inner();
    let tenant = created.tenant.unwrap().tenant_id;
    let admin_id = created.access_coordinator.unwrap().user_id;
    let admin = sign_in(identity, &tenant, admin_email).await;
    (tenant, admin_id, admin)
}

pub fn new_user(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        given_name: "Delegation".into(),
        family_name: "Person".into(),
        password: PASSWORD.into(),
        ..Default::default()
    }
}

pub async fn sign_in(identity: &TestService, tenant: &str, email: &str) -> String {
    try_sign_in(identity, tenant, email).await.unwrap()
}

/// Signs in with the password: the access token, or identity's refusal (a pending account's).
pub async fn try_sign_in(
    identity: &TestService,
    tenant: &str,
    email: &str,
) -> Result<String, tonic::Status> {
    let outcome = AuthenticationServiceClient::new(identity.channel())
        .sign_in(SignInRequest {
            tenant_id: tenant.into(),
            email: email.into(),
            password: PASSWORD.into(),
        })
        .await?
        .into_inner()
        .outcome;
    match outcome {
        Some(sign_in_response::Outcome::Tokens(tokens)) => Ok(tokens.access_token),
        other => panic!("expected tokens, got {other:?}"),
    }
}

/// The reason code of a refusal.
pub fn reason(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

/// The fields a refusal names.
pub fn fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}
