//! Each service reaches only its own Redis keys (security review H8): the fixture connects
//! authorization as the user `lms redis-acl authorization` describes, and that is enough for its
//! cache, floors and invalidations, while the other services' users cannot read, plant or drop
//! authorization's entries, and only identity's user can publish revoked sessions.

use lms_runtime::ServiceName;

use crate::fixture::{Fixture, user_ref, uuid_v4};

async fn connect(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Whether Redis refused the command for want of permission (`NOPERM`).
fn refused<T>(result: redis::RedisResult<T>) -> bool {
    matches!(
        result.map_err(|error| error.kind()),
        Err(redis::ErrorKind::Server(redis::ServerErrorKind::NoPerm))
    )
}

#[tokio::test]
async fn authorization_caches_as_its_own_redis_user_and_no_other_service_reaches_its_keys() {
    let f = Fixture::start().await;
    let admin = f.holder("builtin:lms_administrator", None).await;
    let learner = f.user().await;
    assert!(f.may(admin, "users.read", user_ref(learner)).await);
    // A tenant-wide write raises the tenant's floor (a script) and publishes an invalidation.
    f.settings(true, false).await;
    let prefix = f.redis().prefix();
    let entry = format!(
        "{prefix}authz:s:{}:{}",
        f.tenant.as_uuid().simple(),
        admin.as_uuid().simple()
    );
    let floor = format!("{prefix}authz:floor:{}", f.tenant.as_uuid().simple());
    let mut admin_connection = connect(f.redis().url()).await;
    let (cached, raised): (Option<String>, Option<String>) = redis::pipe()
        .get(&entry)
        .get(&floor)
        .query_async(&mut admin_connection)
        .await
        .unwrap();
    assert!(cached.is_some(), "authorization's user wrote its entry");
    assert!(raised.is_some(), "and raised the floor");

    let revocations = format!("{prefix}revoked-sessions");
    for service in [
        ServiceName::Identity,
        ServiceName::Delegation,
        ServiceName::Reporting,
    ] {
        let mut other = connect(&f.redis().as_service(service)).await;
        assert!(
            refused(
                redis::cmd("GET")
                    .arg(&entry)
                    .query_async::<Option<String>>(&mut other)
                    .await
            ),
            "{service} reads an entry"
        );
        assert!(
            refused(
                redis::cmd("SET")
                    .arg(&entry)
                    .arg("planted")
                    .query_async::<()>(&mut other)
                    .await
            ),
            "{service} plants an entry"
        );
        assert!(
            refused(
                redis::cmd("DEL")
                    .arg(&floor)
                    .query_async::<i64>(&mut other)
                    .await
            ),
            "{service} drops a floor"
        );
        assert!(
            refused(
                redis::cmd("PUBLISH")
                    .arg(format!("{prefix}authz:invalidations"))
                    .arg("x")
                    .query_async::<i64>(&mut other)
                    .await
            ),
            "{service} publishes an invalidation"
        );
        let published = redis::cmd("ZADD")
            .arg(&revocations)
            .arg(1)
            .arg(uuid_v4())
            .query_async::<i64>(&mut other)
            .await;
        assert_eq!(
            refused(published),
            service != ServiceName::Identity,
            "{service} publishes a revocation"
        );
        // Every service follows the revocations.
        redis::cmd("ZRANGEBYSCORE")
            .arg(&revocations)
            .arg(0)
            .arg("+inf")
            .query_async::<Vec<String>>(&mut other)
            .await
            .unwrap();
    }
    // Keys outside this deployment's prefix are nobody's.
    let mut authorization = connect(&f.redis().as_service(ServiceName::Authorization)).await;
    assert!(refused(
        redis::cmd("GET")
            .arg("lms:authz:s:elsewhere")
            .query_async::<Option<String>>(&mut authorization)
            .await
    ));
}
