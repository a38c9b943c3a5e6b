//! The outbox's guarantees on the real backends: a tenant's appends take turns so sequence
//! follows commit order, dead letters leave the queue, delivered rows are pruned.

use std::sync::Arc;
use std::time::Duration;

use lms_api::authorization::v1::relationship_service_server::{
    RelationshipService, RelationshipServiceServer,
};
use lms_api::authorization::v1::{
    ReadRelationshipsRequest, ReadRelationshipsResponse, WriteRelationshipsBatchRequest,
    WriteRelationshipsBatchResponse, WriteRelationshipsRequest, WriteRelationshipsResponse,
};
use lms_kernel::TenantId;
use lms_runtime::outbox::{self, NewEvent, OutboxStore, Relay};
use lms_runtime::peers::{Authorization, ServiceTokens};
use lms_runtime::{ApiError, Application, Database, GrpcServer, Migrations, SecretString};
use uuid::Uuid;

/// The outbox tables as every service's migrations create them (delegation's set is just the
/// outbox today; the runtime owns the code, the services own their schema).
static OUTBOX: Migrations = Migrations {
    postgres: sqlx::migrate!("../../services/delegation/migrations/postgres"),
    sqlite: sqlx::migrate!("../../services/delegation/migrations/sqlite"),
};

fn event() -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        topic: outbox::topic::FACTS,
        payload: vec![1, 2, 3],
    }
}

async fn sequence_of(database: &Database, event: &NewEvent) -> i64 {
    let Database::Postgres(pool) = database else {
        unreachable!()
    };
    sqlx::query_scalar("SELECT sequence FROM outbox WHERE event_id = $1")
        .bind(event.event_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_tenants_appends_wait_for_the_open_one_so_sequence_follows_commit_order() {
    let test = lms_testkit::postgres_pool(&OUTBOX).await;
    let pool = test.pool();
    let (tenant, other) = (TenantId::generate(), TenantId::generate());
    let (first, second, elsewhere) = (event(), event(), event());

    let mut open = pool.begin().await.unwrap();
    outbox::append(&mut *open, tenant, std::slice::from_ref(&first))
        .await
        .unwrap();

    // Another tenant is not held up.
    let mut unrelated = pool.begin().await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(2),
        outbox::append(&mut *unrelated, other, std::slice::from_ref(&elsewhere)),
    )
    .await
    .expect("another tenant appends at once")
    .unwrap();
    unrelated.commit().await.unwrap();

    // The same tenant waits for the open transaction to commit.
    let racer = {
        let pool = pool.clone();
        let second = second.clone();
        tokio::spawn(async move {
            let mut tx = pool.begin().await.unwrap();
            outbox::append(&mut *tx, tenant, std::slice::from_ref(&second))
                .await
                .unwrap();
            tx.commit().await.unwrap();
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !racer.is_finished(),
        "the second append waits for the first commit"
    );
    open.commit().await.unwrap();
    racer.await.unwrap();

    let database = Database::Postgres(pool.clone());
    assert!(sequence_of(&database, &first).await < sequence_of(&database, &second).await);
}

async fn dead_letters_leave_the_queue(database: Database) {
    let tenant = TenantId::generate();
    let (refused, next) = (event(), event());
    outbox::commit_alone(&database, tenant, &[refused.clone(), next.clone()])
        .await
        .unwrap();
    let behind = database.backlog().await.unwrap();
    assert_eq!(behind.pending, 2);
    assert!(
        (0.0..60.0).contains(&behind.oldest_seconds),
        "{}",
        behind.oldest_seconds
    );
    let up_to = database.last_sequence(tenant).await.unwrap().unwrap();
    let pending = database.pending(tenant, up_to, 10).await.unwrap();
    assert_eq!(
        pending.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        [refused.event_id, next.event_id]
    );
    database
        .dead_letter(pending[0].sequence, "refused")
        .await
        .unwrap();
    database
        .delivered(pending[1].sequence, Some("r7.t"))
        .await
        .unwrap();

    assert!(database.tenants_with_pending().await.unwrap().is_empty());
    assert_eq!(
        database.backlog().await.unwrap(),
        outbox::Backlog::default(),
        "nothing is behind"
    );
    assert_eq!(
        database.written_at(tenant, up_to).await.unwrap().as_deref(),
        Some("r7.t")
    );
    let letters = database.dead_letters(tenant).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].event.event_id, refused.event_id);
    assert_eq!(letters[0].reason, "refused");
    // Rows delivered just now stay until they are old enough to prune; pending rows and dead
    // letters are never pruned.
    assert_eq!(database.prune(Duration::from_secs(3600)).await.unwrap(), 0);
    let pending = event();
    outbox::commit_alone(&database, tenant, std::slice::from_ref(&pending))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        database.prune(Duration::from_secs(1)).await.unwrap(),
        0,
        "a delivered row waits until it is published too"
    );
    let unpublished: Vec<i64> = database
        .unpublished(10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.sequence)
        .collect();
    assert_eq!(
        unpublished.len(),
        3,
        "the refused event (committed all the same), the delivered one and the pending one"
    );
    database.published(&unpublished).await.unwrap();
    assert_eq!(database.prune(Duration::from_secs(1)).await.unwrap(), 2);
    assert_eq!(database.tenants_with_pending().await.unwrap(), vec![tenant]);
    assert_eq!(database.dead_letters(tenant).await.unwrap().len(), 1);
}

#[tokio::test]
async fn dead_letters_leave_the_queue_on_postgres() {
    let test = lms_testkit::postgres_pool(&OUTBOX).await;
    dead_letters_leave_the_queue(Database::Postgres(test.pool())).await;
}

#[tokio::test]
async fn dead_letters_leave_the_queue_on_sqlite() {
    let test = lms_testkit::sqlite_pool(&OUTBOX).await;
    dead_letters_leave_the_queue(Database::Sqlite(test.pool())).await;
}

/// Authorization failing on its own account: every write of facts answers INTERNAL.
struct Failing;

#[tonic::async_trait]
impl RelationshipService for Failing {
    async fn write_relationships(
        &self,
        _: tonic::Request<WriteRelationshipsRequest>,
    ) -> Result<tonic::Response<WriteRelationshipsResponse>, tonic::Status> {
        Err(tonic::Status::internal("a bug"))
    }

    async fn write_relationships_batch(
        &self,
        _: tonic::Request<WriteRelationshipsBatchRequest>,
    ) -> Result<tonic::Response<WriteRelationshipsBatchResponse>, tonic::Status> {
        Err(tonic::Status::internal("a bug"))
    }

    async fn read_relationships(
        &self,
        _: tonic::Request<ReadRelationshipsRequest>,
    ) -> Result<tonic::Response<ReadRelationshipsResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("writes only"))
    }
}

struct Tokens(String);

#[tonic::async_trait]
impl ServiceTokens for Tokens {
    async fn issue(&self, _: TenantId) -> Result<(String, Duration), ApiError> {
        Ok((self.0.clone(), Duration::from_secs(600)))
    }
}

#[tokio::test]
async fn an_event_authorization_keeps_failing_on_is_set_aside_after_its_attempts() {
    let auth = lms_testkit::TestAuth::new();
    let context = crate::probe::context(&auth);
    let server = GrpcServer::bind(&context, &[])
        .await
        .unwrap()
        .add_service(RelationshipServiceServer::new(Failing));
    let idle = Database::connect(&SecretString::new("sqlite::memory:"), 1)
        .await
        .unwrap();
    let failing = lms_testkit::TestService::start(Application::new(server, idle)).await;

    let test = lms_testkit::sqlite_pool(&OUTBOX).await;
    let database = Database::Sqlite(test.pool());
    let tenant = TenantId::generate();
    let tokens = Tokens(auth.tenant_service_token("identity", tenant));
    let peer = lms_runtime::client::Peer::plaintext(format!("http://{}", failing.addr()));
    let authorization = Authorization::new(&peer, Arc::new(tokens)).unwrap();
    let relay = Relay::new(database.clone(), authorization);
    let facts = outbox::facts(WriteRelationshipsRequest::default());
    outbox::commit_alone(&database, tenant, std::slice::from_ref(&facts))
        .await
        .unwrap();
    let up_to = database.last_sequence(tenant).await.unwrap().unwrap();

    assert_eq!(relay.measure_backlog().await.unwrap().pending, 1);
    // A failure that is neither a refusal nor an outage is retried, and counted.
    for _ in 0..19 {
        assert!(relay.deliver_up_to(tenant, up_to).await.is_err());
    }
    assert_eq!(database.tenants_with_pending().await.unwrap(), vec![tenant]);
    assert!(database.dead_letters(tenant).await.unwrap().is_empty());
    // The twentieth failure sets it aside: the tenant's later events are no longer held up.
    assert_eq!(relay.deliver_up_to(tenant, up_to).await.unwrap(), 1);
    assert!(database.tenants_with_pending().await.unwrap().is_empty());
    let letters = database.dead_letters(tenant).await.unwrap();
    assert!(
        letters[0].reason.contains("failed 20 times"),
        "{}",
        letters[0].reason
    );
}

/// Authorization that no longer accepts one token (its account's secret was rotated, say) and
/// takes any other.
struct Rejects(String);

#[tonic::async_trait]
impl RelationshipService for Rejects {
    async fn write_relationships(
        &self,
        request: tonic::Request<WriteRelationshipsRequest>,
    ) -> Result<tonic::Response<WriteRelationshipsResponse>, tonic::Status> {
        let bearer = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if bearer.ends_with(&self.0) {
            return Err(tonic::Status::unauthenticated("token revoked"));
        }
        Ok(tonic::Response::new(WriteRelationshipsResponse::default()))
    }

    async fn write_relationships_batch(
        &self,
        _: tonic::Request<WriteRelationshipsBatchRequest>,
    ) -> Result<tonic::Response<WriteRelationshipsBatchResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("one at a time"))
    }

    async fn read_relationships(
        &self,
        _: tonic::Request<ReadRelationshipsRequest>,
    ) -> Result<tonic::Response<ReadRelationshipsResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("writes only"))
    }
}

/// Issues each token of `queue` in turn, counting how many it issued.
struct Queue(
    std::sync::Mutex<Vec<String>>,
    std::sync::atomic::AtomicUsize,
);

#[tonic::async_trait]
impl ServiceTokens for Queue {
    async fn issue(&self, _: TenantId) -> Result<(String, Duration), ApiError> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let token = self.0.lock().unwrap().remove(0);
        Ok((token, Duration::from_secs(600)))
    }
}

#[tokio::test]
async fn a_service_token_authorization_no_longer_accepts_is_dropped_and_issued_again() {
    let auth = lms_testkit::TestAuth::new();
    let tenant = TenantId::generate();
    let (old, new) = (
        auth.tenant_service_token("delegation", tenant),
        auth.tenant_service_token("delegation", tenant),
    );
    assert_ne!(old, new);
    let context = crate::probe::context(&auth);
    let server = GrpcServer::bind(&context, &[])
        .await
        .unwrap()
        .add_service(RelationshipServiceServer::new(Rejects(old.clone())));
    let idle = Database::connect(&SecretString::new("sqlite::memory:"), 1)
        .await
        .unwrap();
    let authorization_server =
        lms_testkit::TestService::start(Application::new(server, idle)).await;
    let peer =
        lms_runtime::client::Peer::plaintext(format!("http://{}", authorization_server.addr()));
    let issuer = Arc::new(Queue(
        std::sync::Mutex::new(vec![old, new]),
        std::sync::atomic::AtomicUsize::new(0),
    ));
    let authorization = Authorization::new(&peer, issuer.clone()).unwrap();

    let refused = authorization
        .write(tenant, WriteRelationshipsRequest::default())
        .await;
    assert!(refused.is_err(), "the revoked token is refused");
    authorization
        .write(tenant, WriteRelationshipsRequest::default())
        .await
        .expect("the next call asks identity for a new token");
    authorization
        .write(tenant, WriteRelationshipsRequest::default())
        .await
        .unwrap();
    assert_eq!(
        issuer.1.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "the new token is kept"
    );
}

/// Authorization that refuses one event id and records the calls that reach it.
#[derive(Default)]
struct Recording {
    refused: std::sync::Mutex<Option<String>>,
    calls: std::sync::Mutex<Vec<usize>>,
}

impl Recording {
    fn refuses(&self, events: &[&WriteRelationshipsRequest]) -> bool {
        let refused = self.refused.lock().unwrap();
        events.iter().any(|e| Some(&e.event_id) == refused.as_ref())
    }
}

/// The service face of a shared [`Recording`].
struct Recorder(Arc<Recording>);

#[tonic::async_trait]
impl RelationshipService for Recorder {
    async fn write_relationships(
        &self,
        request: tonic::Request<WriteRelationshipsRequest>,
    ) -> Result<tonic::Response<WriteRelationshipsResponse>, tonic::Status> {
        if self.0.refuses(&[request.get_ref()]) {
            return Err(tonic::Status::invalid_argument("not this one"));
        }
        self.0.calls.lock().unwrap().push(1);
        Ok(tonic::Response::new(WriteRelationshipsResponse::default()))
    }

    async fn write_relationships_batch(
        &self,
        request: tonic::Request<WriteRelationshipsBatchRequest>,
    ) -> Result<tonic::Response<WriteRelationshipsBatchResponse>, tonic::Status> {
        let events: Vec<_> = request.get_ref().events.iter().collect();
        if self.0.refuses(&events) {
            return Err(tonic::Status::invalid_argument("not all of these"));
        }
        self.0.calls.lock().unwrap().push(events.len());
        Ok(tonic::Response::new(
            WriteRelationshipsBatchResponse::default(),
        ))
    }

    async fn read_relationships(
        &self,
        _: tonic::Request<ReadRelationshipsRequest>,
    ) -> Result<tonic::Response<ReadRelationshipsResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("writes only"))
    }
}

/// A relay of `database` for `tenant` delivering to a [`Recording`] authorization (kept
/// serving as long as the answer lives).
async fn recorded_relay(
    database: &Database,
    tenant: TenantId,
) -> (Relay, Arc<Recording>, lms_testkit::TestService) {
    let auth = lms_testkit::TestAuth::new();
    let context = crate::probe::context(&auth);
    let recording = Arc::new(Recording::default());
    let server = GrpcServer::bind(&context, &[])
        .await
        .unwrap()
        .add_service(RelationshipServiceServer::new(Recorder(recording.clone())));
    let idle = Database::connect(&SecretString::new("sqlite::memory:"), 1)
        .await
        .unwrap();
    let authorization_service =
        lms_testkit::TestService::start(Application::new(server, idle)).await;
    let tokens = Tokens(auth.tenant_service_token("delegation", tenant));
    let peer =
        lms_runtime::client::Peer::plaintext(format!("http://{}", authorization_service.addr()));
    let authorization = Authorization::new(&peer, Arc::new(tokens)).unwrap();
    (
        Relay::new(database.clone(), authorization),
        recording,
        authorization_service,
    )
}

#[tokio::test]
async fn waiting_facts_go_in_one_call_and_a_refused_one_alone_to_the_dead_letters() {
    let test = lms_testkit::postgres_pool(&OUTBOX).await;
    let database = Database::Postgres(test.pool());
    let tenant = TenantId::generate();
    let (relay, recording, _authorization) = recorded_relay(&database, tenant).await;
    let facts = || outbox::facts(WriteRelationshipsRequest::default());

    // Five writes committed while nobody delivered: one call takes them all.
    let five: Vec<_> = (0..5).map(|_| facts()).collect();
    for event in &five {
        outbox::commit_alone(&database, tenant, std::slice::from_ref(event))
            .await
            .unwrap();
    }
    let first = sequence_of(&database, &five[0]).await;
    assert_eq!(relay.deliver_up_to(tenant, first).await.unwrap(), 0);
    assert_eq!(
        *recording.calls.lock().unwrap(),
        [5],
        "one call, and it took the later ones too"
    );
    assert!(database.tenants_with_pending().await.unwrap().is_empty());

    // A run with one event authorization refuses: the others still apply, that one is set aside.
    let three: Vec<_> = (0..3).map(|_| facts()).collect();
    for event in &three {
        outbox::commit_alone(&database, tenant, std::slice::from_ref(event))
            .await
            .unwrap();
    }
    *recording.refused.lock().unwrap() = Some(three[1].event_id.to_string());
    let last = sequence_of(&database, &three[2]).await;
    assert_eq!(relay.deliver_up_to(tenant, last).await.unwrap(), 1);
    assert_eq!(*recording.calls.lock().unwrap(), [5, 1, 1]);
    let letters = database.dead_letters(tenant).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].event.event_id, three[1].event_id);
    assert!(database.tenants_with_pending().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_event_for_reporting_alone_is_settled_without_a_call_and_breaks_no_run() {
    let test = lms_testkit::sqlite_pool(&OUTBOX).await;
    let database = Database::Sqlite(test.pool());
    let tenant = TenantId::generate();
    let (relay, recording, _authorization) = recorded_relay(&database, tenant).await;
    let for_reporting = NewEvent {
        event_id: Uuid::now_v7(),
        topic: outbox::topic::PEOPLE,
        payload: vec![7],
    };
    let events = [
        outbox::facts(WriteRelationshipsRequest::default()),
        for_reporting,
        outbox::facts(WriteRelationshipsRequest::default()),
    ];
    outbox::commit_alone(&database, tenant, &events)
        .await
        .unwrap();
    let last = database.last_sequence(tenant).await.unwrap().unwrap();
    assert_eq!(
        relay.deliver_up_to(tenant, last).await.unwrap(),
        0,
        "none set aside"
    );
    assert_eq!(
        *recording.calls.lock().unwrap(),
        [2],
        "the two facts in one call: the event for reporting rides along, unsent"
    );
    assert!(database.tenants_with_pending().await.unwrap().is_empty());
    assert!(database.dead_letters(tenant).await.unwrap().is_empty());
    assert_eq!(
        database.unpublished(10).await.unwrap().len(),
        3,
        "all three still go to the stream"
    );
}

/// Alone (nothing to ride along with), an event for reporting is settled without any call.
#[tokio::test]
async fn a_lone_event_for_reporting_makes_no_call() {
    let auth = lms_testkit::TestAuth::new();
    let test = lms_testkit::sqlite_pool(&OUTBOX).await;
    let database = Database::Sqlite(test.pool());
    let tenant = TenantId::generate();
    // Nothing listens there: any call would fail the delivery.
    let peer = lms_runtime::client::Peer::plaintext("http://127.0.0.1:1".to_owned());
    let tokens = Tokens(auth.tenant_service_token("identity", tenant));
    let relay = Relay::new(
        database.clone(),
        Authorization::new(&peer, Arc::new(tokens)).unwrap(),
    );
    let records: Vec<NewEvent> = (0..3)
        .map(|n| NewEvent {
            event_id: Uuid::now_v7(),
            topic: outbox::topic::PEOPLE,
            payload: vec![n],
        })
        .collect();
    outbox::commit_alone(&database, tenant, &records[..1])
        .await
        .unwrap();
    let last = database.last_sequence(tenant).await.unwrap().unwrap();
    assert_eq!(relay.deliver_up_to(tenant, last).await.unwrap(), 0);
    outbox::commit_alone(&database, tenant, &records[1..])
        .await
        .unwrap();
    let last = database.last_sequence(tenant).await.unwrap().unwrap();
    assert_eq!(
        relay.deliver_up_to(tenant, last).await.unwrap(),
        0,
        "a run of them too"
    );
    assert!(database.tenants_with_pending().await.unwrap().is_empty());
}
