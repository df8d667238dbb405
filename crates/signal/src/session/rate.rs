//! Rate limits on the hub's simulated time: a [`TokenBucket`], buckets by key
//! ([`BucketMap`]: per client address, per room), and the [`FloodGuard`] a connection
//! driver runs on every frame a client sends.
//!
//! Both are sans-IO: the caller passes `now`, so tests step time exactly.

use std::collections::HashMap;
use std::hash::Hash;
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
        self.try_take_n(now, 1, burst, refill)
    }

    /// Takes `n` tokens if that many are available (after crediting the time since the
    /// last call); otherwise takes none and returns how long until there are (`n` over
    /// `burst` never fits: then `Duration::MAX`). For budgets in bytes.
    pub fn try_take_n(
        &mut self,
        now: Instant,
        n: u32,
        burst: u32,
        refill: Duration,
    ) -> Result<(), Duration> {
        self.check_n(now, n, burst, refill)?;
        self.tokens -= n;
        Ok(())
    }

    /// Whether a token is available (after crediting the time since the last call),
    /// without taking it; else how long until the next one. For limits that charge only
    /// some outcomes (a failure), decided after the check.
    pub fn check(&mut self, now: Instant, burst: u32, refill: Duration) -> Result<(), Duration> {
        self.check_n(now, 1, burst, refill)
    }

    /// Whether `n` tokens are available, without taking them; else how long until they
    /// are (see [`TokenBucket::try_take_n`]). For limits checked together before any is
    /// charged.
    pub fn check_n(
        &mut self,
        now: Instant,
        n: u32,
        burst: u32,
        refill: Duration,
    ) -> Result<(), Duration> {
        self.refill(now, burst, refill);
        if n > burst {
            return Err(Duration::MAX);
        }
        if self.tokens < n {
            let wait = refill.saturating_mul(n - self.tokens);
            return Err(wait.saturating_sub(now.saturating_duration_since(self.since)));
        }
        Ok(())
    }

    /// Whether the bucket is full (after crediting the time since the last call): it
    /// remembers nothing a fresh bucket would not.
    pub fn is_full(&mut self, now: Instant, burst: u32, refill: Duration) -> bool {
        self.refill(now, burst, refill);
        self.tokens >= burst
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

/// Token buckets by key (a client address, a room), sharing one `burst` and `refill`.
/// Only keys that spent something are remembered: a full bucket is the same as none, so
/// full ones are forgotten whenever the map has doubled since the last sweep. Memory
/// stays proportional to the keys active within one refill of the burst, and the sweeps
/// cost O(1) per call amortized.
#[derive(Clone, Debug)]
pub struct BucketMap<K> {
    buckets: HashMap<K, TokenBucket>,
    /// The size at which the next sweep runs.
    sweep_at: usize,
}

impl<K: Hash + Eq + Clone> Default for BucketMap<K> {
    fn default() -> Self {
        BucketMap {
            buckets: HashMap::new(),
            sweep_at: 64,
        }
    }
}

impl<K: Hash + Eq + Clone> BucketMap<K> {
    /// [`TokenBucket::check_n`] on `key`'s bucket (a full one when it has none).
    pub fn check_n(
        &mut self,
        key: &K,
        now: Instant,
        n: u32,
        burst: u32,
        refill: Duration,
    ) -> Result<(), Duration> {
        match self.buckets.get_mut(key) {
            Some(b) => b.check_n(now, n, burst, refill),
            None => TokenBucket::full(burst, now).check_n(now, n, burst, refill),
        }
    }

    /// Takes `n` tokens from `key`'s bucket; call after [`BucketMap::check_n`] allowed
    /// it (else it takes nothing).
    pub fn take_n(&mut self, key: &K, now: Instant, n: u32, burst: u32, refill: Duration) {
        if self.buckets.len() >= self.sweep_at {
            self.buckets.retain(|_, b| !b.is_full(now, burst, refill));
            self.sweep_at = (self.buckets.len() * 2).max(64);
        }
        let bucket = self
            .buckets
            .entry(key.clone())
            .or_insert_with(|| TokenBucket::full(burst, now));
        let _ = bucket.try_take_n(now, n, burst, refill);
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
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
    fn bucket_takes_n_tokens_or_none() {
        let t0 = Instant::now();
        let mut b = TokenBucket::full(10, t0);
        assert!(b.try_take_n(t0, 6, 10, S).is_ok());
        assert_eq!(b.try_take_n(t0, 6, 10, S), Err(S * 2));
        assert!(b.try_take_n(t0, 4, 10, S).is_ok());
        assert_eq!(b.check_n(t0, 11, 10, S), Err(Duration::MAX));
        assert!(b.try_take_n(t0 + S * 3, 3, 10, S).is_ok());
    }

    #[test]
    fn bucket_map_forgets_only_full_buckets() {
        let t0 = Instant::now();
        let mut m = BucketMap::default();
        for k in 0..1000u32 {
            assert!(m.check_n(&k, t0, 1, 2, S).is_ok());
            m.take_n(&k, t0, 1, 2, S);
        }
        assert!(m.len() <= 1000);
        m.take_n(&0, t0, 1, 2, S);
        assert!(
            m.check_n(&0, t0, 1, 2, S).is_err(),
            "an active key is remembered"
        );
        // A refill later every bucket is full again: the next sweep forgets them.
        let later = t0 + S * 2;
        for k in 1000..1064u32 {
            m.take_n(&k, later, 1, 2, S);
        }
        assert!(m.len() < 200, "{} keys", m.len());
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
