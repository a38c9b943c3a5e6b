//! `[telemetry]`: logs, traces and metrics.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};
use crate::secret::SecretString;

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
    /// Fraction of traces sampled, 0.0–1.0, decided by a keyed hash of the trace id (a
    /// caller's sampled flag does not choose: `telemetry::sampling`).
    pub trace_sample_ratio: f64,
    /// The key of that hash, at least 32 characters, the same on every service of a
    /// deployment: they then keep or drop a trace together, so a trace crossing services is
    /// whole at any ratio. Secret, so that no caller can pick trace ids that are always or
    /// never kept. Unset, each process draws its own, and below a ratio of 1 a trace crossing
    /// services may be kept by some and not others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling_key: Option<SecretString>,
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
            sampling_key: None,
        }
    }
}

impl TelemetryConfig {
    /// Checks the sample ratio and the sampling key's length.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..=1.0).contains(&self.trace_sample_ratio) {
            return Err(invalid(
                "telemetry.trace_sample_ratio",
                "must be between 0.0 and 1.0",
            ));
        }
        if let Some(key) = &self.sampling_key
            && key.expose().len() < 32
        {
            return Err(invalid(
                "telemetry.sampling_key",
                "must be at least 32 characters",
            ));
        }
        Ok(())
    }
}
