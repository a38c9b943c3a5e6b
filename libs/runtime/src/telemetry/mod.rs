//! Telemetry starts here, once per process, and returns a guard that flushes on drop.
//!
//! Logs always go to stderr (text or JSON). Traces and metrics are exported over OTLP/gRPC only
//! when `telemetry.otlp_endpoint` is set. W3C trace context is propagated either way.

pub mod propagation;
pub mod sampling;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::resource::{
    EnvResourceDetector, ResourceDetector, SdkProvidedResourceDetector, TelemetryResourceDetector,
};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{DEFAULT_LOG_FILTER, LogFormat, TelemetryConfig};

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `telemetry.log_filter` does not parse.
    #[error("configuration key `telemetry.log_filter`: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    /// The OTLP exporter could not be built.
    #[error("otlp exporter: {0}")]
    Exporter(String),
    /// A global subscriber was already installed.
    #[error("telemetry already initialised: {0}")]
    AlreadyInitialised(#[from] tracing_subscriber::util::TryInitError),
}

/// Flushes and shuts down the exporters when dropped.
#[derive(Debug, Default)]
#[must_use = "telemetry stops exporting when the guard is dropped"]
pub struct TelemetryGuard {
    tracer_provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.tracer_provider.take()
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "trace exporter did not shut down cleanly");
        }
        if let Some(provider) = self.meter_provider.take()
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "metric exporter did not shut down cleanly");
        }
    }
}

/// Installs the global subscriber, propagator and (with an endpoint) the OTLP exporters.
pub fn init(
    config: &TelemetryConfig,
    service_name: &str,
) -> Result<TelemetryGuard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_new(config.log_filter.as_deref().unwrap_or(DEFAULT_LOG_FILTER))?;
    let fmt = match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let mut guard = TelemetryGuard::default();
    let otel = match &config.otlp_endpoint {
        Some(endpoint) => {
            let resource = resource(service_name);
            let spans = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()
                .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
            let tracer_provider = SdkTracerProvider::builder()
                .with_batch_exporter(spans)
                .with_sampler(sampling::sampler(
                    config.trace_sample_ratio,
                    config
                        .sampling_key
                        .as_ref()
                        .map(|key| key.expose().as_bytes()),
                ))
                .with_resource(resource.clone())
                .build();
            let metrics = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()
                .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
            let meter_provider = SdkMeterProvider::builder()
                .with_periodic_exporter(metrics)
                .with_resource(resource)
                .build();
            opentelemetry::global::set_meter_provider(meter_provider.clone());
            // Its own filter, not the log filter: quieting the logs (`warn`, as `lms dev`
            // does) must not silence the traces, whose per-RPC spans are at INFO.
            let layer = tracing_opentelemetry::layer()
                .with_tracer(tracer_provider.tracer("lms-access"))
                .with_filter(LevelFilter::INFO)
                .boxed();
            guard.tracer_provider = Some(tracer_provider);
            guard.meter_provider = Some(meter_provider);
            Some(layer)
        }
        None => None,
    };
    tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(otel)
        .try_init()?;
    Ok(guard)
}

/// What the process's telemetry is about: `service_name`, and an instance id of its own
/// (random, as OpenTelemetry's conventions advise, unless `OTEL_RESOURCE_ATTRIBUTES` names
/// one). Without it the replicas of a service would export the same series, and a collector's
/// Prometheus exporter would keep whichever replica reported last.
fn resource(service_name: &str) -> Resource {
    let detectors: [Box<dyn ResourceDetector>; 3] = [
        Box::new(SdkProvidedResourceDetector),
        Box::new(TelemetryResourceDetector),
        Box::new(EnvResourceDetector::new()),
    ];
    Resource::builder_empty()
        .with_attribute(KeyValue::new(
            "service.instance.id",
            uuid::Uuid::new_v4().to_string(),
        ))
        .with_detectors(&detectors)
        .with_service_name(service_name.to_owned())
        .build()
}
