//! Outgoing calls: where a peer service is and how to reach it (TLS when its URL is
//! `https://`), and what every call carries: the bearer token and the W3C trace context.

use std::time::Duration;

use tonic::metadata::{AsciiMetadataValue, errors::InvalidMetadataValue};
use tonic::service::Interceptor;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

use crate::telemetry::propagation;
use crate::tls::PeerTls;

/// A client interceptor adding `authorization: Bearer …` (when a token is set) and the current
/// trace context to every request.
#[derive(Clone, Default)]
pub struct CallCredentials {
    bearer: Option<AsciiMetadataValue>,
}

impl std::fmt::Debug for CallCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallCredentials")
            .field("bearer", &self.bearer.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl CallCredentials {
    /// Calls without a token (public methods, health).
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// Calls with `token`.
    pub fn bearer(token: &str) -> Result<Self, InvalidMetadataValue> {
        let mut value: AsciiMetadataValue = format!("Bearer {token}").parse()?;
        value.set_sensitive(true);
        Ok(Self {
            bearer: Some(value),
        })
    }
}

impl Interceptor for CallCredentials {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(bearer) = &self.bearer {
            request
                .metadata_mut()
                .insert("authorization", bearer.clone());
        }
        propagation::inject_current(request.metadata_mut());
        Ok(request)
    }
}

/// Connects to a service at `uri` (`http://host:port`, no TLS) with Nagle off, which matters
/// for the small messages of the decision path. Services reach each other through [`Peer`].
pub async fn connect(uri: String) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_shared(uri)?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
}

/// Why a peer cannot be called.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The URL does not parse.
    #[error("peer endpoint {url:?} is not a URL: {source}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: tonic::transport::Error,
    },
    /// TLS is configured but the URL is `http://`: calls would carry tokens in clear.
    #[error("peer endpoint {url:?} is plaintext but TLS is configured; use https://")]
    Plaintext {
        /// The URL.
        url: String,
    },
    /// The URL is `https://` but no CA is configured to verify the peer by.
    #[error("peer endpoint {url:?} is https:// but peers.tls_ca_file is not set")]
    Untrusted {
        /// The URL.
        url: String,
    },
    /// The TLS configuration does not fit the URL.
    #[error("peer endpoint {url:?}: {source}")]
    Tls {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: tonic::transport::Error,
    },
    /// The peer could not be reached.
    #[error("peer endpoint {url:?} unreachable: {source}")]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: tonic::transport::Error,
    },
}

/// A service this one calls: its URL, and the TLS to verify it (and prove this service to it)
/// with. With TLS, only `https://` URLs are called; without, only `http://` ones.
#[derive(Debug, Clone)]
pub struct Peer {
    url: String,
    tls: Option<PeerTls>,
}

impl Peer {
    /// The peer at `url`, called with `tls` when given.
    pub fn new(url: impl Into<String>, tls: Option<PeerTls>) -> Self {
        Self {
            url: url.into(),
            tls,
        }
    }

    /// A plaintext peer at `url` (`http://`; tests and `lms dev`).
    pub fn plaintext(url: impl Into<String>) -> Self {
        Self::new(url, None)
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// An endpoint to it, with Nagle off (the decision path's messages are small) and TLS when
    /// configured; callers add their timeouts and connect.
    pub fn endpoint(&self) -> Result<Endpoint, PeerError> {
        let url = || self.url.clone();
        let endpoint = Endpoint::from_shared(self.url.clone())
            .map_err(|source| PeerError::Url { url: url(), source })?
            .tcp_nodelay(true);
        let https = self.url.starts_with("https://");
        match (&self.tls, https) {
            (Some(tls), true) => endpoint
                .tls_config(tls.config())
                .map_err(|source| PeerError::Tls { url: url(), source }),
            (Some(_), false) => Err(PeerError::Plaintext { url: url() }),
            (None, true) => Err(PeerError::Untrusted { url: url() }),
            (None, false) => Ok(endpoint),
        }
    }

    /// Connects now, waiting at most five seconds.
    pub async fn connect(&self) -> Result<Channel, PeerError> {
        self.endpoint()?
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|source| PeerError::Connect {
                url: self.url.clone(),
                source,
            })
    }
}
