//! The flags of `confab serve` (each also read from an environment variable).

use super::{AuthArgs, LogFormat, TurnArgs};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Flags of `confab serve`. Every flag also reads an environment variable; both win
/// over the `--config` file.
#[derive(Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "CONFAB_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address and port for HTTPS (or HTTP with --insecure-http). [default: 0.0.0.0:8443]
    #[arg(long, env = "CONFAB_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
    /// Directory for state: the generated certificate and secrets. [default: ./confab-data]
    #[arg(long, env = "CONFAB_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PEM certificate chain; without it a self-signed certificate is generated.
    #[arg(
        long,
        env = "CONFAB_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(
        long,
        env = "CONFAB_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP, for use behind a TLS-terminating proxy or on localhost only.
    #[arg(long, env = "CONFAB_INSECURE_HTTP")]
    pub insecure_http: bool,
    /// Host name(s) users reach this server by; added to the self-signed certificate
    /// and printed as URLs. Repeat or separate with commas.
    #[arg(
        long,
        env = "CONFAB_PUBLIC_HOST",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub public_host: Vec<String>,
    /// Serve the web client from this directory instead of the embedded copy
    /// (for developing the client).
    #[arg(long, env = "CONFAB_WEB_DIR", value_name = "DIR")]
    pub web_dir: Option<PathBuf>,
    /// An ICE server URL (stun:/turn:/turns:) handed to clients. Repeatable.
    #[arg(
        long,
        env = "CONFAB_ICE_SERVER",
        value_name = "URL",
        value_delimiter = ','
    )]
    pub ice_server: Vec<String>,
    /// Seconds without any frame from a client before it is disconnected. [default: 40]
    #[arg(long, env = "CONFAB_IDLE_TIMEOUT", value_name = "SECS")]
    pub idle_timeout: Option<u64>,
    /// Seconds a new connection may take to finish its TLS handshake, send its HTTP
    /// request headers, and (on the WebSocket) send `hello`; slower ones are dropped.
    /// [default: 10]
    #[arg(long, env = "CONFAB_HANDSHAKE_TIMEOUT", value_name = "SECS")]
    pub handshake_timeout: Option<u64>,
    /// Messages per second one WebSocket connection may send, sustained; more get a
    /// `rate_limited` error, and a client that keeps it up is disconnected (1008).
    /// 0 turns the limit off. [default: 50]
    #[arg(long, env = "CONFAB_MSG_RATE", value_name = "N")]
    pub msg_rate: Option<u32>,
    /// Messages one connection may send in a burst above --msg-rate. [default: 200]
    #[arg(long, env = "CONFAB_MSG_BURST", value_name = "N")]
    pub msg_burst: Option<u32>,
    /// Most peers in one room. [default: 16]
    #[arg(long, env = "CONFAB_MAX_PEERS_PER_ROOM", value_name = "N")]
    pub max_peers_per_room: Option<usize>,
    /// Most rooms at once. [default: 10000]
    #[arg(long, env = "CONFAB_MAX_ROOMS", value_name = "N")]
    pub max_rooms: Option<usize>,
    /// Most people in one call (a full mesh), counting pending invitations. [default: 6]
    #[arg(long, env = "CONFAB_MAX_CALL_SIZE", value_name = "N")]
    pub max_call_size: Option<usize>,
    /// Seconds an invitation rings before it ends unanswered. [default: 30]
    #[arg(long, env = "CONFAB_RING_TIMEOUT", value_name = "SECS")]
    pub ring_timeout: Option<u64>,
    /// Seconds a dropped connection keeps its place (id, room, call) for a reconnect;
    /// 0 drops it at once. [default: 30]
    #[arg(long, env = "CONFAB_RESUME_GRACE", value_name = "SECS")]
    pub resume_grace: Option<u64>,
    /// Most WebSocket connections at once. [default: 20000]
    #[arg(long, env = "CONFAB_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Days chat messages are kept in <data-dir>/confab.db, so history survives rooms
    /// emptying and server restarts; 0 keeps chat in memory only (a room's history then
    /// ends with the room). [default: 30]
    #[arg(long, env = "CONFAB_CHAT_RETENTION_DAYS", value_name = "DAYS")]
    pub chat_retention_days: Option<u32>,
    /// Most recent chat messages a joiner gets as the room's history (0 to 10000).
    /// [default: 100]
    #[arg(long, env = "CONFAB_CHAT_HISTORY", value_name = "N")]
    pub chat_history: Option<usize>,
    /// Chat messages one connection may send in a burst (a token bucket). [default: 10]
    #[arg(long, env = "CONFAB_CHAT_BURST", value_name = "N")]
    pub chat_burst: Option<u32>,
    /// Milliseconds per chat token refilled; 1000 means one message a second sustained.
    /// [default: 1000]
    #[arg(long, env = "CONFAB_CHAT_REFILL_MS", value_name = "MS")]
    pub chat_refill_ms: Option<u64>,
    /// Log filter, e.g. `info` or `confab_server=debug`. [default: info]
    #[arg(long, env = "CONFAB_LOG", value_name = "FILTER")]
    pub log: Option<String>,
    /// Log line format on stderr: `text` for people, `json` (one object per line) for log
    /// collectors. [default: text]
    #[arg(long, env = "CONFAB_LOG_FORMAT", value_name = "FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Another web origin (e.g. `https://app.example.org`) whose pages may open the
    /// signaling WebSocket; by default only pages served by confab itself may.
    /// Repeatable.
    #[arg(
        long,
        env = "CONFAB_ALLOWED_ORIGIN",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    pub allowed_origin: Vec<String>,
    #[command(flatten)]
    pub turn: TurnArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
}
