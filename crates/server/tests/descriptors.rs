//! Descriptor exhaustion (issue 12 item 5): `confab serve` raises its soft
//! `RLIMIT_NOFILE` to the hard limit and logs it, and keeps a reserve of descriptors:
//! once new connections would eat into it they are closed at once (not left in the
//! listen backlog), while existing connections keep working.
//!
//! The limit is lowered only for the child process (`prlimit`), never for the runner.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs confab under `prlimit --nofile=soft:hard`; returns it, its HTTP address and the
/// descriptor limit it logged.
fn start(soft: u64, hard: u64) -> (Server, SocketAddr, u64) {
    let dir = std::env::temp_dir().join(format!("confab-fds-{}", std::process::id()));
    let mut child = Command::new("prlimit")
        .arg(format!("--nofile={soft}:{hard}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_confab"))
        .args([
            "serve",
            "--insecure-http",
            "--listen",
            "127.0.0.1:0",
            "--no-turn",
            "--sfu-listen",
            "127.0.0.1:0",
            "--chat-retention-days",
            "0",
            "--handshake-timeout",
            "30",
            "--log-format",
            "json",
            "--log",
            "info",
        ])
        .arg("--data-dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run prlimit confab");
    let stderr = child.stderr.take().unwrap();
    let server = Server { child, dir };
    let mut lines = BufReader::new(stderr).lines();
    let mut limit = None;
    for _ in 0..50 {
        let line = lines.next().expect("confab logs").expect("a line");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v["message"] == "open file descriptor limit" {
            limit = v["limit"].as_u64();
        }
        if v["message"] == "serving" {
            let addr = v["listen"].as_str().unwrap().parse().unwrap();
            // Keep draining stderr so the child never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines.by_ref() {});
            return (
                server,
                addr,
                limit.expect("the limit is logged before serving"),
            );
        }
    }
    panic!("confab did not log `serving`");
}

/// One request on a keep-alive connection; returns the response text (head and body,
/// read to its `content-length`).
fn get(c: &mut TcpStream, path: &str) -> String {
    c.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut data = Vec::new();
    for _ in 0..1000 {
        let text = String::from_utf8_lossy(&data).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|n| n.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= len {
                return text;
            }
        }
        let n = c.read(&mut buf).expect("a response");
        assert!(n > 0, "connection closed");
        data.extend_from_slice(&buf[..n]);
    }
    panic!("no complete response");
}

#[test]
fn the_soft_limit_is_raised_and_a_reserve_is_kept() {
    let (_server, addr, limit) = start(64, 160);
    assert_eq!(limit, 160, "the soft limit is raised to the hard one");

    let mut kept = TcpStream::connect(addr).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    assert!(get(&mut kept, "/healthz").starts_with("HTTP/1.1 200"));

    // More silent connections than the limit allows descriptors.
    let mut flood = Vec::new();
    for _ in 0..200 {
        flood.push(TcpStream::connect(addr).unwrap());
    }
    // The last ones are closed at once rather than left waiting in the backlog.
    let last = flood.last_mut().unwrap();
    last.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let t0 = Instant::now();
    let mut byte = [0u8; 1];
    match last.read(&mut byte) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected a close, got {other:?} after {:?}", t0.elapsed()),
    }

    // The connection made before the flood still works, and /metrics says why.
    assert!(get(&mut kept, "/healthz").starts_with("HTTP/1.1 200"));
    let metrics = get(&mut kept, "/metrics");
    let refused = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("confab_http_connections_refused_total{reason=\"descriptors\"} ")
        })
        .and_then(|n| n.trim().parse::<u64>().ok());
    assert!(refused.is_some_and(|n| n > 0), "{metrics}");
}
