//! The TURN series of [`Metrics`]: registered only when TURN is on.

use super::{ConnRefusal, Metrics, RelayDirection, METADATA};
use metrics::{Counter, Gauge, Key, Label, Recorder};
use metrics_exporter_prometheus::PrometheusRecorder;

pub(super) struct TurnSeries {
    allocations: Gauge,
    to_peer: Counter,
    to_client: Counter,
    in_process: Counter,
    refusals: Vec<(confab_turn::RefusalReason, Counter)>,
    stream_timeouts: Counter,
    stream_connections: Gauge,
    stream_refused: Vec<(ConnRefusal, Counter)>,
}

impl TurnSeries {
    /// Describes and registers every TURN series (at zero).
    pub(super) fn register(recorder: &PrometheusRecorder) -> TurnSeries {
        let describe_gauge = |name: &'static str, help: &'static str| {
            recorder.describe_gauge(name.into(), None, help.into());
        };
        let describe_counter = |name: &'static str, help: &'static str| {
            recorder.describe_counter(name.into(), None, help.into());
        };
        let gauge = |name: &'static str| recorder.register_gauge(&Key::from_name(name), &METADATA);
        describe_gauge("confab_turn_allocations", "Live TURN allocations.");
        describe_counter(
            "confab_turn_relayed_bytes_total",
            "Payload bytes relayed by TURN, by direction (`to_peer`, `to_client`, and \
             `in_process`: from one allocation straight to another of this server).",
        );
        describe_counter(
            "confab_turn_refusals_total",
            "TURN requests refused, by reason (`challenge` is the normal first 401 of \
             every allocation; `rate_limited` counts error replies not sent).",
        );
        let refusals = confab_turn::RefusalReason::ALL
            .iter()
            .map(|&r| {
                let key = Key::from_parts(
                    "confab_turn_refusals_total",
                    vec![Label::from_static_parts("reason", r.as_str())],
                );
                (r, recorder.register_counter(&key, &METADATA))
            })
            .collect();
        let relayed = |dir: &'static str| {
            let key = Key::from_parts(
                "confab_turn_relayed_bytes_total",
                vec![Label::from_static_parts("direction", dir)],
            );
            recorder.register_counter(&key, &METADATA)
        };
        describe_counter(
            "confab_turn_stream_timeouts_total",
            "TURN TCP/TLS connections closed for holding no live allocation.",
        );
        describe_gauge(
            "confab_turn_stream_connections",
            "Open TURN TCP/TLS connections (TLS ones from accept, before the handshake).",
        );
        describe_counter(
            "confab_turn_stream_connections_refused_total",
            "TURN TCP/TLS connections closed at accept, by reason (`per_ip`, `total`, \
             `descriptors`: the descriptor reserve).",
        );
        TurnSeries {
            stream_timeouts: recorder.register_counter(
                &Key::from_name("confab_turn_stream_timeouts_total"),
                &METADATA,
            ),
            allocations: gauge("confab_turn_allocations"),
            to_peer: relayed("to_peer"),
            to_client: relayed("to_client"),
            in_process: relayed("in_process"),
            refusals,
            stream_connections: gauge("confab_turn_stream_connections"),
            stream_refused: ConnRefusal::ALL
                .iter()
                .map(|&r| {
                    let key = Key::from_parts(
                        "confab_turn_stream_connections_refused_total",
                        vec![Label::from_static_parts("reason", r.as_str())],
                    );
                    (r, recorder.register_counter(&key, &METADATA))
                })
                .collect(),
        }
    }
}

impl Metrics {
    /// Sets `confab_turn_allocations` to the TURN core's current count. No-op without
    /// TURN.
    pub fn set_turn_allocations(&self, n: usize) {
        if let Some(t) = &self.inner.turn {
            t.allocations.set(n as f64);
        }
    }

    /// One TURN allocation created (alternative to [`Metrics::set_turn_allocations`]).
    pub fn turn_allocation_opened(&self) {
        if let Some(t) = &self.inner.turn {
            t.allocations.increment(1.0);
        }
    }

    /// One TURN allocation removed (expired, refreshed to 0, or its transport closed).
    pub fn turn_allocation_closed(&self) {
        if let Some(t) = &self.inner.turn {
            t.allocations.decrement(1.0);
        }
    }

    /// `bytes` of application data relayed in `direction` (payload only, not the
    /// STUN/ChannelData framing).
    pub fn turn_relayed(&self, direction: RelayDirection, bytes: usize) {
        if let Some(t) = &self.inner.turn {
            let c = match direction {
                RelayDirection::ToPeer => &t.to_peer,
                RelayDirection::ToClient => &t.to_client,
            };
            c.increment(bytes as u64);
        }
    }

    /// One TURN TCP/TLS connection closed for holding no live allocation.
    pub fn turn_stream_timed_out(&self) {
        if let Some(t) = &self.inner.turn {
            t.stream_timeouts.increment(1);
        }
    }

    /// One TURN request refused, by reason. No-op without TURN.
    pub fn turn_refused(&self, reason: confab_turn::RefusalReason) {
        if let Some(t) = &self.inner.turn {
            if let Some((_, c)) = t.refusals.iter().find(|(r, _)| *r == reason) {
                c.increment(1);
            }
        }
    }

    /// Sets the `in_process` relayed bytes to the TURN core's running total.
    pub fn set_turn_in_process_bytes(&self, total: u64) {
        if let Some(t) = &self.inner.turn {
            t.in_process.absolute(total);
        }
    }

    /// Sets the gauge of open TURN TCP/TLS connections.
    pub fn set_turn_stream_connections(&self, n: usize) {
        if let Some(t) = &self.inner.turn {
            t.stream_connections.set(n as f64);
        }
    }

    /// One TURN TCP/TLS connection closed at accept.
    pub fn turn_stream_refused(&self, reason: ConnRefusal) {
        if let Some(t) = &self.inner.turn {
            if let Some((_, c)) = t.stream_refused.iter().find(|(r, _)| *r == reason) {
                c.increment(1);
            }
        }
    }
}
