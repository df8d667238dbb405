//! Interop with coturn's own clients (Debian `coturn`): turnutils_stunclient,
//! turnutils_uclient and turnutils_peer against confab's built-in STUN/TURN, all on
//! loopback. Skipped with a loud note when coturn is not installed, unless
//! CONFAB_REQUIRE_INTEROP=1 (the test script sets it), where that is a failure.

mod common;
use common::{TestServer, TURN_SECRET};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

fn have_coturn() -> bool {
    common::process::have_tool("turnutils_uclient", "-h", "apt-get install coturn")
}

/// Runs a command with a hard time limit; returns (exit code, stdout + stderr).
async fn run(cmd: &mut Command, limit: Duration) -> (i32, String) {
    let out = tokio::time::timeout(limit, cmd.kill_on_drop(true).output())
        .await
        .expect("command timed out")
        .expect("command runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// A turnutils_peer echo server on a free loopback UDP port.
fn echo_peer() -> (Child, u16) {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("turnutils_peer")
        .args(["-L", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("turnutils_peer starts");
    (child, port)
}

/// Load figures parsed from turnutils_uclient's output.
#[derive(Debug)]
struct Load {
    sent: u64,
    received: u64,
    lost: u64,
}

fn parse_load(out: &str) -> Option<Load> {
    let num_after = |key: &str| -> Option<u64> {
        let i = out.rfind(key)? + key.len();
        out[i..]
            .trim_start_matches(|c: char| c == '=' || c == ':' || c.is_whitespace())
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    Some(Load {
        sent: num_after("tot_send_msgs")?,
        received: num_after("tot_recv_msgs")?,
        lost: num_after("Total lost packets")?,
    })
}

/// Runs uclient through `s` to an echo peer with REST credentials from `secret`.
async fn uclient(s: &TurnTarget, secret: &str, extra: &[&str]) -> (i32, String) {
    let (_peer, peer_port) = echo_peer();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut cmd = Command::new("turnutils_uclient");
    cmd.args(extra)
        .args(["-W", secret, "-u", "interop"])
        .args(["-e", "127.0.0.1", "-r", &peer_port.to_string()])
        .args(["-p", &s.port.to_string(), "127.0.0.1"]);
    run(&mut cmd, Duration::from_secs(90)).await
}

struct TurnTarget {
    port: u16,
    _server: TestServer,
}

async fn target(allow_loopback: bool) -> TurnTarget {
    let server = TestServer::start_turn(|t| {
        // uclient runs many allocations under one user name, from one address.
        t.user_quota = 1000;
        t.ip_quota = 1000;
        if !allow_loopback {
            t.allow_peer.clear();
        }
    })
    .await;
    TurnTarget {
        port: server.turn_addr.unwrap().port(),
        _server: server,
    }
}

fn assert_no_loss(label: &str, code: i32, out: &str) {
    assert_eq!(code, 0, "{label}: uclient failed:\n{out}");
    let load = parse_load(out).unwrap_or_else(|| panic!("{label}: no totals in:\n{out}"));
    eprintln!("{label}: {load:?}");
    assert!(load.sent > 0, "{label}: sent nothing: {load:?}");
    assert_eq!(load.lost, 0, "{label}: lost packets: {load:?}\n{out}");
    assert_eq!(load.received, load.sent, "{label}: {load:?}");
}

#[tokio::test]
async fn stunclient_reports_the_reflexive_address() {
    if !have_coturn() {
        return;
    }
    let t = target(true).await;
    let (code, out) = run(
        Command::new("turnutils_stunclient").args(["-p", &t.port.to_string(), "127.0.0.1"]),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("UDP reflexive addr"))
        .unwrap_or_else(|| panic!("no reflexive address in:\n{out}"));
    assert!(line.contains("127.0.0.1:"), "{line}");
}

// Moderate load: 10 clients x 200 messages of 120 bytes, one every 5 ms each.
const LOAD: [&str; 8] = ["-m", "10", "-n", "200", "-l", "120", "-z", "5"];

/// Runs the moderate load with `flags` (always no RTCP, `-c`) and asserts 0 % loss.
async fn no_loss_with(label: &str, flags: &[&str]) {
    if !have_coturn() {
        return;
    }
    let t = target(true).await;
    let (code, out) = uclient(&t, TURN_SECRET, &[&LOAD[..], &["-c"], flags].concat()).await;
    assert_no_loss(label, code, &out);
}

#[tokio::test]
async fn uclient_udp_with_channels_has_no_loss() {
    no_loss_with("udp channels", &[]).await;
}

#[tokio::test]
async fn uclient_udp_with_send_indications_has_no_loss() {
    no_loss_with("udp send indications", &["-s"]).await;
}

#[tokio::test]
async fn uclient_tcp_with_channels_has_no_loss() {
    no_loss_with("tcp channels", &["-t"]).await;
}

#[tokio::test]
async fn uclient_tcp_with_send_indications_has_no_loss() {
    no_loss_with("tcp send indications", &["-t", "-s"]).await;
}

#[tokio::test]
async fn a_wrong_secret_gets_no_allocation() {
    if !have_coturn() {
        return;
    }
    let t = target(true).await;
    let (code, out) = uclient(&t, "not-the-secret-at-all", &["-n", "5", "-c"]).await;
    assert_ne!(code, 0, "allocation with a wrong secret must fail:\n{out}");
    let load = parse_load(&out);
    assert!(load.is_none_or(|l| l.received == 0), "{out}");
}

#[tokio::test]
async fn a_loopback_peer_is_unreachable_without_the_allow_flag() {
    if !have_coturn() {
        return;
    }
    let t = target(false).await;
    let (_, out) = uclient(&t, TURN_SECRET, &["-n", "20", "-z", "5", "-c"]).await;
    // uclient exits non-zero (403 on CreatePermission/ChannelBind) or reports 100% loss.
    let load = parse_load(&out);
    assert!(
        load.is_none_or(|l| l.received == 0),
        "relayed to a denied loopback peer:\n{out}"
    );
}

/// Issue 12 item 1 with coturn's own client: `-y` makes each client pair send to each
/// other's relayed address. With the default peer policy (the server's own address
/// denied), that only works because confab hands such traffic over in-process.
async fn client_to_client(label: &str, flags: &[&str]) {
    if !have_coturn() {
        return;
    }
    let t = target(false).await;
    let mut cmd = Command::new("turnutils_uclient");
    cmd.args(["-y", "-m", "4", "-n", "100", "-l", "120", "-z", "5", "-c"])
        .args(flags)
        .args(["-W", TURN_SECRET, "-u", "interop"])
        .args(["-p", &t.port.to_string(), "127.0.0.1"]);
    let (code, out) = run(&mut cmd, Duration::from_secs(90)).await;
    assert_no_loss(label, code, &out);
}

#[tokio::test]
async fn uclient_client_to_client_over_udp_needs_no_allow_flag() {
    client_to_client("udp client to client", &[]).await;
}

#[tokio::test]
async fn uclient_client_to_client_over_tcp_needs_no_allow_flag() {
    client_to_client("tcp client to client", &["-t"]).await;
}
