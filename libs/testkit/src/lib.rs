//! The LMS Access test kit: real PostgreSQL and Redis for every test, tokens minted with a
//! per-test key, and services started on 127.0.0.1 port 0 with a connected client.
//!
//! Servers are found in this order: `LMS_TEST_DATABASE_URL` / `LMS_TEST_REDIS_URL`, then the
//! local defaults (`postgres://postgres@127.0.0.1:5432/postgres`, `redis://127.0.0.1:6379`), then
//! testcontainers where a Docker engine runs. With none, the test fails and says what to start;
//! it never skips.

#![forbid(unsafe_code)]

mod auth;
mod postgres;
mod redis;
mod redis_server;
mod reflection;
mod service;
mod store;
mod tls;

pub use auth::TestAuth;
pub use postgres::{TestDatabase, postgres_database};
pub use redis::{TestRedis, redis};
pub use redis_server::RedisProcess;
pub use reflection::reflection_services;
pub use service::{
    TEST_EVENTS_MAC_KEY, TEST_KEK, TEST_MAC_KEY, TEST_REVOCATIONS_MAC_KEY, TestService,
    local_listener, service_context, sqlite_url,
};
pub use store::{TestPool, postgres_pool, sqlite_pool};
pub use tls::{TestCa, TestCert};

/// Quiet-by-default logging for tests: set `LMS_TEST_LOG` (a `tracing` filter) to see logs.
pub fn trace_init() {
    let filter = std::env::var("LMS_TEST_LOG").unwrap_or_else(|_| "off".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_test_writer()
        .try_init();
}
