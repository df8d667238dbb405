//! TLS material: operator-provided PEM files (reloaded on SIGHUP and when they change,
//! `reload.rs`), a certificate from an ACME CA (obtained and renewed, `acme.rs`, when to
//! renew in `renew.rs`, HTTP-01 in `http01.rs`), or a self-signed certificate generated
//! on first start and kept in the data dir so browsers' "accept the risk" survives
//! restarts. Every TLS listener (HTTPS, TURN over TLS) presents the certificate of one
//! shared [`CertResolver`] (`resolver.rs`), so a new one is swapped in for the next
//! handshake without restarting a listener or dropping a connection.

pub mod acme;
pub mod http01;
pub mod reload;
pub mod renew;
pub mod resolver;
pub mod settings;

use crate::config::{Config, TlsMode};
pub use resolver::CertResolver;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// A certificate chain and key ready for rustls, plus what to tell the operator.
pub struct TlsMaterial {
    /// Leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key.
    pub key: PrivateKeyDer<'static>,
    /// SHA-256 of the leaf certificate, as colon-separated hex (what browsers show).
    pub fingerprint: String,
    /// Where the certificate came from, for the start-up message.
    pub origin: TlsOrigin,
}

/// Where a [`TlsMaterial`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsOrigin {
    /// Read from operator files.
    Files,
    /// Self-signed, generated now.
    Generated(PathBuf),
    /// Self-signed, reused from an earlier start.
    Reused(PathBuf),
    /// From the ACME CA, stored in the data dir at this path.
    Acme(PathBuf),
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file held no usable PEM item.
    #[error("{path}: {message}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Certificate generation failed.
    #[error("generating the self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the certificate and key (e.g. they do not match).
    #[error("the TLS certificate and key cannot be used together: {0}")]
    Rustls(#[from] rustls::Error),
    /// A listener (`--acme-http-listen`) could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Loads or creates the TLS material to start with; `None` when TLS is off. With ACME
/// that is the stored certificate when it is still valid for the same names, else the
/// self-signed one until the CA has issued.
pub fn load(config: &Config) -> Result<Option<TlsMaterial>, TlsError> {
    match config.http.tls() {
        TlsMode::Off => Ok(None),
        TlsMode::Files { cert, key } => {
            let (chain, key) = read_pem_pair(&cert, &key)?;
            Ok(Some(material(chain, key, TlsOrigin::Files)))
        }
        TlsMode::SelfSigned => self_signed(&config.data_dir, &subject_names(config)).map(Some),
        TlsMode::Acme => match acme_store(config).load_cert(&config.http.acme.acme_domains) {
            Some((m, _)) => Ok(Some(m)),
            None => self_signed(&config.data_dir, &subject_names(config)).map(Some),
        },
    }
}

fn acme_store(config: &Config) -> acme::AcmeStore {
    acme::AcmeStore::new(&config.data_dir, &config.http.acme.acme_directory)
}

/// The rustls server configuration of every TLS listener: certificates from
/// `resolver`, HTTP/2 and HTTP/1.1 via ALPN, and `acme-tls/1` when `acme` validation
/// may come in (RFC 8737).
pub fn server_config_with(resolver: Arc<CertResolver>, acme: bool) -> Arc<rustls::ServerConfig> {
    let mut sc = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    sc.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    if acme {
        sc.alpn_protocols.push(resolver::ACME_TLS_ALPN.to_vec());
    }
    Arc::new(sc)
}

/// A server configuration that always presents `m` (tests, `check-config`).
pub fn server_config(m: &TlsMaterial) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    Ok(server_config_with(Arc::new(CertResolver::new(m)?), false))
}

/// The TLS side of a running server: the certificate it starts with, the resolver all
/// its TLS listeners share, and what keeps that certificate current.
pub struct Certificates {
    /// The certificate served at start (for the banner).
    pub material: TlsMaterial,
    /// Shared by every TLS listener.
    pub resolver: Arc<CertResolver>,
    upkeep: Upkeep,
}

enum Upkeep {
    /// The self-signed certificate: nothing changes it while running.
    Nothing,
    /// Operator files, watched.
    Files { cert: PathBuf, key: PathBuf },
    /// The ACME CA; `current` is the stored certificate's validity when it is served.
    Acme {
        config: acme::AcmeConfig,
        current: Option<renew::Validity>,
        http01: Option<std::net::TcpListener>,
    },
}

impl Certificates {
    /// Reads or creates the starting certificate for `config` and binds the HTTP-01
    /// listener if one is configured; `None` when TLS is off. Runs before the runtime.
    pub fn prepare(config: &Config) -> Result<Option<Certificates>, TlsError> {
        let Some(material) = load(config)? else {
            return Ok(None);
        };
        let resolver = Arc::new(CertResolver::new(&material)?);
        let upkeep = match config.http.tls() {
            TlsMode::Files { cert, key } => Upkeep::Files { cert, key },
            TlsMode::Acme => {
                let a = &config.http.acme;
                let http01 = a
                    .acme_http_listen
                    .map(|addr| {
                        std::net::TcpListener::bind(addr)
                            .map_err(|source| TlsError::Bind { addr, source })
                    })
                    .transpose()?;
                let current = match &material.origin {
                    TlsOrigin::Acme(_) => renew::Validity::of_der(&material.chain[0]).ok(),
                    _ => None,
                };
                Upkeep::Acme {
                    config: acme::AcmeConfig {
                        domains: a.acme_domains.clone(),
                        email: a.acme_email.clone(),
                        directory: a.acme_directory.clone(),
                        ca_file: a.acme_ca_file.clone(),
                        store: acme_store(config),
                        http01: http01.as_ref().map(|_| acme::Http01Tokens::default()),
                    },
                    current,
                    http01,
                }
            }
            TlsMode::SelfSigned | TlsMode::Off => Upkeep::Nothing,
        };
        Ok(Some(Certificates {
            material,
            resolver,
            upkeep,
        }))
    }

    /// The server configuration of every TLS listener.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let acme = matches!(self.upkeep, Upkeep::Acme { .. });
        server_config_with(Arc::clone(&self.resolver), acme)
    }

    /// Whether the certificate will come from an ACME CA but has not yet.
    pub fn acme_pending(&self) -> bool {
        matches!(self.upkeep, Upkeep::Acme { current: None, .. })
    }

    /// Starts what keeps the certificate current (the file watcher, or the ACME driver
    /// and its HTTP-01 listener) on the current runtime, until `shutdown`. `https_port`
    /// is where HTTP-01's redirects point.
    pub fn spawn(self, https_port: u16, shutdown: CancellationToken) {
        match self.upkeep {
            Upkeep::Nothing => {
                tokio::spawn(reload::ignore_hangup(
                    "the certificate is self-signed",
                    shutdown,
                ));
            }
            Upkeep::Files { cert, key } => {
                tokio::spawn(reload::watch_files(cert, key, self.resolver, shutdown));
            }
            Upkeep::Acme {
                config,
                current,
                http01,
            } => {
                if let (Some(listener), Some(tokens)) = (http01, config.http01.clone()) {
                    let serve = http01::serve(
                        listener,
                        tokens,
                        config.domains.clone(),
                        https_port,
                        shutdown.clone(),
                    );
                    tokio::spawn(async move {
                        if let Err(e) = serve.await {
                            tracing::error!("the ACME HTTP-01 listener stopped: {e}");
                        }
                    });
                }
                tokio::spawn(reload::ignore_hangup(
                    "the ACME certificate renews on its own",
                    shutdown.clone(),
                ));
                tokio::spawn(acme::maintain(config, self.resolver, current, shutdown));
            }
        }
    }
}

/// The names a self-signed certificate covers: loopback, this host's name, and every
/// `--public-host`.
pub fn subject_names(config: &Config) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    if let Some(h) = host_name() {
        names.push(h);
    }
    let ip = config.http.listen.ip();
    if !ip.is_unspecified() && !ip.is_loopback() {
        names.push(ip.to_string());
    }
    names.extend(config.http.public_host.iter().cloned());
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// This machine's host name, if it has a usable one.
pub fn host_name() -> Option<String> {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let h = h.trim();
    (!h.is_empty() && h != "localhost").then(|| h.to_owned())
}

fn self_signed(data_dir: &Path, names: &[String]) -> Result<TlsMaterial, TlsError> {
    let dir = data_dir.join("tls");
    let (cert_path, key_path, names_path) = (
        dir.join("self-signed-cert.pem"),
        dir.join("self-signed-key.pem"),
        dir.join("self-signed-names.txt"),
    );
    let wanted = names.join("\n");
    // Reuse the stored certificate while it covers the same names; regenerate when the
    // operator adds a --public-host (the browser must be told to trust it again anyway).
    if cert_path.is_file() && key_path.is_file() {
        let stored = std::fs::read_to_string(&names_path).unwrap_or_default();
        if stored == wanted {
            let (chain, key) = read_pem_pair(&cert_path, &key_path)?;
            return Ok(material(chain, key, TlsOrigin::Reused(cert_path)));
        }
    }
    let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::new(names.to_vec())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "confab self-signed");
    params.distinguished_name.push(
        rcgen::DnType::OrganizationName,
        format!(
            "confab on {}",
            host_name().unwrap_or_else(|| "localhost".into())
        ),
    );
    let now = std::time::SystemTime::now();
    params.not_before = (now - std::time::Duration::from_secs(86_400)).into();
    // Browsers reject leaf certificates valid for more than 398 days; stay under it.
    params.not_after = (now + std::time::Duration::from_secs(395 * 86_400)).into();
    let cert = params.self_signed(&key_pair)?;
    let io = |what, path: &Path| {
        let path = path.to_owned();
        move |source| TlsError::Io { what, path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io("cannot create", &dir))?;
    write_private(&key_path, key_pair.serialize_pem().as_bytes())
        .map_err(io("cannot write", &key_path))?;
    std::fs::write(&cert_path, cert.pem()).map_err(io("cannot write", &cert_path))?;
    std::fs::write(&names_path, &wanted).map_err(io("cannot write", &names_path))?;
    let key = PrivateKeyDer::try_from(key_pair.serialize_der()).map_err(|m| TlsError::Pem {
        path: key_path.clone(),
        message: m.to_string(),
    })?;
    Ok(material(
        vec![cert.der().clone()],
        key,
        TlsOrigin::Generated(cert_path),
    ))
}

/// Writes a file readable by its owner only (keys and secrets).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    opts.open(path)?.write_all(bytes)
}

fn read_pem_pair(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let cert_bytes = std::fs::read(cert).map_err(|source| TlsError::Io {
        what: "cannot read TLS certificate",
        path: cert.to_owned(),
        source,
    })?;
    let key_bytes = std::fs::read(key).map_err(|source| TlsError::Io {
        what: "cannot read TLS key",
        path: key.to_owned(),
        source,
    })?;
    let chain: Vec<_> = CertificateDer::pem_slice_iter(&cert_bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem {
            path: cert.to_owned(),
            message: format!("invalid PEM certificate: {e}"),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Pem {
            path: cert.to_owned(),
            message: "no PEM certificate found".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| TlsError::Pem {
        path: key.to_owned(),
        message: format!("no usable PEM private key: {e}"),
    })?;
    Ok((chain, key))
}

fn material(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    origin: TlsOrigin,
) -> TlsMaterial {
    let fingerprint = fingerprint(&chain[0]);
    TlsMaterial {
        chain,
        key,
        fingerprint,
        origin,
    }
}

/// SHA-256 of a DER certificate as `AB:CD:…`.
pub fn fingerprint(der: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    d.as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("confab-tls-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn self_signed_is_generated_once_and_reused() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = tmp("reuse");
        let names = vec!["localhost".to_string(), "call.test".into()];
        let a = self_signed(&dir, &names).unwrap();
        assert!(matches!(a.origin, TlsOrigin::Generated(_)));
        let b = self_signed(&dir, &names).unwrap();
        assert!(matches!(b.origin, TlsOrigin::Reused(_)));
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.fingerprint.len(), 32 * 3 - 1);
        server_config(&b).unwrap();
        // A new public host name means a new certificate.
        let c = self_signed(&dir, &["localhost".to_string()]).unwrap();
        assert!(matches!(c.origin, TlsOrigin::Generated(_)));
        assert_ne!(a.fingerprint, c.fingerprint);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unreadable_or_garbage_files_are_clean_errors() {
        let dir = tmp("bad");
        std::fs::create_dir_all(&dir).unwrap();
        let e = read_pem_pair(&dir.join("none.pem"), &dir.join("none.key"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("cannot read TLS certificate"), "{e}");
        std::fs::write(dir.join("c.pem"), "not pem").unwrap();
        std::fs::write(dir.join("k.pem"), "not pem").unwrap();
        let e = read_pem_pair(&dir.join("c.pem"), &dir.join("k.pem"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("no PEM certificate"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
