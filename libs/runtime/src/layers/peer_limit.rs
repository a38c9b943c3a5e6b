use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tonic::Status;
use tonic::body::Body;
use tonic::transport::server::TcpConnectInfo;
use tower::{Layer, Service};

use super::BoxFuture;
use crate::rate_limit::KeyedLimiter;

/// Limits how often one peer address may call a few named methods (the unauthenticated
/// sign-in family), before anything else runs for them: a flood from one address is refused
/// with RESOURCE_EXHAUSTED (`RATE_LIMITED`) without touching the store or hashing a password.
/// Other methods pass untouched.
///
/// The peer is the TCP peer: behind a proxy or load balancer that does not keep client
/// addresses, every client shares the proxy's bucket, so size the rate for that deployment.
#[derive(Debug, Clone)]
pub struct PeerLimitLayer {
    methods: Arc<[String]>,
    limiter: Option<KeyedLimiter<IpAddr>>,
}

impl PeerLimitLayer {
    /// No limit at all.
    pub fn none() -> Self {
        Self {
            methods: Arc::new([]),
            limiter: None,
        }
    }

    /// `per_second` calls per peer on average (twice that at once) to the full gRPC paths in
    /// `methods`.
    pub fn new(methods: &[&str], per_second: u32) -> Self {
        Self {
            methods: methods.iter().map(|m| m.to_string()).collect(),
            limiter: Some(KeyedLimiter::new(
                f64::from(per_second),
                per_second.saturating_mul(2),
                "RATE_LIMITED",
            )),
        }
    }

    fn refusal(&self, request: &Request<Body>) -> Option<Status> {
        let limiter = self.limiter.as_ref()?;
        let path = request.uri().path();
        if !self.methods.iter().any(|m| m == path) {
            return None;
        }
        let peer = request
            .extensions()
            .get::<TcpConnectInfo>()
            .and_then(TcpConnectInfo::remote_addr)?
            .ip();
        limiter.admit(peer).err().map(|error| {
            tracing::info!(%peer, method = path, "peer rate limit reached");
            Status::from(error)
        })
    }
}

impl<S> Layer<S> for PeerLimitLayer {
    type Service = PeerLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PeerLimitService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`PeerLimitLayer`].
#[derive(Debug, Clone)]
pub struct PeerLimitService<S> {
    inner: S,
    layer: PeerLimitLayer,
}

impl<S> Service<Request<Body>> for PeerLimitService<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if let Some(status) = self.layer.refusal(&request) {
            return Box::pin(async move { Ok(status.into_http()) });
        }
        Box::pin(self.inner.call(request))
    }
}
