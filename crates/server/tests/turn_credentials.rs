//! TURN credentials only for room members (issue 12 item 6), also under
//! `--require-token` (item 8): `welcome` and `GET /api/ice-servers` hand out none; a join
//! gets them in `iceServers` and they work on the built-in TURN server; they die with the
//! membership (its allocations freed at once), not with a dropped socket, whose place is
//! held for the resume grace; and allocations are capped per client address.

mod common;
mod turn_udp;

use common::{Client, TestServer, TURN_SECRET};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const KEY: &str = "join-token-key-0123456789abcdef-0123";

/// No entry of `msg["iceServers"]` has a credential or a `turn:`/`turns:` URL.
fn assert_no_turn(msg: &Value) {
    let servers = msg["iceServers"].as_array().expect("an iceServers list");
    for s in servers {
        assert!(s.get("credential").is_none(), "a credential in {msg}");
        assert!(s.get("username").is_none(), "a username in {msg}");
        let urls = s["urls"].as_array().unwrap();
        assert!(
            urls.iter()
                .all(|u| u.as_str().unwrap().starts_with("stun:")),
            "a TURN URL in {msg}"
        );
    }
}

/// The TURN username and credential in an `iceServers` message.
fn turn_credentials(msg: &Value) -> (String, String) {
    assert_eq!(msg["type"], "iceServers", "{msg}");
    let turn = msg["iceServers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["urls"][0].as_str().unwrap().starts_with("turn:"))
        .unwrap_or_else(|| panic!("no TURN entry in {msg}"));
    let field = |k: &str| turn[k].as_str().unwrap().to_owned();
    (field("username"), field("credential"))
}

/// Says hello, checks the welcome holds no TURN credentials, and checks the HTTP API
/// hands out none either.
async fn hello_without_turn(s: &TestServer) -> Client {
    let mut c = s.raw_client().await;
    let w = c.request(json!({"type":"hello","version":1})).await;
    assert_eq!(w["type"], "welcome", "{w}");
    assert_no_turn(&w);
    let (status, _, body) = s.get("/api/ice-servers").await;
    assert_eq!(status, 200);
    assert_no_turn(&serde_json::from_str(&body).unwrap());
    c
}

/// Joins `room` (with `extra` fields); returns the TURN credentials that came first.
async fn join(c: &mut Client, room: &str, extra: Value) -> (String, String) {
    let mut msg = json!({"type":"join","room":room,"name":"Ada"});
    for (k, v) in extra.as_object().unwrap() {
        msg[k] = v.clone();
    }
    let creds = turn_credentials(&c.request(msg).await);
    assert_eq!(c.recv().await["type"], "joined");
    creds
}

/// Runs `f` on a blocking thread (the TURN client blocks).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// Allocates with `creds` on `turn`: the client, or the refusal's error code.
async fn allocate(turn: SocketAddr, creds: &(String, String)) -> Result<turn_udp::Client, u16> {
    let (user, pass) = creds.clone();
    blocking(move || turn_udp::Client::try_allocate(turn, &user, &pass, 0x7000)).await
}

/// Refreshes `alloc` until it gets `code` (within 3 s); returns the client and the last
/// code seen.
async fn refresh_until(mut alloc: turn_udp::Client, code: u16) -> (turn_udp::Client, u16) {
    let until = Instant::now() + Duration::from_secs(3);
    loop {
        let (a, got) = blocking(move || {
            let got = alloc.refresh();
            (alloc, got)
        })
        .await;
        alloc = a;
        if got == code || Instant::now() > until {
            return (alloc, got);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn metric(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turn_credentials_go_to_members_only_and_die_with_the_membership() {
    let s = TestServer::start_turn(|_| {}).await;
    let turn = s.turn_addr.unwrap();
    let mut c = hello_without_turn(&s).await;
    let creds = join(&mut c, "r", json!({})).await;
    let alloc = allocate(turn, &creds)
        .await
        .expect("a member's credentials work");
    let (alloc, code) = refresh_until(alloc, 0).await;
    assert_eq!(code, 0);

    // Leaving frees the allocation and kills the credentials, though unexpired.
    let left = c.request(json!({"type":"leave"})).await;
    assert_eq!(left["type"], "left", "{left}");
    let (_, code) = refresh_until(alloc, 401).await;
    assert_eq!(code, 401, "the allocation's credentials are revoked");
    assert_eq!(allocate(turn, &creds).await.err(), Some(401));
    let body = s.get("/metrics").await.2;
    assert_eq!(metric(&body, "confab_turn_allocations"), 0.0, "{body}");
    assert!(metric(&body, "confab_turn_refusals_total{reason=\"revoked\"}") >= 2.0);

    // Joining again is a new membership with new, working credentials.
    let again = join(&mut c, "r", json!({})).await;
    assert_ne!(again.0, creds.0);
    assert!(allocate(turn, &again).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_member_keeps_its_allocation_for_the_grace_only() {
    let s = TestServer::start_with(|c| {
        c.turn = common::turn_settings();
        c.hub.resume_grace = Duration::from_secs(1).into();
    })
    .await;
    let turn = s.turn_addr.unwrap();
    let mut c = hello_without_turn(&s).await;
    let creds = join(&mut c, "r", json!({})).await;
    let alloc = allocate(turn, &creds).await.unwrap();
    drop(c); // the socket drops without a close frame: the place is held
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (alloc, code) = refresh_until(alloc, 0).await;
    assert_eq!(code, 0, "held for a resume: the call may go on");
    let (_, code) = refresh_until(alloc, 401).await;
    assert_eq!(code, 401, "the grace ended: the member left for good");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_token_hands_turn_credentials_to_token_holders_only() {
    let s = TestServer::start_with(|c| {
        c.turn = common::turn_settings();
        c.auth.token_key = Some(KEY.into());
        c.auth.require_token = true;
    })
    .await;
    let turn = s.turn_addr.unwrap();
    let mut c = hello_without_turn(&s).await;
    // Without a valid token: refused, and nothing else comes (no credentials).
    for extra in [json!({}), json!({"token": "not.a.token"})] {
        let mut msg = json!({"type":"join","id":1,"room":"r","name":"Ada"});
        for (k, v) in extra.as_object().unwrap() {
            msg[k] = v.clone();
        }
        let r = c.request(msg).await;
        assert_eq!(r["type"], "error", "{r}");
        c.expect_silence(200).await;
    }
    let now = confab_server::unix_now();
    let claims = confab_server::auth::token::Claims {
        room: "r".into(),
        name: "Ada".into(),
        role: confab_server::auth::token::Role::Guest,
        exp: now + 600,
        iat: Some(now),
        nbf: None,
        sub: None,
        iss: None,
        aud: None,
    };
    let token = confab_server::auth::token::mint(KEY, &claims);
    let creds = join(&mut c, "r", json!({ "token": token })).await;
    assert!(allocate(turn, &creds).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocations_are_capped_per_client_address() {
    let s = TestServer::start_turn(|t| t.ip_quota = 2).await;
    let turn = s.turn_addr.unwrap();
    let results = blocking(move || {
        (0..3)
            .map(|i| {
                let (user, pass) = turn_udp::rest_credentials(TURN_SECRET, &format!("u{i}"));
                turn_udp::Client::try_allocate(turn, &user, &pass, 0x100 * (i + 1))
                    .map(|_| ())
                    .err()
            })
            .collect::<Vec<_>>()
    })
    .await;
    assert_eq!(results, [None, None, Some(486)], "three users, one address");
    let body = s.get("/metrics").await.2;
    assert_eq!(
        metric(&body, "confab_turn_refusals_total{reason=\"ip_quota\"}"),
        1.0
    );
}
