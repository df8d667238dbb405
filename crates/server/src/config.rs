//! Configuration: CLI flags > environment variables > TOML file > built-in defaults.
//!
//! The resolved [`Config`] is a plain struct passed down to whatever needs it; nothing
//! reads configuration from globals.

pub use crate::auth::settings::{AuthArgs, AuthSettings, FileAuth};
use clap::{Args, ValueEnum};
use confab_proto::IceServer;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// Flags for the built-in STUN/TURN server.
#[derive(Args, Debug, Default, Clone)]
pub struct TurnArgs {
    /// Disable the built-in STUN/TURN server.
    #[arg(long, env = "CONFAB_NO_TURN")]
    pub no_turn: bool,
    /// UDP and TCP address for STUN/TURN. [default: 0.0.0.0:3478]
    #[arg(long, env = "CONFAB_TURN_LISTEN", value_name = "ADDR:PORT")]
    pub turn_listen: Option<SocketAddr>,
    /// TLS address for TURN over TLS (`turns:`), with the HTTPS certificate; `off` to
    /// disable. [default: 0.0.0.0:5349]
    #[arg(long, env = "CONFAB_TURNS_LISTEN", value_name = "ADDR:PORT|off")]
    pub turns_listen: Option<String>,
    /// UDP port range for relayed traffic. [default: 49152-65535]
    #[arg(long, env = "CONFAB_TURN_RELAY_PORTS", value_name = "MIN-MAX")]
    pub turn_relay_ports: Option<String>,
    /// Address relay sockets bind to. [default: the TURN listen address, or the
    /// address of the default route]
    #[arg(long, env = "CONFAB_TURN_RELAY_IP", value_name = "IP")]
    pub turn_relay_ip: Option<IpAddr>,
    /// Public address of this server when it sits behind 1:1 NAT (cloud VMs): advertised
    /// as the relay address and in the ICE server URLs.
    #[arg(long, env = "CONFAB_EXTERNAL_IP", value_name = "IP")]
    pub external_ip: Option<IpAddr>,
    /// Shared secret for time-limited TURN credentials. [default: random, kept in the
    /// data dir]
    #[arg(
        long,
        env = "CONFAB_TURN_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub turn_secret: Option<String>,
    /// Validity of the TURN credentials handed to each client, in seconds. [default: 86400]
    #[arg(long, env = "CONFAB_TURN_CREDENTIAL_TTL", value_name = "SECS")]
    pub turn_credential_ttl: Option<u64>,
    /// Allow relaying to this network even though it is denied by default (e.g.
    /// `10.0.0.0/8` for a LAN-only deployment). Repeatable.
    #[arg(
        long,
        env = "CONFAB_TURN_ALLOW_PEER",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    pub turn_allow_peer: Vec<String>,
    /// Also refuse relaying to this network. Repeatable.
    #[arg(
        long,
        env = "CONFAB_TURN_DENY_PEER",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    pub turn_deny_peer: Vec<String>,
    /// A static TURN user `name:password` (besides the time-limited ones). Repeatable.
    #[arg(
        long,
        env = "CONFAB_TURN_USER",
        value_name = "NAME:PASSWORD",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub turn_user: Vec<String>,
    /// TURN realm. [default: confab]
    #[arg(long, env = "CONFAB_TURN_REALM", value_name = "REALM")]
    pub turn_realm: Option<String>,
    /// Most allocations per TURN user. [default: 10]
    #[arg(long, env = "CONFAB_TURN_USER_QUOTA", value_name = "N")]
    pub turn_user_quota: Option<usize>,
    /// Most TURN allocations at once. [default: 10000]
    #[arg(long, env = "CONFAB_TURN_MAX_ALLOCATIONS", value_name = "N")]
    pub turn_max_allocations: Option<usize>,
}

/// The `--config` TOML file. Unknown keys are an error, so typos are caught.
///
/// Every key is documented in `docs/configuration.md`; `tests/config.rs` reads the key
/// list from serde (the unknown-field error names them all) and fails on an
/// undocumented one. It is also the shape `confab check-config` prints.
#[derive(Deserialize, Serialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// See [`ServeArgs::listen`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// See [`ServeArgs::data_dir`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// See [`ServeArgs::tls_cert`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// See [`ServeArgs::tls_key`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// See [`ServeArgs::insecure_http`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure_http: Option<bool>,
    /// See [`ServeArgs::public_host`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_host: Option<Vec<String>>,
    /// See [`ServeArgs::web_dir`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_dir: Option<PathBuf>,
    /// Full ICE server entries (with credentials if needed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ice_servers: Option<Vec<IceServer>>,
    /// See [`ServeArgs::idle_timeout`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<u64>,
    /// See [`ServeArgs::handshake_timeout`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handshake_timeout: Option<u64>,
    /// See [`ServeArgs::msg_rate`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg_rate: Option<u32>,
    /// See [`ServeArgs::msg_burst`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg_burst: Option<u32>,
    /// See [`ServeArgs::max_peers_per_room`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_peers_per_room: Option<usize>,
    /// See [`ServeArgs::max_rooms`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rooms: Option<usize>,
    /// See [`ServeArgs::max_call_size`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_call_size: Option<usize>,
    /// See [`ServeArgs::ring_timeout`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ring_timeout: Option<u64>,
    /// See [`ServeArgs::resume_grace`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_grace: Option<u64>,
    /// See [`ServeArgs::max_connections`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<usize>,
    /// See [`ServeArgs::chat_retention_days`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_retention_days: Option<u32>,
    /// See [`ServeArgs::chat_history`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_history: Option<usize>,
    /// See [`ServeArgs::chat_burst`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_burst: Option<u32>,
    /// See [`ServeArgs::chat_refill_ms`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_refill_ms: Option<u64>,
    /// See [`ServeArgs::log`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// See [`ServeArgs::log_format`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    /// See [`ServeArgs::allowed_origin`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
    /// The `[turn]` table.
    #[serde(default)]
    pub turn: FileTurn,
    /// The `[auth]` table.
    #[serde(default)]
    pub auth: FileAuth,
}

/// The `[turn]` table of the config file; keys as the `--turn-*` flags.
#[derive(Deserialize, Serialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileTurn {
    /// `false` disables TURN (as `--no-turn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// See [`TurnArgs::turn_listen`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// See [`TurnArgs::turns_listen`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_listen: Option<String>,
    /// See [`TurnArgs::turn_relay_ports`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_ports: Option<String>,
    /// See [`TurnArgs::turn_relay_ip`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_ip: Option<IpAddr>,
    /// See [`TurnArgs::external_ip`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_ip: Option<IpAddr>,
    /// See [`TurnArgs::turn_secret`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// See [`TurnArgs::turn_credential_ttl`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_ttl: Option<u64>,
    /// See [`TurnArgs::turn_allow_peer`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_peer: Option<Vec<String>>,
    /// See [`TurnArgs::turn_deny_peer`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny_peer: Option<Vec<String>>,
    /// See [`TurnArgs::turn_user`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    /// See [`TurnArgs::turn_realm`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// See [`TurnArgs::turn_user_quota`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_quota: Option<usize>,
    /// See [`TurnArgs::turn_max_allocations`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_allocations: Option<usize>,
}

/// The format of log lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `message`, fields).
    Json,
}

/// Most chat messages a joiner may be given (each up to 2,000 characters).
pub const MAX_CHAT_HISTORY: usize = 10_000;

/// Longest chat retention: 100 years, i.e. "forever", and far from any overflow.
pub const MAX_CHAT_RETENTION_DAYS: u32 = 36_500;

/// What `confab check-config` prints instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// The resolved TURN settings (`None` in [`Config::turn`] when disabled).
///
/// `Debug` redacts the secret and the static users' passwords.
#[derive(Clone)]
pub struct TurnSettings {
    /// UDP + TCP listen address.
    pub listen: SocketAddr,
    /// TLS listen address, if any.
    pub tls_listen: Option<SocketAddr>,
    /// Relay port range, inclusive.
    pub relay_ports: (u16, u16),
    /// Relay bind address; `None` = decide at start (listen address or default route).
    pub relay_ip: Option<IpAddr>,
    /// Advertised public address.
    pub external_ip: Option<IpAddr>,
    /// Shared secret; `None` = random, kept in the data dir.
    pub secret: Option<String>,
    /// Credential validity.
    pub credential_ttl: Duration,
    /// Allowed peer networks (overriding the default deny list).
    pub allow_peers: Vec<String>,
    /// Extra denied peer networks.
    pub deny_peers: Vec<String>,
    /// Static users.
    pub users: Vec<(String, String)>,
    /// Realm.
    pub realm: String,
    /// Allocations per user.
    pub user_quota: usize,
    /// Allocations in all.
    pub max_allocations: usize,
}

impl std::fmt::Debug for TurnSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let users: Vec<String> = self
            .users
            .iter()
            .map(|(n, _)| format!("{n}:{REDACTED}"))
            .collect();
        f.debug_struct("TurnSettings")
            .field("listen", &self.listen)
            .field("tls_listen", &self.tls_listen)
            .field("relay_ports", &self.relay_ports)
            .field("relay_ip", &self.relay_ip)
            .field("external_ip", &self.external_ip)
            .field("secret", &self.secret.as_ref().map(|_| REDACTED))
            .field("credential_ttl", &self.credential_ttl)
            .field("allow_peers", &self.allow_peers)
            .field("deny_peers", &self.deny_peers)
            .field("users", &users)
            .field("realm", &self.realm)
            .field("user_quota", &self.user_quota)
            .field("max_allocations", &self.max_allocations)
            .finish()
    }
}

impl Default for TurnSettings {
    fn default() -> Self {
        TurnSettings {
            listen: SocketAddr::from(([0, 0, 0, 0], 3478)),
            tls_listen: Some(SocketAddr::from(([0, 0, 0, 0], 5349))),
            relay_ports: (49152, 65535),
            relay_ip: None,
            external_ip: None,
            secret: None,
            credential_ttl: Duration::from_secs(86_400),
            allow_peers: Vec::new(),
            deny_peers: Vec::new(),
            users: Vec::new(),
            realm: "confab".into(),
            user_quota: 10,
            max_allocations: 10_000,
        }
    }
}

/// How HTTP is served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Generate (once) and reuse a self-signed certificate in the data dir.
    SelfSigned,
    /// Operator-provided PEM files.
    Files {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
    /// Plain HTTP.
    Off,
}

/// The resolved configuration of `confab serve`.
///
/// `Debug` redacts secrets (ICE server credentials here, see also [`TurnSettings`]).
#[derive(Clone)]
pub struct Config {
    /// Where to listen for HTTP(S).
    pub listen: SocketAddr,
    /// State directory.
    pub data_dir: PathBuf,
    /// TLS mode.
    pub tls: TlsMode,
    /// Extra host names for the certificate and printed URLs.
    pub public_hosts: Vec<String>,
    /// Serve web/ from disk instead of the embedded copy.
    pub web_dir: Option<PathBuf>,
    /// ICE servers given to clients.
    pub ice_servers: Vec<IceServer>,
    /// Disconnect a client silent for this long.
    pub idle_timeout: Duration,
    /// Interval of WebSocket pings the server sends (keeps NAT bindings and proxies open).
    pub ping_interval: Duration,
    /// Capacity of each connection's outbound queue; a client that lets it fill is dropped.
    pub outbound_queue: usize,
    /// Time allowed for the TLS handshake, the HTTP request headers, and the `hello`.
    pub handshake_timeout: Duration,
    /// Sustained messages per second per WebSocket connection (0: no limit).
    pub msg_rate: u32,
    /// Burst of messages per connection above `msg_rate`.
    pub msg_burst: u32,
    /// Most peers per room.
    pub max_peers_per_room: usize,
    /// Most rooms.
    pub max_rooms: usize,
    /// Most people in one call (members plus pending invitations); at least 2.
    pub max_call_size: usize,
    /// How long an invitation rings; at least 1 s.
    pub ring_timeout: Duration,
    /// How long a dropped connection's place is held for a resume; zero: not at all.
    pub resume_grace: Duration,
    /// Most connections.
    pub max_connections: usize,
    /// Days chat messages are kept on disk; 0: not stored (memory only).
    pub chat_retention_days: u32,
    /// Chat messages a joiner gets as history.
    pub chat_history: usize,
    /// Chat messages a connection may send in a burst.
    pub chat_burst: u32,
    /// One chat token comes back per this interval (up to the burst).
    pub chat_refill: Duration,
    /// Log filter.
    pub log: String,
    /// Log line format.
    pub log_format: LogFormat,
    /// Extra origins allowed to open the WebSocket (lower-case `scheme://host[:port]`).
    pub allowed_origins: Vec<String>,
    /// The built-in STUN/TURN server; `None` when disabled.
    pub turn: Option<TurnSettings>,
    /// Room passwords and join tokens.
    pub auth: AuthSettings,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("tls", &self.tls)
            .field("public_hosts", &self.public_hosts)
            .field("web_dir", &self.web_dir)
            .field("ice_servers", &redact_ice(&self.ice_servers))
            .field("idle_timeout", &self.idle_timeout)
            .field("ping_interval", &self.ping_interval)
            .field("outbound_queue", &self.outbound_queue)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("msg_rate", &self.msg_rate)
            .field("msg_burst", &self.msg_burst)
            .field("max_peers_per_room", &self.max_peers_per_room)
            .field("max_rooms", &self.max_rooms)
            .field("max_call_size", &self.max_call_size)
            .field("ring_timeout", &self.ring_timeout)
            .field("resume_grace", &self.resume_grace)
            .field("max_connections", &self.max_connections)
            .field("chat_retention_days", &self.chat_retention_days)
            .field("chat_history", &self.chat_history)
            .field("chat_burst", &self.chat_burst)
            .field("chat_refill", &self.chat_refill)
            .field("log", &self.log)
            .field("log_format", &self.log_format)
            .field("allowed_origins", &self.allowed_origins)
            .field("turn", &self.turn)
            .field("auth", &self.auth)
            .finish()
    }
}

/// ICE servers with their credentials replaced by [`REDACTED`].
fn redact_ice(servers: &[IceServer]) -> Vec<IceServer> {
    servers
        .iter()
        .map(|s| IceServer {
            credential: s.credential.as_ref().map(|_| REDACTED.to_owned()),
            ..s.clone()
        })
        .collect()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "0.0.0.0:8443".parse().expect("valid default address"),
            data_dir: PathBuf::from("./confab-data"),
            tls: TlsMode::SelfSigned,
            public_hosts: Vec::new(),
            web_dir: None,
            ice_servers: Vec::new(),
            idle_timeout: Duration::from_secs(40),
            ping_interval: Duration::from_secs(15),
            outbound_queue: 256,
            handshake_timeout: Duration::from_secs(10),
            msg_rate: 50,
            msg_burst: 200,
            max_peers_per_room: 16,
            max_rooms: 10_000,
            max_call_size: 6,
            ring_timeout: Duration::from_secs(30),
            resume_grace: Duration::from_secs(30),
            max_connections: 20_000,
            chat_retention_days: 30,
            chat_history: 100,
            chat_burst: 10,
            chat_refill: Duration::from_secs(1),
            log: "info".into(),
            log_format: LogFormat::Text,
            allowed_origins: Vec::new(),
            turn: None,
            auth: AuthSettings::default(),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for [`FileConfig`].
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's explanation, with line and column.
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Resolves flags and env (already merged by clap) over the optional file over defaults.
    pub fn resolve(args: ServeArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        let d = Config::default();
        let tls = match (
            args.tls_cert.or(file.tls_cert),
            args.tls_key.or(file.tls_key),
        ) {
            _ if args.insecure_http || file.insecure_http == Some(true) => TlsMode::Off,
            (Some(cert), Some(key)) => TlsMode::Files { cert, key },
            (None, None) => TlsMode::SelfSigned,
            _ => {
                return Err(ConfigError::Invalid(
                    "tls_cert and tls_key must be given together".into(),
                ))
            }
        };
        let mut ice_servers = file.ice_servers.unwrap_or_default();
        if !args.ice_server.is_empty() {
            ice_servers = vec![IceServer {
                urls: args.ice_server,
                username: None,
                credential: None,
            }];
        }
        for url in ice_servers.iter().flat_map(|s| &s.urls) {
            if !["stun:", "stuns:", "turn:", "turns:"]
                .iter()
                .any(|p| url.starts_with(p))
            {
                return Err(ConfigError::Invalid(format!(
                    "ICE server URL {url:?} must start with stun:, turn: or turns:"
                )));
            }
        }
        let public_hosts = if args.public_host.is_empty() {
            file.public_host.unwrap_or_default()
        } else {
            args.public_host
        };
        let config = Config {
            listen: args.listen.or(file.listen).unwrap_or(d.listen),
            data_dir: args.data_dir.or(file.data_dir).unwrap_or(d.data_dir),
            tls,
            public_hosts: public_hosts
                .into_iter()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .collect(),
            web_dir: args.web_dir.or(file.web_dir),
            ice_servers,
            idle_timeout: args
                .idle_timeout
                .or(file.idle_timeout)
                .map(Duration::from_secs)
                .unwrap_or(d.idle_timeout),
            handshake_timeout: args
                .handshake_timeout
                .or(file.handshake_timeout)
                .map(Duration::from_secs)
                .unwrap_or(d.handshake_timeout),
            msg_rate: args.msg_rate.or(file.msg_rate).unwrap_or(d.msg_rate),
            msg_burst: args.msg_burst.or(file.msg_burst).unwrap_or(d.msg_burst),
            max_peers_per_room: args
                .max_peers_per_room
                .or(file.max_peers_per_room)
                .unwrap_or(d.max_peers_per_room),
            max_rooms: args.max_rooms.or(file.max_rooms).unwrap_or(d.max_rooms),
            max_call_size: args
                .max_call_size
                .or(file.max_call_size)
                .unwrap_or(d.max_call_size),
            ring_timeout: args
                .ring_timeout
                .or(file.ring_timeout)
                .map(Duration::from_secs)
                .unwrap_or(d.ring_timeout),
            resume_grace: args
                .resume_grace
                .or(file.resume_grace)
                .map(Duration::from_secs)
                .unwrap_or(d.resume_grace),
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(d.max_connections),
            chat_retention_days: args
                .chat_retention_days
                .or(file.chat_retention_days)
                .unwrap_or(d.chat_retention_days),
            chat_history: args
                .chat_history
                .or(file.chat_history)
                .unwrap_or(d.chat_history),
            chat_burst: args.chat_burst.or(file.chat_burst).unwrap_or(d.chat_burst),
            chat_refill: args
                .chat_refill_ms
                .or(file.chat_refill_ms)
                .map(Duration::from_millis)
                .unwrap_or(d.chat_refill),
            log: args.log.or(file.log).unwrap_or(d.log),
            log_format: args.log_format.or(file.log_format).unwrap_or(d.log_format),
            allowed_origins: if args.allowed_origin.is_empty() {
                file.allowed_origins.unwrap_or_default()
            } else {
                args.allowed_origin
            }
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .collect(),
            turn: resolve_turn(args.turn, file.turn)?,
            auth: AuthSettings::resolve(args.auth, file.auth)?,
            ..d
        };
        let mut config = config;
        if config.tls == TlsMode::Off {
            // TURN over TLS uses the HTTPS certificate; without one there is none.
            if let Some(t) = config.turn.as_mut() {
                t.tls_listen = None;
            }
        }
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        for o in &self.allowed_origins {
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"));
            if rest.is_none_or(|r| r.is_empty() || r.contains('/')) {
                return Err(ConfigError::Invalid(format!(
                    "allowed origin {o:?} must look like https://host[:port]"
                )));
            }
        }
        if self.idle_timeout < Duration::from_secs(5) {
            return Err(ConfigError::Invalid(
                "idle_timeout must be at least 5 seconds".into(),
            ));
        }
        if self.handshake_timeout < Duration::from_secs(1) {
            return Err(ConfigError::Invalid(
                "handshake_timeout must be at least 1 second".into(),
            ));
        }
        if self.max_call_size < 2 {
            return Err(ConfigError::Invalid(
                "max_call_size must be at least 2".into(),
            ));
        }
        if self.ring_timeout < Duration::from_secs(1) {
            return Err(ConfigError::Invalid(
                "ring_timeout must be at least 1 second".into(),
            ));
        }
        for (name, v) in [
            ("msg_burst", self.msg_burst as usize),
            ("max_peers_per_room", self.max_peers_per_room),
            ("max_rooms", self.max_rooms),
            ("max_connections", self.max_connections),
            ("chat_burst", self.chat_burst as usize),
            ("chat_refill_ms", self.chat_refill.as_millis() as usize),
        ] {
            if v == 0 {
                return Err(ConfigError::Invalid(format!("{name} must be at least 1")));
            }
        }
        if self.chat_history > MAX_CHAT_HISTORY {
            return Err(ConfigError::Invalid(format!(
                "chat_history must be at most {MAX_CHAT_HISTORY}"
            )));
        }
        if self.chat_retention_days > MAX_CHAT_RETENTION_DAYS {
            return Err(ConfigError::Invalid(format!(
                "chat_retention_days must be at most {MAX_CHAT_RETENTION_DAYS}"
            )));
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log) {
            return Err(ConfigError::Invalid(format!(
                "log filter {:?} is invalid: {e}",
                self.log
            )));
        }
        if let Some(dir) = &self.web_dir {
            if !dir.join("index.html").is_file() {
                return Err(ConfigError::Invalid(format!(
                    "web_dir {} has no index.html",
                    dir.display()
                )));
            }
        }
        Ok(())
    }

    /// The effective configuration in the config file's shape, with every secret (the
    /// TURN secret, static TURN users' passwords, ICE server credentials) replaced by
    /// [`REDACTED`]. Values that only exist at run time (a TURN secret generated into
    /// the data dir) are left out.
    pub fn to_file_redacted(&self) -> FileConfig {
        let (tls_cert, tls_key) = match &self.tls {
            TlsMode::Files { cert, key } => (Some(cert.clone()), Some(key.clone())),
            TlsMode::SelfSigned | TlsMode::Off => (None, None),
        };
        let turn = match &self.turn {
            None => FileTurn {
                enabled: Some(false),
                ..FileTurn::default()
            },
            Some(t) => FileTurn {
                enabled: Some(true),
                listen: Some(t.listen),
                tls_listen: Some(
                    t.tls_listen
                        .map_or_else(|| "off".to_owned(), |a| a.to_string()),
                ),
                relay_ports: Some(format!("{}-{}", t.relay_ports.0, t.relay_ports.1)),
                relay_ip: t.relay_ip,
                external_ip: t.external_ip,
                secret: t.secret.as_ref().map(|_| REDACTED.to_owned()),
                credential_ttl: Some(t.credential_ttl.as_secs()),
                allow_peer: Some(t.allow_peers.clone()),
                deny_peer: Some(t.deny_peers.clone()),
                users: Some(
                    t.users
                        .iter()
                        .map(|(n, _)| format!("{n}:{REDACTED}"))
                        .collect(),
                ),
                realm: Some(t.realm.clone()),
                user_quota: Some(t.user_quota),
                max_allocations: Some(t.max_allocations),
            },
        };
        FileConfig {
            listen: Some(self.listen),
            data_dir: Some(self.data_dir.clone()),
            tls_cert,
            tls_key,
            insecure_http: Some(self.tls == TlsMode::Off),
            public_host: Some(self.public_hosts.clone()),
            web_dir: self.web_dir.clone(),
            ice_servers: Some(redact_ice(&self.ice_servers)),
            idle_timeout: Some(self.idle_timeout.as_secs()),
            handshake_timeout: Some(self.handshake_timeout.as_secs()),
            msg_rate: Some(self.msg_rate),
            msg_burst: Some(self.msg_burst),
            max_peers_per_room: Some(self.max_peers_per_room),
            max_rooms: Some(self.max_rooms),
            max_call_size: Some(self.max_call_size),
            ring_timeout: Some(self.ring_timeout.as_secs()),
            resume_grace: Some(self.resume_grace.as_secs()),
            max_connections: Some(self.max_connections),
            chat_retention_days: Some(self.chat_retention_days),
            chat_history: Some(self.chat_history),
            chat_burst: Some(self.chat_burst),
            chat_refill_ms: Some(self.chat_refill.as_millis() as u64),
            log: Some(self.log.clone()),
            log_format: Some(self.log_format),
            allowed_origins: Some(self.allowed_origins.clone()),
            turn,
            auth: self.auth.to_file_redacted(),
        }
    }

    /// [`Config::to_file_redacted`] as TOML, for `confab check-config`.
    pub fn to_toml_redacted(&self) -> String {
        let mut out = String::from(
            "# The effective configuration of `confab serve` (flags > env > file > defaults),\n\
             # with secrets redacted.\n",
        );
        if self.turn.as_ref().is_some_and(|t| t.secret.is_none()) {
            out.push_str(&format!(
                "# turn.secret is not set: a random one is kept in {}\n",
                self.data_dir.join("turn-secret").display()
            ));
        }
        if self.tls == TlsMode::SelfSigned {
            out.push_str(&format!(
                "# TLS: a self-signed certificate kept in {}\n",
                self.data_dir.display()
            ));
        }
        if self.web_dir.is_none() {
            out.push_str("# web_dir is not set: the embedded web client is served\n");
        }
        if self.chat_retention_days > 0 {
            out.push_str(&format!(
                "# chat is kept for {} days in {}\n",
                self.chat_retention_days,
                self.data_dir.join(crate::store::DB_FILE).display()
            ));
        }
        out.push('\n');
        match toml::to_string_pretty(&self.to_file_redacted()) {
            Ok(text) => out.push_str(&text),
            // Every field is a string, number, bool, list or table: cannot happen.
            Err(e) => out.push_str(&format!("# cannot render as TOML: {e}\n")),
        }
        out
    }

    /// How long chat messages are kept on disk; `None` when they are not stored.
    pub fn chat_retention(&self) -> Option<Duration> {
        (self.chat_retention_days > 0)
            .then(|| Duration::from_secs(u64::from(self.chat_retention_days) * 86_400))
    }

    /// The ping interval never exceeds a third of the idle timeout, so a live client
    /// always answers in time.
    pub fn effective_ping_interval(&self) -> Duration {
        self.ping_interval.min(self.idle_timeout / 3)
    }
}

fn resolve_turn(a: TurnArgs, f: FileTurn) -> Result<Option<TurnSettings>, ConfigError> {
    if a.no_turn || f.enabled == Some(false) {
        return Ok(None);
    }
    let invalid = |m: String| ConfigError::Invalid(m);
    let d = TurnSettings::default();
    let tls_listen = match a.turns_listen.or(f.tls_listen) {
        None => d.tls_listen,
        Some(s) if s == "off" => None,
        Some(s) => Some(s.parse().map_err(|_| {
            invalid(format!(
                "turns listen address {s:?} is not ADDR:PORT or off"
            ))
        })?),
    };
    let ports = a
        .turn_relay_ports
        .or(f.relay_ports)
        .unwrap_or_else(|| format!("{}-{}", d.relay_ports.0, d.relay_ports.1));
    let relay_ports = ports
        .split_once('-')
        .and_then(|(lo, hi)| {
            Some((
                lo.trim().parse::<u16>().ok()?,
                hi.trim().parse::<u16>().ok()?,
            ))
        })
        .filter(|(lo, hi)| *lo >= 1024 && lo <= hi)
        .ok_or_else(|| {
            invalid(format!(
                "relay port range {ports:?} must be MIN-MAX with 1024 <= MIN <= MAX"
            ))
        })?;
    let users = if a.turn_user.is_empty() {
        f.users.unwrap_or_default()
    } else {
        a.turn_user
    };
    let users = users
        .iter()
        .map(|u| {
            u.split_once(':')
                .filter(|(n, p)| !n.is_empty() && !p.is_empty() && !n.contains(':'))
                .map(|(n, p)| (n.to_owned(), p.to_owned()))
                .ok_or_else(|| invalid("a TURN user must be NAME:PASSWORD".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let pick = |v: Vec<String>, f: Option<Vec<String>>| {
        if v.is_empty() {
            f.unwrap_or_default()
        } else {
            v
        }
    };
    let t = TurnSettings {
        listen: a.turn_listen.or(f.listen).unwrap_or(d.listen),
        tls_listen,
        relay_ports,
        relay_ip: a.turn_relay_ip.or(f.relay_ip),
        external_ip: a.external_ip.or(f.external_ip),
        secret: a.turn_secret.or(f.secret),
        credential_ttl: a
            .turn_credential_ttl
            .or(f.credential_ttl)
            .map(Duration::from_secs)
            .unwrap_or(d.credential_ttl),
        allow_peers: pick(a.turn_allow_peer, f.allow_peer),
        deny_peers: pick(a.turn_deny_peer, f.deny_peer),
        users,
        realm: a.turn_realm.or(f.realm).unwrap_or(d.realm),
        user_quota: a.turn_user_quota.or(f.user_quota).unwrap_or(d.user_quota),
        max_allocations: a
            .turn_max_allocations
            .or(f.max_allocations)
            .unwrap_or(d.max_allocations),
    };
    if t.credential_ttl < Duration::from_secs(60) {
        return Err(invalid(
            "turn credential ttl must be at least 60 seconds".into(),
        ));
    }
    if t.secret.as_deref().is_some_and(|s| s.len() < 16) {
        return Err(invalid(
            "the TURN secret must be at least 16 characters".into(),
        ));
    }
    for cidr in t.allow_peers.iter().chain(&t.deny_peers) {
        if cidr.parse::<confab_turn::IpNet>().is_err() {
            return Err(invalid(format!(
                "{cidr:?} is not a network like 10.0.0.0/8"
            )));
        }
    }
    Ok(Some(t))
}

fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: one_line_toml_error(&text, &e),
    })
}

/// `line L, column C: message` — the TOML error on one line (its `Display` draws a
/// multi-line excerpt of the file, which would also echo a secret on that line).
fn one_line_toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile_lite::TempFile {
        tempfile_lite::TempFile::new(text)
    }

    /// A tiny temp-file helper so tests need no extra crate.
    mod tempfile_lite {
        pub struct TempFile(pub std::path::PathBuf);
        impl TempFile {
            pub fn new(text: &str) -> Self {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "confab-cfg-{}-{}.toml",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::write(&p, text).unwrap();
                TempFile(p)
            }
        }
        impl Drop for TempFile {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    #[test]
    fn defaults() {
        let c = Config::resolve(ServeArgs::default()).unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:8443");
        assert_eq!(c.tls, TlsMode::SelfSigned);
        assert_eq!(c.data_dir, PathBuf::from("./confab-data"));
    }

    #[test]
    fn flags_win_over_file() {
        let f = file("listen = \"127.0.0.1:9000\"\nmax_rooms = 5\npublic_host = [\"a.test\"]\n");
        let args = ServeArgs {
            config: Some(f.0.clone()),
            listen: Some("127.0.0.1:9001".parse().unwrap()),
            ..Default::default()
        };
        let c = Config::resolve(args).unwrap();
        assert_eq!(c.listen.port(), 9001);
        assert_eq!(c.max_rooms, 5);
        assert_eq!(c.public_hosts, vec!["a.test".to_string()]);
    }

    #[test]
    fn bad_files_are_clean_errors() {
        let f = file("lisen = \"x\"\n");
        let e = Config::resolve(ServeArgs {
            config: Some(f.0.clone()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let e = Config::resolve(ServeArgs {
            config: Some("/nonexistent/confab.toml".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("cannot read config file"), "{e}");
        let f = file("max_rooms = 0\n");
        let e = Config::resolve(ServeArgs {
            config: Some(f.0.clone()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("max_rooms"), "{e}");
        let e = Config::resolve(ServeArgs {
            ice_server: vec!["http://x".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("stun:"), "{e}");
    }

    #[test]
    fn chat_settings_resolve_and_are_bounded() {
        let c = Config::resolve(ServeArgs::default()).unwrap();
        assert_eq!((c.chat_retention_days, c.chat_history), (30, 100));
        assert_eq!(c.chat_retention(), Some(Duration::from_secs(30 * 86_400)));
        let f = file("chat_retention_days = 0\nchat_history = 5\n");
        let c = Config::resolve(ServeArgs {
            config: Some(f.0.clone()),
            chat_history: Some(7),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((c.chat_retention_days, c.chat_history), (0, 7));
        assert_eq!(c.chat_retention(), None);
        let e = Config::resolve(ServeArgs {
            chat_history: Some(10_001),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("chat_history"), "{e}");
        let e = Config::resolve(ServeArgs {
            chat_retention_days: Some(40_000),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("chat_retention_days"), "{e}");
    }

    #[test]
    fn insecure_http_wins_over_cert_files() {
        let f = file("tls_cert = \"a.pem\"\ntls_key = \"k.pem\"\ninsecure_http = true\n");
        let c = Config::resolve(ServeArgs {
            config: Some(f.0.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.tls, TlsMode::Off);
    }
}
