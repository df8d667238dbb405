//! Prometheus metrics, one registry per server instance, rendered at `/metrics`.
//!
//! Why not the `metrics` crate's global recorder (`metrics::counter!`): it is installed
//! once per process, and the integration tests start many servers in one process, so
//! every server would count into the same series and no test could assert exact values.
//! `metrics::with_local_recorder` only covers a synchronous closure, not an async task.
//! Instead each [`Metrics`] builds its own [`PrometheusRecorder`] (never installed) and
//! registers its series through the [`Recorder`] trait directly, keeping the returned
//! handles (`Counter`, `Gauge`: atomics behind an `Arc`) so the hot paths only do an
//! atomic add. Configuration is passed down, never global (DESIGN.md principle 7); the
//! metrics registry follows the same rule.
//!
//! Labels only ever hold fixed vocabularies (message types, error codes, route patterns,
//! status codes, directions): never user input and never a secret.

use confab_proto::{ClientMsg, ErrorCode, PairType};
use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::sync::Arc;
use turn::TurnSeries;

mod turn;

/// The `type` label of `confab_messages_in_total` for frames that did not decode.
pub const INVALID_TYPE: &str = "invalid";

/// The `type`s of server messages, registered up front so they show as 0 before their
/// first use. A type missing here is still counted (registered on first use).
const SERVER_TYPES: &[&str] = confab_proto::ServerMsg::TYPES;

const METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, None);

/// The metrics of one server; cheap to clone (an `Arc`).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    connections: Gauge,
    rooms: Gauge,
    peers: Gauge,
    detached: Gauge,
    sfu_endpoints: Gauge,
    sfu_handoffs: Counter,
    holds_refused: Counter,
    messages_in: Vec<(&'static str, Counter)>,
    messages_out: Vec<(&'static str, Counter)>,
    calls_started: Counter,
    calls_connected: Vec<(PairType, Counter)>,
    call_setup: Histogram,
    http_connections: Gauge,
    http_refused: Vec<(ConnRefusal, Counter)>,
    http_timeouts: Vec<(ConnTimeout, Counter)>,
    turn: Option<TurnSeries>,
}

/// Why an HTTP(S) or TURN TCP/TLS connection was closed at accept (the `reason` label
/// of `confab_http_connections_refused_total` and
/// `confab_turn_stream_connections_refused_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnRefusal {
    /// Its client address (IPv4, IPv6 /64) had `--max-http-connections-per-ip` open.
    PerIp,
    /// `--max-http-connections` were open.
    Total,
    /// Taking it would have eaten into the descriptor reserve.
    Descriptors,
}

impl ConnRefusal {
    /// Every reason, in label order.
    pub const ALL: [ConnRefusal; 3] = [
        ConnRefusal::PerIp,
        ConnRefusal::Total,
        ConnRefusal::Descriptors,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnRefusal::PerIp => "per_ip",
            ConnRefusal::Total => "total",
            ConnRefusal::Descriptors => "descriptors",
        }
    }
}

/// Which deadline closed an HTTP(S) connection (the `phase` label of
/// `confab_http_connections_timed_out_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnTimeout {
    /// No first request within `--handshake-timeout` of accept.
    FirstRequest,
    /// Nothing in flight for `--http-idle-timeout`.
    Idle,
}

impl ConnTimeout {
    /// Every phase, in label order.
    pub const ALL: [ConnTimeout; 2] = [ConnTimeout::FirstRequest, ConnTimeout::Idle];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnTimeout::FirstRequest => "first_request",
            ConnTimeout::Idle => "idle",
        }
    }
}

/// Buckets of `confab_call_setup_seconds`: what people notice lies between a quarter of a
/// second and a few seconds; past 30 s a call has effectively failed.
const SETUP_BUCKETS: &[f64] = &[0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0];

/// Which way relayed TURN bytes went (the `direction` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelayDirection {
    /// From a TURN client out of its relay address to a peer (`to_peer`).
    ToPeer,
    /// From a peer into a relay address, forwarded to the TURN client (`to_client`).
    ToClient,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("turn", &self.inner.turn.is_some())
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// A fresh registry with every signaling series at zero; the TURN series exist only
    /// when `turn` is true (so a server without TURN does not export them).
    pub fn new(turn: bool) -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("confab_call_setup_seconds".into()),
                SETUP_BUCKETS,
            )
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        let describe_gauge = |name: &'static str, help: &'static str| {
            recorder.describe_gauge(name.into(), None, help.into());
        };
        let describe_counter = |name: &'static str, help: &'static str| {
            recorder.describe_counter(name.into(), None, help.into());
        };
        describe_gauge(
            "confab_connections",
            "Open signaling WebSocket connections.",
        );
        describe_gauge("confab_rooms", "Rooms with at least one peer.");
        describe_gauge("confab_peers", "Connections that have joined a room.");
        describe_gauge(
            "confab_detached_connections",
            "Dropped connections whose room place is held for a resume (not in \
             confab_connections).",
        );
        describe_gauge(
            "confab_sfu_endpoints",
            "Members of SFU calls with a connection to the SFU.",
        );
        describe_counter(
            "confab_sfu_handoffs_total",
            "Datagrams an SFU shard's socket read for another shard's endpoint and handed \
             to that shard (the kernel spreads addresses over the shards of one port).",
        );
        describe_counter(
            "confab_resume_holds_refused_total",
            "Dropped connections that left at once because the caps on held places \
             (in total, per client address) were reached.",
        );
        describe_counter(
            "confab_messages_in_total",
            "Signaling frames received, by message type (`invalid` when undecodable).",
        );
        describe_counter(
            "confab_messages_out_total",
            "Signaling messages sent to open connections, by message type.",
        );
        describe_counter(
            "confab_errors_total",
            "Error messages sent to clients, by error code.",
        );
        describe_counter(
            "confab_http_requests_total",
            "HTTP requests answered, by route pattern and status code.",
        );
        describe_counter(
            "confab_calls_started_total",
            "Calls started (a first invitation, or a first join of a meeting).",
        );
        describe_counter(
            "confab_calls_connected_total",
            "Peer connections whose media played, as reported by the clients, by the \
             selected candidate pair's local type (`host`, `srflx`, `prflx`, `relay`).",
        );
        recorder.describe_histogram(
            "confab_call_setup_seconds".into(),
            Some(metrics::Unit::Seconds),
            "Time from the start of a call (accept or join) to the first decoded video frame, \
             per peer connection, as reported by the clients."
                .into(),
        );
        describe_gauge(
            "confab_http_connections",
            "Open HTTP(S) connections (WebSockets included).",
        );
        describe_counter(
            "confab_http_connections_refused_total",
            "HTTP(S) connections closed at accept, by reason (`per_ip`, `total`, \
             `descriptors`: the descriptor reserve).",
        );
        describe_counter(
            "confab_http_connections_timed_out_total",
            "HTTP(S) connections closed by a deadline, by phase (`first_request`, `idle`).",
        );
        let gauge = |name: &'static str| recorder.register_gauge(&Key::from_name(name), &METADATA);
        let labelled = |name: &'static str, label: &'static str, value: &'static str| {
            let key = Key::from_parts(name, vec![Label::from_static_parts(label, value)]);
            recorder.register_counter(&key, &METADATA)
        };
        let typed = |name: &'static str, types: &[&'static str]| {
            types
                .iter()
                .map(|&t| {
                    let key = Key::from_parts(name, vec![Label::from_static_parts("type", t)]);
                    (t, recorder.register_counter(&key, &METADATA))
                })
                .collect::<Vec<_>>()
        };
        let mut in_types = ClientMsg::TYPES.to_vec();
        in_types.push(INVALID_TYPE);
        let turn = turn.then(|| TurnSeries::register(&recorder));
        let inner = Inner {
            connections: gauge("confab_connections"),
            rooms: gauge("confab_rooms"),
            peers: gauge("confab_peers"),
            detached: gauge("confab_detached_connections"),
            sfu_endpoints: gauge("confab_sfu_endpoints"),
            sfu_handoffs: recorder
                .register_counter(&Key::from_name("confab_sfu_handoffs_total"), &METADATA),
            holds_refused: recorder.register_counter(
                &Key::from_name("confab_resume_holds_refused_total"),
                &METADATA,
            ),
            messages_in: typed("confab_messages_in_total", &in_types),
            messages_out: typed("confab_messages_out_total", SERVER_TYPES),
            calls_started: recorder
                .register_counter(&Key::from_name("confab_calls_started_total"), &METADATA),
            calls_connected: PairType::ALL
                .iter()
                .map(|&p| {
                    let key = Key::from_parts(
                        "confab_calls_connected_total",
                        vec![Label::from_static_parts("pair", p.as_str())],
                    );
                    (p, recorder.register_counter(&key, &METADATA))
                })
                .collect(),
            call_setup: recorder
                .register_histogram(&Key::from_name("confab_call_setup_seconds"), &METADATA),
            http_connections: gauge("confab_http_connections"),
            http_refused: ConnRefusal::ALL
                .iter()
                .map(|&r| {
                    let c = labelled(
                        "confab_http_connections_refused_total",
                        "reason",
                        r.as_str(),
                    );
                    (r, c)
                })
                .collect(),
            http_timeouts: ConnTimeout::ALL
                .iter()
                .map(|&p| {
                    let c = labelled(
                        "confab_http_connections_timed_out_total",
                        "phase",
                        p.as_str(),
                    );
                    (p, c)
                })
                .collect(),
            turn,
            handle,
            recorder,
        };
        Metrics {
            inner: Arc::new(inner),
        }
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        self.inner.handle.render()
    }

    /// Sets the signaling gauges (called by the hub task, which owns the counts).
    pub fn set_signaling(&self, connections: usize, rooms: usize, peers: usize) {
        self.inner.connections.set(connections as f64);
        self.inner.rooms.set(rooms as f64);
        self.inner.peers.set(peers as f64);
    }

    /// Sets the gauge of SFU endpoints (the hub's `media_endpoints`).
    pub fn set_sfu_endpoints(&self, endpoints: usize) {
        self.inner.sfu_endpoints.set(endpoints as f64);
    }

    /// `n` datagrams went from one SFU shard to another (`sfu/steer.rs`).
    pub fn sfu_handoffs(&self, n: u64) {
        self.inner.sfu_handoffs.increment(n);
    }

    /// Sets the gauge of places held for a resume (the hub's `detached_count`).
    pub fn set_detached(&self, detached: usize) {
        self.inner.detached.set(detached as f64);
    }

    /// A dropped connection was not held for a resume (the hub's `Event::HoldRefused`).
    pub fn hold_refused(&self) {
        self.inner.holds_refused.increment(1);
    }

    /// A call started (the hub's `Event::CallStarted`).
    pub fn call_started(&self) {
        self.inner.calls_started.increment(1);
    }

    /// A client reported a peer connection with media playing (`callStats`).
    pub fn call_connected(&self, pair: PairType, setup_ms: u32) {
        if let Some((_, c)) = self.inner.calls_connected.iter().find(|(p, _)| *p == pair) {
            c.increment(1);
        }
        self.inner.call_setup.record(f64::from(setup_ms) / 1000.0);
    }

    /// One frame received, by its `type` (or [`INVALID_TYPE`]).
    pub fn message_in(&self, type_name: &'static str) {
        self.by_type(
            &self.inner.messages_in,
            "confab_messages_in_total",
            type_name,
        );
    }

    /// One message for an open connection, by its `type` (`ServerMsg::type_name`).
    pub fn message_out(&self, type_name: &str) {
        self.by_type(
            &self.inner.messages_out,
            "confab_messages_out_total",
            type_name,
        );
    }

    fn by_type(&self, known: &[(&'static str, Counter)], name: &'static str, t: &str) {
        match known.iter().find(|(k, _)| *k == t) {
            Some((_, c)) => c.increment(1),
            None => {
                let key = Key::from_parts(name, vec![Label::new("type", t.to_owned())]);
                self.inner
                    .recorder
                    .register_counter(&key, &METADATA)
                    .increment(1);
            }
        }
    }

    /// One error sent to a client. Errors are rare, so the series is looked up per call.
    pub fn error(&self, code: ErrorCode) {
        let code = error_code_name(code);
        let key = Key::from_parts("confab_errors_total", vec![Label::new("code", code)]);
        self.inner
            .recorder
            .register_counter(&key, &METADATA)
            .increment(1);
    }

    /// One HTTP request answered; `route` is the matched route pattern (never the raw
    /// path, which would let clients create unbounded series).
    pub fn http_request(&self, route: &'static str, status: u16) {
        let key = Key::from_parts(
            "confab_http_requests_total",
            vec![
                Label::from_static_parts("route", route),
                Label::new("status", status.to_string()),
            ],
        );
        self.inner
            .recorder
            .register_counter(&key, &METADATA)
            .increment(1);
    }
}

impl Metrics {
    /// Sets the gauge of open HTTP(S) connections (the gate's count).
    pub fn set_http_connections(&self, n: usize) {
        self.inner.http_connections.set(n as f64);
    }

    /// One HTTP(S) connection closed at accept.
    pub fn http_refused(&self, reason: ConnRefusal) {
        if let Some((_, c)) = self.inner.http_refused.iter().find(|(r, _)| *r == reason) {
            c.increment(1);
        }
    }

    /// One HTTP(S) connection closed by a deadline.
    pub fn http_timed_out(&self, phase: ConnTimeout) {
        if let Some((_, c)) = self.inner.http_timeouts.iter().find(|(p, _)| *p == phase) {
            c.increment(1);
        }
    }
}

/// The wire name of an error code (`bad_json`, ...), from its serde representation so it
/// cannot drift from the protocol.
fn error_code_name(code: ErrorCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_are_isolated() {
        let a = Metrics::new(false);
        let b = Metrics::new(true);
        a.message_in("join");
        a.error(ErrorCode::BadJson);
        b.turn_relayed(RelayDirection::ToPeer, 100);
        let ra = a.render();
        let rb = b.render();
        assert!(
            ra.contains("confab_messages_in_total{type=\"join\"} 1"),
            "{ra}"
        );
        assert!(
            ra.contains("confab_errors_total{code=\"bad_json\"} 1"),
            "{ra}"
        );
        assert!(!ra.contains("confab_turn"), "{ra}");
        assert!(
            rb.contains("confab_messages_in_total{type=\"join\"} 0"),
            "{rb}"
        );
        assert!(
            rb.contains("confab_turn_relayed_bytes_total{direction=\"to_peer\"} 100"),
            "{rb}"
        );
        assert!(rb.contains("# TYPE confab_turn_allocations gauge"), "{rb}");
    }
}
