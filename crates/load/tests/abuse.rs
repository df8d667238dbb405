//! `confab-abuse` against a real in-process confab (TURN on loopback, a password room)
//! for a few seconds: every attack runs and meets the limit meant for it, no relay
//! victim is dropped, and `confab-load --password` joins the guessed room meanwhile
//! (as before the attacks).
//! Keeps the soak benchmark's tools from rotting (`bench/soak.sh` runs them at scale).

mod common;

use clap::Parser;
use confab_load::abuse::{self, AbuseOpts};
use confab_server::config::{Listen, RoomPasswords};
use tokio_util::sync::CancellationToken;

/// Starts confab with TURN on loopback and `load-0` behind `secret`; returns the ws URL
/// and the TURN address.
fn start() -> (String, std::net::SocketAddr, CancellationToken) {
    let mut config = common::config();
    config.sfu.media = confab_server::config::MediaArg::Mesh;
    config.turn.listen = "127.0.0.1:0".parse().unwrap();
    config.turn.tls_listen = Listen::Off;
    config.turn.relay_ports = "41000-41999".parse().unwrap();
    let room = confab_proto::RoomId::parse("load-0").unwrap();
    let hash = confab_server::auth::password::hash("secret");
    config.auth.room_passwords = vec![RoomPasswords(vec![(room, hash)])];
    let (url, turn, shutdown) = common::serve(config);
    (url, turn.expect("TURN runs"), shutdown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attack_runs_and_meets_its_limit() {
    let (url, turn, shutdown) = start();
    let turn = turn.to_string();
    let opts = AbuseOpts::parse_from([
        "confab-abuse",
        "--url",
        &url,
        "--turn",
        &turn,
        "--duration",
        "4",
        "--guessers",
        "4",
        "--idle",
        "10",
        "--slow-readers",
        "1",
        "--ghosts-per-s",
        "5",
        "--flooders",
        "2",
        "--turn-rate",
        "50",
        "--relayers",
        "1",
    ]);
    let load = confab_load::Opts::parse_from([
        "confab-load",
        "--url",
        &url,
        "--clients",
        "3",
        "--room-size",
        "3",
        "--duration",
        "1",
        "--warmup",
        "0",
        "--settle",
        "0",
        "--rate",
        "30",
        "--password",
        "secret",
    ]);
    // Quiet first (as bench/soak.sh runs), then the same while every attack runs.
    let quiet = confab_load::run(&load).await.unwrap();
    assert!(quiet.ok(), "{quiet}");
    let attack = tokio::spawn(async move { abuse::run(&opts).await.unwrap() });
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let legit = confab_load::run(&load).await.unwrap();
    let r = attack.await.unwrap();
    shutdown.cancel();
    println!("{r}\n{legit}");
    assert!(legit.ok(), "{legit}");
    assert!(legit.delivered > 0, "{legit}");
    assert_eq!(r.get("guess", "JOINED"), 0, "{r}");
    assert!(r.get("guess", "BadPassword") > 0, "{r}");
    assert!(r.get("guess", "RateLimited") > 0, "per address: {r}");
    assert!(r.get("ghost", "vanished") > 0, "{r}");
    assert!(r.get("flood", "stored") > 0, "{r}");
    assert!(r.get("flood", "RateLimited") > 0, "{r}");
    assert!(r.get("slow_reader", "connected") > 0, "{r}");
    assert!(r.total("idle_http") > 0 && r.total("idle_turn") > 0, "{r}");
    assert!(r.get("turn", "error_reply") > 0, "401s: {r}");
    assert!(
        r.get("relay", "RateLimited") > 0,
        "the sender is limited: {r}"
    );
    assert_eq!(r.get("relay", "victim_alive"), 1, "{r}");
    assert!(r.held(), "{r}");
}
