//! The event backbone's sending side on the real backends: committed events reach the service's
//! Redis stream (as the service's own Redis user) or the in-process bus, in commit order per
//! tenant, each marked published only once sent; an unreachable stream loses nothing.

use std::collections::HashMap;

use lms_kernel::TenantId;
use lms_runtime::outbox::{self, EventBus, EventSink, NewEvent, OutboxStore, Publisher};
use lms_runtime::redis::{RedisEndpoint, RedisHandle};
use lms_runtime::sealed::Sealer;
use lms_runtime::{Database, Migrations, SecretString, ServiceName};
use lms_testkit::TestRedis;
use uuid::Uuid;

static OUTBOX: Migrations = Migrations {
    postgres: sqlx::migrate!("../../services/delegation/migrations/postgres"),
    sqlite: sqlx::migrate!("../../services/delegation/migrations/sqlite"),
};

fn event(n: u8) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        topic: outbox::topic::FACTS,
        payload: vec![n, 0, 255],
    }
}

/// Commits, one transaction each, `per_tenant` events for each of `tenants`, interleaved;
/// answers them in commit order.
async fn commit_interleaved(
    database: &Database,
    tenants: &[TenantId],
    per_tenant: u8,
) -> Vec<(TenantId, NewEvent)> {
    let mut committed = Vec::new();
    for n in 0..per_tenant {
        for &tenant in tenants {
            let event = event(n);
            outbox::commit_alone(database, tenant, std::slice::from_ref(&event))
                .await
                .unwrap();
            committed.push((tenant, event));
        }
    }
    committed
}

fn sealer() -> Sealer {
    Sealer::new(&SecretString::new(lms_testkit::TEST_EVENTS_MAC_KEY))
}

/// A stream entry's fields.
type Entry = HashMap<String, redis::Value>;

async fn stream_entries(redis: &RedisHandle, service: ServiceName) -> Vec<Entry> {
    let mut connection = redis.connection().unwrap();
    let reply: redis::Value = redis::cmd("XRANGE")
        .arg(redis.key(&outbox::stream_key(service)))
        .arg("-")
        .arg("+")
        .query_async(&mut connection)
        .await
        .unwrap();
    let redis::Value::Array(entries) = reply else {
        panic!("XRANGE answers an array: {reply:?}")
    };
    entries
        .into_iter()
        .map(|entry| {
            let redis::Value::Array(mut parts) = entry else {
                panic!("an entry is [id, fields]")
            };
            let redis::Value::Array(fields) = parts.pop().unwrap() else {
                panic!("fields are an array")
            };
            fields
                .chunks(2)
                .map(|pair| {
                    let redis::Value::BulkString(name) = &pair[0] else {
                        panic!("a field name")
                    };
                    (String::from_utf8(name.clone()).unwrap(), pair[1].clone())
                })
                .collect()
        })
        .collect()
}

fn text(entry: &Entry, field: &str) -> String {
    match &entry[field] {
        redis::Value::BulkString(bytes) => String::from_utf8(bytes.clone()).unwrap(),
        other => panic!("{field}: {other:?}"),
    }
}

/// Connects as `service`'s own Redis user, holding only its ACL rules.
async fn as_service(redis: &TestRedis, service: ServiceName) -> RedisHandle {
    let endpoint = RedisEndpoint::new(SecretString::new(redis.as_service(service)));
    RedisHandle::connect(&endpoint, redis.prefix())
        .await
        .unwrap()
}

async fn committed_events_reach_the_services_stream_in_commit_order_once_each(database: Database) {
    let redis = lms_testkit::redis().await;
    let publisher = Publisher::new(
        database.clone(),
        ServiceName::Delegation,
        EventSink::stream(as_service(&redis, ServiceName::Delegation).await, sealer()),
    );
    // Read back as the server's default user: the service's own may only add.
    let admin = RedisEndpoint::new(SecretString::new(redis.url().to_owned()));
    let handle = RedisHandle::connect(&admin, redis.prefix()).await.unwrap();
    let tenants = [TenantId::generate(), TenantId::generate()];
    let committed = commit_interleaved(&database, &tenants, 3).await;

    assert_eq!(publisher.publish_pending().await.unwrap(), 6);
    assert_eq!(database.unpublished_count().await.unwrap(), 0);
    let entries = stream_entries(&handle, ServiceName::Delegation).await;
    let ids: Vec<String> = entries.iter().map(|e| text(e, "id")).collect();
    let expected: Vec<String> = committed
        .iter()
        .map(|(_, e)| e.event_id.to_string())
        .collect();
    assert_eq!(ids, expected, "every event once, in commit order");
    let (tenant, first) = &committed[0];
    assert_eq!(text(&entries[0], "tenant"), tenant.to_string());
    assert_eq!(text(&entries[0], "topic"), first.topic);
    assert_eq!(
        entries[0]["payload"],
        redis::Value::BulkString(first.payload.clone()),
        "the payload as committed, bytes and all"
    );
    let sequences: Vec<i64> = entries
        .iter()
        .map(|e| text(e, "sequence").parse().unwrap())
        .collect();
    assert!(sequences.is_sorted(), "{sequences:?}");
    // Signed for its stream with the events key, over every field.
    let redis::Value::BulkString(mac) = &entries[0]["mac"] else {
        panic!("a MAC")
    };
    let row = outbox::OutboxEvent {
        sequence: sequences[0],
        event_id: first.event_id,
        tenant: *tenant,
        topic: first.topic.to_owned(),
        payload: first.payload.clone(),
    };
    let key = handle.key(&outbox::stream_key(ServiceName::Delegation));
    assert_eq!(&outbox::EntryFields::of(&row).mac(&key, &sealer()), mac);
    let fields: HashMap<String, Vec<u8>> = entries[0]
        .iter()
        .map(|(name, value)| match value {
            redis::Value::BulkString(bytes) => (name.clone(), bytes.clone()),
            other => panic!("{name}: {other:?}"),
        })
        .collect();
    let opened = outbox::open_entry(ServiceName::Delegation, &key, &fields, &sealer());
    assert_eq!(
        opened.unwrap().event,
        row,
        "reporting reads what was committed"
    );

    // Published is published: a later round sends only what was committed since.
    assert_eq!(publisher.publish_pending().await.unwrap(), 0);
    let later = commit_interleaved(&database, &tenants[..1], 1).await;
    assert_eq!(publisher.publish_pending().await.unwrap(), 1);
    let entries = stream_entries(&handle, ServiceName::Delegation).await;
    assert_eq!(entries.len(), 7);
    assert_eq!(text(&entries[6], "id"), later[0].1.event_id.to_string());
}

#[tokio::test]
async fn committed_events_reach_the_stream_in_commit_order_once_each_on_postgres() {
    let test = lms_testkit::postgres_pool(&OUTBOX).await;
    committed_events_reach_the_services_stream_in_commit_order_once_each(Database::Postgres(
        test.pool(),
    ))
    .await;
}

#[tokio::test]
async fn committed_events_reach_the_stream_in_commit_order_once_each_on_sqlite() {
    let test = lms_testkit::sqlite_pool(&OUTBOX).await;
    committed_events_reach_the_services_stream_in_commit_order_once_each(Database::Sqlite(
        test.pool(),
    ))
    .await;
}

/// A batch read while an earlier sequence of another tenant was still open marks only what it
/// sent: the late commit is published on the next round, not skipped.
#[tokio::test]
async fn an_event_committed_after_a_later_sequence_was_published_is_not_skipped() {
    let test = lms_testkit::postgres_pool(&OUTBOX).await;
    let pool = test.pool();
    let database = Database::Postgres(pool.clone());
    let bus = EventBus::default();
    let mut heard = bus.subscribe();
    let publisher = Publisher::new(
        database.clone(),
        ServiceName::Delegation,
        EventSink::InProcess(bus.clone()),
    );
    let (slow, quick) = (event(1), event(2));
    let mut open = pool.begin().await.unwrap();
    outbox::append(
        &mut *open,
        TenantId::generate(),
        std::slice::from_ref(&slow),
    )
    .await
    .unwrap();
    outbox::commit_alone(
        &database,
        TenantId::generate(),
        std::slice::from_ref(&quick),
    )
    .await
    .unwrap();
    assert_eq!(publisher.publish_pending().await.unwrap(), 1);
    assert_eq!(heard.try_recv().unwrap().event.event_id, quick.event_id);
    open.commit().await.unwrap();
    assert_eq!(publisher.publish_pending().await.unwrap(), 1);
    assert_eq!(heard.try_recv().unwrap().event.event_id, slow.event_id);
    assert_eq!(database.unpublished_count().await.unwrap(), 0);
}

#[tokio::test]
async fn a_service_adds_to_its_own_stream_and_no_other() {
    let redis = lms_testkit::redis().await;
    let identity = as_service(&redis, ServiceName::Identity).await;
    let mut connection = identity.connection().unwrap();
    let add = |service: ServiceName| {
        let mut command = redis::cmd("XADD");
        command
            .arg(identity.key(&outbox::stream_key(service)))
            .arg("*")
            .arg("id")
            .arg("forged");
        command
    };
    add(ServiceName::Identity)
        .query_async::<String>(&mut connection)
        .await
        .expect("its own stream");
    let refused = add(ServiceName::Delegation)
        .query_async::<String>(&mut connection)
        .await
        .expect_err("another service's stream");
    assert!(
        refused.to_string().to_lowercase().contains("noperm"),
        "{refused}"
    );
    // Nor does XADD reach identity's other keys: the revoked sessions stay a sorted set.
    let refused = redis::cmd("XADD")
        .arg(identity.key(lms_runtime::redis_acl::REVOCATIONS_KEY))
        .arg("*")
        .arg("id")
        .arg("forged")
        .query_async::<String>(&mut connection)
        .await
        .expect_err("the revoked sessions");
    assert!(
        refused.to_string().to_lowercase().contains("noperm"),
        "{refused}"
    );
    let reporting = as_service(&redis, ServiceName::Reporting).await;
    let refused = add(ServiceName::Identity)
        .query_async::<String>(&mut reporting.connection().unwrap())
        .await
        .expect_err("reporting publishes nothing");
    assert!(
        refused.to_string().to_lowercase().contains("noperm"),
        "{refused}"
    );
}

#[tokio::test]
async fn an_unreachable_stream_loses_nothing_and_later_rounds_send_it_in_order() {
    let test = lms_testkit::sqlite_pool(&OUTBOX).await;
    let database = Database::Sqlite(test.pool());
    let tenants = [TenantId::generate(), TenantId::generate()];
    let committed = commit_interleaved(&database, &tenants, 2).await;

    // Redis that never answers: the round fails and nothing is marked.
    let nowhere = RedisEndpoint::new(SecretString::new("redis://127.0.0.1:1".to_owned()));
    let down = Publisher::new(
        database.clone(),
        ServiceName::Identity,
        EventSink::stream(
            RedisHandle::open(&nowhere, "lms-test:").await.unwrap(),
            sealer(),
        ),
    );
    assert!(down.publish_pending().await.is_err());
    assert_eq!(database.unpublished_count().await.unwrap(), 4);

    // The bus, once reachable, gets all of them in commit order, and only once.
    let bus = EventBus::default();
    let mut heard = bus.subscribe();
    let up = Publisher::new(
        database.clone(),
        ServiceName::Identity,
        EventSink::InProcess(bus.clone()),
    );
    assert_eq!(up.publish_pending().await.unwrap(), 4);
    assert_eq!(up.publish_pending().await.unwrap(), 0);
    for (tenant, event) in &committed {
        let published = heard.try_recv().expect("published in order");
        assert_eq!(published.service, ServiceName::Identity);
        assert_eq!(
            (published.event.tenant, published.event.event_id),
            (*tenant, event.event_id)
        );
        assert_eq!(published.event.payload, event.payload);
    }
    assert!(heard.try_recv().is_err(), "nothing twice");
    assert_eq!(database.unpublished_count().await.unwrap(), 0);
}
