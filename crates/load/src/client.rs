//! One load client: connects (optionally from a chosen source address), says hello,
//! joins its room, then reads everything and sends chats/offers when told to, checking
//! sequence numbers of what arrives.

use crate::payload::Payload;
use crate::seq::SeqChecker;
use crate::shared::Shared;
use anyhow::{anyhow, bail, Context};
use confab_proto::ServerMsg;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A client's WebSocket.
pub type Ws = WebSocketStream<TcpStream>;

/// Which sequence stream a message belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stream {
    /// Chats: every member of the room gets every one.
    Chat,
    /// Offers: numbered per (sender, receiver).
    Offer,
}

/// A client that has joined its room.
pub struct Joined {
    /// Index of this client (its name is `c<index>`).
    pub idx: u32,
    /// The socket.
    pub ws: Ws,
    /// Peer ids by client index, of the others in the room known so far.
    pub peers: HashMap<u32, String>,
    /// Time from starting the TCP connect to the `joined` answer.
    pub setup: Duration,
}

/// What a client task reports at the end.
#[derive(Debug, Default)]
pub struct ClientResult {
    /// This client's index.
    pub idx: u32,
    /// Chats it sent (numbered `0..chats_sent`).
    pub chats_sent: u64,
    /// Offers it sent, per receiver index.
    pub offers_sent: HashMap<u32, u64>,
    /// Offers not sent because the target's peer id was not known yet.
    pub offers_skipped: u64,
    /// Arrivals per (sender index, stream).
    pub checkers: HashMap<(u32, Stream), SeqChecker>,
    /// Why the connection ended before the run did, if it did.
    pub ended_early: Option<String>,
}

fn ws_config() -> WebSocketConfig {
    // Small buffers: ten thousand clients share the machine with the server.
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
}

/// Opens a TCP connection from `src` (if given) and upgrades it to a WebSocket.
pub async fn connect(url: &str, addr: SocketAddr, src: Option<IpAddr>) -> anyhow::Result<Ws> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = src {
        socket
            .bind(SocketAddr::new(ip, 0))
            .with_context(|| format!("bind {ip}"))?;
    }
    let stream = socket.connect(addr).await.context("tcp connect")?;
    stream.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()))
        .await
        .context("websocket upgrade")?;
    Ok(ws)
}

/// Reads the next server message, skipping control frames.
pub(crate) async fn next_msg(ws: &mut Ws) -> anyhow::Result<ServerMsg> {
    loop {
        match ws.next().await {
            None => bail!("connection closed"),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(Message::Text(t))) => {
                return serde_json::from_str(t.as_str())
                    .with_context(|| format!("bad server message {t}"))
            }
            Some(Ok(Message::Close(f))) => bail!("closed by server: {f:?}"),
            Some(Ok(_)) => continue,
        }
    }
}

fn client_index(name: &str) -> Option<u32> {
    name.strip_prefix('c')?.parse().ok()
}

/// Connects, says hello and joins `room` as `c<idx>` (with `password`, if given).
pub async fn join(
    url: &str,
    addr: SocketAddr,
    src: Option<IpAddr>,
    idx: u32,
    room: &str,
    password: Option<&str>,
) -> anyhow::Result<Joined> {
    let started = std::time::Instant::now();
    let mut ws = connect(url, addr, src).await?;
    let hello = json!({"type":"hello","id":1,"version":1}).to_string();
    ws.send(Message::Text(hello.into())).await?;
    match next_msg(&mut ws).await? {
        ServerMsg::Welcome { .. } => {}
        other => bail!("expected welcome, got {other:?}"),
    }
    let mut join = json!({"type":"join","id":2,"room":room,"name":format!("c{idx}")});
    if let Some(p) = password {
        join["password"] = p.into();
    }
    let join = join.to_string();
    ws.send(Message::Text(join.into())).await?;
    let mut peers = HashMap::new();
    loop {
        match next_msg(&mut ws).await? {
            ServerMsg::Joined { peers: list, .. } => {
                for p in list {
                    if let Some(i) = client_index(&p.name) {
                        peers.insert(i, p.id.as_str().to_owned());
                    }
                }
                break;
            }
            ServerMsg::Error { code, message, .. } => bail!("join failed: {code:?} {message}"),
            // A peerJoined can't come before our joined; anything else is ignored.
            _ => {}
        }
    }
    Ok(Joined {
        idx,
        ws,
        peers,
        setup: started.elapsed(),
    })
}

/// How a client is told to send.
pub enum Sending {
    /// Never sends (only reads).
    No,
    /// Sends when the pacer says so; each item is the scheduled send time (µs).
    Paced(mpsc::Receiver<u64>),
    /// Sends whenever fewer than this many of its chats are unanswered.
    Window(u64),
}

/// The client's life after joining: read everything, send when told, until the run
/// ends (`shared.finish`). Never returns an error: failures go into the result.
pub async fn run(
    mut c: Joined,
    members: Vec<u32>,
    mut sending: Sending,
    shared: Arc<Shared>,
) -> ClientResult {
    let mut r = ClientResult {
        idx: c.idx,
        ..Default::default()
    };
    let others: Vec<u32> = members.into_iter().filter(|&m| m != c.idx).collect();
    let room_members = others.len() as u64 + 1;
    let mut next_target = c.idx as usize; // spreads offers over the room's peers
    let mut in_flight: u64 = 0;
    let mut started = *shared.started.borrow();
    let mut start_rx = shared.started.clone();
    let (mut sink, mut stream) = c.ws.split();
    let finish = shared.finish.clone();
    let mut offer_credit = 0.0f64;
    loop {
        let window_open = match &sending {
            Sending::Window(w) => started && in_flight < *w && !shared.stop_sending(),
            _ => false,
        };
        // What to send now, if anything: the scheduled send time.
        let send_at: Option<u64> = tokio::select! {
            biased;
            _ = finish.cancelled() => break,
            changed = start_rx.changed(), if !started => {
                if changed.is_err() { break; }
                started = *start_rx.borrow();
                None
            }
            t = async {
                match &mut sending {
                    Sending::Paced(rx) => rx.recv().await,
                    _ => std::future::pending().await,
                }
            } => {
                if t.is_none() {
                    // The pacer is done; stop polling its closed queue (it would be
                    // ready forever and, being polled first, starve the reads).
                    sending = Sending::No;
                }
                t
            }
            _ = std::future::ready(()), if window_open => Some(shared.now_us()),
            msg = stream.next() => {
                let text = match msg {
                    None => { r.ended_early = Some("closed".into()); break; }
                    Some(Err(e)) => { r.ended_early = Some(format!("error: {e}")); break; }
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(f))) => {
                        r.ended_early = Some(format!("closed by server: {f:?}"));
                        break;
                    }
                    Some(Ok(_)) => continue,
                };
                let msg: ServerMsg = match serde_json::from_str(text.as_str()) {
                    Ok(m) => m,
                    Err(e) => { shared.count_error(&format!("undecodable: {e}")); continue; }
                };
                match msg {
                    ServerMsg::Chat { ref_, message } => {
                        if ref_.is_some() {
                            in_flight = in_flight.saturating_sub(1);
                        }
                        arrived(&mut r, &shared, Stream::Chat, &message.text);
                    }
                    ServerMsg::Offer { sdp, .. } => arrived(&mut r, &shared, Stream::Offer, &sdp),
                    ServerMsg::PeerJoined { peer } => {
                        if let Some(i) = client_index(&peer.name) {
                            c.peers.insert(i, peer.id.as_str().to_owned());
                        }
                    }
                    ServerMsg::Error { code, .. } => {
                        shared.count_error(&format!("{code:?}"));
                        // A refused chat frees its window slot too.
                        in_flight = in_flight.saturating_sub(1);
                    }
                    _ => {}
                }
                continue;
            }
        };
        let Some(t_us) = send_at else { continue };
        if !shared.take_send_slot() {
            // Sending is over (time or count); the window sender goes quiet.
            if let Sending::Paced(rx) = &mut sending {
                rx.close();
            }
            sending = Sending::No;
            continue;
        }
        let chat = Payload {
            sender: r.idx,
            seq: r.chats_sent,
            t_us,
        };
        let frame = json!({"type":"chat","id":r.chats_sent,"text":chat.encode()}).to_string();
        // Counted before sending so the coordinator never sees more deliveries than it expects.
        shared.expected.fetch_add(room_members, Ordering::Relaxed);
        r.chats_sent += 1;
        in_flight += 1;
        let mut frames = vec![frame];
        offer_credit += shared.relay_ratio;
        if offer_credit >= 1.0 && !others.is_empty() {
            offer_credit -= 1.0;
            let target = others[next_target % others.len()];
            next_target += 1;
            if let Some(peer_id) = c.peers.get(&target) {
                let n = r.offers_sent.entry(target).or_insert(0);
                let offer = Payload {
                    sender: r.idx,
                    seq: *n,
                    t_us,
                };
                *n += 1;
                shared.expected.fetch_add(1, Ordering::Relaxed);
                // The offer goes first: the chat's echo then also proves it was processed.
                frames.insert(
                    0,
                    json!({"type":"offer","to":peer_id,"sdp":offer.encode()}).to_string(),
                );
            } else {
                r.offers_skipped += 1;
            }
        }
        for f in frames {
            if let Err(e) = sink.feed(Message::Text(f.into())).await {
                r.ended_early = Some(format!("send error: {e}"));
                break;
            }
        }
        if r.ended_early.is_some() || sink.flush().await.is_err() {
            r.ended_early.get_or_insert_with(|| "flush error".into());
            break;
        }
    }
    let _ = sink.close().await;
    r
}

fn arrived(r: &mut ClientResult, shared: &Shared, kind: Stream, text: &str) {
    let Some(p) = Payload::decode(text) else {
        shared.count_error("foreign payload");
        return;
    };
    shared.delivered.fetch_add(1, Ordering::Relaxed);
    shared.record_latency(r.idx, p.t_us);
    r.checkers
        .entry((p.sender, kind))
        .or_default()
        .observe(p.seq);
}

/// Text of an error for the report.
pub fn describe(e: &anyhow::Error) -> String {
    let s = format!("{e:#}");
    s.chars().take(200).collect()
}

/// Errors from the join phase.
pub fn join_error(idx: u32, e: anyhow::Error) -> anyhow::Error {
    anyhow!("client {idx}: {}", describe(&e))
}
