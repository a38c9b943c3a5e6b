//! Running a case: concurrent loops, latency histograms, cases alternating in rounds, and the
//! decision-cache lookups made while each case was measured.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use lms_authorization::CacheLookups;

/// Rounds that cases compared with each other alternate in.
pub const ROUNDS: u32 = 10;

/// What one case measured.
pub struct Outcome {
    /// The case, as printed.
    pub name: String,
    /// Concurrent loops.
    pub in_flight: usize,
    /// Calls measured.
    pub calls: u64,
    /// Median latency.
    pub p50_us: f64,
    /// 99th percentile latency.
    pub p99_us: f64,
    /// Calls per second over the measured time.
    pub per_second: f64,
    /// Decision-cache lookups while the case was measured (not during its warm-up).
    pub lookups: CacheLookups,
}

/// Where lookups were answered, in percent of all lookups; `None` when there were none (the
/// echo and the layers ask no cache).
pub fn hit_ratios(lookups: CacheLookups) -> Option<[f64; 3]> {
    let total = lookups.local + lookups.redis + lookups.miss;
    (total > 0).then(|| {
        let percent = |n: u64| 100.0 * n as f64 / total as f64;
        [
            percent(lookups.local),
            percent(lookups.redis),
            percent(lookups.miss),
        ]
    })
}

/// The process's lookups since `before` (the service runs in this process, so its cache
/// counts here).
pub fn lookups_since(before: CacheLookups) -> CacheLookups {
    let now = lms_authorization::cache_lookups();
    CacheLookups {
        local: now.local.saturating_sub(before.local),
        redis: now.redis.saturating_sub(before.redis),
        miss: now.miss.saturating_sub(before.miss),
    }
}

fn add(a: CacheLookups, b: CacheLookups) -> CacheLookups {
    CacheLookups {
        local: a.local + b.local,
        redis: a.redis + b.redis,
        miss: a.miss + b.miss,
    }
}

/// One benchmark case's call, boxed so that cases of different shapes alternate in one loop.
/// It gets the lane's call number, which restarts with every round.
pub type Call = Arc<dyn Fn(u64) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Boxes `f` as a [`Call`].
pub fn call<F, Fut>(f: F) -> Call
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |i| Box::pin(f(i)))
}

fn histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap()
}

/// Runs `call` in `in_flight` concurrent loops for `length`: the latencies, and the time taken.
async fn sample(call: &Call, in_flight: usize, length: Duration) -> (Histogram<u64>, Duration) {
    let started = Instant::now();
    let deadline = started + length;
    let loops: Vec<_> = (0..in_flight)
        .map(|lane| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut histogram = histogram();
                let mut i = lane as u64 * 1_000_003;
                while Instant::now() < deadline {
                    let started = Instant::now();
                    call(i).await;
                    histogram
                        .record(started.elapsed().as_micros().max(1) as u64)
                        .unwrap();
                    i += 1;
                }
                histogram
            })
        })
        .collect();
    let mut total = histogram();
    for handle in loops {
        total.add(handle.await.unwrap()).unwrap();
    }
    (total, started.elapsed())
}

/// Runs `cases` with `in_flight` concurrent loops for `duration` each (after a short warm-up),
/// in alternating rounds: a slow spell of the shared machine then falls on every case alike,
/// so the ratios between them (what the targets are stated in) are measured under the same
/// conditions. Only one case runs at a time, so the lookups counted around a round are that
/// case's.
pub async fn measure_alternating(
    cases: &[(String, Call)],
    in_flight: usize,
    duration: Duration,
    rounds: u32,
) -> Vec<Outcome> {
    for (_, call) in cases {
        sample(call, in_flight, duration / 5).await;
    }
    let mut totals: Vec<_> = cases
        .iter()
        .map(|_| (histogram(), Duration::ZERO, CacheLookups::default()))
        .collect();
    for _ in 0..rounds {
        for ((_, call), (histogram, elapsed, lookups)) in cases.iter().zip(&mut totals) {
            let before = lms_authorization::cache_lookups();
            let (round, took) = sample(call, in_flight, duration / rounds).await;
            *lookups = add(*lookups, lookups_since(before));
            histogram.add(round).unwrap();
            *elapsed += took;
        }
    }
    cases
        .iter()
        .zip(totals)
        .map(|((name, _), (histogram, elapsed, lookups))| Outcome {
            name: name.clone(),
            in_flight,
            calls: histogram.len(),
            p50_us: histogram.value_at_quantile(0.5) as f64,
            p99_us: histogram.value_at_quantile(0.99) as f64,
            per_second: histogram.len() as f64 / elapsed.as_secs_f64(),
            lookups,
        })
        .collect()
}

/// Runs `f` with `in_flight` concurrent loops for `duration` (after a short warm-up).
pub async fn measure<F, Fut>(name: &str, in_flight: usize, duration: Duration, f: F) -> Outcome
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut outcomes =
        measure_alternating(&[(name.to_owned(), call(f))], in_flight, duration, 1).await;
    outcomes.remove(0)
}
