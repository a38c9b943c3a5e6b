//! Which traces are recorded. A caller's `traceparent` joins our spans to its trace, but its
//! sampled flag does not choose: any client could send `01` on every request and force every
//! trace to be recorded (exporter and collector cost). Services cannot be told apart from
//! clients here (the trace layer runs before the token is verified), and they need no special
//! case: the ratio sampler decides on the trace id alone, so every service with the same
//! `telemetry.trace_sample_ratio` reaches the same decision for a trace one of them started.

use opentelemetry_sdk::trace::{ParentBasedSampler, Sampler, ShouldSample};

/// Spans without a parent, or with a remote one, are sampled at `ratio` by trace id; spans
/// under a local parent follow it.
pub fn sampler(ratio: f64) -> ParentBasedSampler {
    let by_trace_id = || -> Box<dyn ShouldSample> { Box::new(Sampler::TraceIdRatioBased(ratio)) };
    ParentBasedSampler::new(by_trace_id())
        .with_remote_parent_sampled(by_trace_id())
        .with_remote_parent_not_sampled(by_trace_id())
}

#[cfg(test)]
mod tests {
    use opentelemetry::Context;
    use opentelemetry::trace::{
        SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry_sdk::trace::SamplingDecision;

    use super::*;

    fn parent(remote: bool, sampled: bool) -> Context {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(7u128),
            SpanId::from(9u64),
            flags,
            remote,
            TraceState::default(),
        ))
    }

    fn decide(sampler: &ParentBasedSampler, parent: &Context) -> SamplingDecision {
        sampler
            .should_sample(
                Some(parent),
                TraceId::from(7u128),
                "rpc",
                &SpanKind::Server,
                &[],
                &[],
            )
            .decision
    }

    #[test]
    fn a_remote_sampled_flag_does_not_force_recording() {
        let never = sampler(0.0);
        assert_eq!(decide(&never, &parent(true, true)), SamplingDecision::Drop);
        let always = sampler(1.0);
        assert_eq!(
            decide(&always, &parent(true, false)),
            SamplingDecision::RecordAndSample,
            "nor does an unsampled flag stop it"
        );
    }

    #[test]
    fn spans_under_a_local_parent_follow_it() {
        let never = sampler(0.0);
        assert_eq!(
            decide(&never, &parent(false, true)),
            SamplingDecision::RecordAndSample
        );
        assert_eq!(
            decide(&sampler(1.0), &parent(false, false)),
            SamplingDecision::Drop
        );
    }
}
