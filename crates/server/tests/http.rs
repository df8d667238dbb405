//! HTTP routes: the web app, room links, the ICE server API, health.

mod common;
use common::TestServer;
use confab_proto::IceServer;

#[tokio::test]
async fn serves_the_app_room_links_api_and_health() {
    let s = TestServer::start_with(|c| {
        c.hub.ice_servers.0 = vec![IceServer {
            urls: vec!["stun:stun.example.org:3478".into()],
            username: None,
            credential: None,
        }]
    })
    .await;
    let (st, head, body) = s.get("/").await;
    assert_eq!(st, 200);
    assert!(head.to_lowercase().contains("content-type: text/html"));
    assert!(head
        .to_lowercase()
        .contains("x-content-type-options: nosniff"));
    assert!(body.contains("<html") || body.contains("<!doctype") || body.contains("<!DOCTYPE"));
    let (st, _, room_body) = s.get("/r/standup-42").await;
    assert_eq!(st, 200);
    assert_eq!(room_body, body, "a room link serves the app");
    assert_eq!(s.get("/r/bad%20room").await.0, 404);
    let (st, _, unicode) = s.get("/r/%E4%BC%9A%E8%AE%AE%E5%AE%A4").await;
    assert_eq!(
        (st, &unicode),
        (200, &body),
        "会议室: a room name in any script"
    );
    let (st, _, check) = s.get("/check").await;
    assert_eq!(st, 200);
    assert!(
        check.contains("js/check/page.js"),
        "the connection check page"
    );
    // A recording's replay page is served for any link (it is no secret: it says in
    // words when the server refuses the link's recording, which a wrong link is).
    let (st, head, replay) = s.get("/replay/standup/1700000000000-1?exp=1&sig=00").await;
    assert_eq!(st, 200);
    assert!(replay.contains("js/replay/page.js"), "the replay page");
    assert!(head.to_lowercase().contains("content-security-policy"));
    let wrong = "/recordings/standup/1700000000000-1?exp=99999999999&sig=00";
    assert_eq!(s.get(wrong).await.0, 404);
    let (st, head, _) = s.get("/js/net/protocol.js").await;
    assert_eq!(st, 200);
    assert!(head.to_lowercase().contains("javascript"), "{head}");
    assert_eq!(s.get("/nope.js").await.0, 404);
    assert_eq!(
        s.get("/test/protocol.test.js").await.0,
        404,
        "tests are not served"
    );
    let (st, _, body) = s.get("/api/ice-servers").await;
    assert_eq!(st, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["iceServers"][0]["urls"][0], "stun:stun.example.org:3478");
    assert_eq!(
        s.get("/healthz").await,
        (200, s.get("/healthz").await.1, "ok".into())
    );
}

#[tokio::test]
async fn welcome_carries_the_configured_ice_servers() {
    let s = TestServer::start_with(|c| {
        c.hub.ice_servers.0 = vec![IceServer {
            urls: vec!["stun:127.0.0.1:3478".into()],
            username: None,
            credential: None,
        }]
    })
    .await;
    let mut c = s.raw_client().await;
    let w = c
        .request(serde_json::json!({"type":"hello","version":1}))
        .await;
    assert_eq!(w["version"], 1);
    assert_eq!(w["iceServers"][0]["urls"][0], "stun:127.0.0.1:3478");
}
