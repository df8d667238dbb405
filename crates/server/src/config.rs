//! Configuration: CLI flags > environment variables > TOML file > built-in defaults.
//!
//! The resolved [`Config`] is a plain struct passed down to whatever needs it; nothing
//! reads configuration from globals.

use clap::Args;
use confab_proto::IceServer;
use serde::Deserialize;
use std::net::SocketAddr;
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
    /// Most peers in one room. [default: 16]
    #[arg(long, env = "CONFAB_MAX_PEERS_PER_ROOM", value_name = "N")]
    pub max_peers_per_room: Option<usize>,
    /// Most rooms at once. [default: 10000]
    #[arg(long, env = "CONFAB_MAX_ROOMS", value_name = "N")]
    pub max_rooms: Option<usize>,
    /// Most WebSocket connections at once. [default: 20000]
    #[arg(long, env = "CONFAB_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Log filter, e.g. `info` or `confab_server=debug`. [default: info]
    #[arg(long, env = "CONFAB_LOG", value_name = "FILTER")]
    pub log: Option<String>,
}

/// The `--config` TOML file. Unknown keys are an error, so typos are caught.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// See [`ServeArgs::listen`].
    pub listen: Option<SocketAddr>,
    /// See [`ServeArgs::data_dir`].
    pub data_dir: Option<PathBuf>,
    /// See [`ServeArgs::tls_cert`].
    pub tls_cert: Option<PathBuf>,
    /// See [`ServeArgs::tls_key`].
    pub tls_key: Option<PathBuf>,
    /// See [`ServeArgs::insecure_http`].
    pub insecure_http: Option<bool>,
    /// See [`ServeArgs::public_host`].
    pub public_host: Option<Vec<String>>,
    /// See [`ServeArgs::web_dir`].
    pub web_dir: Option<PathBuf>,
    /// Full ICE server entries (with credentials if needed).
    pub ice_servers: Option<Vec<IceServer>>,
    /// See [`ServeArgs::idle_timeout`].
    pub idle_timeout: Option<u64>,
    /// See [`ServeArgs::max_peers_per_room`].
    pub max_peers_per_room: Option<usize>,
    /// See [`ServeArgs::max_rooms`].
    pub max_rooms: Option<usize>,
    /// See [`ServeArgs::max_connections`].
    pub max_connections: Option<usize>,
    /// See [`ServeArgs::log`].
    pub log: Option<String>,
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
#[derive(Clone, Debug)]
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
    /// Most peers per room.
    pub max_peers_per_room: usize,
    /// Most rooms.
    pub max_rooms: usize,
    /// Most connections.
    pub max_connections: usize,
    /// Log filter.
    pub log: String,
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
            max_peers_per_room: 16,
            max_rooms: 10_000,
            max_connections: 20_000,
            log: "info".into(),
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
            max_peers_per_room: args
                .max_peers_per_room
                .or(file.max_peers_per_room)
                .unwrap_or(d.max_peers_per_room),
            max_rooms: args.max_rooms.or(file.max_rooms).unwrap_or(d.max_rooms),
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(d.max_connections),
            log: args.log.or(file.log).unwrap_or(d.log),
            ..d
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.idle_timeout < Duration::from_secs(5) {
            return Err(ConfigError::Invalid(
                "idle_timeout must be at least 5 seconds".into(),
            ));
        }
        for (name, v) in [
            ("max_peers_per_room", self.max_peers_per_room),
            ("max_rooms", self.max_rooms),
            ("max_connections", self.max_connections),
        ] {
            if v == 0 {
                return Err(ConfigError::Invalid(format!("{name} must be at least 1")));
            }
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

    /// The ping interval never exceeds a third of the idle timeout, so a live client
    /// always answers in time.
    pub fn effective_ping_interval(&self) -> Duration {
        self.ping_interval.min(self.idle_timeout / 3)
    }
}

fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
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
