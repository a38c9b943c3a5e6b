//! Wall-clock time as the stores keep it: seconds since the Unix epoch. One clock for every
//! service, injectable so tests can hold time still or move it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Now, in seconds since the Unix epoch, from the system clock.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

/// Now, in milliseconds since the Unix epoch, from the system clock (for short timers such as
/// circuit breakers; stores keep seconds).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// A clock: the system's, or a manual one that tests set.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that reads `at` until [`Clock::set`] moves it.
    pub fn manual(at: i64) -> Self {
        Self {
            manual: Some(Arc::new(AtomicI64::new(at))),
        }
    }

    /// Moves a manual clock to `at` (no effect on the system clock).
    pub fn set(&self, at: i64) {
        if let Some(manual) = &self.manual {
            manual.store(at, Ordering::Relaxed);
        }
    }

    /// Now, in seconds since the Unix epoch.
    pub fn now(&self) -> i64 {
        self.manual
            .as_ref()
            .map_or_else(now, |manual| manual.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_reads_what_it_was_set_to() {
        let clock = Clock::manual(100);
        assert_eq!(clock.now(), 100);
        clock.set(250);
        assert_eq!(clock.clone().now(), 250);
        assert!(Clock::system().now() > 1_700_000_000);
    }

    #[test]
    fn milliseconds_agree_with_seconds() {
        let before = now();
        let millis = now_ms();
        let after = now();
        assert!(
            millis / 1000 >= before && millis / 1000 <= after,
            "{millis}"
        );
    }
}
