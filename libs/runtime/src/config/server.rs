//! `[server]`: the gRPC server stack shared by every service.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// The server stack: deadlines, load limits and TLS.
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
    /// The server's certificate chain (PEM); with `tls_key_file` the server speaks TLS only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert_file: Option<PathBuf>,
    /// The private key of `tls_cert_file` (PEM). Read at start, never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key_file: Option<PathBuf>,
    /// CA bundle (PEM) client certificates must chain to: set, every client must present one
    /// (mutual TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_ca_file: Option<PathBuf>,
    /// Refuse to start unless every connection this service makes or accepts is encrypted and
    /// verified: server TLS, `peers.tls_ca_file`, PostgreSQL with `sslmode=verify-ca` or
    /// `verify-full`, `rediss://`. `lms dev` ignores it (plaintext on 127.0.0.1).
    pub require_tls: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            request_timeout_ms: 10_000,
            concurrency_limit: 1024,
            shutdown_grace_ms: 5_000,
            tenant_concurrency_limit: 256,
            max_concurrent_streams: 256,
            tls_cert_file: None,
            tls_key_file: None,
            tls_client_ca_file: None,
            require_tls: false,
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
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return Err(invalid(
                "server.tls_cert_file",
                "set both server.tls_cert_file and server.tls_key_file, or neither",
            ));
        }
        if self.tls_client_ca_file.is_some() && !self.tls_enabled() {
            return Err(invalid(
                "server.tls_client_ca_file",
                "requires server.tls_cert_file and server.tls_key_file",
            ));
        }
        Ok(())
    }

    /// Whether the server speaks TLS.
    pub fn tls_enabled(&self) -> bool {
        self.tls_cert_file.is_some() && self.tls_key_file.is_some()
    }
}
