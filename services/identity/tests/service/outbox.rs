//! The write path: identity's changes reach authorization in commit order, across replicas;
//! an event authorization refuses is set aside without holding up the tenant; on SQLite,
//! concurrent writers queue instead of failing.

use std::time::Duration;

use lms_api::authorization::v1::AssignRoleRequest;
use lms_api::common::v1::ObjectType;
use lms_api::identity::v1::user_service_client::UserServiceClient;
use lms_api::identity::v1::{RefreshTokenRequest, UpdateUserRequest, User};
use lms_runtime::Database;
use lms_runtime::outbox::{self, OutboxStore};
use prost_types::FieldMask;
use sqlx::postgres::PgPool;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::fixture::{ADMIN_EMAIL, ADMIN_PASSWORD, Platform, USER_PASSWORD, object};

fn restrict_bookings(user: &str, restricted: bool) -> UpdateUserRequest {
    UpdateUserRequest {
        user_id: user.into(),
        user: Some(User {
            restrict_bookings: restricted,
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["restrict_bookings".into()],
        }),
    }
}

/// Waits until the tenant's outbox holds nothing undelivered.
async fn drained(identity: &PgPool, tenant: Uuid) {
    for _ in 0..200 {
        let pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE tenant_id = $1 AND delivered_at IS NULL",
        )
        .bind(tenant)
        .fetch_one(identity)
        .await
        .unwrap();
        if pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the outbox was not delivered within ten seconds");
}

#[tokio::test]
async fn two_replicas_deliver_one_tenants_thousand_changes_in_commit_order() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let mut people = Vec::new();
    for writer in 0..8 {
        let email = format!("toggled{writer}@example.org");
        people.push(platform.create_user(&admin, &email, "").await);
    }
    let replica = platform.identity_replica().await;
    let replicas = [platform.identity.channel(), replica.channel()];

    // 8 writers, alternating replicas, 125 changes each (every one flips its person's booking
    // restriction, so every one is an event): 1,000 commits racing for one tenant.
    let mut writers = JoinSet::new();
    for writer in 0..8 {
        let channel = replicas[writer % 2].clone();
        let (admin, user) = (admin.clone(), people[writer].clone());
        writers.spawn(async move {
            let credentials = lms_runtime::client::CallCredentials::bearer(&admin).unwrap();
            let mut users = UserServiceClient::with_interceptor(channel, credentials);
            for change in 0..125 {
                users
                    .update_user(restrict_bookings(&user, change % 2 == 0))
                    .await
                    .expect("every change is accepted");
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }

    let identity = PgPool::connect(&platform.identity_url).await.unwrap();
    let tenant = platform.tenant.as_uuid();
    drained(&identity, tenant).await;
    let committed: Vec<Uuid> =
        sqlx::query_scalar("SELECT event_id FROM outbox WHERE tenant_id = $1 ORDER BY sequence")
            .bind(tenant)
            .fetch_all(&identity)
            .await
            .unwrap();
    assert!(committed.len() > 1_000, "{} events", committed.len());

    // Authorization records the revision at which it applied each event: in commit order,
    // revisions never go back (events delivered in one call share one, applied in order).
    let authorization = PgPool::connect(platform.authorization_url()).await.unwrap();
    let applied: std::collections::HashMap<Uuid, i64> =
        sqlx::query_as("SELECT event_id, revision FROM applied_events")
            .fetch_all(&authorization)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let mut last = 0;
    let mut seen = 0;
    for event in &committed {
        if let Some(&revision) = applied.get(event) {
            assert!(
                revision >= last,
                "event {event} applied at revision {revision} after one at {last}"
            );
            last = revision;
            seen += 1;
        }
    }
    assert!(seen >= 1_000, "only {seen} facts events were applied");
    // And the last word is the last commit's: identity and authorization agree on everyone.
    for user in &people {
        let restricted = platform.user(&admin, user).await.restrict_bookings;
        let stored: bool = sqlx::query_scalar(
            "SELECT restrict_bookings FROM subject_statuses WHERE tenant_id = $1 AND user_id = $2",
        )
        .bind(tenant)
        .bind(Uuid::parse_str(user).unwrap())
        .fetch_one(&authorization)
        .await
        .unwrap();
        assert_eq!(stored, restricted, "{user}");
    }
}

#[tokio::test]
async fn an_event_authorization_refuses_is_set_aside_and_later_changes_still_arrive() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let database = Database::Postgres(PgPool::connect(&platform.identity_url).await.unwrap());
    // A role that does not exist: authorization refuses it for good.
    let refused = outbox::assign_role(AssignRoleRequest {
        user_id: platform.admin.to_string(),
        role_id: format!("custom:{}", Uuid::now_v7()),
        ..Default::default()
    });
    outbox::commit_alone(&database, platform.tenant, std::slice::from_ref(&refused))
        .await
        .unwrap();

    let user = platform.create_user(&admin, "after@example.org", "").await;
    let token = platform
        .sign_in("after@example.org", USER_PASSWORD)
        .await
        .unwrap();
    assert!(
        platform
            .allowed(
                &token.access_token,
                "users.read",
                object(ObjectType::User, &user),
                None
            )
            .await,
        "the change after the refused event reached authorization"
    );
    let letters = database.dead_letters(platform.tenant).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].event.event_id, refused.event_id);
    assert!(
        letters[0].reason.contains("refused by authorization"),
        "{}",
        letters[0].reason
    );
}

#[tokio::test]
async fn on_sqlite_sixteen_concurrent_writers_are_never_unavailable() {
    // Sixteen writers sign in to one account over and over: lift its rate limits and the
    // number of its checks in flight (the lockout threshold), which would turn them away
    // (RESOURCE_EXHAUSTED) before the store is the question.
    let platform = Platform::start_on_sqlite_with(|sign_in| {
        sign_in.attempts_per_account_per_minute = 60_000;
        sign_in.attempts_per_peer_per_second = 10_000;
        sign_in.lockout_threshold = 100;
        sign_in.password_memory_mib = 19 * 16;
    })
    .await;
    let admin = platform.admin_token().await;
    let user = platform.create_user(&admin, "busy@example.org", "").await;
    let mut writers = JoinSet::new();
    for writer in 0..16 {
        let (admin, user) = (admin.clone(), user.clone());
        let authn = platform.authn();
        let users = platform.users(&admin);
        let tenant = platform.tenant.to_string();
        writers.spawn(async move {
            let (mut authn, mut users) = (authn, users);
            for round in 0..5 {
                let outcome = match writer % 3 {
                    // A sign-in then a chain of refreshes: each redeems and rotates a token.
                    0 => {
                        let signed_in = authn
                            .sign_in(lms_api::identity::v1::SignInRequest {
                                tenant_id: tenant.clone(),
                                email: ADMIN_EMAIL.into(),
                                password: ADMIN_PASSWORD.into(),
                            })
                            .await;
                        match signed_in.map(|r| r.into_inner().outcome) {
                            Ok(Some(lms_api::identity::v1::sign_in_response::Outcome::Tokens(
                                tokens,
                            ))) => authn
                                .refresh_token(RefreshTokenRequest {
                                    refresh_token: tokens.refresh_token,
                                })
                                .await
                                .map(|_| ()),
                            Ok(other) => panic!("unexpected sign-in outcome {other:?}"),
                            Err(status) => Err(status),
                        }
                    }
                    // Admin writes.
                    _ => users
                        .update_user(restrict_bookings(&user, (writer + round) % 2 == 0))
                        .await
                        .map(|_| ()),
                };
                if let Err(status) = outcome {
                    assert_ne!(
                        status.code(),
                        tonic::Code::Unavailable,
                        "writer {writer} round {round}: {status:?}"
                    );
                    panic!("writer {writer} round {round} failed: {status:?}");
                }
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
}

/// A stream entry as XRANGE answers it: its id and its fields.
type StreamEntry = (String, Vec<(String, Vec<u8>)>);

/// The tenant's event ids in identity's event stream, in stream order.
async fn streamed(platform: &Platform, tenant: Uuid) -> Vec<Uuid> {
    let client = redis::Client::open(platform.redis_url().expose()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!(
        "{}{}",
        platform.redis_prefix(),
        outbox::stream_key(lms_runtime::ServiceName::Identity)
    );
    let entries: Vec<StreamEntry> = redis::cmd("XRANGE")
        .arg(key)
        .arg("-")
        .arg("+")
        .query_async(&mut connection)
        .await
        .unwrap();
    entries
        .into_iter()
        .map(|(_, fields)| {
            fields
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>()
        })
        .filter(|fields| fields["tenant"] == tenant.to_string().into_bytes())
        .map(|fields| Uuid::parse_str(std::str::from_utf8(&fields["id"]).unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn identitys_changes_also_reach_its_event_stream_in_commit_order() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let user = platform
        .create_user(&admin, "streamed@example.org", "")
        .await;
    let mut users = platform.users(&admin);
    for change in 0..4 {
        users
            .update_user(restrict_bookings(&user, change % 2 == 0))
            .await
            .unwrap();
    }
    let identity = PgPool::connect(&platform.identity_url).await.unwrap();
    let tenant = platform.tenant.as_uuid();
    let committed: Vec<Uuid> =
        sqlx::query_scalar("SELECT event_id FROM outbox WHERE tenant_id = $1 ORDER BY sequence")
            .bind(tenant)
            .fetch_all(&identity)
            .await
            .unwrap();
    assert!(committed.len() >= 5, "{committed:?}");
    // Published by identity's own background loop, as its own Redis user.
    for _ in 0..100 {
        if streamed(&platform, tenant).await.len() >= committed.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // What the tenant committed, first and in order (it may have committed more since).
    assert_eq!(
        streamed(&platform, tenant).await[..committed.len()],
        committed[..]
    );
}
