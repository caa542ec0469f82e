//! Log lines a peer can cause are rate-limited: at most one a second per
//! call site, each carrying how many were held back since the previous one
//! (`suppressed`). A hostile peer never gets a log line per frame, stream or
//! connection, whatever the level (a log flood is a denial of service: the
//! server spends its CPU and disk on the attacker's behalf). What was held
//! back is still counted where it matters (the listener's stats, the
//! protocol's counters).
//!
//! ```ignore
//! crate::log_limit::limited!(warn, conn = %id, "something the peer caused");
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// Allows one line a second; counts the rest.
#[derive(Debug, Default)]
pub(crate) struct RateLimit {
    /// Seconds since `epoch()` (plus one) of the last line written.
    last: AtomicU64,
    /// Lines held back since the last one written.
    suppressed: AtomicU64,
}

fn now_secs() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_secs() + 1
}

impl RateLimit {
    pub(crate) const fn new() -> Self {
        RateLimit {
            last: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a line may be written now, `n` being the lines held
    /// back since the previous one; `None` (and one more held back) if a
    /// line was written this second already.
    pub(crate) fn allow(&self) -> Option<u64> {
        let now = now_secs();
        let last = self.last.load(Ordering::Relaxed);
        if now > last
            && self
                .last
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// `tracing::$level!(...)` at most once a second from this call site, with a
/// `suppressed` field counting the lines held back since the previous one.
macro_rules! limited {
    ($level:ident, $($rest:tt)+) => {{
        static LIMIT: $crate::log_limit::RateLimit = $crate::log_limit::RateLimit::new();
        if let Some(suppressed) = LIMIT.allow() {
            ::tracing::$level!(suppressed, $($rest)+);
        }
    }};
}
pub(crate) use limited;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_and_the_rest_counted() {
        let l = RateLimit::new();
        assert_eq!(l.allow(), Some(0));
        for _ in 0..1000 {
            assert_eq!(l.allow(), None);
        }
        // Pretend a second went by.
        l.last.store(0, Ordering::Relaxed);
        assert_eq!(l.allow(), Some(1000));
        assert_eq!(l.allow(), None);
    }
}
