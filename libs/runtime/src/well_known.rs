//! Plain HTTP documents served beside gRPC on the same port under `/.well-known/` (RFC 8615),
//! such as identity's `/.well-known/jwks.json` for gateways and other verifiers that speak no gRPC.
//! The server accepts HTTP/1.1 as well as HTTP/2 for them.

use std::convert::Infallible;
use std::future::Ready;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response, StatusCode, header};
use tonic::body::Body;
use tonic::server::NamedService;
use tower::Service;

/// Answers the current JSON document at a path under `/.well-known/`, or `None`.
pub type DocumentSource = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The tower service routed at `/.well-known/*`.
#[derive(Clone)]
pub struct WellKnown {
    documents: DocumentSource,
}

impl std::fmt::Debug for WellKnown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WellKnown").finish_non_exhaustive()
    }
}

impl WellKnown {
    /// Serves what `documents` answers for each path (the part after `/.well-known/`).
    pub fn new(documents: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self {
            documents: Arc::new(documents),
        }
    }
}

// The router mounts a service at `/{NAME}/*`, which is exactly the well-known prefix.
impl NamedService for WellKnown {
    const NAME: &'static str = ".well-known";
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::new(http_body_util::Full::new(
        bytes::Bytes::from_static(text.as_bytes()),
    )));
    *response.status_mut() = status;
    response
}

impl Service<Request<Body>> for WellKnown {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let name = request
            .uri()
            .path()
            .strip_prefix("/.well-known/")
            .unwrap_or_default();
        let response = if request.method() != http::Method::GET {
            plain(StatusCode::METHOD_NOT_ALLOWED, "only GET\n")
        } else {
            match (self.documents)(name) {
                Some(json) => {
                    let mut response = Response::new(Body::new(http_body_util::Full::new(
                        bytes::Bytes::from(json),
                    )));
                    let headers = response.headers_mut();
                    headers.insert(
                        header::CONTENT_TYPE,
                        header::HeaderValue::from_static("application/json"),
                    );
                    headers.insert(
                        header::CACHE_CONTROL,
                        header::HeaderValue::from_static("max-age=60"),
                    );
                    response
                }
                None => plain(StatusCode::NOT_FOUND, "not found\n"),
            }
        };
        std::future::ready(Ok(response))
    }
}
