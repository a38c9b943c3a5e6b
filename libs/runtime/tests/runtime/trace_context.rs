use std::sync::OnceLock;
use std::time::Duration;

use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_kernel::{TenantId, UserId};
use lms_testkit::TestAuth;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;

use crate::probe::{check, context, start};

/// Spans of this test process, exported in memory. Installed once; other tests in the process
/// add spans too, so assertions pick theirs by trace id.
fn exported_spans() -> &'static (InMemorySpanExporter, SdkTracerProvider) {
    static SPANS: OnceLock<(InMemorySpanExporter, SdkTracerProvider)> = OnceLock::new();
    SPANS.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this test binary");
        (exporter, provider)
    })
}

#[tokio::test]
async fn the_callers_w3c_trace_context_parents_the_server_span() {
    let (exporter, _) = exported_spans();
    let auth = TestAuth::new();
    let service = start(context(&auth)).await;
    let token = auth.user_token(TenantId::generate(), UserId::generate());
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_span_id = "00f067aa0ba902b7";
    let mut request = tonic::Request::new(check("courses.read"));
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-{parent_span_id}-01")
            .parse()
            .unwrap(),
    );
    PermissionServiceClient::new(service.authorized(&token))
        .check(request)
        .await
        .unwrap();

    // The server span ends once the response stream is done; give it a moment.
    let mut found = None;
    for _ in 0..50 {
        found = exporter
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .find(|span| {
                span.span_context.trace_id().to_string() == trace_id && span.name.contains("Check")
            });
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let span = found.expect("a server span in the caller's trace");
    assert_eq!(span.parent_span_id.to_string(), parent_span_id);
    assert_eq!(span.name, "lms.authorization.v1.PermissionService/Check");
    let attribute = |key: &str| {
        span.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(attribute("rpc.system").as_deref(), Some("grpc"));
    assert_eq!(attribute("rpc.method").as_deref(), Some("Check"));
    assert_eq!(attribute("rpc.grpc.status_code").as_deref(), Some("0"));
}
