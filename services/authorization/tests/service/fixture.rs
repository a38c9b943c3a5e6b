//! A tenant in a fresh authorization service, with identity's side played by a service token.

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::relationship_service_client::RelationshipServiceClient;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::{
    AssignRoleRequest, CheckRequest, Decision, Operation, Relation, Relationship,
    RelationshipUpdate, SubjectStatus, TenantFacts, WriteRelationshipsRequest,
};
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ConsistencyToken, ObjectReference, ObjectType, UserStatus};
use lms_kernel::{TenantId, UserId};
use lms_runtime::ServiceName;
use lms_testkit::{TestAuth, TestDatabase, TestRedis, TestService};
use tonic_types::StatusExt;

pub struct Fixture {
    pub auth: TestAuth,
    pub tenant: TenantId,
    pub service: TestService,
    _database: Database,
    _redis: TestRedis,
}

/// What keeps the service's database alive: a PostgreSQL database, or a SQLite file's directory.
enum Database {
    Postgres(#[allow(dead_code)] TestDatabase),
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
}

/// Pushes a batch of `tenant`'s facts through `service` as identity would (its tenant-bound
/// service token); answers the write's token.
pub async fn push_facts(
    service: &TestService,
    auth: &TestAuth,
    tenant: TenantId,
    batch: WriteRelationshipsRequest,
) -> ConsistencyToken {
    RelationshipServiceClient::new(
        service.authorized(&auth.tenant_service_token("identity", tenant)),
    )
    .write_relationships(WriteRelationshipsRequest {
        event_id: uuid_v4(),
        ..batch
    })
    .await
    .unwrap()
    .into_inner()
    .written_at
    .unwrap()
}

/// Announces `user` of `tenant` as active through `service`, as identity does (a subject
/// with no status fact is allowed nothing).
pub async fn announce(service: &TestService, auth: &TestAuth, tenant: TenantId, user: UserId) {
    let statuses = vec![SubjectStatus {
        user_id: user.to_string(),
        status: UserStatus::Active as i32,
        restrict_bookings: false,
    }];
    let batch = WriteRelationshipsRequest {
        statuses,
        ..Default::default()
    };
    push_facts(service, auth, tenant, batch).await;
}

pub fn reference(kind: ObjectType, id: impl ToString) -> ObjectReference {
    ObjectReference {
        r#type: kind as i32,
        id: id.to_string(),
        tenant_id: String::new(),
    }
}

pub fn touch(
    resource: ObjectReference,
    relation: Relation,
    subject: ObjectReference,
) -> RelationshipUpdate {
    RelationshipUpdate {
        operation: Operation::Touch as i32,
        relationship: Some(Relationship {
            resource: Some(resource),
            relation: relation as i32,
            subject: Some(subject),
            valid_from: None,
            valid_until: None,
        }),
    }
}

pub fn delete(
    resource: ObjectReference,
    relation: Relation,
    subject: ObjectReference,
) -> RelationshipUpdate {
    RelationshipUpdate {
        operation: Operation::Delete as i32,
        ..touch(resource, relation, subject)
    }
}

/// The reason (ErrorInfo) of a refusal; empty when it gives none.
pub fn reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

pub fn user_ref(user: UserId) -> ObjectReference {
    reference(ObjectType::User, user)
}

impl Fixture {
    pub async fn start() -> Fixture {
        Self::start_on(false).await
    }

    /// The service keeping its data in a SQLite file (the embedded default).
    pub async fn start_on_sqlite() -> Fixture {
        Self::start_on(true).await
    }

    /// The service on PostgreSQL with its settings changed by `tune` (lower limits, say).
    pub async fn start_tuned(tune: impl FnOnce(&mut lms_runtime::ServiceContext)) -> Fixture {
        Self::start_with(false, tune).await
    }

    async fn start_on(sqlite: bool) -> Fixture {
        Self::start_with(sqlite, |_| {}).await
    }

    async fn start_with(
        sqlite: bool,
        tune: impl FnOnce(&mut lms_runtime::ServiceContext),
    ) -> Fixture {
        lms_testkit::trace_init();
        let auth = TestAuth::new();
        let (database, url) = if sqlite {
            let dir = tempfile::tempdir().unwrap();
            let url = lms_testkit::sqlite_url(dir.path(), "authorization");
            (Database::Sqlite(dir), url)
        } else {
            let database = lms_testkit::postgres_database().await;
            let url = database.url().to_owned();
            (Database::Postgres(database), url)
        };
        let redis = lms_testkit::redis().await;
        let mut context =
            lms_testkit::service_context(ServiceName::Authorization, &url, Some(&redis), &auth);
        tune(&mut context);
        let service = TestService::start(lms_authorization::build(context).await.unwrap()).await;
        Fixture {
            auth,
            tenant: TenantId::generate(),
            service,
            _database: database,
            _redis: redis,
        }
    }

    /// This test's Redis (URL and the services' key prefix).
    pub fn redis(&self) -> &TestRedis {
        &self._redis
    }

    /// Identity's service token for this tenant.
    pub fn identity_token(&self) -> String {
        self.auth.tenant_service_token("identity", self.tenant)
    }

    pub fn user_token(&self, user: UserId) -> String {
        self.auth.user_token(self.tenant, user)
    }

    /// Pushes facts as identity would; answers the token of the write.
    pub async fn write(
        &self,
        updates: Vec<RelationshipUpdate>,
        settings: Option<TenantFacts>,
        statuses: Vec<SubjectStatus>,
    ) -> ConsistencyToken {
        let batch = WriteRelationshipsRequest {
            updates,
            tenant_facts: settings,
            statuses,
            ..Default::default()
        };
        push_facts(&self.service, &self.auth, self.tenant, batch).await
    }

    pub async fn settings(
        &self,
        locations_enabled: bool,
        clients_enabled: bool,
    ) -> ConsistencyToken {
        self.write(
            Vec::new(),
            Some(TenantFacts {
                locations_enabled,
                clients_enabled,
                mfa_required_for_admins: false,
            }),
            Vec::new(),
        )
        .await
    }

    /// A new active user, as identity announces users.
    pub async fn user(&self) -> UserId {
        let user = UserId::generate();
        let status = SubjectStatus {
            user_id: user.to_string(),
            status: UserStatus::Active as i32,
            restrict_bookings: false,
        };
        self.write(Vec::new(), None, vec![status]).await;
        user
    }

    /// Announces a unit of the tenant, as identity does when it creates one.
    pub async fn announce_unit(&self, unit: &str) -> ConsistencyToken {
        let unit_of_tenant = touch(
            reference(ObjectType::Unit, unit),
            Relation::UnitOfTenant,
            reference(ObjectType::Tenant, self.tenant),
        );
        self.write(vec![unit_of_tenant], None, Vec::new()).await
    }

    /// Assigns a role as a trusted service (identity's bootstrap and feed path), at a unit
    /// identity announced.
    pub async fn grant(
        &self,
        user: UserId,
        role: &str,
        unit: Option<String>,
    ) -> (String, ConsistencyToken) {
        if let Some(unit) = &unit {
            self.announce_unit(unit).await;
        }
        let response =
            RoleAssignmentServiceClient::new(self.service.authorized(&self.identity_token()))
                .assign_role(AssignRoleRequest {
                    user_id: user.to_string(),
                    role_id: role.into(),
                    unit_id: unit.unwrap_or_default(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
        (
            response.assignment.unwrap().assignment_id,
            response.written_at.unwrap(),
        )
    }

    /// A user holding `role`.
    /// Makes the fixture's tenant a master with clients enabled and one client tenant (a new
    /// id), and a Master Administrator of it: answers the client and the administrator.
    pub async fn master_of_a_client(&self) -> (TenantId, UserId) {
        let client = TenantId::generate();
        self.write(
            vec![touch(
                reference(ObjectType::Tenant, self.tenant),
                Relation::Client,
                reference(ObjectType::Tenant, client),
            )],
            None,
            Vec::new(),
        )
        .await;
        self.settings(false, true).await;
        let master = self.holder("builtin:master_administrator", None).await;
        (client, master)
    }

    pub async fn holder(&self, role: &str, unit: Option<String>) -> UserId {
        let user = self.user().await;
        self.grant(user, role, unit).await;
        user
    }

    /// May `user` do `permission` on `resource`? Asked by the user, fully consistent.
    pub async fn may(&self, user: UserId, permission: &str, resource: ObjectReference) -> bool {
        let response =
            PermissionServiceClient::new(self.service.authorized(&self.user_token(user)))
                .check(CheckRequest {
                    subject_id: String::new(),
                    permission: permission.into(),
                    resource: Some(resource),
                    consistency: Some(Consistency {
                        requirement: Some(Requirement::FullyConsistent(true)),
                    }),
                })
                .await
                .unwrap()
                .into_inner();
        response.decision() == Decision::Allowed
    }
}

pub fn uuid_v4() -> String {
    uuid::Uuid::new_v4().to_string()
}
