use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::{HeaderMap, Method, Request, Response};
use http_body::Body as HttpBody;
use http_body::Frame;
use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use tonic::Code;
use tonic::body::Body;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::BoxFuture;
use super::request_id::RequestId;
use super::routes::{OTHER, Route, Routes};
use crate::telemetry::propagation;

/// Bucket bounds of `rpc.server.call.duration`, in seconds. OpenTelemetry's defaults (0, 5,
/// 10, 25 … as if in milliseconds) would put every call in its first bucket; a warm Check
/// takes a fraction of a millisecond, so the dashboard's p50 and p99 need buckets down there.
pub const DURATION_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// One span per RPC, parented on the caller's W3C trace context, with the attributes of
/// OpenTelemetry's RPC conventions; and the `rpc.server.call.duration` histogram, recorded
/// when the response stream ends (so streaming RPCs count their whole life). Only the
/// server's own methods are named; any other path is `_OTHER`. A plain HTTP request (a
/// `.well-known` document, a webhook) gets a span with its HTTP status and no RPC metric.
#[derive(Debug, Clone)]
pub struct TraceLayer {
    duration: Histogram<f64>,
    routes: Routes,
}

impl TraceLayer {
    /// A layer naming `routes`, recording into the global meter provider.
    pub fn new(routes: Routes) -> Self {
        let duration = opentelemetry::global::meter("lms")
            .f64_histogram("rpc.server.call.duration")
            .with_unit("s")
            .with_description("Duration of inbound RPCs")
            .with_boundaries(DURATION_BUCKETS.to_vec())
            .build();
        Self { duration, routes }
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = TraceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceService {
            inner,
            duration: self.duration.clone(),
            routes: self.routes.clone(),
        }
    }
}

/// The service made by [`TraceLayer`].
#[derive(Debug, Clone)]
pub struct TraceService<S> {
    inner: S,
    duration: Histogram<f64>,
    routes: Routes,
}

/// The id [`super::RequestIdLayer`] gave the request (empty without that layer).
fn request_id(request: &Request<Body>) -> &str {
    request
        .extensions()
        .get::<RequestId>()
        .map_or("", |id| id.0.as_str())
}

fn status_from_headers(headers: &HeaderMap) -> Option<Code> {
    let value = headers.get("grpc-status")?.to_str().ok()?;
    Some(Code::from_i32(value.parse().ok()?))
}

/// Records the outcome of one call exactly once: on the trailers, at end of stream, or, if the
/// client goes away first, on drop as CANCELLED.
struct CallOutcome {
    span: tracing::Span,
    started: Instant,
    duration: Histogram<f64>,
    attributes: Vec<KeyValue>,
}

impl CallOutcome {
    fn record(mut self, code: Code) {
        self.span.record("rpc.grpc.status_code", code as i32);
        if is_server_error(code) {
            self.span.record("otel.status_code", "ERROR");
        }
        self.attributes
            .push(KeyValue::new("rpc.grpc.status_code", code as i64));
        self.duration
            .record(self.started.elapsed().as_secs_f64(), &self.attributes);
    }
}

/// The codes OpenTelemetry's gRPC conventions count as server errors.
fn is_server_error(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

impl<S> Service<Request<Body>> for TraceService<S>
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
        let (name, service, method) = match self.routes.route(request.uri().path()) {
            Route::Rpc {
                name,
                service,
                method,
            } => (name, service, method),
            Route::Http { prefix } => return self.call_http(prefix, request),
            Route::Other => (OTHER, OTHER, OTHER),
        };
        let request_id = request_id(&request);
        let span = tracing::info_span!(
            "rpc",
            otel.name = name,
            otel.kind = "server",
            otel.status_code = Empty,
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = Empty,
            request_id = %request_id,
            tenant = Empty,
        );
        // Without an OpenTelemetry layer there is no parent to set; that is not an error.
        let _ = span.set_parent(propagation::extract(request.headers()));
        let outcome = CallOutcome {
            span: span.clone(),
            started: Instant::now(),
            duration: self.duration.clone(),
            attributes: vec![
                KeyValue::new("rpc.system", "grpc"),
                KeyValue::new("rpc.service", service.to_owned()),
                KeyValue::new("rpc.method", method.to_owned()),
            ],
        };
        let call = span.in_scope(|| self.inner.call(request));
        Box::pin(
            async move {
                let response = call.await?;
                // A trailers-only response (every error tonic sends) carries the status in its headers.
                if let Some(code) = status_from_headers(response.headers()) {
                    outcome.record(code);
                    return Ok(response);
                }
                Ok(response.map(|body| {
                    Body::new(ObservedBody {
                        inner: body,
                        outcome: Some(outcome),
                    })
                }))
            }
            .instrument(span),
        )
    }
}

impl<S> TraceService<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    /// A plain HTTP request under `prefix`: a span named by the prefix alone (the rest of the
    /// path is the caller's, a tenant id in a webhook's), with the response's status.
    fn call_http(
        &mut self,
        prefix: &'static str,
        request: Request<Body>,
    ) -> BoxFuture<Result<Response<Body>, S::Error>> {
        let request_id = request_id(&request);
        // Any token is a method to HTTP: only the standard ones are named.
        let method = match *request.method() {
            Method::GET
            | Method::HEAD
            | Method::POST
            | Method::PUT
            | Method::DELETE
            | Method::CONNECT
            | Method::OPTIONS
            | Method::TRACE
            | Method::PATCH => request.method().as_str(),
            _ => OTHER,
        };
        let span = tracing::info_span!(
            "http",
            otel.name = %format_args!("{method} /{prefix}/"),
            otel.kind = "server",
            otel.status_code = Empty,
            http.request.method = %method,
            http.route = %format_args!("/{prefix}/*"),
            http.response.status_code = Empty,
            request_id = %request_id,
        );
        let _ = span.set_parent(propagation::extract(request.headers()));
        let call = span.in_scope(|| self.inner.call(request));
        Box::pin(
            async move {
                let response = call.await?;
                let status = response.status();
                let span = tracing::Span::current();
                span.record("http.response.status_code", status.as_u16());
                if status.is_server_error() {
                    span.record("otel.status_code", "ERROR");
                }
                Ok(response)
            }
            .instrument(span),
        )
    }
}

pin_project_lite::pin_project! {
    /// A response body that records the call's outcome when its trailers arrive.
    struct ObservedBody {
        #[pin]
        inner: Body,
        outcome: Option<CallOutcome>,
    }

    impl PinnedDrop for ObservedBody {
        fn drop(this: Pin<&mut Self>) {
            if let Some(outcome) = this.project().outcome.take() {
                outcome.record(Code::Cancelled);
            }
        }
    }
}

impl HttpBody for ObservedBody {
    type Data = <Body as HttpBody>::Data;
    type Error = <Body as HttpBody>::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_ref()
                    && let Some(outcome) = this.outcome.take()
                {
                    outcome.record(status_from_headers(trailers).unwrap_or(Code::Unknown));
                }
            }
            Some(Err(_)) => {
                if let Some(outcome) = this.outcome.take() {
                    outcome.record(Code::Internal);
                }
            }
            None => {
                if let Some(outcome) = this.outcome.take() {
                    outcome.record(Code::Unknown);
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
