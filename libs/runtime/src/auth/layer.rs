use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderMap, Request, Response};
use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use tonic::Status;
use tonic::body::Body;
use tower::{Layer, Service};

use super::acting::VerifiedBearer;
use super::claims::Caller;
use super::verifier::{TokenError, TokenVerifier};
use crate::error::ApiError;
use crate::layers::BoxFuture;

/// Paths every server answers without a token: health checks (probes, load balancers),
/// reflection (tooling) and `/.well-known/` documents (public keys). None reveals tenant data.
pub const PUBLIC_INFRASTRUCTURE_PREFIXES: &[&str] = &[
    "/grpc.health.v1.Health/",
    "/.well-known/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// Verifies the bearer token of every request, except public methods, and puts the [`Caller`]
/// into the request's extensions. Refusals answer UNAUTHENTICATED with an `ErrorInfo` reason.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    verifier: TokenVerifier,
    public_methods: Arc<[String]>,
    /// `lms.auth.tokens.rejected` by `reason` (the `ErrorInfo` reason the caller got).
    rejected: Counter<u64>,
}

impl AuthLayer {
    /// A layer verifying with `verifier`; `public_methods` are full gRPC paths
    /// (`/lms.identity.v1.AuthenticationService/SignIn`) that need no token, or prefixes ending
    /// in `/` (`/webhooks/`: plain HTTP endpoints that authenticate their requests themselves).
    pub fn new(verifier: TokenVerifier, public_methods: &[&str]) -> Self {
        Self {
            verifier,
            public_methods: public_methods.iter().map(|m| m.to_string()).collect(),
            rejected: opentelemetry::global::meter("lms")
                .u64_counter("lms.auth.tokens.rejected")
                .with_description(
                    "Requests refused UNAUTHENTICATED for their bearer token, by reason \
                     (TOKEN_MISSING, TOKEN_MALFORMED, TOKEN_EXPIRED, TOKEN_INVALID, TOKEN_REVOKED)",
                )
                .build(),
        }
    }

    fn is_public(&self, path: &str) -> bool {
        PUBLIC_INFRASTRUCTURE_PREFIXES
            .iter()
            .any(|prefix| path.starts_with(prefix))
            || self.public_methods.iter().any(|method| {
                method == path || (method.ends_with('/') && path.starts_with(method.as_str()))
            })
    }

    fn authenticate(&self, headers: &HeaderMap) -> Result<(Caller, VerifiedBearer), TokenError> {
        let header = headers
            .get(http::header::AUTHORIZATION)
            .ok_or(TokenError::Missing)?;
        let value = header.to_str().map_err(|_| TokenError::Malformed)?;
        let (scheme, token) = value.split_once(' ').ok_or(TokenError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(TokenError::Malformed);
        }
        let caller = self.verifier.verify(token.trim())?;
        Ok((caller, VerifiedBearer(header.clone())))
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S> Service<Request<Body>> for AuthService<S>
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

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        if !self.layer.is_public(request.uri().path()) {
            match self.layer.authenticate(request.headers()) {
                Ok((caller, bearer)) => {
                    if let Some(tenant) = caller.tenant() {
                        tracing::Span::current().record("tenant", tracing::field::display(tenant));
                    }
                    let extensions = request.extensions_mut();
                    extensions.insert(caller);
                    extensions.insert(bearer);
                }
                Err(error) => {
                    tracing::debug!(reason = error.reason(), "request refused");
                    self.layer
                        .rejected
                        .add(1, &[KeyValue::new("reason", error.reason())]);
                    let status = Status::from(ApiError::from(error));
                    return Box::pin(async move { Ok(status.into_http()) });
                }
            }
        }
        Box::pin(self.inner.call(request))
    }
}

/// The verified caller of a request. Fails with UNAUTHENTICATED only if the auth layer was not
/// in front of the handler, which is a wiring bug, never a client's fault to exploit.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<&Caller, Status> {
    request.extensions().get::<Caller>().ok_or_else(no_caller)
}

/// The verified caller and the message of a request, taken apart without copying either (for
/// hot paths that would otherwise clone the caller out of a request they then consume).
pub fn caller_and_message<T>(request: tonic::Request<T>) -> Result<(Caller, T), Status> {
    let (_, mut extensions, message) = request.into_parts();
    let caller = extensions.remove::<Caller>().ok_or_else(no_caller)?;
    Ok((caller, message))
}

fn no_caller() -> Status {
    Status::unauthenticated("no verified caller")
}
