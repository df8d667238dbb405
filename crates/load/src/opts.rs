//! Command-line options of `confab-load`.

use clap::Parser;
use std::net::IpAddr;
use std::path::PathBuf;

/// Drives a confab (or protocol-compatible) signaling server with N WebSocket clients in
/// rooms, checks every chat and relayed offer arrives exactly once and in order per
/// sender, and reports connect rate, throughput, latency and the server's RSS.
///
/// Every phase is bounded in time, and sending in count.
#[derive(Parser, Clone, Debug)]
#[command(name = "confab-load", version)]
pub struct Opts {
    /// WebSocket URL of the server's signaling endpoint; several (comma-separated) are
    /// the nodes of a cluster, used round-robin by client, so each room has members on
    /// every node.
    #[arg(long, value_delimiter = ',', default_value = "ws://127.0.0.1:8080/ws")]
    pub url: Vec<String>,
    /// Clients to connect (each says hello and joins a room).
    #[arg(long, default_value_t = 100)]
    pub clients: u32,
    /// Clients per room; rooms are filled in order (the last may be smaller).
    #[arg(long, default_value_t = 10)]
    pub room_size: u32,
    /// Connections being set up at once.
    #[arg(long, default_value_t = 128)]
    pub connect_concurrency: usize,
    /// Source addresses to bind client sockets to, used round-robin (loopback only
    /// has ~28k ephemeral ports per source address). Empty: let the kernel choose.
    #[arg(long, value_delimiter = ',')]
    pub source_ip: Vec<IpAddr>,
    /// Seconds of chat traffic after everyone joined; 0 = connections only.
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
    /// Target delivered messages per second (open loop: sends are scheduled at fixed
    /// times and latency counts from the scheduled time). 0 = as fast as the server
    /// goes, each sender keeping `--window` chats in flight.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Chats a sender may have unanswered in the max-rate mode.
    #[arg(long, default_value_t = 4)]
    pub window: u64,
    /// How many clients send (the first ones in each room, spread over rooms); 0 = all.
    #[arg(long, default_value_t = 0)]
    pub senders: u32,
    /// Besides each chat, send this fraction of relayed `offer`s (unicast to the next
    /// peer in the room, sequence-numbered per sender and receiver).
    #[arg(long, default_value_t = 0.25)]
    pub relay_ratio: f64,
    /// Stop sending after this many chats in all.
    #[arg(long, default_value_t = 10_000_000)]
    pub max_messages: u64,
    /// Seconds at the start of traffic not counted in the latency histogram.
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Seconds to wait for the last messages after sending stopped.
    #[arg(long, default_value_t = 10.0)]
    pub drain_timeout: f64,
    /// Seconds allowed for connecting everyone.
    #[arg(long, default_value_t = 120.0)]
    pub connect_timeout: f64,
    /// Seconds to wait after everyone joined before reading the server's RSS.
    #[arg(long, default_value_t = 2.0)]
    pub settle: f64,
    /// PIDs of the server processes (comma-separated: a cluster's nodes), to read their
    /// RSS and CPU time from /proc; figures are their sums.
    #[arg(long, value_delimiter = ',')]
    pub server_pid: Vec<u32>,
    /// Write the report as JSON here too.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The room password every client joins with (rooms `load-0`, `load-1`, …, which
    /// the server must know under this password).
    #[arg(long)]
    pub password: Option<String>,
    /// A label for the report (e.g. "confab" or "node-ws").
    #[arg(long, default_value = "server")]
    pub label: String,
}

impl Opts {
    /// Rejects options that cannot make a bounded, meaningful run.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.clients >= 1, "--clients must be at least 1");
        anyhow::ensure!(self.room_size >= 1, "--room-size must be at least 1");
        anyhow::ensure!(
            (0.0..=3600.0).contains(&self.duration),
            "--duration must be 0..=3600 seconds"
        );
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.relay_ratio),
            "--relay-ratio must be 0..=1"
        );
        anyhow::ensure!(self.window >= 1, "--window must be at least 1");
        anyhow::ensure!(
            self.connect_concurrency >= 1,
            "--connect-concurrency must be at least 1"
        );
        for (name, v) in [
            ("--connect-timeout", self.connect_timeout),
            ("--drain-timeout", self.drain_timeout),
            ("--settle", self.settle),
            ("--warmup", self.warmup),
        ] {
            anyhow::ensure!((0.0..=3600.0).contains(&v), "{name} must be 0..=3600");
        }
        Ok(())
    }
}
