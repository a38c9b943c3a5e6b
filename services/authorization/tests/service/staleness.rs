//! How stale a decision can be after a revoke, across two replicas sharing PostgreSQL and a
//! Redis of the test's own (issue 14). A check asked without a token denies on every replica
//! within `cache.max_staleness_ms` of the revoke, whether invalidations flow, the subscription
//! is killed, Redis restarts, Redis stalls or the writer loses Redis; a check carrying a token is
//! never older than its token, also for another tenant's resource (review M6).
//!
//! Each test prints the worst case it measured per replica. Times are taken when a check was
//! sent, so a replica is never blamed for the time its answer spent on the way back.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::{
    AssignRoleRequest, CheckRequest, Decision, Relation, RelationshipUpdate, SubjectStatus,
    WriteRelationshipsRequest,
};
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ConsistencyToken, ObjectReference, ObjectType, UserStatus};
use lms_kernel::{GroupId, TenantId, UserId};
use lms_runtime::ServiceName;
use lms_testkit::{RedisProcess, TestAuth, TestDatabase, TestRedis, TestService};

use crate::fixture::{delete, push_facts, reference, touch, user_ref};

/// The pause between two checks of a poller: short, so the worst case measured is close to the
/// real one.
const POLL_PAUSE: Duration = Duration::from_millis(5);

/// Two replicas of authorization on one database and one private Redis. Fields drop in order:
/// the services before the Redis they use.
struct Replicas {
    replicas: [TestService; 2],
    auth: TestAuth,
    /// `cache.max_staleness_ms`, as the replicas are configured.
    bound: Duration,
    /// The Redis user each replica connects as.
    redis_users: [String; 2],
    redis: TestRedis,
    server: RedisProcess,
    database: TestDatabase,
}

/// A Manager of group G and a primary member X of G, in one tenant: the manager may read X.
struct Team {
    tenant: TenantId,
    manager: UserId,
    member: UserId,
    group: GroupId,
}

impl Team {
    /// The member's place in the group, as `change` (touch or delete) writes it.
    fn membership(
        &self,
        change: fn(ObjectReference, Relation, ObjectReference) -> RelationshipUpdate,
    ) -> RelationshipUpdate {
        change(
            reference(ObjectType::Group, self.group),
            Relation::PrimaryMember,
            user_ref(self.member),
        )
    }
}

/// A check without a token: any cache tier, within the stated bound.
fn tokenless() -> Requirement {
    Requirement::MinimizeLatency(true)
}

impl Replicas {
    async fn start() -> Replicas {
        lms_testkit::trace_init();
        let server = RedisProcess::start().await;
        let redis = TestRedis::at(&server.url());
        let auth = TestAuth::new();
        let database = lms_testkit::postgres_database().await;
        let context = || {
            lms_testkit::service_context(
                ServiceName::Authorization,
                database.url(),
                Some(&redis),
                &auth,
            )
        };
        let contexts = [context(), context()];
        let bound = Duration::from_millis(contexts[0].cache.max_staleness_ms);
        let redis_users = contexts.each_ref().map(|context| {
            let url = context.redis.url.as_ref().unwrap().expose();
            url::Url::parse(url).unwrap().username().to_owned()
        });
        let [first, second] = contexts;
        let start = |context| async {
            // Boxed: two services' build futures would make this one large.
            TestService::start(Box::pin(lms_authorization::build(context)).await.unwrap()).await
        };
        let (first, second) = (start(first).await, start(second).await);
        Replicas {
            replicas: [first, second],
            auth,
            bound,
            redis_users,
            redis,
            server,
            database,
        }
    }

    /// Pushes facts of `tenant` through `replica`, as identity would; answers the write's token.
    async fn write(
        &self,
        replica: usize,
        tenant: TenantId,
        updates: Vec<RelationshipUpdate>,
        statuses: Vec<SubjectStatus>,
    ) -> ConsistencyToken {
        let batch = WriteRelationshipsRequest {
            updates,
            statuses,
            ..Default::default()
        };
        push_facts(&self.replicas[replica], &self.auth, tenant, batch).await
    }

    /// `count` new active users of `tenant`, announced in one write.
    async fn users(&self, tenant: TenantId, count: usize) -> Vec<UserId> {
        let users: Vec<UserId> = (0..count).map(|_| UserId::generate()).collect();
        let statuses = users
            .iter()
            .map(|user| SubjectStatus {
                user_id: user.to_string(),
                status: UserStatus::Active as i32,
                restrict_bookings: false,
            })
            .collect();
        self.write(0, tenant, Vec::new(), statuses).await;
        users
    }

    /// A team in `tenant`: its manager holds the Manager role and manages the group.
    async fn team(&self, tenant: TenantId) -> Team {
        let people = self.users(tenant, 2).await;
        let team = Team {
            tenant,
            manager: people[0],
            member: people[1],
            group: GroupId::generate(),
        };
        let identity = self.auth.tenant_service_token("identity", tenant);
        RoleAssignmentServiceClient::new(self.replicas[0].authorized(&identity))
            .assign_role(AssignRoleRequest {
                user_id: team.manager.to_string(),
                role_id: "builtin:manager".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let manages = touch(
            reference(ObjectType::Group, team.group),
            Relation::Manager,
            user_ref(team.manager),
        );
        self.write(0, tenant, vec![manages, team.membership(touch)], Vec::new())
            .await;
        team
    }

    /// May `user` of `tenant` read `resource`, asked on `replica`?
    async fn check(
        &self,
        replica: usize,
        tenant: TenantId,
        user: UserId,
        resource: ObjectReference,
        requirement: Requirement,
    ) -> Result<Decision, tonic::Status> {
        let token = self.auth.user_token(tenant, user);
        let response = PermissionServiceClient::new(self.replicas[replica].authorized(&token))
            .check(CheckRequest {
                subject_id: String::new(),
                permission: "users.read".into(),
                resource: Some(resource),
                consistency: Some(Consistency {
                    requirement: Some(requirement),
                }),
            })
            .await?;
        Ok(response.into_inner().decision())
    }

    /// May the team's manager read its member, asked on `replica`?
    async fn manager_reads_member(
        &self,
        replica: usize,
        team: &Team,
        requirement: Requirement,
    ) -> Result<Decision, tonic::Status> {
        self.check(
            replica,
            team.tenant,
            team.manager,
            user_ref(team.member),
            requirement,
        )
        .await
    }

    /// Both replicas answer Allowed without a token, from entries older than the bound: the
    /// case a cache whose entries outlive the bound must still get right after a revoke.
    async fn warm(&self, team: &Team) {
        for replica in 0..2 {
            let deadline = Instant::now() + self.bound * 3;
            while self
                .manager_reads_member(replica, team, tokenless())
                .await
                .unwrap()
                != Decision::Allowed
            {
                assert!(
                    Instant::now() < deadline,
                    "replica {replica} did not allow the manager to read their team member \
                     within 3 × the bound"
                );
                tokio::time::sleep(POLL_PAUSE).await;
            }
        }
        tokio::time::sleep(self.bound + self.bound / 2).await;
        let before = lms_authorization::cache_lookups();
        for replica in 0..2 {
            assert_eq!(
                self.manager_reads_member(replica, team, tokenless())
                    .await
                    .unwrap(),
                Decision::Allowed,
                "replica {replica} still allows before the revoke"
            );
        }
        // Nothing changed: the facts outlive the bound (each test runs in its own process, so
        // the counts are this test's two replicas).
        assert_eq!(
            lms_authorization::cache_lookups().miss,
            before.miss,
            "facts older than the bound but unchanged were read from the store again"
        );
    }

    /// Takes the member out of the manager's group through `replica`; answers the write's token.
    async fn revoke(&self, replica: usize, team: &Team) -> ConsistencyToken {
        self.write(
            replica,
            team.tenant,
            vec![team.membership(delete)],
            Vec::new(),
        )
        .await
    }

    /// Puts the member back into the manager's group.
    async fn restore(&self, team: &Team) {
        self.write(0, team.tenant, vec![team.membership(touch)], Vec::new())
            .await;
    }

    /// A connection to the private Redis as its default user (all commands).
    async fn admin(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.server.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    /// Kills every pub/sub connection (both replicas' invalidation subscriptions); answers how
    /// many there were.
    async fn kill_subscriptions(&self) -> i64 {
        redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("pubsub")
            .query_async(&mut self.admin().await)
            .await
            .unwrap()
    }

    /// Cuts `replica` off Redis, as a network partition would: its Redis user is disabled and
    /// its connections are killed, while the other replica keeps its own.
    async fn cut_off_redis(&self, replica: usize) {
        let mut admin = self.admin().await;
        let user = &self.redis_users[replica];
        redis::cmd("ACL")
            .arg("SETUSER")
            .arg(user)
            .arg("off")
            .query_async::<()>(&mut admin)
            .await
            .unwrap();
        let killed: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("USER")
            .arg(user)
            .query_async(&mut admin)
            .await
            .unwrap();
        assert!(killed > 0, "replica {replica} was connected to Redis");
    }

    /// The revision of `tenant` in the store (to check a test's premise, never its outcome).
    async fn revision(&self, tenant: TenantId) -> i64 {
        let pool = sqlx::PgPool::connect(self.database.url()).await.unwrap();
        let revision: Option<i64> =
            sqlx::query_scalar("SELECT revision FROM tenant_revisions WHERE tenant_id = $1")
                .bind(tenant.as_uuid())
                .fetch_optional(&pool)
                .await
                .unwrap();
        pool.close().await;
        revision.unwrap_or(0)
    }

    /// Asks the team's question without a token on `replica` every few milliseconds, until
    /// `3 × bound` after the revoke answered (`t0`, set by whoever sends it).
    async fn poll(&self, replica: usize, team: &Team, t0: &OnceLock<Instant>) -> Vec<Answer> {
        let mut answers = Vec::new();
        loop {
            if let Some(t0) = t0.get()
                && Instant::now() >= *t0 + self.bound * 3
            {
                return answers;
            }
            let asked = Instant::now();
            let decision = self
                .manager_reads_member(replica, team, tokenless())
                .await
                .map_err(|status| status.code());
            answers.push(Answer { asked, decision });
            tokio::time::sleep(POLL_PAUSE).await;
        }
    }

    /// Revokes through replica 0 while both replicas are polled, and asserts that from the
    /// revoke's answer on, neither allows later than the bound and both end up denying. With
    /// `concurrently`, polling starts when the revoke is sent (a slow Redis may hold it up);
    /// otherwise when it answered.
    async fn revoke_and_watch(&self, team: &Team, variant: &str, concurrently: bool) {
        let t0 = OnceLock::new();
        let sent = Instant::now();
        let revoke = async {
            self.revoke(0, team).await;
            t0.set(Instant::now()).unwrap();
        };
        let answers = if concurrently {
            let (_, first, second) =
                tokio::join!(revoke, self.poll(0, team, &t0), self.poll(1, team, &t0));
            [first, second]
        } else {
            revoke.await;
            let (first, second) = tokio::join!(self.poll(0, team, &t0), self.poll(1, team, &t0));
            [first, second]
        };
        let t0 = *t0.get().unwrap();
        if concurrently {
            println!(
                "staleness[{variant}]: the revoke answered {} ms after it was sent",
                (t0 - sent).as_millis()
            );
        }
        let watched: Vec<Watched> = answers
            .iter()
            .map(|answers| Watched::of(answers, t0, sent))
            .collect();
        for (replica, watched) in watched.iter().enumerate() {
            println!(
                "staleness[{variant}]: replica {replica}: {watched} (bound {} ms)",
                self.bound.as_millis()
            );
        }
        for (replica, watched) in watched.iter().enumerate() {
            assert_eq!(
                watched.failed, 0,
                "{variant}: replica {replica} failed checks: {watched}"
            );
            assert!(
                watched.last_allowed.is_none_or(|at| at <= self.bound),
                "{variant}: replica {replica} allowed later than the {} ms bound after the \
                 revoke: {watched}",
                self.bound.as_millis()
            );
            assert!(
                watched.watched_for > self.bound,
                "{variant}: replica {replica} was not watched past the bound: {watched}"
            );
            assert!(
                watched.ended_denied,
                "{variant}: replica {replica} did not end up denying: {watched}"
            );
        }
    }
}

/// A tokenless check's answer, by when it was sent.
struct Answer {
    asked: Instant,
    decision: Result<Decision, tonic::Code>,
}

/// What one replica answered around a revoke, in times since the revoke answered (`t0`).
struct Watched {
    /// When the last Allowed sent at or after `t0` was sent; `None` if there was none.
    last_allowed: Option<Duration>,
    /// The same since the revoke was sent.
    last_allowed_since_sent: Option<Duration>,
    /// When the first Denied sent at or after `t0` was sent.
    first_denied: Option<Duration>,
    /// When the last check was sent.
    watched_for: Duration,
    /// Whether the last check answered Denied.
    ended_denied: bool,
    /// Checks sent, and how many of them failed.
    checks: usize,
    failed: usize,
}

impl Watched {
    fn of(answers: &[Answer], t0: Instant, sent: Instant) -> Watched {
        let after = |answer: &&Answer| answer.asked >= t0;
        let allowed = |answer: &&Answer| answer.decision == Ok(Decision::Allowed);
        let last_allowed = answers.iter().filter(after).rfind(allowed);
        Watched {
            last_allowed: last_allowed.map(|a| a.asked - t0),
            last_allowed_since_sent: answers.iter().rfind(allowed).map(|a| a.asked - sent),
            first_denied: answers
                .iter()
                .filter(after)
                .find(|a| a.decision == Ok(Decision::Denied))
                .map(|a| a.asked - t0),
            watched_for: answers
                .last()
                .map_or(Duration::ZERO, |a| a.asked.saturating_duration_since(t0)),
            ended_denied: answers
                .last()
                .is_some_and(|a| a.decision == Ok(Decision::Denied)),
            checks: answers.len(),
            failed: answers.iter().filter(|a| a.decision.is_err()).count(),
        }
    }
}

impl std::fmt::Display for Watched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |at: Option<Duration>| {
            at.map_or("none".to_owned(), |at| format!("{} ms", at.as_millis()))
        };
        write!(
            f,
            "last Allowed {} after the revoke answered ({} after it was sent), first Denied {}, \
             watched {} ms, {} checks ({} failed), ended {}",
            ms(self.last_allowed),
            ms(self.last_allowed_since_sent),
            ms(self.first_denied),
            self.watched_for.as_millis(),
            self.checks,
            self.failed,
            if self.ended_denied {
                "denied"
            } else {
                "not denied"
            },
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_denies_on_every_replica_within_the_bound() {
    let r = Replicas::start().await;
    let team = r.team(TenantId::generate()).await;
    r.warm(&team).await;
    r.revoke_and_watch(&team, "plain", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_denies_within_the_bound_when_the_subscription_is_killed() {
    let r = Replicas::start().await;
    let team = r.team(TenantId::generate()).await;
    r.warm(&team).await;
    assert!(
        r.kill_subscriptions().await > 0,
        "the replicas were subscribed to invalidations"
    );
    r.revoke_and_watch(&team, "subscription killed", false)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_denies_within_the_bound_when_redis_restarts() {
    let mut r = Replicas::start().await;
    let team = r.team(TenantId::generate()).await;
    r.warm(&team).await;
    r.server.restart().await;
    r.redis.restore_users();
    r.revoke_and_watch(&team, "redis restarted", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_denies_within_the_bound_when_redis_stalls() {
    let r = Replicas::start().await;
    let team = r.team(TenantId::generate()).await;
    r.warm(&team).await;
    // Writes stall (the revoke's invalidation, its publication, the entries' refills) while
    // reads go on: what Redis holds stays readable though it may no longer be true.
    let pause = r.bound * 3;
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(pause.as_millis() as u64)
        .arg("WRITE")
        .query_async::<()>(&mut r.admin().await)
        .await
        .unwrap();
    r.revoke_and_watch(&team, "redis paused", true).await;
}

/// The writer cannot reach Redis, so its invalidation is neither published nor applied there,
/// while the other replica's subscription stays up and Redis holds a copy of the facts read
/// after the other replica's own (review M5: such a copy must not give them a fresh life).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_denies_within_the_bound_when_the_writer_loses_redis() {
    let r = Replicas::start().await;
    let team = r.team(TenantId::generate()).await;
    r.warm(&team).await;
    // Past the bound again, replica 1 and then replica 0 ask, with Redis losing what replica 1
    // stored in between (as eviction would): Redis then holds replica 0's later copy.
    tokio::time::sleep(r.bound + r.bound / 2).await;
    let mut admin = r.admin().await;
    for replica in [1, 0] {
        assert_eq!(
            r.manager_reads_member(replica, &team, tokenless())
                .await
                .unwrap(),
            Decision::Allowed
        );
        if replica == 1 {
            redis::cmd("FLUSHALL")
                .query_async::<()>(&mut admin)
                .await
                .unwrap();
        }
    }
    r.cut_off_redis(0).await;
    r.revoke_and_watch(&team, "writer cut off redis", false)
        .await;
}

/// Review finding 17's rule after a revoke: asked at least as fresh as the revoke, the other
/// replica denies at once, warm or not, whether the invalidation reached it or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_carrying_the_revokes_token_denies_on_the_other_replica_at_once() {
    let r = Replicas::start().await;
    let team = r.team(TenantId::generate()).await;
    for round in 0..4 {
        if round > 0 {
            r.restore(&team).await;
        }
        r.warm(&team).await;
        // Every other round the other replica cannot hear the invalidation.
        let killed = round % 2 == 1;
        if killed {
            assert!(r.kill_subscriptions().await > 0);
        }
        let writer = round % 2;
        let revoked = r.revoke(writer, &team).await;
        for replica in [1 - writer, writer, 1 - writer] {
            assert_eq!(
                r.manager_reads_member(
                    replica,
                    &team,
                    Requirement::AtLeastAsFresh(revoked.clone())
                )
                .await
                .unwrap(),
                Decision::Denied,
                "round {round} (subscription killed: {killed}): replica {replica} answered \
                 older than the revoke's token"
            );
        }
    }
}

/// Review finding M6: tenant B's token protects B's resource even when a replica holds the
/// resource's facts from a question asked in tenant A, whose revision is far ahead of B's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_honoured_for_facts_cached_by_another_tenants_question() {
    let r = Replicas::start().await;
    let b = r.team(TenantId::generate()).await;
    let a = TenantId::generate();
    let stranger = r.users(a, 1).await[0];
    // A's revision well past what B's will be after the change below.
    while r.revision(a).await <= r.revision(b.tenant).await + 10 {
        r.users(a, 1).await;
    }
    let member_of_b = ObjectReference {
        tenant_id: b.tenant.to_string(),
        ..user_ref(b.member)
    };
    // A's user asks about B's member on replica 1: denied, but the member's facts are cached
    // there.
    assert_eq!(
        r.check(1, a, stranger, member_of_b.clone(), tokenless())
            .await
            .unwrap(),
        Decision::Denied
    );
    // The writer cannot reach Redis: replica 1 never hears of the change below, so only the
    // token's revision stands between it and the facts it cached.
    r.cut_off_redis(0).await;
    let changed = r.revoke(0, &b).await;
    let (a_revision, b_revision) = (r.revision(a).await, r.revision(b.tenant).await);
    assert!(
        a_revision > b_revision,
        "the premise: A's revision is ahead"
    );
    let decision = r
        .manager_reads_member(1, &b, Requirement::AtLeastAsFresh(changed))
        .await
        .unwrap();
    println!(
        "staleness[other tenant's question]: {decision:?} with B's token \
         (A at revision {a_revision}, B at {b_revision})"
    );
    assert_eq!(
        decision,
        Decision::Denied,
        "replica 1 answered older than B's token, from B's facts stamped with A's revision"
    );
}

/// What one replica read reaches the other through Redis (each test runs in its own process:
/// the counts are this test's replicas).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facts_one_replica_read_are_served_to_the_other_from_redis() {
    let r = Replicas::start().await;
    let team = r.team(TenantId::generate()).await;
    assert_eq!(
        r.manager_reads_member(0, &team, tokenless()).await.unwrap(),
        Decision::Allowed
    );
    // Replica 0 stores its read in Redis after answering.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = lms_authorization::cache_lookups();
    assert_eq!(
        r.manager_reads_member(1, &team, tokenless()).await.unwrap(),
        Decision::Allowed
    );
    let after = lms_authorization::cache_lookups();
    assert_eq!(
        (after.redis - before.redis, after.miss - before.miss),
        (2, 0),
        "the manager's and the member's facts come from Redis"
    );
}

/// A revoke whose invalidation never reached Redis (the writer could not reach it) leaves the
/// old facts there. Long after the writer's own tombstone is gone, the writer itself must not
/// take them back: it counts its write as heard only from the channel, so it drops the
/// tenant's older facts as every other replica does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_could_not_reach_redis_never_takes_the_old_facts_back_from_it() {
    let r = Replicas::start().await;
    let team = r.team(TenantId::generate()).await;
    r.warm(&team).await;
    r.cut_off_redis(0).await;
    r.revoke(0, &team).await;
    r.redis.restore_users();
    // Longer than a tombstone lives in the writer.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(
        r.manager_reads_member(0, &team, tokenless()).await.unwrap(),
        Decision::Denied,
        "the writer answered from the facts its lost invalidation left in Redis"
    );
}
