//! Dropped connections held for a resume ("ghosts") do not fill the server: with room for
//! two connections, two vanished clients leave room for two live ones, and `/metrics`
//! shows the ghosts apart from the connections.

mod common;

use common::TestServer;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn vanished_clients_do_not_make_server_full() {
    let s = TestServer::start_with(|c| {
        c.hub.resume_grace = Duration::from_secs(30).into();
        c.hub.max_connections = 2;
    })
    .await;
    let (a, _) = s.joined("r", "Ada").await;
    let (b, _) = s.joined("r", "Grace").await;
    drop(a); // no close frame: held for a resume
    drop(b);
    // Two live clients still get in (the hub counts the ghosts apart).
    let mut live = Vec::new();
    for _ in 0..2 {
        let mut c = s.raw_client().await;
        let mut w = c.request(json!({"type":"hello","version":1})).await;
        for _ in 0..20 {
            if w["type"] == "welcome" {
                break;
            }
            // The drops may not have reached the hub yet: try again shortly.
            assert_eq!(w["code"], "server_full", "{w}");
            tokio::time::sleep(Duration::from_millis(50)).await;
            c = s.raw_client().await;
            w = c.request(json!({"type":"hello","version":1})).await;
        }
        assert_eq!(w["type"], "welcome", "{w}");
        live.push(c);
    }
    let (_, _, body) = s.get("/metrics").await;
    let line = |name: &str| {
        body.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing: {body}"))
            .to_owned()
    };
    assert_eq!(
        line("confab_detached_connections"),
        "confab_detached_connections 2"
    );
    assert_eq!(line("confab_connections"), "confab_connections 2");
}
