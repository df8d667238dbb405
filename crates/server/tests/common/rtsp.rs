//! An RTSP camera for tests: GStreamer's RTSP server from Debian (`tests/rtsp/server.py`,
//! gir1.2-gst-rtsp-server-1.0 with python3-gi) on loopback, started and killed by PID,
//! and the `[[camera]]` table that pulls it into room `yard` as "Yard cam".

use confab_server::config::Cameras;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const PYTHON: &str = "/usr/bin/python3";
const SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rtsp/server.py");

/// Whether Debian's Python can load GStreamer's RTSP server and x264 (see
/// [`super::process::interop`]).
pub fn have_gstreamer() -> bool {
    let probe = "import gi; gi.require_version('GstRtspServer', '1.0'); \
                 from gi.repository import Gst, GstRtspServer; Gst.init(None); \
                 assert Gst.ElementFactory.find('x264enc')";
    let ok = std::process::Command::new(PYTHON)
        .args(["-c", probe])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let what = "GStreamer's RTSP server with x264enc";
    super::process::interop(ok, what, "scripts/install-test-deps.sh")
}

/// Starts the RTSP server on `port` (H.264 320x240 at 30 fps, a 4 s group of pictures,
/// PCMU) and waits for it to listen.
pub async fn rtsp_server(port: u16) -> Child {
    rtsp_server_of(port, "h264").await
}

/// The same, its video in `codec` (`h264` or `h265`).
pub async fn rtsp_server_of(port: u16, codec: &str) -> Child {
    let mut child = Command::new(PYTHON)
        .args([
            SERVER,
            &port.to_string(),
            "viewer",
            "s3cret",
            "--codec",
            codec,
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the RTSP server starts");
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("the RTSP server says ready")
        .unwrap();
    assert_eq!(line.as_deref(), Some("ready"));
    child
}

/// Kills the RTSP server we started (by its PID) and reaps it.
pub async fn kill(mut child: Child) {
    let pid = child.id().expect("running");
    child.start_kill().unwrap();
    let _ = child.wait().await;
    eprintln!("killed the RTSP server (pid {pid})");
}

/// The `[[camera]]` "Yard cam" in room `yard`, pulling the server on `port`.
pub fn cameras(port: u16) -> Cameras {
    let text = format!(
        "[[camera]]\nname = \"Yard cam\"\nurl = \"rtsp://viewer:s3cret@127.0.0.1:{port}/cam\"\nroom = \"yard\"\n"
    );
    Cameras::from_file(Some(&toml::from_str(&text).unwrap())).unwrap()
}
