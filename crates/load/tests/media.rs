//! The media mode against a real in-process confab SFU for a couple of seconds: every
//! receiver gets every source's video, packets are forwarded and loss is measured from
//! sequence numbers; and the tool refuses to bind outside loopback on a host network.

mod common;

use clap::Parser;
use confab_load::media::{run, MediaOpts};
use confab_server::config::MediaArg;
use tokio_util::sync::CancellationToken;

/// Starts confab with every call on its SFU, all on 127.0.0.1 (port 0); its ws URL.
fn start() -> (String, CancellationToken) {
    let mut config = common::config();
    config.turn.no_turn = true;
    config.sfu.media = MediaArg::Sfu;
    config.sfu.listen = "127.0.0.1:0".parse().unwrap();
    let (url, _, shutdown) = common::serve(config);
    (url, shutdown)
}

fn opts(url: &str, shape: &str, size: &str) -> MediaOpts {
    let pid = std::process::id().to_string();
    MediaOpts::parse_from([
        "confab-media",
        "--server",
        "confab",
        "--url",
        url,
        "--shape",
        shape,
        "--size",
        size,
        "--duration",
        "2",
        "--warmup",
        "0.5",
        "--setup-timeout",
        "20",
        // The server runs in this process: its CPU time is ours too.
        "--server-pid",
        &pid,
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_reaches_both_receivers_and_loss_is_measured() {
    let (url, shutdown) = start();
    let r = run(&opts(&url, "broadcast", "2")).await.unwrap();
    shutdown.cancel();
    assert!(r.ready, "{r}");
    assert!(r.errors.is_empty(), "{r}");
    assert_eq!((r.publishers, r.receivers), (1, 2));
    assert_eq!((r.video_tracks, r.video_tracks_expected), (2, 2), "{r}");
    // 110 packets/s for 2 s to each of two receivers.
    assert!(r.forwarded_packets > 200, "{r}");
    assert!(r.expected_packets >= r.forwarded_packets, "{r}");
    // Stamped frames (30/s) and audio packets (50/s) per receiver, counted end to end.
    assert!(r.stamped_expected > 250 && r.stamped_received > 250, "{r}");
    assert!(r.loss_pct() < 5.0 && r.rtp_loss_pct() < 5.0, "{r}");
    assert!(
        r.frames_received > 50 && r.frame_delivery_pct() > 90.0,
        "{r}"
    );
    assert!(
        r.server_cpu_secs.is_some() && r.cpu_us_per_packet().is_some(),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_forwards_every_publisher_to_every_other() {
    let (url, shutdown) = start();
    let r = run(&opts(&url, "meeting", "3")).await.unwrap();
    shutdown.cancel();
    assert!(r.ready, "{r}");
    assert!(r.errors.is_empty(), "{r}");
    assert_eq!((r.publishers, r.receivers), (3, 3));
    // Each of three receives the other two's video and audio.
    assert_eq!((r.video_tracks, r.audio_tracks), (6, 6), "{r}");
    assert!(r.forwarded_packets > 600, "{r}");
    assert!(r.loss_pct() < 5.0, "{r}");
}

#[test]
fn peers_bind_loopback_unless_the_namespace_has_no_way_out() {
    let mut o = MediaOpts::parse_from(["confab-media", "--bind-ip", "127.0.0.2"]);
    assert!(o.check().is_ok());
    o.bind_ip = "10.77.0.2".parse().unwrap();
    // A test host has a default route; bench/media.sh's namespace has none.
    let has_default = std::fs::read_to_string("/proc/net/route")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some("00000000"));
    if has_default {
        let e = o.check().unwrap_err().to_string();
        assert!(e.contains("not loopback"), "{e}");
    }
}
