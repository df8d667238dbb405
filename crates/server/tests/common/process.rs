//! The `confab` binary as a child process (for what only a process has: signals, its own
//! logs), third-party tools found or skipped, and children stopped by PID when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Whether `program` runs (see [`interop`]).
pub fn have_tool(program: &str, arg: &str, install: &str) -> bool {
    let ok = Command::new(program)
        .arg(arg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    interop(ok, program, install)
}

/// The rule for a test that needs a third-party tool (`what`, found or not: `ok`): when
/// it is missing, a loud skip note, or a failure when `CONFAB_REQUIRE_INTEROP=1` (the
/// test script sets it). Returns `ok`.
pub fn interop(ok: bool, what: &str, install: &str) -> bool {
    if !ok {
        assert!(
            std::env::var("CONFAB_REQUIRE_INTEROP").as_deref() != Ok("1"),
            "{what} is required ({install})"
        );
        eprintln!("!!! SKIPPED: {what} is not installed ({install})");
    }
    ok
}

/// A free loopback TCP port (free when asked; tests bind it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A child process killed (by its PID) and reaped when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running `confab serve` with JSON logs; stopped by PID when dropped.
pub struct Confab {
    pub child: ChildGuard,
    /// The HTTPS address it logged.
    pub addr: SocketAddr,
    /// Its log lines, as they come.
    pub logs: mpsc::Receiver<serde_json::Value>,
}

impl Confab {
    /// Starts `confab serve` on 127.0.0.1 (ephemeral HTTPS port unless `args` says
    /// `--listen`) with `data_dir` and `args`, without TURN, the chat store or a public
    /// SFU port unless `args` asks; waits until it logs `serving`.
    pub fn start<S: AsRef<str> + AsRef<std::ffi::OsStr>>(data_dir: &Path, args: &[S]) -> Confab {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_confab"));
        cmd.arg("serve");
        fn arg<S: AsRef<str>>(a: &S) -> &str {
            a.as_ref()
        }
        if !args.iter().any(|a| arg(a) == "--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        if !args.iter().any(|a| arg(a).starts_with("--turn")) {
            cmd.arg("--no-turn");
        }
        let mut child = cmd
            .args(["--sfu-listen", "127.0.0.1:0", "--chat-retention-days", "0"])
            .args(["--log-format", "json", "--log", "info"])
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run confab");
        let stderr = child.stderr.take().unwrap();
        let child = ChildGuard(child);
        let (tx, logs) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("confab: {line}");
                let v = serde_json::from_str(&line).unwrap_or(serde_json::Value::String(line));
                if tx.send(v).is_err() {
                    // Keep draining so the child never blocks on a full pipe.
                    continue;
                }
            }
        });
        let mut confab = Confab {
            child,
            addr: "0.0.0.0:0".parse().unwrap(),
            logs,
        };
        let serving = confab.wait_log(Duration::from_secs(20), |v| v["message"] == "serving");
        confab.addr = serving["listen"].as_str().unwrap().parse().unwrap();
        confab
    }

    /// The first log line (from now on) that `pred` accepts; panics after `limit`.
    pub fn wait_log(
        &mut self,
        limit: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.logs.recv_timeout(left) {
                Ok(v) if pred(&v) => return v,
                Ok(_) => continue,
                Err(_) => panic!("confab did not log what was expected within {limit:?}"),
            }
        }
    }

    /// Sends the child SIGHUP.
    pub fn hangup(&self) {
        let ok = Command::new("kill")
            .args(["-HUP", &self.child.0.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -HUP");
    }
}

/// A directory of the test's own under the temp dir, empty, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("confab-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// ffprobe's streams and format of `path`, as JSON (ffprobe must read it).
pub fn ffprobe(path: &Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The duration in seconds an ffprobe report gives its file (`format.duration`).
pub fn probed_seconds(probe: &serde_json::Value) -> f64 {
    probe["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("no duration in {probe}"))
}
