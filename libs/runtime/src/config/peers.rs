//! `[peers]`: how this service trusts the services it calls (identity's keys, authorization's
//! events) and proves itself to them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// TLS for outgoing gRPC calls. Set `tls_ca_file` and every peer endpoint must be `https://`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeersConfig {
    /// CA bundle (PEM) the peers' server certificates must chain to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca_file: Option<PathBuf>,
    /// This service's client certificate chain (PEM), for peers that require mutual TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert_file: Option<PathBuf>,
    /// The private key of `tls_cert_file` (PEM). Read at start, never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key_file: Option<PathBuf>,
}

impl PeersConfig {
    /// Checks that a client certificate comes with its key and a CA to trust peers by.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return Err(invalid(
                "peers.tls_cert_file",
                "set both peers.tls_cert_file and peers.tls_key_file, or neither",
            ));
        }
        if self.tls_cert_file.is_some() && self.tls_ca_file.is_none() {
            return Err(invalid(
                "peers.tls_cert_file",
                "requires peers.tls_ca_file: a client certificate is only sent over TLS",
            ));
        }
        Ok(())
    }

    /// Whether outgoing calls use TLS.
    pub fn tls_enabled(&self) -> bool {
        self.tls_ca_file.is_some()
    }
}
