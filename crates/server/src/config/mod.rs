//! Configuration: CLI flags > environment variables > TOML file > built-in defaults.
//!
//! Each section is one struct next to the component that uses it: [`HttpSettings`]
//! (`http/settings.rs`), [`WsSettings`] and [`HubSettings`] (`signal/settings.rs`),
//! [`StoreSettings`] (`store/settings.rs`), [`ClusterSettings`] (`cluster/settings.rs`), [`TurnSettings`] (`turn/settings.rs`),
//! [`AuthSettings`] (`auth/settings.rs`), and the few general settings here. A field
//! *is* the setting: its doc line is the `--help` text, its clap attribute names the
//! flag, the environment variable and the default, its name (or clap id, `turn.listen`)
//! is the file key, and its type parses and checks the value. A new setting is one
//! field with its doc line, plus a line in `docs/configuration.md` (the docs test
//! compares them). The layering is written once, in `layer.rs`; [`Config::finish`] runs
//! each section's cross-field checks. Nothing reads configuration from globals.

mod layer;
pub(crate) mod value;

pub use crate::auth::settings::{AuthSettings, RoomPasswords};
pub use crate::cluster::settings::ClusterSettings;
pub use crate::http::settings::{HttpSettings, TlsMode};
pub use crate::sfu::settings::{MediaArg, SfuSettings};
pub use crate::signal::settings::{HubSettings, IceServers, WsSettings};
pub use crate::store::settings::StoreSettings;
pub use crate::streams::camera::Cameras;
pub use crate::turn::settings::{TurnSettings, TurnUser};
use clap::{Args, Command, FromArgMatches};
pub use layer::{file_keys, parse};
use serde::Serialize;
use std::ffi::OsString;
use std::path::PathBuf;
pub use value::{
    Listen, LogFormat, Millis, PortRange, Seconds, Secret, MAX_CHAT_HISTORY,
    MAX_CHAT_RETENTION_DAYS, REDACTED,
};

/// The configuration of `confab serve` (also flattened into `check-config` and `token`),
/// by section. `Debug` and `Serialize` redact secrets.
#[derive(Args, Clone, Debug, Serialize)]
pub struct Config {
    /// TOML configuration file.
    #[arg(long, env = "CONFAB_CONFIG", value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Directory for state: the generated certificate and secrets, the chat store.
    #[arg(
        long,
        env = "CONFAB_DATA_DIR",
        value_name = "DIR",
        default_value = "./confab-data"
    )]
    pub data_dir: PathBuf,
    /// Log filter, e.g. `info` or `confab_server=debug`.
    #[arg(
        long,
        env = "CONFAB_LOG",
        value_name = "FILTER",
        default_value = "info"
    )]
    pub log: String,
    /// Log line format on stderr: `text` for people, `json` (one object per line) for log
    /// collectors.
    #[arg(
        long,
        env = "CONFAB_LOG_FORMAT",
        value_name = "FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
    /// HTTP(S): listener, certificate, web client.
    #[command(flatten)]
    #[serde(flatten)]
    pub http: HttpSettings,
    /// Each WebSocket connection's limits.
    #[command(flatten)]
    #[serde(flatten)]
    pub ws: WsSettings,
    /// Rooms, calls and chat.
    #[command(flatten)]
    #[serde(flatten)]
    pub hub: HubSettings,
    /// The chat store.
    #[command(flatten)]
    #[serde(flatten)]
    pub store: StoreSettings,
    /// Cluster mode: nodes sharing rooms over Redis.
    #[command(flatten)]
    #[serde(flatten)]
    pub cluster: ClusterSettings,
    /// The `[turn]` table.
    #[command(flatten)]
    pub turn: TurnSettings,
    /// The `[sfu]` table.
    #[command(flatten)]
    pub sfu: SfuSettings,
    /// The `[auth]` table.
    #[command(flatten)]
    pub auth: AuthSettings,
    /// The `[[camera]]` tables (file only): IP cameras pulled into rooms.
    #[arg(skip)]
    #[serde(rename = "camera", skip_serializing_if = "Cameras::is_empty")]
    pub cameras: Cameras,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Flags or environment variables clap rejects (or `--help`): clap renders and exits.
    #[error(transparent)]
    Args(#[from] clap::Error),
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key or a value its setting rejects.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, on one line, with the line and column or the key.
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// A section's defaults: what clap gives it with no flags and no environment.
pub fn defaults<T: Args + FromArgMatches>() -> T {
    let cmd = T::augment_args(Command::new("confab")).mut_args(|a| a.env(None));
    let matches = cmd.get_matches_from(["confab"]);
    T::from_arg_matches(&matches).expect("the declared defaults parse")
}

impl Default for Config {
    /// The built-in defaults (flags and environment ignored).
    fn default() -> Self {
        defaults()
    }
}

impl Config {
    /// Resolves `confab serve`'s arguments (`argv[0]` is the program name), the
    /// environment and the `--config` file; the library's entry point and the tests'.
    pub fn from_args<I, T>(argv: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let cmd = Config::augment_args(Command::new("confab-serve"));
        let argv = argv.into_iter().map(Into::into).collect();
        let (matches, file) = parse(cmd, argv)?;
        Config::from_arg_matches(&matches)?.finish(file.as_ref())
    }

    /// Normalizes and checks every section, taking the file-only keys from `file`.
    pub fn finish(mut self, file: Option<&toml::Table>) -> Result<Config, ConfigError> {
        self.http.finish()?;
        self.ws.finish()?;
        self.hub.finish(file)?;
        self.store.finish()?;
        self.cluster.finish()?;
        if let Some(ip) = self.cluster.node_address {
            // What this node's SFU and TURN advertise, in place of --external-ip.
            self.turn.external_ip = Some(ip);
        }
        self.turn.finish(self.http.tls() == TlsMode::Off)?;
        self.auth.finish()?;
        self.sfu.finish()?;
        self.cameras = Cameras::from_file(file)?;
        if !self.cameras.is_empty() && !self.sfu.enabled() {
            return Err(ConfigError::Invalid(
                "[[camera]] needs the media router: cameras reach rooms through it (--media is mesh)".into(),
            ));
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log) {
            return Err(ConfigError::Invalid(format!(
                "log filter {:?} is invalid: {e}",
                self.log
            )));
        }
        Ok(self)
    }

    /// The SFU settings, when the SFU runs (`--media` is not `mesh`).
    pub fn sfu(&self) -> Option<&SfuSettings> {
        self.sfu.enabled().then_some(&self.sfu)
    }

    /// The hub's configuration: its section's limits, the media policy, and `ice`.
    /// Without the SFU a call is a mesh, so it holds at most `--mesh-max` people.
    pub fn hub_config(&self, ice: confab_signal::IceMinter) -> confab_signal::HubConfig {
        let mut hub = self.hub.hub_config(ice);
        hub.media = self.sfu.policy();
        if !self.sfu.enabled() {
            hub.max_call_size = hub.max_call_size.min(self.sfu.mesh_max);
        }
        hub
    }

    /// The TURN settings, when the built-in server runs.
    pub fn turn(&self) -> Option<&TurnSettings> {
        self.turn.enabled().then_some(&self.turn)
    }

    /// The effective configuration as a config file, secrets redacted, for
    /// `confab check-config`; notes on values that only exist at run time go first.
    pub fn to_toml_redacted(&self) -> String {
        let mut out = String::from(
            "# The effective configuration of `confab serve` (flags > env > file > defaults),\n\
             # with secrets redacted.\n",
        );
        if self.turn().is_some_and(|t| t.secret.is_none()) {
            out.push_str(&format!(
                "# turn.secret is not set: a random one is kept in {}\n",
                self.data_dir.join("turn-secret").display()
            ));
        }
        if self.http.tls() == TlsMode::SelfSigned {
            out.push_str(&format!(
                "# TLS: a self-signed certificate kept in {}\n",
                self.data_dir.display()
            ));
        }
        if self.http.tls() == TlsMode::Acme {
            out.push_str(&format!(
                "# TLS: a certificate for {} from {}, kept in {}\n",
                self.http.acme.acme_domains.join(", "),
                self.http.acme.acme_directory,
                self.data_dir.join("tls").join("acme").display()
            ));
        }
        if self.http.web_dir.is_none() {
            out.push_str("# web_dir is not set: the embedded web client is served\n");
        }
        if self.store.chat_retention_days > 0 {
            out.push_str(&format!(
                "# chat is kept for {} days in {}\n",
                self.store.chat_retention_days,
                self.data_dir.join(crate::store::DB_FILE).display()
            ));
        }
        out.push('\n');
        match toml::to_string_pretty(self) {
            Ok(text) => out.push_str(&text),
            // Every field is a string, number, bool, list or table: cannot happen.
            Err(e) => out.push_str(&format!("# cannot render as TOML: {e}\n")),
        }
        out
    }
}

#[cfg(test)]
mod tests;
