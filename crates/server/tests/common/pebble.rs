//! Let's Encrypt's test CA, Pebble (Debian `pebble`), on loopback ports of its own, with
//! `pebble-challtestsrv` from the same package as its DNS server (every name resolves
//! to 127.0.0.1). Validation is real: `PEBBLE_VA_ALWAYS_VALID` is not set, and Pebble
//! connects to confab's ports for TLS-ALPN-01 and HTTP-01. Both stop by PID on drop.

use super::process::{free_port, ChildGuard, TempDir};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A running Pebble and its DNS server.
pub struct Pebble {
    pebble: ChildGuard,
    dns: ChildGuard,
    /// The ACME directory URL.
    pub directory: String,
    /// The root that signed Pebble's own HTTPS certificate (for `--acme-ca-file`).
    pub https_ca: PathBuf,
    https_roots: Arc<rustls::RootCertStore>,
    /// ACME, management, DNS, DNS management.
    ports: (u16, u16, u16, u16),
    dir: TempDir,
}

impl Pebble {
    /// Whether Pebble is installed (else a loud skip, or a failure under
    /// CONFAB_REQUIRE_INTEROP=1).
    pub fn available() -> bool {
        super::process::have_tool("pebble", "-h", "apt-get install pebble")
            && super::process::have_tool("pebble-challtestsrv", "-h", "apt-get install pebble")
    }

    /// Starts Pebble validating TLS-ALPN-01 on `tls_port` and HTTP-01 on `http_port`
    /// of 127.0.0.1, issuing certificates valid for `validity` seconds.
    pub fn start(tag: &str, tls_port: u16, http_port: u16, validity: u64) -> Pebble {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = TempDir::new(&format!("pebble-{tag}"));
        // Pebble's own HTTPS certificate, from a CA made here.
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "pebble test HTTPS CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let https_ca = dir.join("https-ca.pem");
        std::fs::write(&https_ca, ca_cert.pem()).unwrap();
        std::fs::write(dir.join("cert.pem"), leaf.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca_cert.der().clone()).unwrap();

        let (acme, management, dns, dns_mgmt) =
            (free_port(), free_port(), free_port(), free_port());
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{acme}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": dir.join("cert.pem"),
            "privateKey": dir.join("key.pem"),
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
            "certificateValidityPeriod": validity,
        }});
        std::fs::write(dir.join("pebble.json"), config.to_string()).unwrap();
        let (pebble, dns_child) = launch(&dir.0, (acme, management, dns, dns_mgmt));
        Pebble {
            pebble,
            dns: dns_child,
            directory: format!("https://127.0.0.1:{acme}/dir"),
            https_ca,
            https_roots: Arc::new(roots),
            ports: (acme, management, dns, dns_mgmt),
            dir,
        }
    }

    /// Stops Pebble and starts it again at the same address: a CA that forgot every
    /// account and certificate (Pebble keeps them in memory), with a new root.
    pub fn restart(&mut self) {
        // The old processes stop before the new ones bind their ports.
        for child in [&mut self.pebble.0, &mut self.dns.0] {
            let _ = child.kill();
            let _ = child.wait();
        }
        (self.pebble, self.dns) = launch(&self.dir.0, self.ports);
    }

    /// The root that issues confab's certificates (it changes with every Pebble start).
    pub fn issuing_root(&self) -> rustls::pki_types::CertificateDer<'static> {
        use rustls::pki_types::pem::PemObject;
        let pem = https_get(self.ports.1, &self.https_roots, "/roots/0");
        rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).expect("a root")
    }
}

/// Starts `pebble-challtestsrv` and Pebble with the config in `dir` on `ports`
/// (ACME, management, DNS, DNS management) and waits until Pebble answers.
fn launch(dir: &std::path::Path, ports: (u16, u16, u16, u16)) -> (ChildGuard, ChildGuard) {
    let (_, _, dns, dns_mgmt) = ports;
    let dns_child = Command::new("pebble-challtestsrv")
        .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
        .args(["-dns01", &format!("127.0.0.1:{dns}")])
        .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
        .args(["-management", &format!("127.0.0.1:{dns_mgmt}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pebble-challtestsrv runs");
    let dns_child = ChildGuard(dns_child);
    let pebble = Command::new("pebble")
        .arg("-config")
        .arg(dir.join("pebble.json"))
        .args(["-dnsserver", &format!("127.0.0.1:{dns}"), "-strict=false"])
        .env("PEBBLE_VA_NOSLEEP", "1")
        .env_remove("PEBBLE_VA_ALWAYS_VALID")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pebble runs");
    let pebble = ChildGuard(pebble);
    wait_for(ports);
    (pebble, dns_child)
}

/// Waits until Pebble's ACME and management ports accept connections.
fn wait_for((acme, management, _, _): (u16, u16, u16, u16)) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", acme)).is_err()
        || TcpStream::connect(("127.0.0.1", management)).is_err()
    {
        assert!(Instant::now() < deadline, "pebble did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// GET `path` from 127.0.0.1:`port` over HTTPS trusting `roots`; the body.
fn https_get(port: u16, roots: &Arc<rustls::RootCertStore>, path: &str) -> String {
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(Arc::clone(roots))
        .with_no_client_auth();
    let name = "127.0.0.1".try_into().unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let (_, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    body.to_owned()
}
