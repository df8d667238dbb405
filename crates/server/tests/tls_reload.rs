//! `--tls-cert`/`--tls-key` files are read again on SIGHUP and when they change on disk,
//! as `openssl s_client` sees from outside; a broken file keeps the certificate in force.
//! Skipped with a loud note when `openssl` is missing, unless CONFAB_REQUIRE_INTEROP=1.

mod common;
use common::process::{have_tool, Confab, TempDir};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A self-signed certificate for `call.test` with `cn` as its common name: (cert PEM,
/// key PEM).
fn make_cert(cn: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = rcgen::CertificateParams::new(vec!["call.test".to_string()]).unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, cn);
    let cert = p.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn write_pair(dir: &Path, (cert, key): &(String, String)) {
    std::fs::write(dir.join("cert.pem"), cert).unwrap();
    std::fs::write(dir.join("key.pem"), key).unwrap();
}

/// The leaf certificate `openssl s_client` is shown at `addr`, as PEM.
fn served_pem(addr: SocketAddr) -> String {
    let out = Command::new("timeout")
        .args(["10", "openssl", "s_client", "-connect"])
        .arg(addr.to_string())
        .args(["-servername", "call.test"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("openssl s_client runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let start = text
        .find("-----BEGIN CERTIFICATE-----")
        .unwrap_or_else(|| panic!("no certificate in s_client's output: {text}"));
    let end = text[start..].find("-----END CERTIFICATE-----").unwrap() + start;
    text[start..end].to_owned()
}

/// The PEM body of `cert` as s_client prints it (up to the END line).
fn body(cert: &str) -> String {
    let end = cert.find("-----END CERTIFICATE-----").unwrap();
    cert[..end].to_owned()
}

/// Waits until s_client sees `cert` (at most `limit`).
fn wait_served(addr: SocketAddr, cert: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        if served_pem(addr) == body(cert) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was not served"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn is_reload(v: &serde_json::Value, why: &str) -> bool {
    v["message"].as_str().is_some_and(|m| m.contains(why))
}

#[test]
fn certificate_files_reload_on_sighup_and_on_change_and_a_broken_file_keeps_the_old() {
    if !have_tool("openssl", "version", "apt-get install openssl") {
        return;
    }
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = TempDir::new("tls-reload");
    let a = make_cert("cert A");
    write_pair(&dir.0, &a);
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let mut confab = Confab::start(
        &dir.join("data"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert_eq!(served_pem(confab.addr), body(&a.0), "A at start");

    // SIGHUP: B at once.
    let b = make_cert("cert B");
    write_pair(&dir.0, &b);
    confab.hangup();
    confab.wait_log(Duration::from_secs(10), |v| {
        is_reload(v, "reloaded the TLS certificate (SIGHUP)")
    });
    assert_eq!(served_pem(confab.addr), body(&b.0), "B after SIGHUP");

    // No signal: the poll of the files' modification times finds C.
    let c = make_cert("cert C");
    write_pair(&dir.0, &c);
    confab.wait_log(Duration::from_secs(10), |v| {
        is_reload(v, "reloaded the TLS certificate (the files changed)")
    });
    wait_served(confab.addr, &c.0, Duration::from_secs(5));

    // A broken certificate file: logged, C stays (on the poll and on SIGHUP).
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nbroken\n").unwrap();
    confab.wait_log(Duration::from_secs(10), |v| {
        is_reload(v, "cannot reload the TLS certificate (the files changed)")
    });
    confab.hangup();
    confab.wait_log(Duration::from_secs(10), |v| {
        is_reload(v, "cannot reload the TLS certificate (SIGHUP)")
    });
    assert_eq!(served_pem(confab.addr), body(&c.0), "C after a broken file");

    // A certificate whose key is not the file's key: refused the same way.
    std::fs::write(&cert, make_cert("cert D").0).unwrap();
    confab.hangup();
    confab.wait_log(Duration::from_secs(10), |v| {
        is_reload(v, "cannot reload the TLS certificate (SIGHUP)")
    });
    assert_eq!(
        served_pem(confab.addr),
        body(&c.0),
        "C after a mismatched key"
    );
    drop(confab);
}
