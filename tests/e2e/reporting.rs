//! The event backbone end to end, on PostgreSQL and Redis with every service as its own Redis
//! user: a person identity creates reaches reporting's projections (record and facts) within
//! seconds, and an anonymised person stays there without name or e-mail.

use std::time::{Duration, Instant};

use lms_api::identity::v1::authentication_service_client::AuthenticationServiceClient;
use lms_api::identity::v1::tenant_service_client::TenantServiceClient;
use lms_api::identity::v1::user_service_client::UserServiceClient;
use lms_api::identity::v1::{
    AnonymiseUserRequest, CreateTenantRequest, CreateUserRequest, NewUser, SignInRequest,
    TenantSettings, sign_in_response,
};
use lms_runtime::ServiceName;
use lms_testkit::{TestAuth, TestService, postgres_database, redis, service_context};
use sqlx::PgPool;

const PASSWORD: &str = "a long enough password";

fn new_user(email: &str, given_name: &str) -> NewUser {
    NewUser {
        email: email.into(),
        given_name: given_name.into(),
        family_name: "Lovelace".into(),
        password: PASSWORD.into(),
        ..Default::default()
    }
}

/// A person's projected record: names, e-mail and status.
type Person = (String, String, String, i16);

async fn person(reporting: &PgPool, user: &str) -> Option<Person> {
    sqlx::query_as(
        "SELECT given_name, family_name, email, status FROM projected_people WHERE user_id = $1",
    )
    .bind(user)
    .fetch_optional(reporting)
    .await
    .unwrap()
}

/// Waits (at most ten seconds) until the person's projected record is `wanted`; answers how long
/// it took.
async fn until_projected(reporting: &PgPool, user: &str, wanted: &Person) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if person(reporting, user).await.as_ref() == Some(wanted) {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "{user} projected as {:?}, not {wanted:?}, after ten seconds",
        person(reporting, user).await
    );
}

#[tokio::test]
async fn people_identity_changes_reach_reporting_and_the_anonymised_lose_their_name() {
    lms_testkit::trace_init();
    let auth = TestAuth::new();
    let redis = redis().await;
    let (identity_db, authorization_db, reporting_db) = (
        postgres_database().await,
        postgres_database().await,
        postgres_database().await,
    );
    let authorization_listener = lms_testkit::local_listener();
    let authorization_addr = authorization_listener.local_addr().unwrap();
    let mut context = service_context(
        ServiceName::Identity,
        identity_db.url(),
        Some(&redis),
        &auth,
    );
    context.set_endpoint(
        ServiceName::Authorization,
        format!("http://{authorization_addr}"),
    );
    let identity = TestService::start(lms_platform::build_service(context).await.unwrap()).await;
    let mut context = service_context(
        ServiceName::Authorization,
        authorization_db.url(),
        Some(&redis),
        &auth,
    );
    context.listen_on(authorization_listener).unwrap();
    context.auth.fetch_identity_keys = true;
    context.set_endpoint(ServiceName::Identity, format!("http://{}", identity.addr()));
    let _authorization =
        TestService::start(lms_platform::build_service(context).await.unwrap()).await;
    let context = service_context(
        ServiceName::Reporting,
        reporting_db.url(),
        Some(&redis),
        &auth,
    );
    let _reporting = TestService::start(lms_platform::build_service(context).await.unwrap()).await;
    let reporting = PgPool::connect(reporting_db.url()).await.unwrap();

    let tenant = TenantServiceClient::new(identity.authorized(&auth.service_token("operator")))
        .create_tenant(CreateTenantRequest {
            name: "Backbone Academy".into(),
            settings: Some(TenantSettings::default()),
            access_coordinator: Some(new_user("ac@backbone.example", "Grace")),
        })
        .await
        .unwrap()
        .into_inner()
        .tenant
        .unwrap()
        .tenant_id;
    let outcome = AuthenticationServiceClient::new(identity.channel())
        .sign_in(SignInRequest {
            tenant_id: tenant.clone(),
            email: "ac@backbone.example".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .outcome;
    let Some(sign_in_response::Outcome::Tokens(tokens)) = outcome else {
        panic!("signed in: {outcome:?}")
    };
    let mut users = UserServiceClient::new(identity.authorized(&tokens.access_token));
    let learner = users
        .create_user(CreateUserRequest {
            user: Some(new_user("ada@backbone.example", "Ada")),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
        .user_id;

    let active = (
        "Ada".to_owned(),
        "Lovelace".to_owned(),
        "ada@backbone.example".to_owned(),
        2,
    );
    let took = until_projected(&reporting, &learner, &active).await;
    tracing::info!(?took, "a new person reached reporting");
    // The facts identity wrote for authorization came along: the person's place in a unit.
    let facts: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM projected_facts WHERE subject_id = $1 AND present",
    )
    .bind(&learner)
    .fetch_one(&reporting)
    .await
    .unwrap();
    assert!(facts > 0, "the learner's facts are projected too");

    users
        .anonymise_user(AnonymiseUserRequest {
            user_id: learner.clone(),
        })
        .await
        .unwrap();
    let anonymised = (String::new(), String::new(), String::new(), 4);
    until_projected(&reporting, &learner, &anonymised).await;
    let consumed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM consumed_events")
        .fetch_one(&reporting)
        .await
        .unwrap();
    let distinct: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT event_id) FROM consumed_events")
        .fetch_one(&reporting)
        .await
        .unwrap();
    assert_eq!(consumed, distinct);
}
