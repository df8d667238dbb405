//! State shared by the coordinator and all client tasks: counters, the latency
//! histograms, and the start/stop signals.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Latency histogram shards, so client tasks on different threads rarely contend.
const SHARDS: usize = 16;

/// Highest latency the histograms track (60 s, in µs); larger values are clamped.
const MAX_LATENCY_US: u64 = 60_000_000;

/// See the module doc.
pub struct Shared {
    /// The run's time base for payload timestamps.
    pub base: Instant,
    /// Set once traffic starts; client tasks wait for it.
    pub started: watch::Receiver<bool>,
    /// Cancelled when the run is over: client tasks return their results.
    pub finish: CancellationToken,
    /// Load messages received by all clients.
    pub delivered: AtomicU64,
    /// Deliveries the sends so far promise (a chat: its room's size; an offer: 1).
    pub expected: AtomicU64,
    /// Chats sent so far.
    pub sent: AtomicU64,
    /// Most chats to send.
    pub max_messages: u64,
    /// Offers per chat.
    pub relay_ratio: f64,
    stop: AtomicBool,
    /// Latencies of arrivals scheduled after this (µs since `base`) are recorded.
    pub record_after_us: AtomicU64,
    hist: Vec<Mutex<Histogram<u64>>>,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Shared {
    /// A fresh state; `started` comes from the coordinator's watch channel.
    pub fn new(started: watch::Receiver<bool>, max_messages: u64, relay_ratio: f64) -> Shared {
        Shared {
            base: Instant::now(),
            started,
            finish: CancellationToken::default(),
            delivered: AtomicU64::new(0),
            expected: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            max_messages,
            relay_ratio,
            stop: AtomicBool::new(false),
            record_after_us: AtomicU64::new(u64::MAX),
            hist: (0..SHARDS)
                .map(|_| {
                    Mutex::new(
                        Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                            .expect("valid histogram bounds"),
                    )
                })
                .collect(),
            errors: Mutex::new(BTreeMap::new()),
        }
    }

    /// Microseconds since the time base.
    pub fn now_us(&self) -> u64 {
        self.base.elapsed().as_micros() as u64
    }

    /// Stops all sending.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether sending has stopped.
    pub fn stop_sending(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Claims one chat send; false once sending stopped or the count is used up.
    pub fn take_send_slot(&self) -> bool {
        if self.stop_sending() {
            return false;
        }
        if self.sent.fetch_add(1, Ordering::Relaxed) >= self.max_messages {
            self.sent.fetch_sub(1, Ordering::Relaxed);
            self.stop();
            return false;
        }
        true
    }

    /// Records one arrival's latency (from its scheduled send time to now).
    pub fn record_latency(&self, receiver: u32, t_us: u64) {
        if t_us < self.record_after_us.load(Ordering::Relaxed) {
            return;
        }
        let lat = self.now_us().saturating_sub(t_us).clamp(1, MAX_LATENCY_US);
        let shard = receiver as usize % SHARDS;
        if let Ok(mut h) = self.hist[shard].lock() {
            h.saturating_record(lat);
        }
    }

    /// All shards merged.
    pub fn latency(&self) -> Histogram<u64> {
        let mut all = Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid bounds");
        for h in &self.hist {
            if let Ok(h) = h.lock() {
                let _ = all.add(&*h);
            }
        }
        all
    }

    /// Counts an unexpected event (server error code, bad frame) by description.
    pub fn count_error(&self, what: &str) {
        if let Ok(mut e) = self.errors.lock() {
            *e.entry(what.to_owned()).or_insert(0) += 1;
        }
    }

    /// The counted errors.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors.lock().map(|e| e.clone()).unwrap_or_default()
    }
}
