//! WHIP ingest over real HTTP: refusals in words with the right status (no token, a
//! guest token, a bad one, not SDP, no SFU), CORS and `OPTIONS`; a host token's offer
//! answered with `201`, `Location`, `ETag` and the SFU's SDP, the stream a member of the
//! room (on stage in the broadcast), and `DELETE` taking it out again.

mod common;
use common::{Client, TestServer};
use confab_server::auth::token::Role;
use confab_server::config::MediaArg;
use serde_json::Value;
use str0m::media::{Direction, MediaKind};
use str0m::{Candidate, Rtc};

const KEY: &str = "whip-token-key-0123456789abcdef-0123";

fn token(room: &str, name: &str, role: Role) -> String {
    common::join_token(KEY, room, name, role)
}

/// An encoder's offer: audio and video to send.
fn offer() -> String {
    let mut rtc = Rtc::new(std::time::Instant::now());
    rtc.add_local_candidate(Candidate::host("127.0.0.1:5004".parse().unwrap(), "udp").unwrap());
    let mut change = rtc.sdp_api();
    change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let (offer, _) = change.apply().unwrap();
    offer.to_sdp_string()
}

async fn whip_server() -> TestServer {
    TestServer::start_with(|c| c.auth.token_key = Some(KEY.into())).await
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The next message of `type` (others skipped).
async fn next(c: &mut Client, kind: &str) -> Value {
    loop {
        let m = c.recv().await;
        if m["type"] == kind {
            return m;
        }
    }
}

/// `POST path` of an offer as `application/sdp`, with `token` as the Bearer token.
async fn post(s: &TestServer, path: &str, token: Option<&str>) -> (u16, String, String) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/sdp")];
    if let Some(b) = &bearer {
        headers.push(("Authorization", b.as_str()));
    }
    s.request("POST", path, &headers, &offer()).await
}

#[tokio::test]
async fn whip_requests_are_refused_in_words() {
    let s = whip_server().await;
    let host = token("r", "Cam", Role::Host);

    let (status, head, _) = s.request("OPTIONS", "/whip/r", &[], "").await;
    assert_eq!(status, 204);
    assert_eq!(header(&head, "accept-post"), Some("application/sdp"));
    assert_eq!(header(&head, "access-control-allow-origin"), Some("*"));

    let (status, head, body) = post(&s, "/whip/r", None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(header(&head, "www-authenticate"), Some("Bearer"));
    assert!(body.contains("join token"), "{body}");

    let bearer = format!("Bearer {host}");
    let text = [
        ("Content-Type", "text/plain"),
        ("Authorization", bearer.as_str()),
    ];
    let (status, _, body) = s.request("POST", "/whip/r", &text, &offer()).await;
    assert_eq!(status, 415, "{body}");

    let (status, _, body) = post(&s, "/whip/r", Some(&token("r", "Guest", Role::Guest))).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("host token"), "{body}");

    let elsewhere = token("elsewhere", "Cam", Role::Host);
    let (status, _, body) = post(&s, "/whip/r", Some(&elsewhere)).await;
    assert_eq!(status, 401, "{body}");

    let (status, _, _) = s.request("DELETE", "/whip/r/0123", &[], "").await;
    assert_eq!(status, 404);
    let frag = [("Content-Type", "application/trickle-ice-sdpfrag")];
    let (status, _, _) = s
        .request("PATCH", "/whip/r/0123", &frag, "a=end-of-candidates\r\n")
        .await;
    assert_eq!(status, 404);

    // A server without the SFU takes no streams.
    let mesh = TestServer::start_with(|c| {
        c.auth.token_key = Some(KEY.into());
        c.sfu.media = MediaArg::Mesh;
    })
    .await;
    let (status, _, body) = post(&mesh, "/whip/r", Some(&host)).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("media router"), "{body}");
}

#[tokio::test]
async fn a_whip_stream_broadcasts_into_the_room_until_delete() {
    let s = whip_server().await;
    // A browser is in the room already (it hosts the open room until the token comes).
    // The room is named in Chinese: its URLs carry the name percent-encoded.
    let (mut watcher, _) = s.joined("课堂", "Watcher").await;

    let bearer = format!("Bearer {}", token("课堂", "Camera 1", Role::Host));
    let headers = [
        ("Content-Type", "application/sdp"),
        ("Authorization", bearer.as_str()),
    ];
    let path = "/whip/%E8%AF%BE%E5%A0%82";
    let (status, head, body) = s.request("POST", path, &headers, &offer()).await;
    assert_eq!(status, 201, "{head}\n{body}");
    assert_eq!(header(&head, "content-type"), Some("application/sdp"));
    assert!(body.starts_with("v=0"), "{body}");
    let location = header(&head, "location").expect("Location").to_owned();
    let id = location
        .strip_prefix(&format!("{path}/"))
        .expect("the session URL");
    assert_eq!(id.len(), 32);
    assert_eq!(header(&head, "etag"), Some(format!("\"{id}\"").as_str()));

    // The room sees the stream come in as a host and start the broadcast.
    let joined = next(&mut watcher, "peerJoined").await;
    assert_eq!(joined["peer"]["name"], "Camera 1");
    assert_eq!(joined["peer"]["role"], "host");
    let cam = joined["peer"]["id"].as_str().unwrap().to_owned();
    let started = next(&mut watcher, "broadcast").await;
    assert_eq!(
        (&started["on"], started["by"].as_str()),
        (&Value::Bool(true), Some(cam.as_str()))
    );

    // Trickled candidates are taken (and not needed); DELETE ends it.
    let frag = [("Content-Type", "application/trickle-ice-sdpfrag")];
    let (status, _, _) = s
        .request("PATCH", &location, &frag, "a=end-of-candidates\r\n")
        .await;
    assert_eq!(status, 204);
    let (status, _, _) = s.request("DELETE", &location, &[], "").await;
    assert_eq!(status, 200);
    let left = next(&mut watcher, "peerLeft").await;
    assert_eq!(left["peerId"], cam.as_str());
    assert_eq!(left["reason"], "left");
    let (status, _, _) = s.request("DELETE", &location, &[], "").await;
    assert_eq!(status, 404, "a session ends once");
}
