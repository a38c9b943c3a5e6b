//! Token buckets keyed by who is asking (a peer address, an account): each key may spend `burst`
//! requests at once and then `rate` per second. Keys are kept in a bounded cache and forgotten
//! once their bucket would be full again, so a flood of distinct keys costs bounded memory (and a
//! forgotten key only gets its full burst back, which it would have had anyway).

use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::ApiError;

/// Most keys remembered at once; the least recently used beyond it are forgotten.
const MAX_KEYS: u64 = 100_000;

/// One key's bucket.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets for many keys.
#[derive(Clone)]
pub struct KeyedLimiter<K: Hash + Eq + Send + Sync + 'static> {
    buckets: moka::sync::Cache<K, Arc<Mutex<Bucket>>>,
    per_second: f64,
    burst: f64,
    /// Reported to clients refused by this limiter.
    reason: &'static str,
}

impl<K: Hash + Eq + Send + Sync + 'static> std::fmt::Debug for KeyedLimiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedLimiter")
            .field("per_second", &self.per_second)
            .field("burst", &self.burst)
            .field("keys", &self.buckets.entry_count())
            .finish()
    }
}

impl<K: Hash + Eq + Send + Sync + Clone + 'static> KeyedLimiter<K> {
    /// `per_second` requests per key on average, `burst` at once; refusals carry `reason`.
    pub fn new(per_second: f64, burst: u32, reason: &'static str) -> Self {
        let per_second = per_second.max(f64::MIN_POSITIVE);
        let burst = f64::from(burst.max(1));
        // After this long untouched a bucket is full again: forgetting it changes nothing.
        let refill = Duration::from_secs_f64((burst / per_second).min(86_400.0));
        Self {
            buckets: moka::sync::Cache::builder()
                .max_capacity(MAX_KEYS)
                .time_to_idle(refill.max(Duration::from_millis(1)))
                .build(),
            per_second,
            burst,
            reason,
        }
    }

    /// Takes one token for `key`, or says how long until one is there.
    pub fn take(&self, key: K) -> Result<(), Duration> {
        self.take_at(key, Instant::now())
    }

    /// [`take`](Self::take), answering RESOURCE_EXHAUSTED with this limiter's reason.
    pub fn admit(&self, key: K) -> Result<(), ApiError> {
        self.take(key)
            .map_err(|retry_after| ApiError::ResourceExhausted {
                reason: self.reason,
                message: format!(
                    "too many requests; retry in {} ms",
                    retry_after.as_millis().max(1)
                ),
                retry_after,
            })
    }

    fn take_at(&self, key: K, now: Instant) -> Result<(), Duration> {
        let bucket = self.buckets.get_with(key, || {
            Arc::new(Mutex::new(Bucket {
                tokens: self.burst,
                at: now,
            }))
        });
        let mut bucket = bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_spends_its_burst_then_waits_for_the_rate() {
        let limiter = KeyedLimiter::new(2.0, 3, "RATE_LIMITED");
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take_at("a", start).is_ok());
        }
        let wait = limiter.take_at("a", start).expect_err("burst spent");
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
        // Another key is not affected.
        assert!(limiter.take_at("b", start).is_ok());
        // Half a second later one token is back, and only one.
        let later = start + Duration::from_millis(500);
        assert!(limiter.take_at("a", later).is_ok());
        assert!(limiter.take_at("a", later).is_err());
    }

    #[test]
    fn refusals_answer_resource_exhausted_with_the_reason_and_a_retry_delay() {
        let limiter = KeyedLimiter::new(1.0, 1, "RATE_LIMITED");
        assert!(limiter.admit(1).is_ok());
        let status = tonic::Status::from(limiter.admit(1).expect_err("spent"));
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        use tonic_types::StatusExt;
        assert_eq!(
            status.get_details_error_info().expect("reason").reason,
            "RATE_LIMITED"
        );
        assert!(status.get_details_retry_info().is_some());
    }
}
