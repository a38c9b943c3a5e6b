//! TLS material read from the files the configuration names: the server's identity (and the CA
//! its clients must chain to), and the CA and client identity of outgoing gRPC calls. The files
//! are read and checked once at start, so a missing or broken file stops the service with the
//! key that names it instead of failing every connection later. Private keys live only inside
//! tonic's TLS types; nothing here prints them.

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, Server, ServerTlsConfig};

use crate::config::{PeersConfig, ServerConfig};

/// Why TLS material could not be used. Names the config key and the file, never its contents.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("configuration key `{key}`: cannot read {}: {source}", path.display())]
    Read {
        /// Dotted key naming the file.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The files were read but do not make a usable TLS configuration (not PEM, a key that does
    /// not parse).
    #[error("configuration key `{key}`: unusable TLS material: {reason}")]
    Invalid {
        /// Dotted key of the first file involved.
        key: &'static str,
        /// What the TLS library said (it never quotes key material).
        reason: String,
    },
}

/// The server side: this service's certificate and key, and the CA client certificates must
/// chain to when mutual TLS is on.
#[derive(Clone)]
pub struct ServerTls {
    config: ServerTlsConfig,
    mutual: bool,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("mutual", &self.mutual)
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// The server TLS `server` configures, read from its files; `None` when it has none.
    pub fn from_config(server: &ServerConfig) -> Result<Option<Self>, TlsError> {
        let (Some(cert), Some(key)) = (&server.tls_cert_file, &server.tls_key_file) else {
            return Ok(None);
        };
        let cert = read("server.tls_cert_file", cert)?;
        let key = read("server.tls_key_file", key)?;
        let client_ca = server
            .tls_client_ca_file
            .as_deref()
            .map(|path| read("server.tls_client_ca_file", path))
            .transpose()?;
        Self::from_pem(&cert, &key, client_ca.as_deref()).map(Some)
    }

    /// A server identity from PEM text; with `client_ca`, every client must present a
    /// certificate chaining to it.
    pub fn from_pem(cert: &[u8], key: &[u8], client_ca: Option<&[u8]>) -> Result<Self, TlsError> {
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
        if let Some(ca) = client_ca {
            config = config.client_ca_root(Certificate::from_pem(ca));
        }
        // Building an acceptor parses everything now, at start.
        Server::builder()
            .tls_config(config.clone())
            .map_err(|error| TlsError::Invalid {
                key: "server.tls_cert_file",
                reason: error_chain(&error),
            })?;
        Ok(Self {
            config,
            mutual: client_ca.is_some(),
        })
    }

    /// Whether clients must present a certificate.
    pub fn is_mutual(&self) -> bool {
        self.mutual
    }

    /// The configuration for tonic's server.
    pub fn config(&self) -> ServerTlsConfig {
        self.config.clone()
    }
}

/// The client side of calls to peer services: the CA their certificates must chain to, and
/// this service's certificate for peers that require mutual TLS.
#[derive(Clone)]
pub struct PeerTls {
    config: ClientTlsConfig,
    with_identity: bool,
}

impl std::fmt::Debug for PeerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerTls")
            .field("with_identity", &self.with_identity)
            .finish_non_exhaustive()
    }
}

impl PeerTls {
    /// The peer TLS `peers` configures, read from its files; `None` when it has no CA.
    pub fn from_config(peers: &PeersConfig) -> Result<Option<Self>, TlsError> {
        let Some(ca) = &peers.tls_ca_file else {
            return Ok(None);
        };
        let ca = read("peers.tls_ca_file", ca)?;
        let identity = match (&peers.tls_cert_file, &peers.tls_key_file) {
            (Some(cert), Some(key)) => Some((
                read("peers.tls_cert_file", cert)?,
                read("peers.tls_key_file", key)?,
            )),
            _ => None,
        };
        Self::from_pem(
            &ca,
            identity
                .as_ref()
                .map(|(cert, key)| (cert.as_slice(), key.as_slice())),
        )
        .map(Some)
    }

    /// Trust `ca` (PEM, one or more certificates); present `identity` (certificate chain and
    /// key, PEM) when given. Only `ca` is trusted: the system's roots are not.
    pub fn from_pem(ca: &[u8], identity: Option<(&[u8], &[u8])>) -> Result<Self, TlsError> {
        let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
        if let Some((cert, key)) = identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        // A connector is built per endpoint; building one here parses everything at start.
        Endpoint::from_static("https://localhost")
            .tls_config(config.clone())
            .map_err(|error| TlsError::Invalid {
                key: "peers.tls_ca_file",
                reason: error_chain(&error),
            })?;
        Ok(Self {
            config,
            with_identity: identity.is_some(),
        })
    }

    /// The configuration for a tonic endpoint.
    pub fn config(&self) -> ClientTlsConfig {
        self.config.clone()
    }
}

/// Reads the file `key` names.
pub(crate) fn read(key: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        key,
        path: path.to_owned(),
        source,
    })
}

/// An error and its sources on one line: tonic's transport errors say little at the top.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
