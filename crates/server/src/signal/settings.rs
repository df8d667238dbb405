//! The signaling sections: each WebSocket connection's limits ([`WsSettings`]) and the
//! hub's ([`HubSettings`]). Declared once (see `crate::config`): each field is its flag,
//! environment variable, file key and default.

use crate::config::{ConfigError, Millis, Seconds, MAX_CHAT_HISTORY, REDACTED};
use clap::Args;
use confab_proto::IceServer;
use serde::{Serialize, Serializer};
use std::time::Duration;

/// The least `max_queue_bytes`: four relayed frames of the largest size.
const MIN_QUEUE_BYTES: usize = 4 * confab_proto::MAX_FRAME_BYTES;

/// The least `relay_burst_bytes`: two frames of the largest size, so any SDP fits.
const MIN_RELAY_BURST: usize = 2 * confab_proto::MAX_FRAME_BYTES;

/// One WebSocket connection's limits, and who may open one.
#[derive(Args, Clone, Debug, Serialize)]
pub struct WsSettings {
    /// Seconds without any frame from a client before it is disconnected.
    #[arg(
        long,
        env = "CONFAB_IDLE_TIMEOUT",
        value_name = "SECS",
        default_value = "40"
    )]
    pub idle_timeout: Seconds,
    /// Interval of the pings the server sends (keeps NAT bindings and proxies open);
    /// never more than a third of the idle timeout. Not an operator setting.
    #[arg(skip = Seconds(Duration::from_secs(15)))]
    #[serde(skip)]
    pub ping_interval: Seconds,
    /// Capacity of each connection's outbound queue; a client that lets it fill is
    /// dropped. Not an operator setting.
    #[arg(skip = 256usize)]
    #[serde(skip)]
    pub outbound_queue: usize,
    /// Most bytes queued to one client; a client that lets more pile up (it stopped
    /// reading) is dropped. Must hold a `joined` with the whole chat history (see
    /// --chat-history-bytes); at least 256 KiB.
    #[arg(
        long,
        env = "CONFAB_MAX_QUEUE_BYTES",
        value_name = "BYTES",
        default_value_t = 1024 * 1024
    )]
    pub max_queue_bytes: usize,
    /// Messages per second one WebSocket connection may send, sustained; more get a
    /// `rate_limited` error, and a client that keeps it up is disconnected (1008).
    /// 0 turns the limit off.
    #[arg(long, env = "CONFAB_MSG_RATE", value_name = "N", default_value_t = 50)]
    pub msg_rate: u32,
    /// Messages one connection may send in a burst above --msg-rate.
    #[arg(
        long,
        env = "CONFAB_MSG_BURST",
        value_name = "N",
        default_value_t = 200
    )]
    pub msg_burst: u32,
    /// Another web origin (e.g. `https://app.example.org`) whose pages may open the
    /// signaling WebSocket; by default only pages served by confab itself may.
    /// Repeatable.
    #[arg(
        id = "allowed_origins",
        long = "allowed-origin",
        env = "CONFAB_ALLOWED_ORIGIN",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
}

impl WsSettings {
    /// The ping interval actually used: at most a third of the idle timeout, so a live
    /// client always answers in time.
    pub fn effective_ping_interval(&self) -> Duration {
        self.ping_interval.0.min(*self.idle_timeout / 3)
    }

    /// Normalizes origins (lower case, no trailing slash) and checks.
    pub(crate) fn finish(&mut self) -> Result<(), ConfigError> {
        for o in &mut self.allowed_origins {
            *o = o.trim().trim_end_matches('/').to_ascii_lowercase();
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"));
            if rest.is_none_or(|r| r.is_empty() || r.contains('/')) {
                return Err(ConfigError::Invalid(format!(
                    "allowed origin {o:?} must look like https://host[:port]"
                )));
            }
        }
        if *self.idle_timeout < Duration::from_secs(5) {
            return Err(ConfigError::Invalid(
                "idle_timeout must be at least 5 seconds".into(),
            ));
        }
        if self.max_queue_bytes < MIN_QUEUE_BYTES {
            return Err(ConfigError::Invalid(format!(
                "max_queue_bytes must be at least {MIN_QUEUE_BYTES}"
            )));
        }
        at_least_one("msg_burst", self.msg_burst as usize)
    }
}

/// The hub's limits: rooms, calls, chat, resumes, and the ICE servers it hands out.
#[derive(Args, Clone, Debug, Serialize)]
pub struct HubSettings {
    /// Most peers in one room.
    #[arg(
        long,
        env = "CONFAB_MAX_PEERS_PER_ROOM",
        value_name = "N",
        default_value_t = 100
    )]
    pub max_peers_per_room: usize,
    /// Most rooms at once.
    #[arg(
        long,
        env = "CONFAB_MAX_ROOMS",
        value_name = "N",
        default_value_t = 10_000
    )]
    pub max_rooms: usize,
    /// Most people in one call, counting pending invitations (with `--media mesh`,
    /// at most `--mesh-max`).
    #[arg(
        long,
        env = "CONFAB_MAX_CALL_SIZE",
        value_name = "N",
        default_value_t = 100
    )]
    pub max_call_size: usize,
    /// Seconds an invitation rings before it ends unanswered.
    #[arg(
        long,
        env = "CONFAB_RING_TIMEOUT",
        value_name = "SECS",
        default_value = "30"
    )]
    pub ring_timeout: Seconds,
    /// Seconds a dropped connection keeps its place (id, room, call) for a reconnect;
    /// 0 drops it at once.
    #[arg(
        long,
        env = "CONFAB_RESUME_GRACE",
        value_name = "SECS",
        default_value = "30"
    )]
    pub resume_grace: Seconds,
    /// Most WebSocket connections at once.
    #[arg(
        long,
        env = "CONFAB_MAX_CONNECTIONS",
        value_name = "N",
        default_value_t = 20_000
    )]
    pub max_connections: usize,
    /// Most dropped connections held for a resume at once (they do not count as
    /// connections); a drop beyond it leaves its room at once.
    #[arg(
        long,
        env = "CONFAB_MAX_DETACHED",
        value_name = "N",
        default_value_t = 5_000
    )]
    pub max_detached: usize,
    /// Most dropped connections held for a resume per client address (IPv4, or IPv6
    /// /64). Behind a reverse proxy every client has the proxy's address: raise it.
    #[arg(
        long,
        env = "CONFAB_MAX_DETACHED_PER_IP",
        value_name = "N",
        default_value_t = 16
    )]
    pub max_detached_per_ip: usize,
    /// Most recent chat messages a joiner gets as the room's history (0 to 10000).
    #[arg(
        long,
        env = "CONFAB_CHAT_HISTORY",
        value_name = "N",
        default_value_t = 100
    )]
    pub chat_history: usize,
    /// Most bytes of chat history a room keeps (about their JSON size); the oldest
    /// messages go first. Keep it well below --max-queue-bytes: every `joined` carries it.
    #[arg(
        long,
        env = "CONFAB_CHAT_HISTORY_BYTES",
        value_name = "BYTES",
        default_value_t = 256 * 1024
    )]
    pub chat_history_bytes: usize,
    /// Chat messages one connection may send in a burst (a token bucket).
    #[arg(
        long,
        env = "CONFAB_CHAT_BURST",
        value_name = "N",
        default_value_t = 10
    )]
    pub chat_burst: u32,
    /// Milliseconds per chat token refilled; 1000 means one message a second sustained.
    #[arg(
        id = "chat_refill_ms",
        long = "chat-refill-ms",
        env = "CONFAB_CHAT_REFILL_MS",
        value_name = "MS",
        default_value = "1000"
    )]
    #[serde(rename = "chat_refill_ms")]
    pub chat_refill: Millis,
    /// Chat messages one client address (IPv4, or IPv6 /64) may send in a burst, all its
    /// connections together, so reconnecting does not reset the limit. Behind a reverse
    /// proxy every client has the proxy's address: raise it.
    #[arg(
        long,
        env = "CONFAB_CHAT_IP_BURST",
        value_name = "N",
        default_value_t = 30
    )]
    pub chat_ip_burst: u32,
    /// Milliseconds per chat token refilled to each address.
    #[arg(
        id = "chat_ip_refill_ms",
        long = "chat-ip-refill-ms",
        env = "CONFAB_CHAT_IP_REFILL_MS",
        value_name = "MS",
        default_value = "250"
    )]
    #[serde(rename = "chat_ip_refill_ms")]
    pub chat_ip_refill: Millis,
    /// Chat messages one room may receive in a burst, whoever sends them.
    #[arg(
        long,
        env = "CONFAB_CHAT_ROOM_BURST",
        value_name = "N",
        default_value_t = 60
    )]
    pub chat_room_burst: u32,
    /// Milliseconds per chat token refilled to each room.
    #[arg(
        id = "chat_room_refill_ms",
        long = "chat-room-refill-ms",
        env = "CONFAB_CHAT_ROOM_REFILL_MS",
        value_name = "MS",
        default_value = "100"
    )]
    #[serde(rename = "chat_room_refill_ms")]
    pub chat_room_refill: Millis,
    /// Bytes of `offer`/`answer`/`candidate` one member may relay, and one member may be
    /// sent, in a burst (at least 131072); keep it well below --max-queue-bytes, so no
    /// one can get a member dropped as a slow consumer by relaying at it.
    #[arg(
        long,
        env = "CONFAB_RELAY_BURST_BYTES",
        value_name = "BYTES",
        default_value_t = 512 * 1024
    )]
    pub relay_burst_bytes: u32,
    /// Bytes per second refilled to each member's relay budgets; 0 turns them off.
    #[arg(
        long,
        env = "CONFAB_RELAY_RATE_BYTES",
        value_name = "BYTES",
        default_value_t = 64 * 1024
    )]
    pub relay_rate_bytes: u32,
    /// An ICE server URL (stun:/turn:/turns:) handed to clients. Repeatable. The file's
    /// `ice_servers` tables (with credentials) are the long form.
    #[arg(
        long,
        env = "CONFAB_ICE_SERVER",
        value_name = "URL",
        value_delimiter = ','
    )]
    #[serde(skip)]
    pub ice_server: Vec<String>,
    /// ICE servers handed to clients besides the built-in one: the file's
    /// `ice_servers`, or one entry made of the `--ice-server` URLs.
    #[arg(skip)]
    pub ice_servers: IceServers,
}

impl HubSettings {
    /// The sans-IO hub's configuration: these limits, and `ice` for the `welcome`.
    pub fn hub_config(&self, ice: confab_signal::IceMinter) -> confab_signal::HubConfig {
        confab_signal::HubConfig {
            ice,
            max_rooms: self.max_rooms,
            max_peers_per_room: self.max_peers_per_room,
            max_connections: self.max_connections,
            max_detached: self.max_detached,
            max_detached_per_ip: self.max_detached_per_ip,
            max_call_size: self.max_call_size,
            ring_timeout: *self.ring_timeout,
            resume_grace: *self.resume_grace,
            chat_history: self.chat_history,
            chat_history_bytes: self.chat_history_bytes,
            chat_burst: self.chat_burst,
            chat_refill: *self.chat_refill,
            chat_ip_burst: self.chat_ip_burst,
            chat_ip_refill: *self.chat_ip_refill,
            chat_room_burst: self.chat_room_burst,
            chat_room_refill: *self.chat_room_refill,
            relay_burst: self.relay_burst_bytes,
            relay_rate: self.relay_rate_bytes,
            ..confab_signal::HubConfig::default()
        }
    }

    /// Takes the file's `ice_servers` (unless `--ice-server` replaces them) and checks.
    pub(crate) fn finish(&mut self, file: Option<&toml::Table>) -> Result<(), ConfigError> {
        if !self.ice_server.is_empty() {
            self.ice_servers = IceServers(vec![IceServer {
                urls: self.ice_server.clone(),
                username: None,
                credential: None,
            }]);
        } else if let Some(v) = file.and_then(|f| f.get("ice_servers")) {
            let servers = v.clone().try_into().map_err(|e: toml::de::Error| {
                ConfigError::Invalid(format!("ice_servers: {}", e.message().trim()))
            })?;
            self.ice_servers = IceServers(servers);
        }
        for url in self.ice_servers.0.iter().flat_map(|s| &s.urls) {
            if !["stun:", "stuns:", "turn:", "turns:"]
                .iter()
                .any(|p| url.starts_with(p))
            {
                return Err(ConfigError::Invalid(format!(
                    "ICE server URL {url:?} must start with stun:, turn: or turns:"
                )));
            }
        }
        if self.max_call_size < 2 {
            return Err(ConfigError::Invalid(
                "max_call_size must be at least 2".into(),
            ));
        }
        if *self.ring_timeout < Duration::from_secs(1) {
            return Err(ConfigError::Invalid(
                "ring_timeout must be at least 1 second".into(),
            ));
        }
        if self.chat_history > MAX_CHAT_HISTORY {
            return Err(ConfigError::Invalid(format!(
                "chat_history must be at most {MAX_CHAT_HISTORY}"
            )));
        }
        at_least_one("max_peers_per_room", self.max_peers_per_room)?;
        at_least_one("max_rooms", self.max_rooms)?;
        at_least_one("max_connections", self.max_connections)?;
        if (self.relay_burst_bytes as usize) < MIN_RELAY_BURST {
            return Err(ConfigError::Invalid(format!(
                "relay_burst_bytes must be at least {MIN_RELAY_BURST}"
            )));
        }
        at_least_one("chat_burst", self.chat_burst as usize)?;
        at_least_one("chat_ip_burst", self.chat_ip_burst as usize)?;
        at_least_one("chat_room_burst", self.chat_room_burst as usize)?;
        at_least_one(
            "chat_ip_refill_ms",
            self.chat_ip_refill.as_millis() as usize,
        )?;
        at_least_one(
            "chat_room_refill_ms",
            self.chat_room_refill.as_millis() as usize,
        )?;
        at_least_one("chat_refill_ms", self.chat_refill.as_millis() as usize)
    }
}

fn at_least_one(name: &str, v: usize) -> Result<(), ConfigError> {
    if v == 0 {
        return Err(ConfigError::Invalid(format!("{name} must be at least 1")));
    }
    Ok(())
}

/// ICE server entries whose credentials `Debug` and `Serialize` show as [`REDACTED`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct IceServers(pub Vec<IceServer>);

impl IceServers {
    fn redacted(&self) -> Vec<IceServer> {
        self.0
            .iter()
            .map(|i| IceServer {
                credential: i.credential.as_ref().map(|_| REDACTED.to_owned()),
                ..i.clone()
            })
            .collect()
    }
}

impl std::fmt::Debug for IceServers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.redacted().fmt(f)
    }
}

impl Serialize for IceServers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.redacted().serialize(s)
    }
}
