//! `[server]`: the gRPC server stack shared by every service.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// The server stack: deadlines and load limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Longest a request may run; a shorter `grpc-timeout` from the client wins.
    pub request_timeout_ms: u64,
    /// Requests handled at once per service; further requests wait for a slot.
    pub concurrency_limit: usize,
    /// How long shutdown waits for in-flight requests after health turns NOT_SERVING.
    pub shutdown_grace_ms: u64,
    /// Requests of one tenant handled or waiting at once per service: past it that tenant's
    /// requests are refused at once (RESOURCE_EXHAUSTED, `TENANT_BUSY`), so one tenant's storm
    /// cannot take every slot from the others.
    pub tenant_concurrency_limit: usize,
    /// HTTP/2 streams one connection may have open at once.
    pub max_concurrent_streams: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            request_timeout_ms: 10_000,
            concurrency_limit: 1024,
            shutdown_grace_ms: 5_000,
            tenant_concurrency_limit: 256,
            max_concurrent_streams: 256,
        }
    }
}

impl ServerConfig {
    /// Checks what types cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.request_timeout_ms == 0 {
            return Err(invalid("server.request_timeout_ms", "must be at least 1"));
        }
        if self.concurrency_limit == 0 {
            return Err(invalid("server.concurrency_limit", "must be at least 1"));
        }
        if self.tenant_concurrency_limit == 0 || self.max_concurrent_streams == 0 {
            return Err(invalid(
                "server.tenant_concurrency_limit",
                "per-tenant and per-connection limits must be at least 1",
            ));
        }
        Ok(())
    }
}
