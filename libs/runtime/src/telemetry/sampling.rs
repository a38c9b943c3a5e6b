//! Which traces are recorded. A caller's `traceparent` joins our spans to its trace, but its
//! sampled flag does not choose: any client could send `01` on every request and force every
//! trace to be recorded (exporter and collector cost). Services cannot be told apart from
//! clients here (the trace layer runs before the token is verified).
//!
//! Nor does the trace id choose: a plain ratio sampler compares the id's low bits with the
//! ratio, so a caller picking its trace ids could be always or never recorded (review finding
//! 16). The id is hashed with a secret key (HMAC-SHA256) before the ratio decides, so no caller
//! can predict which ids are recorded. With `telemetry.sampling_key` every service holds the
//! same key and they decide alike: a trace crossing services is kept whole or not at all.
//! Without it each process draws its own, and below a ratio of 1 a trace crossing services may
//! be recorded in some and not others (at 0 and 1 they agree).

use std::sync::{Arc, LazyLock};

use hmac::{Hmac, Mac};
use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{ParentBasedSampler, Sampler, SamplingResult, ShouldSample};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;

/// Spans without a parent, or with a remote one, are sampled at `ratio` by a hash of the trace
/// id under `key` (the deployment's, else this process's own); spans under a local parent
/// follow it.
pub fn sampler(ratio: f64, key: Option<&[u8]>) -> ParentBasedSampler {
    let key: Arc<[u8]> = key.unwrap_or(PROCESS_KEY.as_slice()).into();
    let keyed = || -> Box<dyn ShouldSample> { Box::new(KeyedRatio::new(ratio, key.clone())) };
    ParentBasedSampler::new(keyed())
        .with_remote_parent_sampled(keyed())
        .with_remote_parent_not_sampled(keyed())
}

/// This process's sampling key: drawn once, never leaves the process.
static PROCESS_KEY: LazyLock<[u8; 32]> = LazyLock::new(|| {
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    key
});

/// Samples `ratio` of traces, chosen by an HMAC of the trace id under `key`.
#[derive(Clone)]
struct KeyedRatio {
    /// Traces whose hash (as a `u64`) is below this are recorded.
    below: u64,
    /// Every trace is recorded (`below` cannot express 2^64).
    all: bool,
    key: Arc<[u8]>,
}

impl std::fmt::Debug for KeyedRatio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedRatio")
            .field("below", &self.below)
            .field("all", &self.all)
            .finish_non_exhaustive()
    }
}

impl KeyedRatio {
    fn new(ratio: f64, key: Arc<[u8]>) -> Self {
        let ratio = ratio.clamp(0.0, 1.0);
        KeyedRatio {
            below: (ratio * u64::MAX as f64) as u64,
            all: ratio >= 1.0,
            key,
        }
    }

    fn records(&self, trace_id: TraceId) -> bool {
        if self.all {
            return true;
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(&trace_id.to_bytes());
        let digest = mac.finalize().into_bytes();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) < self.below
    }
}

impl ShouldSample for KeyedRatio {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        // The SDK's own samplers build the result (trace state kept from the parent).
        let decide = if self.records(trace_id) {
            Sampler::AlwaysOn
        } else {
            Sampler::AlwaysOff
        };
        decide.should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
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
        let never = sampler(0.0, None);
        assert_eq!(decide(&never, &parent(true, true)), SamplingDecision::Drop);
        let always = sampler(1.0, None);
        assert_eq!(
            decide(&always, &parent(true, false)),
            SamplingDecision::RecordAndSample,
            "nor does an unsampled flag stop it"
        );
    }

    #[test]
    fn a_caller_cannot_pick_trace_ids_that_are_always_or_never_recorded() {
        // The SDK's ratio sampler records exactly the ids whose low bits are small: a caller
        // sending those ids is always recorded. Keyed, those same ids land near the ratio.
        let half = 0.5;
        let chosen: Vec<TraceId> = (1..=1000u128).map(TraceId::from).collect();
        let plain = Sampler::TraceIdRatioBased(half);
        let plain_recorded = chosen
            .iter()
            .filter(|id| {
                plain
                    .should_sample(None, **id, "rpc", &SpanKind::Server, &[], &[])
                    .decision
                    == SamplingDecision::RecordAndSample
            })
            .count();
        assert_eq!(
            plain_recorded, 1000,
            "unkeyed, small ids are always recorded"
        );
        for key in [[1u8; 32], [2u8; 32]] {
            let keyed = KeyedRatio::new(half, key.into());
            let recorded = chosen.iter().filter(|id| keyed.records(**id)).count();
            assert!((400..=600).contains(&recorded), "{recorded} of 1000");
        }
        // Different keys (processes) pick different ids, so none is known to be recorded.
        let (a, b) = (
            KeyedRatio::new(half, [1; 32].into()),
            KeyedRatio::new(half, [2; 32].into()),
        );
        assert!(chosen.iter().any(|id| a.records(*id) != b.records(*id)));
        assert!(
            chosen
                .iter()
                .all(|id| KeyedRatio::new(1.0, [3; 32].into()).records(*id))
        );
        assert!(
            !chosen
                .iter()
                .any(|id| KeyedRatio::new(0.0, [3; 32].into()).records(*id))
        );
    }

    #[test]
    fn spans_under_a_local_parent_follow_it() {
        let never = sampler(0.0, None);
        assert_eq!(
            decide(&never, &parent(false, true)),
            SamplingDecision::RecordAndSample
        );
        assert_eq!(
            decide(&sampler(1.0, None), &parent(false, false)),
            SamplingDecision::Drop
        );
    }

    #[test]
    fn services_holding_one_key_keep_or_drop_a_trace_together() {
        let shared = b"a deployment's sampling key, 32+ chars";
        let ids: Vec<TraceId> = (0..1000u128).map(|n| TraceId::from(n * 7919 + 1)).collect();
        let identity = sampler(0.5, Some(shared));
        let authorization = sampler(0.5, Some(shared));
        let root = |sampler: &ParentBasedSampler, id: TraceId| {
            sampler
                .should_sample(None, id, "rpc", &SpanKind::Server, &[], &[])
                .decision
        };
        assert!(
            ids.iter()
                .all(|id| root(&identity, *id) == root(&authorization, *id))
        );
        let kept = ids
            .iter()
            .filter(|id| root(&identity, **id) == SamplingDecision::RecordAndSample)
            .count();
        assert!((400..=600).contains(&kept), "{kept} of 1000");
    }
}
