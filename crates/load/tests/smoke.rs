//! The load tool against a real in-process confab server for about a second: everything
//! arrives exactly once and in order, and a server that refuses messages is caught.

mod common;

use clap::Parser;
use confab_load::{run, Opts};
use confab_server::config::Config;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Starts confab on 127.0.0.1 (port 0) with `tweak` applied; returns its ws URL.
fn start(tweak: impl FnOnce(&mut Config)) -> (String, CancellationToken) {
    let mut config = common::config();
    config.turn.no_turn = true;
    // Signaling only: no SFU (its default port would be shared by tests side by side).
    config.sfu.media = confab_server::config::MediaArg::Mesh;
    // No per-connection message rate limit: this test is about the load tool.
    config.ws.msg_rate = 0;
    tweak(&mut config);
    let (url, _, shutdown) = common::serve(config);
    (url, shutdown)
}

fn opts(url: &str, extra: &[&str]) -> Opts {
    let mut args = vec![
        "confab-load",
        "--url",
        url,
        "--clients",
        "24",
        "--room-size",
        "5",
        "--duration",
        "1",
        "--warmup",
        "0",
        "--settle",
        "0",
        "--drain-timeout",
        "5",
        "--connect-timeout",
        "10",
        "--server-pid",
    ];
    let pid = std::process::id().to_string();
    args.push(&pid);
    args.extend_from_slice(extra);
    Opts::parse_from(args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_rate_run_delivers_everything_exactly_once_in_order() {
    let (url, shutdown) = start(|c| {
        c.hub.chat_burst = 1_000_000;
        c.hub.chat_refill = Duration::from_millis(1).into();
        c.hub.chat_ip_burst = 1_000_000;
        c.hub.chat_ip_refill = Duration::from_millis(1).into();
        c.hub.chat_room_burst = 1_000_000;
        c.hub.chat_room_refill = Duration::from_millis(1).into();
        c.hub.relay_rate_bytes = 0;
    });
    let r = run(&opts(&url, &["--relay-ratio", "0.5"])).await.unwrap();
    shutdown.cancel();
    assert!(r.ok(), "{r}");
    assert_eq!(r.connected, 24);
    assert!(r.sent_chats > 50, "{r}");
    assert_eq!(r.delivered, r.expected, "{r}");
    // 24 clients in rooms of 5,5,5,5,4: chat streams from each member (self included)
    // plus offer streams from each other member.
    assert_eq!(r.verdict.streams, 4 * 5 * (5 + 4) + 4 * (4 + 3));
    assert!(r.verdict.tally.received > 200, "{r}");
    assert!(r.latency_ms(0.99).is_some());
    assert!(r.rss_per_conn_kib().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_run_keeps_its_rate_and_checks_out() {
    let (url, shutdown) = start(|c| {
        c.hub.chat_burst = 1_000_000;
        c.hub.chat_refill = Duration::from_millis(1).into();
        c.hub.chat_ip_burst = 1_000_000;
        c.hub.chat_ip_refill = Duration::from_millis(1).into();
        c.hub.chat_room_burst = 1_000_000;
        c.hub.chat_room_refill = Duration::from_millis(1).into();
        c.hub.relay_rate_bytes = 0;
    });
    let r = run(&opts(&url, &["--rate", "1000"])).await.unwrap();
    shutdown.cancel();
    assert!(r.ok(), "{r}");
    // 1000 deliveries/s in rooms of 5 (+0.25 offers): about 190 chats in a second.
    assert!((120..=260).contains(&r.sent_chats), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_messages_fail_the_run() {
    // The default chat limit (10 in a burst, then 1/s) refuses most of a max-rate run:
    // the refusals are reported and the run is not OK.
    let (url, shutdown) = start(|_| {});
    let mut o = opts(&url, &[]);
    o.drain_timeout = 1.0; // the refused messages never come
    let r = run(&o).await.unwrap();
    shutdown.cancel();
    assert!(!r.ok(), "{r}");
    assert!(r.errors.get("RateLimited").copied().unwrap_or(0) > 0, "{r}");
}
