//! The certificate every TLS listener (HTTPS and TURN over TLS) presents, swappable while
//! the server runs: a new certificate (a renewal, a reloaded file) is used by the next
//! handshake, and connections already open keep the one they were made with, since rustls
//! asks the resolver once per handshake. No listener restarts, no connection drops.
//!
//! It also answers ACME TLS-ALPN-01 validation (RFC 8737): a ClientHello that offers
//! only the `acme-tls/1` protocol gets the challenge certificate for its server name,
//! never the real one; other ClientHellos never get a challenge certificate.

use super::{TlsError, TlsMaterial};
use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The ALPN protocol of TLS-ALPN-01 validation connections (RFC 8737, section 6.2).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// The certificate in force and the TLS-ALPN-01 challenge certificates being validated.
#[derive(Debug)]
pub struct CertResolver {
    /// Read by every handshake without a lock; replaced whole by [`CertResolver::set`].
    current: ArcSwap<CertifiedKey>,
    /// By server name (lower case). A std lock: written a few times per issuance, read
    /// only by validation handshakes, never held across an await.
    challenges: RwLock<HashMap<String, Arc<CertifiedKey>>>,
}

impl CertResolver {
    /// A resolver presenting `material`.
    pub fn new(material: &TlsMaterial) -> Result<CertResolver, TlsError> {
        Ok(CertResolver {
            current: ArcSwap::from(certified_key(material)?),
            challenges: RwLock::default(),
        })
    }

    /// Presents `material` from the next handshake on. Fails (and keeps the current
    /// certificate) when the key does not match the certificate or cannot be used.
    pub fn set(&self, material: &TlsMaterial) -> Result<(), TlsError> {
        self.current.store(certified_key(material)?);
        Ok(())
    }

    /// The leaf certificate presented now (DER).
    pub fn current_leaf(&self) -> Vec<u8> {
        self.current
            .load()
            .cert
            .first()
            .map(|c| c.to_vec())
            .unwrap_or_default()
    }

    /// Answers TLS-ALPN-01 validation for `name` with `cert` until
    /// [`CertResolver::remove_challenge`].
    pub fn add_challenge(&self, name: &str, cert: Arc<CertifiedKey>) {
        let mut map = self.challenges.write().unwrap_or_else(|e| e.into_inner());
        map.insert(name.to_ascii_lowercase(), cert);
    }

    /// Stops answering TLS-ALPN-01 validation for `name`.
    pub fn remove_challenge(&self, name: &str) {
        let mut map = self.challenges.write().unwrap_or_else(|e| e.into_inner());
        map.remove(&name.to_ascii_lowercase());
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let acme = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if acme {
            // A validation handshake: the challenge certificate or nothing (RFC 8737
            // section 3: the real certificate must not be offered here).
            let name = hello.server_name()?.to_ascii_lowercase();
            let map = self.challenges.read().unwrap_or_else(|e| e.into_inner());
            return map.get(&name).cloned();
        }
        Some(self.current.load_full())
    }
}

/// `material` as rustls's signing form, checked: the key must match the leaf.
pub fn certified_key(material: &TlsMaterial) -> Result<Arc<CertifiedKey>, TlsError> {
    let key = CertifiedKey::from_der(
        material.chain.clone(),
        material.key.clone_key(),
        &provider(),
    )?;
    Ok(Arc::new(key))
}

/// The process's crypto provider (aws-lc, installed by `main`), or aws-lc's default.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}
