//! Rate limits on the hub's simulated time: a [`TokenBucket`], and the [`FloodGuard`] a
//! connection driver runs on every frame a client sends.
//!
//! Both are sans-IO: the caller passes `now`, so tests step time exactly.

use std::time::{Duration, Instant};

/// A token bucket on the hub's simulated time: `burst` tokens, one more per `refill`.
/// Integer arithmetic, so a test that advances time by exact steps gets exact answers.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    tokens: u32,
    /// When the next token started accruing (meaningless while the bucket is full).
    since: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn full(burst: u32, now: Instant) -> Self {
        TokenBucket {
            tokens: burst,
            since: now,
        }
    }

    /// Takes a token if one is available (after crediting the time since the last call);
    /// otherwise returns how long until the next one.
    pub fn try_take(&mut self, now: Instant, burst: u32, refill: Duration) -> Result<(), Duration> {
        self.refill(now, burst, refill);
        if self.tokens == 0 {
            let next = self.since + refill;
            return Err(next.saturating_duration_since(now));
        }
        self.tokens -= 1;
        Ok(())
    }

    fn refill(&mut self, now: Instant, burst: u32, refill: Duration) {
        if self.tokens >= burst || refill.is_zero() {
            self.tokens = burst;
            self.since = now;
            return;
        }
        let elapsed = now.saturating_duration_since(self.since);
        let earned = elapsed.as_nanos() / refill.as_nanos();
        if earned == 0 {
            return;
        }
        // `earned` may be huge after a long pause; only `burst - tokens` of it counts.
        let room = u128::from(burst - self.tokens);
        if earned >= room {
            self.tokens = burst;
            self.since = now;
        } else {
            // earned < burst <= u32::MAX, so the casts are lossless.
            self.tokens += earned as u32;
            self.since += refill * earned as u32;
        }
    }
}

/// What a driver does with one incoming frame, by [`FloodGuard::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within the rate: handle it.
    Allow,
    /// Over the rate: drop it and answer `rate_limited`; the connection stays.
    Reject,
    /// Over the rate for too long (sustained abuse): close the connection.
    Disconnect,
}

/// Per-connection message rate limit: a token bucket of `burst` messages refilled at
/// `per_second`, plus a second bucket of strikes. Each rejected message costs a strike;
/// strikes come back at one per second, up to `burst`. A client that keeps sending while
/// limited runs out of strikes and is disconnected, while one that slows down after an
/// error never is.
#[derive(Clone, Debug)]
pub struct FloodGuard {
    messages: TokenBucket,
    strikes: TokenBucket,
    burst: u32,
    refill: Duration,
}

impl FloodGuard {
    /// A guard allowing bursts of `burst` messages and `per_second` sustained.
    /// `per_second == 0` disables the limit.
    pub fn new(burst: u32, per_second: u32, now: Instant) -> FloodGuard {
        let refill = if per_second == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs(1) / per_second
        };
        FloodGuard {
            messages: TokenBucket::full(burst.max(1), now),
            strikes: TokenBucket::full(burst.max(1), now),
            burst: burst.max(1),
            refill,
        }
    }

    /// Accounts for one frame arriving at `now`.
    pub fn check(&mut self, now: Instant) -> Verdict {
        if self.messages.try_take(now, self.burst, self.refill).is_ok() {
            return Verdict::Allow;
        }
        match self
            .strikes
            .try_take(now, self.burst, Duration::from_secs(1))
        {
            Ok(()) => Verdict::Reject,
            Err(_) => Verdict::Disconnect,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn guard_allows_the_rate_forever() {
        let t0 = Instant::now();
        let mut g = FloodGuard::new(5, 10, t0);
        for i in 0..10_000u32 {
            assert_eq!(g.check(t0 + Duration::from_millis(100) * i), Verdict::Allow);
        }
    }

    #[test]
    fn guard_rejects_a_flood_then_disconnects_it() {
        let t0 = Instant::now();
        let mut g = FloodGuard::new(5, 10, t0);
        let verdicts: Vec<Verdict> = (0..20).map(|_| g.check(t0)).collect();
        assert_eq!(&verdicts[..5], &[Verdict::Allow; 5]);
        assert_eq!(&verdicts[5..10], &[Verdict::Reject; 5]);
        assert_eq!(&verdicts[10..], &[Verdict::Disconnect; 10]);
    }

    #[test]
    fn guard_forgives_a_client_that_slows_down() {
        let t0 = Instant::now();
        let mut g = FloodGuard::new(5, 10, t0);
        for _ in 0..9 {
            g.check(t0); // 5 allowed, 4 rejected: one strike left
        }
        // At the allowed pace from now on: never disconnected, and strikes heal.
        for i in 1..=600u32 {
            assert_eq!(g.check(t0 + Duration::from_millis(100) * i), Verdict::Allow);
        }
    }

    #[test]
    fn guard_with_zero_rate_is_off() {
        let t0 = Instant::now();
        let mut g = FloodGuard::new(1, 0, t0);
        for _ in 0..1000 {
            assert_eq!(g.check(t0), Verdict::Allow);
        }
    }

    #[test]
    fn bucket_allows_a_burst_then_one_per_interval() {
        let t0 = Instant::now();
        let mut b = TokenBucket::full(3, t0);
        for _ in 0..3 {
            assert!(b.try_take(t0, 3, S).is_ok());
        }
        assert_eq!(b.try_take(t0, 3, S), Err(S));
        let half = t0 + S / 2;
        assert_eq!(b.try_take(half, 3, S), Err(S / 2));
        assert!(b.try_take(t0 + S, 3, S).is_ok());
        assert!(b.try_take(t0 + S, 3, S).is_err());
        // 2.5 intervals later: two tokens, and the half interval is kept.
        let later = t0 + S * 7 / 2;
        assert!(b.try_take(later, 3, S).is_ok());
        assert!(b.try_take(later, 3, S).is_ok());
        assert_eq!(b.try_take(later, 3, S), Err(S / 2));
    }

    #[test]
    fn bucket_never_holds_more_than_the_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::full(2, t0);
        let later = t0 + Duration::from_secs(3600);
        assert!(b.try_take(later, 2, S).is_ok());
        assert!(b.try_take(later, 2, S).is_ok());
        assert!(b.try_take(later, 2, S).is_err());
    }

    #[test]
    fn bucket_survives_time_going_backwards_and_zero_settings() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut b = TokenBucket::full(1, t0);
        assert!(b.try_take(t0, 1, S).is_ok());
        assert!(b.try_take(t0 - S, 1, S).is_err());
        let mut none = TokenBucket::full(0, t0);
        assert!(none.try_take(t0 + S * 100, 0, S).is_err());
        let mut free = TokenBucket::full(1, t0);
        for _ in 0..100 {
            assert!(free.try_take(t0, 1, Duration::ZERO).is_ok());
        }
    }
}
