//! The HTTP(S) section: where and how the web app, the API and the WebSocket are served.
//! Declared once (see `crate::config`): each field is its flag, environment variable,
//! file key and default.

use crate::config::{ConfigError, Seconds};
use clap::Args;
use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How HTTP is served, as the TLS settings decide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Generate (once) and reuse a self-signed certificate in the data dir.
    SelfSigned,
    /// Obtained and renewed from an ACME CA, kept in the data dir.
    Acme,
    /// Operator-provided PEM files, reloaded on SIGHUP and when they change.
    Files {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
    /// Plain HTTP.
    Off,
}

/// The HTTP(S) listener, its certificate and the web client.
#[derive(Args, Clone, Debug, Serialize)]
pub struct HttpSettings {
    /// Address and port for HTTPS (or HTTP with --insecure-http).
    #[arg(
        long,
        env = "CONFAB_LISTEN",
        value_name = "ADDR:PORT",
        default_value = "0.0.0.0:8443"
    )]
    pub listen: SocketAddr,
    /// PEM certificate chain; without it a self-signed certificate is generated.
    #[arg(
        long,
        env = "CONFAB_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert. Both files are read again on SIGHUP and when
    /// they change on disk.
    #[arg(
        long,
        env = "CONFAB_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_dir: Option<PathBuf>,
    /// Seconds a new connection may take to finish its TLS handshake, send its HTTP
    /// request headers, and (on the WebSocket) send `hello`; slower ones are dropped.
    #[arg(
        long,
        env = "CONFAB_HANDSHAKE_TIMEOUT",
        value_name = "SECS",
        default_value = "10"
    )]
    pub handshake_timeout: Seconds,
    /// Seconds an HTTP(S) connection may stay open with no request in flight (HTTP/1
    /// keep-alive, HTTP/2); WebSockets have their own --idle-timeout.
    #[arg(
        long,
        env = "CONFAB_HTTP_IDLE_TIMEOUT",
        value_name = "SECS",
        default_value = "60"
    )]
    pub http_idle_timeout: Seconds,
    /// Open HTTP(S) connections (WebSockets included) in total; more are closed at once.
    #[arg(
        long,
        env = "CONFAB_MAX_HTTP_CONNECTIONS",
        value_name = "N",
        default_value = "25000"
    )]
    pub max_http_connections: usize,
    /// Open HTTP(S) connections (WebSockets included) per client address (IPv4, IPv6
    /// /64); more are closed at once.
    #[arg(
        long,
        env = "CONFAB_MAX_HTTP_CONNECTIONS_PER_IP",
        value_name = "N",
        default_value = "2000"
    )]
    pub max_http_connections_per_ip: usize,
    /// Certificates from an ACME CA.
    #[command(flatten)]
    #[serde(flatten)]
    pub acme: crate::tls::settings::AcmeSettings,
}

impl HttpSettings {
    /// TLS as the settings decide: `--insecure-http` wins over the certificate settings
    /// (`finish` refuses files together with ACME).
    pub fn tls(&self) -> TlsMode {
        match (&self.tls_cert, &self.tls_key) {
            _ if self.insecure_http => TlsMode::Off,
            _ if self.acme.enabled() => TlsMode::Acme,
            (Some(cert), Some(key)) => TlsMode::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
            _ => TlsMode::SelfSigned,
        }
    }

    /// Normalizes (host names trimmed, empty ones dropped) and checks.
    pub(crate) fn finish(&mut self) -> Result<(), ConfigError> {
        let hosts = std::mem::take(&mut self.public_host);
        self.public_host = hosts
            .into_iter()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .collect();
        if self.tls_cert.is_some() != self.tls_key.is_some() && !self.insecure_http {
            return Err(ConfigError::Invalid(
                "tls_cert and tls_key must be given together".into(),
            ));
        }
        self.acme.finish()?;
        if self.acme.enabled() && self.tls_cert.is_some() && !self.insecure_http {
            return Err(ConfigError::Invalid(
                "acme_domain and tls_cert/tls_key are two sources of one certificate: \
                 give one"
                    .into(),
            ));
        }
        if *self.handshake_timeout < Duration::from_secs(1) {
            return Err(ConfigError::Invalid(
                "handshake_timeout must be at least 1 second".into(),
            ));
        }
        if *self.http_idle_timeout < Duration::from_secs(1) {
            return Err(ConfigError::Invalid(
                "http_idle_timeout must be at least 1 second".into(),
            ));
        }
        if self.max_http_connections == 0 || self.max_http_connections_per_ip == 0 {
            return Err(ConfigError::Invalid(
                "max_http_connections and max_http_connections_per_ip must be at least 1".into(),
            ));
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
}
