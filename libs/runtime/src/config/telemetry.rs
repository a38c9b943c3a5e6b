//! `[telemetry]`: logs, traces and metrics.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// The log filter of a service when `telemetry.log_filter` is unset.
pub const DEFAULT_LOG_FILTER: &str = "info";

/// Logs, traces and metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// A `tracing` filter, for example `info,lms_authorization=debug`; unset, the mode's own
    /// ([`DEFAULT_LOG_FILTER`] for a service, a quieter one for `lms dev`). It filters the log
    /// lines only: exported traces keep every INFO span.
    pub log_filter: Option<String>,
    /// `text` for people, `json` for log pipelines.
    pub log_format: LogFormat,
    /// OTLP/gRPC endpoint (for example `http://otel-collector:4317`); absent exports nothing.
    /// The SDK's own variables tune the export (`OTEL_METRIC_EXPORT_INTERVAL`, 60000 ms by
    /// default; `OTEL_BSP_SCHEDULE_DELAY`, 5000 ms).
    pub otlp_endpoint: Option<String>,
    /// Fraction of traces sampled when no parent decided, 0.0–1.0.
    pub trace_sample_ratio: f64,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            log_filter: None,
            log_format: LogFormat::Text,
            otlp_endpoint: None,
            trace_sample_ratio: 1.0,
        }
    }
}

impl TelemetryConfig {
    /// Checks the sample ratio.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..=1.0).contains(&self.trace_sample_ratio) {
            return Err(invalid(
                "telemetry.trace_sample_ratio",
                "must be between 0.0 and 1.0",
            ));
        }
        Ok(())
    }
}
