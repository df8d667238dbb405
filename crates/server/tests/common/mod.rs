//! Shared harness for the server's scenario tests: a real server on 127.0.0.1 port 0
//! and real WebSocket clients.
#![allow(dead_code)]

pub mod net;
pub mod pebble;
pub mod process;
pub mod redis_server;
pub mod rtc;
pub mod rtsp;

use confab_server::config::Config;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// The TURN REST secret of [`TestServer::start_turn`].
pub const TURN_SECRET: &str = "test-secret-0123456789";

/// The TURN settings of [`TestServer::start_turn`]: loopback, ephemeral ports, TLS off,
/// relaying to loopback peers, REST secret [`TURN_SECRET`].
pub fn turn_settings() -> confab_server::config::TurnSettings {
    confab_server::config::TurnSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls_listen: confab_server::config::Listen::Off,
        relay_ports: "40000-40999".parse().unwrap(),
        secret: Some(TURN_SECRET.into()),
        allow_peer: vec!["127.0.0.0/8".parse().unwrap()],
        ..Default::default()
    }
}

/// How long a test waits for an expected message.
pub const WAIT: Duration = Duration::from_secs(3);

/// A running server; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    /// STUN/TURN UDP (and TCP) address, when TURN is on.
    pub turn_addr: Option<SocketAddr>,
    pub shutdown: CancellationToken,
    pub task: Option<tokio::task::JoinHandle<Result<(), confab_server::StartError>>>,
    /// A data dir of the server's own, removed on drop (HTTPS servers keep their
    /// self-signed certificate there).
    pub data_dir: Option<std::path::PathBuf>,
}

impl TestServer {
    /// A plain-HTTP server with default limits.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// A plain-HTTP server with `tweak` applied to the default config.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config::default();
        config.http.listen = "127.0.0.1:0".parse().unwrap();
        config.http.insecure_http = true;
        // No chat store unless a test asks for one (with a data dir of its own).
        config.store.chat_retention_days = 0;
        // A dropped connection leaves at once, as most scenarios expect; the resume
        // grace has its own tests (resume.rs).
        config.hub.resume_grace = Duration::ZERO.into();
        config.turn.no_turn = true;
        // The SFU on loopback, on a port of its own (tests run side by side).
        config.sfu.listen = "127.0.0.1:0".parse().unwrap();
        tweak(&mut config);
        Self::serve(config, None)
    }

    /// An HTTPS server (a self-signed certificate in a data dir of its own, named by
    /// `tag`, without TURN) with `tweak` applied; returns its certificate too, for a
    /// client to trust.
    pub async fn start_tls(
        tag: &str,
        tweak: impl FnOnce(&mut Config),
    ) -> (TestServer, confab_server::tls::TlsMaterial) {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = std::env::temp_dir().join(format!("confab-{tag}-{}", std::process::id()));
        let mut config = Config::default();
        config.http.listen = "127.0.0.1:0".parse().unwrap();
        config.data_dir = dir.clone();
        config.turn.no_turn = true;
        config.sfu.listen = "127.0.0.1:0".parse().unwrap();
        tweak(&mut config);
        let material = confab_server::tls::load(&config).unwrap().unwrap();
        let tls = confab_server::tls::server_config(&material).unwrap();
        let mut server = Self::serve(config, Some(tls));
        server.data_dir = Some(dir);
        (server, material)
    }

    fn serve(config: Config, tls: Option<Arc<rustls::ServerConfig>>) -> TestServer {
        let listeners = confab_server::Listeners::bind(&config).unwrap();
        let addr = listeners.http.local_addr().unwrap();
        let turn_addr = listeners.turn.as_ref().map(|t| t.udp.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(confab_server::run(
            listeners,
            Arc::new(config),
            tls,
            shutdown.clone(),
        ));
        TestServer {
            addr,
            turn_addr,
            shutdown,
            task: Some(task),
            data_dir: None,
        }
    }

    /// A server with STUN/TURN on loopback (ephemeral ports, TLS off), relaying to
    /// loopback peers (denied by default), with REST secret [`TURN_SECRET`].
    pub async fn start_turn(
        tweak: impl FnOnce(&mut confab_server::config::TurnSettings),
    ) -> TestServer {
        let mut t = turn_settings();
        tweak(&mut t);
        Self::start_with(|c| c.turn = t).await
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// A connected client that has not said hello.
    pub async fn raw_client(&self) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(self.ws_url())
            .await
            .expect("websocket connect");
        Client { ws }
    }

    /// A connected client from loopback address `from` (any of 127/8), no hello yet.
    pub async fn raw_client_from(&self, from: std::net::IpAddr) -> Client {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind(SocketAddr::new(from, 0)).unwrap();
        let tcp = sock.connect(self.addr).await.expect("tcp connect");
        let (ws, _) = tokio_tungstenite::client_async(self.ws_url(), MaybeTlsStream::Plain(tcp))
            .await
            .expect("websocket connect");
        Client { ws }
    }

    /// A client that said hello; returns it with its peer id.
    pub async fn client(&self) -> (Client, String) {
        let mut c = self.raw_client().await;
        let id = c.hello().await;
        (c, id)
    }

    /// A client that said hello and joined `room` as `name` (past the `iceServers` a
    /// server with TURN sends first).
    pub async fn joined(&self, room: &str, name: &str) -> (Client, String) {
        let (mut c, id) = self.client().await;
        let mut r = c
            .request(json!({"type":"join","room":room,"name":name}))
            .await;
        if r["type"] == "iceServers" {
            r = c.recv().await;
        }
        assert_eq!(r["type"], "joined", "{r}");
        (c, id)
    }

    /// Plain HTTP GET; returns (status, headers text, body).
    pub async fn get(&self, path: &str) -> (u16, String, String) {
        self.request("GET", path, &[], "").await
    }

    /// A plain HTTP request with extra `headers` and a `body`; returns (status, headers
    /// text, body).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = TcpStream::connect(self.addr).await.unwrap();
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        s.write_all(req.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        tokio::time::timeout(WAIT, s.read_to_end(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&buf).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, head.to_string(), body.to_string())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(dir) = &self.data_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A WebSocket client speaking JSON.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// The sending half of a [`Client`] split by [`Client::flood_offers`].
pub type ClientSink =
    futures_util::stream::SplitSink<WebSocketStream<MaybeTlsStream<TcpStream>>, Message>;

impl Client {
    /// Sends `count` offers of `bytes` bytes of SDP to `to` while a task reads everything
    /// that comes back, as a real client would, until a `pong` (or 3 s of silence).
    /// Returns the sending half, to send that ping, and the reader with what it saw.
    pub async fn flood_offers(
        self,
        to: &str,
        count: usize,
        bytes: usize,
    ) -> (ClientSink, tokio::task::JoinHandle<Vec<Value>>) {
        let (mut tx, mut rx) = self.ws.split();
        let reader = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Ok(Some(Ok(m))) =
                tokio::time::timeout(Duration::from_secs(3), rx.next()).await
            {
                if let Message::Text(t) = m {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    let done = v["type"] == "pong";
                    seen.push(v);
                    if done {
                        break;
                    }
                }
            }
            seen
        });
        let sdp = "a".repeat(bytes);
        for _ in 0..count {
            let m = json!({"type":"offer","to":to,"sdp":sdp}).to_string();
            tx.send(Message::Text(m.into())).await.unwrap();
        }
        (tx, reader)
    }
}

impl Client {
    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn send_text(&mut self, t: &str) {
        self.ws.send(Message::Text(t.into())).await.unwrap();
    }

    /// The next JSON message (server pings are skipped); panics after [`WAIT`].
    pub async fn recv(&mut self) -> Value {
        self.recv_within(WAIT).await
    }

    /// [`Client::recv`], waiting at most `wait`.
    pub async fn recv_within(&mut self, wait: Duration) -> Value {
        loop {
            let m = tokio::time::timeout(wait, self.ws.next())
                .await
                .expect("timed out waiting for a message")
                .expect("connection ended")
                .expect("websocket error");
            match m {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// The next message of type `kind` (others skipped), within `limit` in all.
    pub async fn next_of(&mut self, kind: &str, limit: Duration) -> Value {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            assert!(!left.is_zero(), "no {kind} within {limit:?}");
            let m = tokio::time::timeout(left, self.recv_within(left))
                .await
                .unwrap_or_else(|_| panic!("no {kind} within {limit:?}"));
            if m["type"] == kind {
                return m;
            }
        }
    }

    /// Sends `v` and returns the next message.
    pub async fn request(&mut self, v: Value) -> Value {
        self.send(v).await;
        self.recv().await
    }

    pub async fn hello(&mut self) -> String {
        let w = self.request(json!({"type":"hello","version":1})).await;
        assert_eq!(w["type"], "welcome", "{w}");
        w["peerId"].as_str().unwrap().to_owned()
    }

    /// Asserts nothing but pings arrives for `ms` milliseconds.
    pub async fn expect_silence(&mut self, ms: u64) {
        let until = tokio::time::Instant::now() + Duration::from_millis(ms);
        loop {
            match tokio::time::timeout_at(until, self.ws.next()).await {
                Err(_) => return,
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(other) => panic!("expected silence, got {other:?}"),
            }
        }
    }

    /// Asserts the connection is still usable: a ping gets its pong.
    pub async fn assert_alive(&mut self) {
        let r = self.request(json!({"type":"ping","id":"alive?"})).await;
        assert_eq!(r, json!({"type":"pong","ref":"alive?"}));
    }

    /// Waits for the server's close frame and returns its code.
    pub async fn expect_close(&mut self) -> u16 {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("timed out waiting for close")
            {
                Some(Ok(Message::Close(Some(f)))) => return f.code.into(),
                Some(Ok(Message::Close(None))) | None => return 1005,
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("error instead of close: {e}"),
            }
        }
    }
}

/// A join token for `room`, `name` and `role`, signed with `key`, valid ten minutes.
pub fn join_token(
    key: &str,
    room: &str,
    name: &str,
    role: confab_server::auth::token::Role,
) -> String {
    use confab_server::auth::token::{mint, Claims};
    let now = confab_server::unix_now();
    mint(
        key,
        &Claims {
            room: room.into(),
            name: name.into(),
            role,
            exp: now + 600,
            iat: Some(now),
            ..Claims::default()
        },
    )
}
