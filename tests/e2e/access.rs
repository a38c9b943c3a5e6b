//! People sign in with identity and their tokens work at authorization, which learns identity's
//! keys by fetching its JWKS; an access change made through identity takes effect at once for
//! a decision that carries the change's consistency token.

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::{AssignRoleRequest, CheckRequest, Decision};
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ConsistencyToken, ObjectReference, ObjectType};
use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::group_service_client::GroupServiceClient;
use lms_api::identity::v1::tenant_service_client::TenantServiceClient;
use lms_api::identity::v1::user_service_client::UserServiceClient;
use lms_api::identity::v1::{
    CreateGroupRequest, CreateTenantRequest, CreateUserRequest, NewUser, SetGroupManagerRequest,
    SetPrimaryGroupRequest, SignInRequest, SuspendUserRequest, TenantSettings, sign_in_response,
};
use lms_runtime::ServiceName;
use lms_testkit::{TestAuth, TestService, postgres_database, redis, service_context};
use tonic_types::StatusExt;

const PASSWORD: &str = "a long enough password";

async fn sign_in(identity: &TestService, tenant: &str, email: &str) -> String {
    let outcome = AuthenticationServiceClient::new(identity.channel())
        .sign_in(SignInRequest {
            tenant_id: tenant.into(),
            email: email.into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .outcome;
    match outcome {
        Some(sign_in_response::Outcome::Tokens(tokens)) => tokens.access_token,
        other => panic!("expected tokens, got {other:?}"),
    }
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        given_name: "E2E".into(),
        family_name: "Person".into(),
        password: PASSWORD.into(),
        ..Default::default()
    }
}

/// May `token`'s user read `user`'s profile, seen at least as fresh as `at`?
async fn may_read(
    authorization: &TestService,
    token: &str,
    user: &str,
    at: Option<ConsistencyToken>,
) -> bool {
    let checked = PermissionServiceClient::new(authorization.authorized(token))
        .check(CheckRequest {
            permission: "users.read".into(),
            resource: Some(ObjectReference {
                r#type: ObjectType::User as i32,
                id: user.into(),
                tenant_id: String::new(),
            }),
            consistency: at.map(|at| Consistency {
                requirement: Some(Requirement::AtLeastAsFresh(at)),
            }),
            subject_id: String::new(),
        })
        .await;
    match checked {
        Ok(answer) => answer.into_inner().decision() == Decision::Allowed,
        // A token whose session ended (the suspension below) allows nothing; the revocation
        // reaches authorization within half a second, so either answer may come first.
        Err(status)
            if status.get_details_error_info().map(|i| i.reason)
                == Some("TOKEN_REVOKED".into()) =>
        {
            false
        }
        Err(status) => panic!("check failed: {status:?}"),
    }
}

#[tokio::test]
async fn a_signed_in_manager_gains_and_loses_access_with_each_change_s_token() {
    lms_testkit::trace_init();
    let auth = TestAuth::new();
    let redis = redis().await;
    let (identity_db, authorization_db) = (postgres_database().await, postgres_database().await);

    // Identity calls authorization, and authorization fetches identity's keys: authorization's
    // port is chosen first so both know where the other is.
    let authorization_listener = lms_testkit::local_listener();
    let authorization_addr = authorization_listener.local_addr().unwrap();
    let mut identity_context =
        service_context(ServiceName::Identity, identity_db.url(), None, &auth);
    identity_context.set_endpoint(
        ServiceName::Authorization,
        format!("http://{authorization_addr}"),
    );
    let identity =
        TestService::start(lms_platform::build_service(identity_context).await.unwrap()).await;
    let mut authorization_context = service_context(
        ServiceName::Authorization,
        authorization_db.url(),
        Some(&redis),
        &auth,
    );
    authorization_context
        .listen_on(authorization_listener)
        .unwrap();
    authorization_context.auth.fetch_identity_keys = true;
    authorization_context
        .set_endpoint(ServiceName::Identity, format!("http://{}", identity.addr()));
    let authorization = TestService::start(
        lms_platform::build_service(authorization_context)
            .await
            .unwrap(),
    )
    .await;

    let created = TenantServiceClient::new(identity.authorized(&auth.service_token("operator")))
        .create_tenant(CreateTenantRequest {
            name: "E2E Academy".into(),
            settings: Some(TenantSettings::default()),
            access_coordinator: Some(new_user("ac@e2e.example")),
        })
        .await
        .unwrap()
        .into_inner();
    let tenant = created.tenant.unwrap().tenant_id;
    let admin = sign_in(&identity, &tenant, "ac@e2e.example").await;

    let users = UserServiceClient::new(identity.authorized(&admin));
    let create = |email: &'static str| {
        let mut users = users.clone();
        async move {
            users
                .create_user(CreateUserRequest {
                    user: Some(new_user(email)),
                })
                .await
                .unwrap()
                .into_inner()
                .user
                .unwrap()
                .user_id
        }
    };
    let manager = create("mgr@e2e.example").await;
    let member = create("member@e2e.example").await;
    let manager_token = sign_in(&identity, &tenant, "mgr@e2e.example").await;

    // Identity's token is accepted by authorization, which fetched identity's JWKS itself.
    assert!(!may_read(&authorization, &manager_token, &member, None).await);

    RoleAssignmentServiceClient::new(authorization.authorized(&admin))
        .assign_role(AssignRoleRequest {
            user_id: manager.clone(),
            role_id: "builtin:manager".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut groups = GroupServiceClient::new(identity.authorized(&admin));
    let team = groups
        .create_group(CreateGroupRequest {
            name: "Team".into(),
            external_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap()
        .group_id;
    groups
        .set_group_manager(SetGroupManagerRequest {
            group_id: team.clone(),
            manager_user_id: manager.clone(),
        })
        .await
        .unwrap();
    let joined = groups
        .set_primary_group(SetPrimaryGroupRequest {
            user_id: member.clone(),
            group_id: team,
        })
        .await
        .unwrap()
        .into_inner()
        .written_at;
    assert!(joined.is_some(), "identity answers authorization's token");
    assert!(
        may_read(&authorization, &manager_token, &member, joined).await,
        "with the change's token the manager sees the new team member"
    );

    let suspended = UserServiceClient::new(identity.authorized(&admin))
        .suspend_user(SuspendUserRequest {
            user_id: manager,
            reason: "e2e".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .written_at;
    assert!(
        !may_read(&authorization, &manager_token, &member, suspended).await,
        "a suspension takes effect for the still-valid token at once"
    );

    authorization.stop().await.unwrap();
    identity.stop().await.unwrap();
}
