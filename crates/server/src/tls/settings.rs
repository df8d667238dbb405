//! The ACME settings (certificates from Let's Encrypt or another ACME CA), part of the
//! HTTP section. Declared once (see `crate::config`): each field is its flag,
//! environment variable, file key and default.

use crate::config::ConfigError;
use clap::Args;
use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Let's Encrypt's production directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// Certificates obtained and renewed from an ACME CA (see `tls/acme.rs`).
#[derive(Args, Clone, Debug, Serialize)]
pub struct AcmeSettings {
    /// Get the HTTPS (and TURN over TLS) certificate for these names from an ACME CA
    /// (Let's Encrypt by default), kept in the data dir and renewed on its own. The
    /// names must reach this server. Repeat or separate with commas.
    #[arg(
        long = "acme-domain",
        env = "CONFAB_ACME_DOMAIN",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub acme_domains: Vec<String>,
    /// Contact address given to the ACME CA (expiry warnings).
    #[arg(long, env = "CONFAB_ACME_EMAIL", value_name = "EMAIL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acme_email: Option<String>,
    /// The ACME CA's directory URL.
    #[arg(
        long,
        env = "CONFAB_ACME_DIRECTORY",
        value_name = "URL",
        default_value = LETS_ENCRYPT
    )]
    pub acme_directory: String,
    /// PEM file of the root that signed the ACME directory's own HTTPS certificate, for
    /// a private or test CA. [default: the system's roots]
    #[arg(long, env = "CONFAB_ACME_CA_FILE", value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acme_ca_file: Option<PathBuf>,
    /// Plain-HTTP listener (port 80) for the CA's HTTP-01 validation; every other
    /// request is redirected to HTTPS. Without it the CA validates over the HTTPS port
    /// (TLS-ALPN-01), which must then be reachable on port 443.
    #[arg(long, env = "CONFAB_ACME_HTTP_LISTEN", value_name = "ADDR:PORT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acme_http_listen: Option<SocketAddr>,
}

impl AcmeSettings {
    /// Whether certificates come from an ACME CA.
    pub fn enabled(&self) -> bool {
        !self.acme_domains.is_empty()
    }

    /// Normalizes (names trimmed, lower case, empty ones dropped) and checks.
    pub(crate) fn finish(&mut self) -> Result<(), ConfigError> {
        let names = std::mem::take(&mut self.acme_domains);
        self.acme_domains = names
            .into_iter()
            .map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        self.acme_domains.dedup();
        for name in &self.acme_domains {
            let ok = name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
            if !ok || name.parse::<std::net::IpAddr>().is_ok() {
                return Err(ConfigError::Invalid(format!(
                    "acme_domain {name:?} is not a DNS name (wildcards need DNS-01, which confab does not do)"
                )));
            }
        }
        if !self.enabled()
            && (self.acme_email.is_some()
                || self.acme_ca_file.is_some()
                || self.acme_http_listen.is_some())
        {
            return Err(ConfigError::Invalid(
                "acme_email, acme_ca_file and acme_http_listen need acme_domain".into(),
            ));
        }
        if !(self.acme_directory.starts_with("https://")) {
            return Err(ConfigError::Invalid(
                "acme_directory must be an https:// URL".into(),
            ));
        }
        if let Some(email) = &self.acme_email {
            if !email.contains('@') || email.contains(char::is_whitespace) {
                return Err(ConfigError::Invalid(format!(
                    "acme_email {email:?} is not an email address"
                )));
            }
        }
        Ok(())
    }
}
