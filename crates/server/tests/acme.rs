//! Certificates from an ACME CA, against Pebble (Let's Encrypt's test CA, Debian `pebble`)
//! with real validation on loopback: issuance over TLS-ALPN-01 and HTTP-01, the same
//! certificate on HTTPS and on TURN over TLS, renewal swapped in while connections stay
//! up and no handshake fails, and a restart that reuses the stored certificate without
//! the CA. Skipped with a loud note when Pebble is missing, unless
//! CONFAB_REQUIRE_INTEROP=1.

mod common;
use common::pebble::Pebble;
use common::process::{free_port, Confab, TempDir};
use rustls::pki_types::CertificateDer;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const DOMAIN: &str = "confab.test";

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A TLS connection to `addr` for [`DOMAIN`], verified against `root`; the stream and the
/// SHA-256 of the leaf it was shown.
fn connect(addr: SocketAddr, root: &CertificateDer<'static>) -> Result<(Tls, String), String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).map_err(|e| e.to_string())?;
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let conn = rustls::ClientConnection::new(Arc::new(config), DOMAIN.try_into().unwrap())
        .map_err(|e| e.to_string())?;
    let sock = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(|e| format!("handshake: {e}"))?;
    }
    let leaf = tls.conn.peer_certificates().ok_or("no certificate")?[0].clone();
    Ok((tls, confab_server::tls::fingerprint(&leaf)))
}

/// One keep-alive `GET /healthz` on `tls`; the status line.
fn healthz(tls: &mut Tls) -> String {
    write!(tls, "GET /healthz HTTP/1.1\r\nHost: {DOMAIN}\r\n\r\n").unwrap();
    let mut buf = [0u8; 4096];
    let n = tls.read(&mut buf).expect("a response");
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.lines().next().unwrap_or_default().to_owned()
}

/// The fingerprint of the next certificate confab says it put in use.
fn next_certificate(confab: &mut Confab, limit: Duration) -> String {
    let v = confab.wait_log(limit, |v| {
        v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("new certificate for confab.test in use"))
    });
    v["fingerprint"].as_str().unwrap().to_owned()
}

fn acme_args(pebble: &Pebble, listen: &str) -> Vec<String> {
    [
        "--listen",
        listen,
        "--acme-domain",
        DOMAIN,
        "--acme-email",
        "ops@confab.test",
        "--acme-directory",
        &pebble.directory,
        "--acme-ca-file",
        pebble.https_ca.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn issues_over_tls_alpn_serves_turn_too_and_renews_without_a_failed_handshake() {
    if !Pebble::available() {
        return;
    }
    let dir = TempDir::new("acme-renew");
    let (https, turn, turns) = (free_port(), free_port(), free_port());
    // 30-second certificates: renewed 20 s after issuance.
    let pebble = Pebble::start("renew", https, free_port(), 30);
    let listen = format!("127.0.0.1:{https}");
    let (turn_listen, turns_listen) = (format!("127.0.0.1:{turn}"), format!("127.0.0.1:{turns}"));
    let mut args = acme_args(&pebble, &listen);
    args.extend(
        [
            "--turn-listen",
            &turn_listen,
            "--turns-listen",
            &turns_listen,
            "--turn-relay-ip",
            "127.0.0.1",
            // The keep-alive connection below waits for the renewal between its requests.
            "--handshake-timeout",
            "60",
            "--http-idle-timeout",
            "120",
        ]
        .map(String::from),
    );
    let mut confab = Confab::start(&dir.join("data"), &args);
    let first = next_certificate(&mut confab, Duration::from_secs(30));
    let root = pebble.issuing_root();
    let https: SocketAddr = listen.parse().unwrap();
    let turns: SocketAddr = turns_listen.parse().unwrap();

    // Issued: HTTPS and TURN over TLS both show it, verified up to Pebble's root.
    let (mut before, seen) = connect(https, &root).expect("HTTPS handshake");
    assert_eq!(seen, first);
    assert!(healthz(&mut before).contains("200"), "healthz over HTTPS");
    let (_turn_conn, seen) = connect(turns, &root).expect("TURN TLS handshake");
    assert_eq!(seen, first, "TURN over TLS serves the same certificate");

    // Handshakes in a loop while the certificate is renewed.
    let stop = Arc::new(AtomicBool::new(false));
    let looper = {
        let (stop, root) = (Arc::clone(&stop), root.clone());
        std::thread::spawn(move || {
            let (mut ok, mut failed, mut seen) = (0u32, Vec::new(), Vec::<String>::new());
            while !stop.load(Ordering::Relaxed) {
                match connect(https, &root) {
                    Ok((_, fp)) => {
                        ok += 1;
                        if !seen.contains(&fp) {
                            seen.push(fp);
                        }
                    }
                    Err(e) => failed.push(e),
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            (ok, failed, seen)
        })
    };
    let second = next_certificate(&mut confab, Duration::from_secs(45));
    assert_ne!(first, second, "a new certificate");
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let (ok, failed, seen) = looper.join().unwrap();
    assert!(
        failed.is_empty(),
        "failed handshakes during the swap: {failed:?}"
    );
    assert!(ok > 20, "only {ok} handshakes");
    assert_eq!(
        seen,
        vec![first.clone(), second.clone()],
        "the swap, seen by new handshakes"
    );

    // New handshakes get the new one, on both listeners; the connection opened before
    // the swap still works.
    assert_eq!(connect(https, &root).unwrap().1, second);
    assert_eq!(connect(turns, &root).unwrap().1, second);
    assert!(
        healthz(&mut before).contains("200"),
        "the old connection lives on"
    );
    assert_eq!(
        confab_server::tls::fingerprint(&before.conn.peer_certificates().unwrap()[0]),
        first
    );
}

#[test]
fn issues_over_http_01_and_redirects_plain_http() {
    if !Pebble::available() {
        return;
    }
    let dir = TempDir::new("acme-http01");
    let (https, http) = (free_port(), free_port());
    let pebble = Pebble::start("http01", https, http, 3600);
    let listen = format!("127.0.0.1:{https}");
    let http_listen = format!("127.0.0.1:{http}");
    let mut args = acme_args(&pebble, &listen);
    args.extend(["--acme-http-listen", &http_listen].map(String::from));
    let mut confab = Confab::start(&dir.join("data"), &args);
    let first = next_certificate(&mut confab, Duration::from_secs(30));
    let root = pebble.issuing_root();
    assert_eq!(connect(listen.parse().unwrap(), &root).unwrap().1, first);

    // Anything but a challenge goes to HTTPS, on the certificate's name.
    let mut s = TcpStream::connect(("127.0.0.1", http)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET /r/room?x=1 HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    assert!(text.starts_with("HTTP/1.1 308"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains(&format!("location: https://{DOMAIN}:{https}/r/room?x=1")),
        "{text}"
    );
}

#[test]
fn a_restart_reuses_the_stored_certificate_without_the_ca() {
    if !Pebble::available() {
        return;
    }
    let dir = TempDir::new("acme-restart");
    let https = free_port();
    let pebble = Pebble::start("restart", https, free_port(), 3600);
    let listen = format!("127.0.0.1:{https}");
    let args = acme_args(&pebble, &listen);
    let mut confab = Confab::start(&dir.join("data"), &args);
    let first = next_certificate(&mut confab, Duration::from_secs(30));
    let root = pebble.issuing_root();
    drop(confab);
    // The CA is gone: the restart must not need it.
    drop(pebble);
    let confab = Confab::start(&dir.join("data"), &args);
    assert_eq!(connect(listen.parse().unwrap(), &root).unwrap().1, first);
    // It does not ask (the certificate is far from its renewal time).
    std::thread::sleep(Duration::from_secs(2));
    let asked = confab.logs.try_iter().any(|v| {
        v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("asking"))
    });
    assert!(
        !asked,
        "asked the CA although the stored certificate is valid"
    );
}

#[test]
fn a_ca_that_forgot_the_account_gets_a_new_one_and_issues_again() {
    if !Pebble::available() {
        return;
    }
    let dir = TempDir::new("acme-forgot");
    let https = free_port();
    // 30-second certificates, so the restarted confab must renew at once.
    let mut pebble = Pebble::start("forgot", https, free_port(), 30);
    let listen = format!("127.0.0.1:{https}");
    let args = acme_args(&pebble, &listen);
    let mut confab = Confab::start(&dir.join("data"), &args);
    let first = next_certificate(&mut confab, Duration::from_secs(30));
    drop(confab);
    // The same directory URL, but a CA with no accounts (and a new root).
    pebble.restart();
    std::thread::sleep(Duration::from_secs(20));
    let mut confab = Confab::start(&dir.join("data"), &args);
    confab.wait_log(Duration::from_secs(10), |v| {
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("does not know the stored ACME account"))
    });
    let second = next_certificate(&mut confab, Duration::from_secs(30));
    assert_ne!(first, second);
    let root = pebble.issuing_root();
    assert_eq!(connect(listen.parse().unwrap(), &root).unwrap().1, second);
}
