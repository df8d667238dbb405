//! Configuration: CLI flags > environment variables > TOML file > built-in defaults.
//!
//! The resolved [`Config`] is a plain struct passed down to whatever needs it; nothing
//! reads configuration from globals.
//!
//! Layout: [`ServeArgs`] (`args.rs`, the flags and their environment variables),
//! [`FileConfig`] (`file.rs`, the `--config` TOML file), the `[turn]` section
//! (`turn.rs`), shared value types and limits (`value.rs`); the `[auth]` section lives
//! next to its consumer in `crate::auth::settings`. This module resolves them into
//! [`Config`] and renders it back for `confab check-config`.

mod args;
mod file;
mod turn;
mod value;

pub use crate::auth::settings::{AuthArgs, AuthSettings, FileAuth};
pub use args::ServeArgs;
use confab_proto::IceServer;
use file::load_file;
pub use file::FileConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
pub use turn::{FileTurn, TurnArgs, TurnSettings};
use value::redact_ice;
pub use value::{LogFormat, MAX_CHAT_HISTORY, MAX_CHAT_RETENTION_DAYS, REDACTED};

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
            turn: turn::resolve(args.turn, file.turn)?,
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
        let turn = turn::to_file_redacted(self.turn.as_ref());
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

#[cfg(test)]
mod tests;
