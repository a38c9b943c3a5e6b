use std::net::{IpAddr, Ipv6Addr};
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
/// An IPv6 peer is counted by its /64 (see [`peer_key`]).
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
        limiter.admit(peer_key(peer)).err().map(|error| {
            tracing::info!(%peer, method = path, "peer rate limit reached");
            Status::from(error)
        })
    }
}

/// The bucket a peer address spends from. One IPv6 subscriber is routinely given a whole /64
/// (and can pick any address in it), so IPv6 peers are counted by their /64, not their address;
/// IPv4 peers by their address, also when they arrive IPv4-mapped on a dual-stack socket (or
/// every IPv4 client would share the bucket of `::ffff:0:0/64`).
fn peer_key(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(_) => peer,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !u128::from(u64::MAX);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv6_peers_in_one_slash_64_share_a_key_and_other_prefixes_do_not() {
        let key = peer_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd"));
        assert_eq!(key, ip("2001:db8:1:2::"));
        assert_eq!(peer_key(ip("2001:db8:1:2::1")), key);
        assert_eq!(peer_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")), key);
        assert_ne!(peer_key(ip("2001:db8:1:3::1")), key);
    }

    #[test]
    fn ipv4_peers_keep_their_address_even_when_mapped_into_ipv6() {
        assert_eq!(peer_key(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(peer_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_ne!(
            peer_key(ip("::ffff:192.0.2.8")),
            peer_key(ip("::ffff:192.0.2.7"))
        );
    }

    fn call_from(layer: &PeerLimitLayer, peer: &str) -> Option<Status> {
        let mut request = Request::builder().uri("/m").body(Body::empty()).unwrap();
        request.extensions_mut().insert(TcpConnectInfo {
            local_addr: None,
            remote_addr: Some(std::net::SocketAddr::new(ip(peer), 40_000)),
        });
        layer.refusal(&request)
    }

    #[test]
    fn a_slash_64_spends_one_bucket_however_many_addresses_it_calls_from() {
        // One a second, two at once: two calls, then the whole /64 is refused.
        let layer = PeerLimitLayer::new(&["/m"], 1);
        assert!(call_from(&layer, "2001:db8::1").is_none());
        assert!(call_from(&layer, "2001:db8::2").is_none());
        let refused = call_from(&layer, "2001:db8::3").expect("the /64 spent its burst");
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(call_from(&layer, "2001:db8:0:1::3").is_none());
    }
}
