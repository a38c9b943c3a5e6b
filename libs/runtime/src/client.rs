//! What every outgoing call carries: the bearer token and the W3C trace context.

use std::time::Duration;

use tonic::metadata::{AsciiMetadataValue, errors::InvalidMetadataValue};
use tonic::service::Interceptor;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

use crate::telemetry::propagation;

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

/// Connects to a service at `uri` (`http://host:port`) with Nagle off, which matters for the
/// small messages of the decision path.
pub async fn connect(uri: String) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_shared(uri)?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
}
