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

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    /// Accepts any certificate: these tests look at which one is presented.
    #[derive(Debug)]
    struct AnyCert;

    impl ServerCertVerifier for AnyCert {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            provider()
                .signature_verification_algorithms
                .supported_schemes()
        }
    }

    fn cert(name: &str) -> TlsMaterial {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        super::super::material(
            vec![cert.der().clone()],
            der,
            super::super::TlsOrigin::Files,
        )
    }

    /// An in-memory handshake with `alpn` offered: the leaf the client was shown, or
    /// `None` when the handshake failed.
    fn handshake(resolver: &Arc<CertResolver>, name: &str, alpn: &[&[u8]]) -> Option<Vec<u8>> {
        let server = super::super::server_config_with(Arc::clone(resolver), true);
        let mut client = rustls::ClientConfig::builder()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCert))
            .with_no_client_auth();
        client.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let name = ServerName::try_from(name.to_owned()).unwrap();
        let mut c = rustls::ClientConnection::new(Arc::new(client), name).unwrap();
        let mut s = rustls::ServerConnection::new(server).unwrap();
        for _ in 0..10 {
            let mut buf = Vec::new();
            c.write_tls(&mut buf).unwrap();
            s.read_tls(&mut &buf[..]).unwrap();
            s.process_new_packets().ok()?;
            buf.clear();
            s.write_tls(&mut buf).unwrap();
            c.read_tls(&mut &buf[..]).unwrap();
            c.process_new_packets().ok()?;
            if !c.is_handshaking() && !s.is_handshaking() {
                return Some(c.peer_certificates()?[0].to_vec());
            }
        }
        None
    }

    #[test]
    fn the_challenge_certificate_only_for_acme_tls_and_the_swap_for_new_handshakes() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let (a, b, challenge) = (cert("a.test"), cert("a.test"), cert("a.test"));
        let resolver = Arc::new(CertResolver::new(&a).unwrap());
        let leaf = |m: &TlsMaterial| Some(m.chain[0].to_vec());
        assert_eq!(handshake(&resolver, "a.test", &[b"h2"]), leaf(&a));
        // acme-tls/1 with no challenge up: no certificate at all, never the real one.
        assert_eq!(handshake(&resolver, "a.test", &[ACME_TLS_ALPN]), None);
        resolver.add_challenge("A.test", certified_key(&challenge).unwrap());
        assert_eq!(
            handshake(&resolver, "a.test", &[ACME_TLS_ALPN]),
            leaf(&challenge)
        );
        assert_eq!(handshake(&resolver, "other.test", &[ACME_TLS_ALPN]), None);
        // Ordinary handshakes are not affected by the challenge.
        assert_eq!(handshake(&resolver, "a.test", &[]), leaf(&a));
        resolver.remove_challenge("a.test");
        assert_eq!(handshake(&resolver, "a.test", &[ACME_TLS_ALPN]), None);
        // The swap: the next handshake gets b; a key that does not match is refused.
        resolver.set(&b).unwrap();
        assert_eq!(handshake(&resolver, "a.test", &[b"http/1.1"]), leaf(&b));
        assert_eq!(resolver.current_leaf(), b.chain[0].to_vec());
        let mut mismatched = cert("a.test");
        mismatched.key = a.key.clone_key();
        assert!(resolver.set(&mismatched).is_err());
        assert_eq!(handshake(&resolver, "a.test", &[]), leaf(&b));
    }
}
