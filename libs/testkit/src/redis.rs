use std::time::Duration;

use tokio::sync::OnceCell;

const LOCAL_DEFAULT: &str = "redis://127.0.0.1:6379";

/// The URL of the Redis tests use, found once per test process.
static SERVER: OnceCell<String> = OnceCell::const_new();

/// A key prefix of its own for one test on the test Redis; its keys are deleted on drop.
#[derive(Debug)]
pub struct TestRedis {
    url: String,
    prefix: String,
    /// ACL users made for this test, deleted with its keys.
    users: std::sync::Mutex<Vec<AclUser>>,
}

/// A Redis user a test made, with what it takes to make it again on a restarted server.
#[derive(Debug, Clone)]
struct AclUser {
    name: String,
    password: String,
    rules: Vec<String>,
}

impl AclUser {
    fn set(&self, connection: &mut ::redis::Connection) -> ::redis::RedisResult<()> {
        ::redis::cmd("ACL")
            .arg("SETUSER")
            .arg(&self.name)
            .arg("on")
            .arg(format!(">{}", self.password))
            .arg(&self.rules)
            .query(connection)
    }
}

impl TestRedis {
    /// A fresh prefix on the Redis at `url` (for example a [`crate::RedisProcess`]).
    pub fn at(url: &str) -> TestRedis {
        TestRedis {
            url: url.to_owned(),
            prefix: format!("lms-test:{}:", uuid::Uuid::new_v4().simple()),
            users: Default::default(),
        }
    }

    /// The server URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// This test's key prefix (ends with `:`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The URL of a Redis user of this test's own holding `service`'s ACL rules for this
    /// prefix (`lms redis-acl <service>`), as a deployment would connect that service.
    pub fn as_service(&self, service: lms_runtime::ServiceName) -> String {
        let user = AclUser {
            name: format!("lms-test-{}-{service}", uuid::Uuid::new_v4().simple()),
            password: uuid::Uuid::new_v4().simple().to_string(),
            rules: lms_runtime::redis_acl::rules(service, &self.prefix),
        };
        user.set(&mut self.admin())
            .expect("the test Redis takes ACL users");
        self.users.lock().unwrap().push(user.clone());
        let url = url::Url::parse(&self.url).expect("a Redis URL");
        let mut with_user = url.clone();
        with_user
            .set_username(&user.name)
            .expect("a URL with a host");
        with_user
            .set_password(Some(&user.password))
            .expect("a URL with a host");
        with_user.to_string()
    }

    /// Makes this test's ACL users again, with the same names, passwords and rules, on a server
    /// that forgot them (a [`crate::RedisProcess::restart`]), so services reconnect as before.
    pub fn restore_users(&self) {
        let mut connection = self.admin();
        for user in self.users.lock().unwrap().iter() {
            user.set(&mut connection)
                .expect("the test Redis takes ACL users");
        }
    }

    /// A connection as the server's default user.
    fn admin(&self) -> ::redis::Connection {
        ::redis::Client::open(self.url.as_str())
            .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(1)))
            .expect("the test Redis answers")
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let (url, pattern) = (self.url.clone(), format!("{}*", self.prefix));
        let users: Vec<String> =
            std::mem::take(&mut *self.users.lock().unwrap_or_else(|p| p.into_inner()))
                .into_iter()
                .map(|user| user.name)
                .collect();
        let cleanup = std::thread::spawn(move || {
            let Ok(client) = ::redis::Client::open(url) else {
                return;
            };
            let Ok(mut connection) = client.get_connection_with_timeout(Duration::from_secs(1))
            else {
                return;
            };
            let keys: Vec<String> = ::redis::cmd("KEYS")
                .arg(&pattern)
                .query(&mut connection)
                .unwrap_or_default();
            if !keys.is_empty() {
                let _: Result<(), _> = ::redis::cmd("DEL").arg(keys).query(&mut connection);
            }
            if !users.is_empty() {
                let _: Result<(), _> = ::redis::cmd("ACL")
                    .arg("DELUSER")
                    .arg(users)
                    .query(&mut connection);
            }
        });
        let _ = cleanup.join();
    }
}

/// The test Redis with a fresh key prefix.
pub async fn redis() -> TestRedis {
    let url = SERVER.get_or_init(find_server).await.clone();
    TestRedis {
        url,
        prefix: format!("lms-test:{}:", uuid::Uuid::new_v4().simple()),
        users: Default::default(),
    }
}

async fn answers(url: &str) -> bool {
    let Ok(client) = ::redis::Client::open(url) else {
        return false;
    };
    let ping = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        ::redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(3), ping).await,
        Ok(Ok(_))
    )
}

async fn find_server() -> String {
    if let Ok(url) = std::env::var("LMS_TEST_REDIS_URL") {
        assert!(
            answers(&url).await,
            "LMS_TEST_REDIS_URL is set but that Redis does not answer"
        );
        return url;
    }
    if answers(LOCAL_DEFAULT).await {
        return LOCAL_DEFAULT.to_owned();
    }
    #[cfg(feature = "containers")]
    if let Some(url) = containers::redis().await {
        return url;
    }
    panic!(
        "no Redis for tests: set LMS_TEST_REDIS_URL, or start one on 127.0.0.1:6379 \
         (`redis-server --daemonize yes`), or run Docker so testcontainers can start one"
    );
}

#[cfg(feature = "containers")]
mod containers {
    use testcontainers::runners::AsyncRunner;
    use testcontainers_modules::redis::Redis;

    /// Starts a Redis container that lives as long as the test process.
    pub(super) async fn redis() -> Option<String> {
        let container = Redis::default().start().await.ok()?;
        let port = container.get_host_port_ipv4(6379).await.ok()?;
        std::mem::forget(container);
        Some(format!("redis://127.0.0.1:{port}"))
    }
}
