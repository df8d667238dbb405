//! At `--log trace` nothing logs a secret or what people said: not the room password,
//! the join token, the resume token, TURN credentials or chat text, in clear or as the
//! hex dumps of WebSocket frames some libraries write at `trace`.

mod common;
use common::TestServer;
use confab_proto::RoomId;
use confab_server::auth::password;
use confab_server::auth::token::{mint, Claims, Role};
use confab_server::config::RoomPasswords;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

const KEY: &str = "join-token-key-0123456789abcdef-0123";
const PASSWORD: &str = "correct horse battery";
const CHAT: &str = "the plan is xyzzy-plugh";

/// Log lines, collected in memory.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buf {
    type Writer = Buf;
    fn make_writer(&'a self) -> Buf {
        self.clone()
    }
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Every `credential` in the ICE servers of `welcome` or `iceServers`.
fn credentials(msg: &Value) -> Vec<String> {
    msg["iceServers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["credential"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn nothing_secret_reaches_the_log_at_trace() {
    let buf = Buf::default();
    confab_server::logging::init(EnvFilter::new("trace"), false, buf.clone()).unwrap();
    let hash = password::hash(PASSWORD);
    let s = TestServer::start_with(|c| {
        c.auth.token_key = Some(KEY.into());
        c.auth.room_passwords = vec![RoomPasswords(vec![(RoomId::parse("board").unwrap(), hash)])];
        c.hub.resume_grace = Duration::from_secs(30).into();
        c.turn.no_turn = false;
        c.turn.listen = "127.0.0.1:0".parse().unwrap();
        c.turn.tls_listen = confab_server::config::Listen::Off;
        c.turn.relay_ports = "41000-41099".parse().unwrap();
        c.turn.secret = Some(common::TURN_SECRET.into());
    })
    .await;
    let now = confab_server::unix_now();
    let token = mint(
        KEY,
        &Claims {
            room: "standup".into(),
            name: "Grace".into(),
            role: Role::Guest,
            exp: now + 600,
            iat: Some(now),
            ..Claims::default()
        },
    );
    let mut secrets = vec![PASSWORD.to_owned(), token.clone(), CHAT.to_owned()];

    let mut ada = s.raw_client().await;
    let w = ada.request(json!({"type":"hello","version":1})).await;
    secrets.extend(w["resumeToken"].as_str().map(str::to_owned));
    secrets.extend(credentials(&w));
    let ice = ada
        .request(json!({"type":"join","room":"board","name":"Ada","password":PASSWORD}))
        .await;
    assert_eq!(ice["type"], "iceServers", "{ice}");
    let turn = credentials(&ice);
    assert_eq!(turn.len(), 1, "{ice}");
    secrets.extend(turn);
    let r = ada.recv().await;
    assert_eq!(r["type"], "joined", "{r}");
    let r = ada.request(json!({"type":"chat","text":CHAT})).await;
    assert_eq!(r["type"], "chat", "{r}");

    let mut grace = s.raw_client().await;
    let w = grace.request(json!({"type":"hello","version":1})).await;
    let resume = w["resumeToken"].as_str().unwrap().to_owned();
    secrets.push(resume.clone());
    let ice = grace
        .request(json!({"type":"join","room":"standup","name":"x","token":token}))
        .await;
    secrets.extend(credentials(&ice));
    let r = grace.recv().await;
    assert_eq!(r["type"], "joined", "{r}");
    drop(grace); // dropped: its place is held, and it resumes
    let mut again = s.raw_client().await;
    let w = again
        .request(json!({"type":"hello","version":1,"resume":resume}))
        .await;
    assert_eq!(w["resumed"], true, "{w}");
    secrets.extend(w["resumeToken"].as_str().map(str::to_owned));
    let ice = again.recv().await;
    assert_eq!(ice["type"], "iceServers", "{ice}");
    secrets.extend(credentials(&ice));
    assert_eq!(again.recv().await["type"], "joined");
    drop((ada, again));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let log = String::from_utf8_lossy(&buf.0.lock().unwrap()).to_string();
    assert!(
        log.contains("handshake done"),
        "the libraries' own log records are captured: {}",
        &log[..log.len().min(2000)]
    );
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "{secret:?} was logged");
        assert!(!log.contains(&hex(secret)), "{secret:?} was logged in hex");
    }
}
