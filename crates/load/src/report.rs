//! What a run measured, as text for people and JSON for `bench/load.sh`.

use crate::seq::Tally;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;

/// The delivery check over all streams.
#[derive(Clone, Debug, Default)]
pub struct Verdict {
    /// (receiver, sender, stream) combinations checked.
    pub streams: u64,
    /// Of those, the ones not exactly-once-in-order.
    pub bad_streams: u64,
    /// Sums over all streams.
    pub tally: Tally,
    /// Offers not sent because the target's id was not known yet (not an error).
    pub offers_skipped: u64,
    /// Clients whose connection ended before the run did.
    pub ended_early: u64,
    /// A few of their reasons.
    pub ended_early_examples: Vec<String>,
}

/// One run's figures.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// `--label`.
    pub label: String,
    /// `--clients`.
    pub clients: u32,
    /// `--room-size`.
    pub room_size: u32,
    /// Clients that connected and joined.
    pub connected: u64,
    /// Clients that did not.
    pub connect_failures: u64,
    /// A few of their errors.
    pub connect_errors: Vec<String>,
    /// Time to connect (TCP + upgrade + hello + join) everyone.
    pub connect_secs: f64,
    /// 99th percentile of one client's setup time, ms.
    pub setup_p99_ms: f64,
    /// Server RSS before connecting, KiB.
    pub baseline_kib: Option<u64>,
    /// Server RSS with everyone joined (after `--settle`), KiB.
    pub rss_joined_kib: Option<u64>,
    /// Server RSS after the traffic, KiB.
    pub rss_after_kib: Option<u64>,
    /// Clients that sent.
    pub senders: u64,
    /// `--rate` (0 = max).
    pub target_rate: u64,
    /// Chats sent.
    pub sent_chats: u64,
    /// Deliveries the sends promised.
    pub expected: u64,
    /// Deliveries seen.
    pub delivered: u64,
    /// Send phase length, s.
    pub send_secs: f64,
    /// Send phase plus drain, s.
    pub traffic_secs: f64,
    /// Sends the open-loop pacer could not hand out (sender still busy).
    pub pacer_dropped: u64,
    /// CPU seconds the server used during the traffic phase (send + drain).
    pub server_cpu_secs: Option<f64>,
    /// Latency in µs, from the (scheduled) send to arrival, after the warm-up.
    pub latency: Option<Histogram<u64>>,
    /// Server errors and odd frames, by kind.
    pub errors: BTreeMap<String, u64>,
    /// The delivery check.
    pub verdict: Verdict,
}

impl Report {
    /// Server RSS growth per joined connection, KiB.
    pub fn rss_per_conn_kib(&self) -> Option<f64> {
        let (b, j) = (self.baseline_kib?, self.rss_joined_kib?);
        (self.connected > 0).then(|| j.saturating_sub(b) as f64 / self.connected as f64)
    }

    /// Connections set up per second.
    pub fn connect_rate(&self) -> f64 {
        self.connected as f64 / self.connect_secs.max(1e-9)
    }

    /// Deliveries per second over the traffic phase (send + drain).
    pub fn delivered_per_s(&self) -> f64 {
        if self.traffic_secs > 0.0 {
            self.delivered as f64 / self.traffic_secs
        } else {
            0.0
        }
    }

    /// Server CPU per delivered message over the traffic phase, µs.
    pub fn cpu_us_per_delivery(&self) -> Option<f64> {
        let cpu = self.server_cpu_secs?;
        (self.delivered > 0).then(|| cpu * 1e6 / self.delivered as f64)
    }

    /// Latency quantile in ms.
    pub fn latency_ms(&self, q: f64) -> Option<f64> {
        let h = self.latency.as_ref()?;
        (!h.is_empty()).then(|| h.value_at_quantile(q) as f64 / 1e3)
    }

    /// True when every client connected, none dropped, every stream was exactly once
    /// in order, and the server reported no errors.
    pub fn ok(&self) -> bool {
        self.connect_failures == 0
            && self.verdict.bad_streams == 0
            && self.verdict.ended_early == 0
            && self.errors.is_empty()
            && self.delivered == self.expected
    }

    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        let t = &self.verdict.tally;
        json!({
            "label": self.label,
            "ok": self.ok(),
            "clients": self.clients,
            "roomSize": self.room_size,
            "connected": self.connected,
            "connectFailures": self.connect_failures,
            "connectErrors": self.connect_errors,
            "connectSecs": self.connect_secs,
            "connectRate": self.connect_rate(),
            "setupP99Ms": self.setup_p99_ms,
            "baselineKib": self.baseline_kib,
            "rssJoinedKib": self.rss_joined_kib,
            "rssAfterKib": self.rss_after_kib,
            "rssPerConnKib": self.rss_per_conn_kib(),
            "senders": self.senders,
            "targetRate": self.target_rate,
            "sentChats": self.sent_chats,
            "expected": self.expected,
            "delivered": self.delivered,
            "sendSecs": self.send_secs,
            "trafficSecs": self.traffic_secs,
            "deliveredPerS": self.delivered_per_s(),
            "pacerDropped": self.pacer_dropped,
            "serverCpuSecs": self.server_cpu_secs,
            "cpuUsPerDelivery": self.cpu_us_per_delivery(),
            "latencySamples": self.latency.as_ref().map(|h| h.len()),
            "p50Ms": self.latency_ms(0.5),
            "p99Ms": self.latency_ms(0.99),
            "p999Ms": self.latency_ms(0.999),
            "maxMs": self.latency_ms(1.0),
            "errors": self.errors,
            "streams": self.verdict.streams,
            "badStreams": self.verdict.bad_streams,
            "received": t.received,
            "lost": t.lost,
            "duplicates": t.duplicates,
            "reordered": t.reordered,
            "phantom": t.phantom,
            "offersSkipped": self.verdict.offers_skipped,
            "endedEarly": self.verdict.ended_early,
            "endedEarlyExamples": self.verdict.ended_early_examples,
        })
    }
}

fn opt<T: fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.verdict.tally;
        writeln!(f, "== {} ==", self.label)?;
        writeln!(
            f,
            "connect: {}/{} joined in {:.2} s ({:.0}/s, setup p99 {:.1} ms), {} failed {:?}",
            self.connected,
            self.clients,
            self.connect_secs,
            self.connect_rate(),
            self.setup_p99_ms,
            self.connect_failures,
            self.connect_errors
        )?;
        writeln!(
            f,
            "server RSS KiB: baseline {}, joined {}, after traffic {}; per connection {}",
            opt(self.baseline_kib),
            opt(self.rss_joined_kib),
            opt(self.rss_after_kib),
            opt(self.rss_per_conn_kib().map(|v| format!("{v:.1} KiB")))
        )?;
        if self.traffic_secs > 0.0 {
            writeln!(
                f,
                "traffic: {} senders, target {} msg/s; {} chats sent in {:.2} s; {}/{} delivered in {:.2} s = {:.0} msg/s; pacer dropped {}",
                self.senders,
                if self.target_rate == 0 { "max".to_string() } else { self.target_rate.to_string() },
                self.sent_chats,
                self.send_secs,
                self.delivered,
                self.expected,
                self.traffic_secs,
                self.delivered_per_s(),
                self.pacer_dropped
            )?;
            writeln!(
                f,
                "server CPU: {} s in the traffic phase, {} µs per delivered message",
                opt(self.server_cpu_secs.map(|v| format!("{v:.2}"))),
                opt(self.cpu_us_per_delivery().map(|v| format!("{v:.2}")))
            )?;
            let ms = |q| opt(self.latency_ms(q).map(|v| format!("{v:.2}")));
            writeln!(
                f,
                "latency ms: p50 {} p99 {} p99.9 {} max {} ({} samples)",
                ms(0.5),
                ms(0.99),
                ms(0.999),
                ms(1.0),
                opt(self.latency.as_ref().map(|h| h.len()))
            )?;
        }
        writeln!(
            f,
            "check: {} streams, {} bad; received {}, lost {}, duplicates {}, reordered {}, phantom {}; offers skipped {}; ended early {} {:?}; errors {:?}",
            self.verdict.streams,
            self.verdict.bad_streams,
            t.received,
            t.lost,
            t.duplicates,
            t.reordered,
            t.phantom,
            self.verdict.offers_skipped,
            self.verdict.ended_early,
            self.verdict.ended_early_examples,
            self.errors
        )?;
        write!(f, "result: {}", if self.ok() { "OK" } else { "FAILED" })
    }
}
