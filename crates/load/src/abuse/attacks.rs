//! The attacks that speak the signaling protocol (see the table in `mod.rs`).

use super::{loopback, Ctx};
use crate::client::{connect, next_msg, Ws};
use confab_proto::{ErrorCode, ServerMsg};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

/// How long one step (a connect, an answer) may take before the attack gives it up.
const STEP: Duration = Duration::from_secs(5);

async fn send(ws: &mut Ws, v: Value) -> anyhow::Result<()> {
    tokio::time::timeout(STEP, ws.send(Message::Text(v.to_string().into()))).await??;
    Ok(())
}

/// The next message, within [`STEP`].
async fn recv(ws: &mut Ws) -> anyhow::Result<ServerMsg> {
    tokio::time::timeout(STEP, next_msg(ws)).await?
}

/// A connection from `src` that said hello.
async fn hello(ctx: &Ctx, src: IpAddr) -> anyhow::Result<Ws> {
    let mut ws = tokio::time::timeout(STEP, connect(&ctx.url, ctx.http, Some(src))).await??;
    send(&mut ws, json!({"type":"hello","version":1})).await?;
    match recv(&mut ws).await? {
        ServerMsg::Welcome { .. } => Ok(ws),
        other => anyhow::bail!("expected welcome, got {other:?}"),
    }
}

/// Joins `room` as `name`; the `joined` message's peers, as (name, id).
async fn join(ws: &mut Ws, room: &str, name: &str) -> anyhow::Result<Vec<(String, String)>> {
    send(ws, json!({"type":"join","room":room,"name":name})).await?;
    loop {
        match recv(ws).await? {
            ServerMsg::Joined { peers, .. } => {
                return Ok(peers
                    .into_iter()
                    .map(|p| (p.name, p.id.as_str().to_owned()))
                    .collect())
            }
            ServerMsg::Error { code, .. } => anyhow::bail!("join refused: {code:?}"),
            _ => {}
        }
    }
}

fn code_name(code: ErrorCode) -> String {
    format!("{code:?}")
}

/// Guesses room passwords from `src` until the deadline, reconnecting when closed and
/// waiting a little when told `rate_limited`.
pub(crate) async fn guess(ctx: Arc<Ctx>, src: IpAddr) {
    let mut n: u64 = 0;
    while ctx.running() {
        let Ok(mut ws) = hello(&ctx, src).await else {
            ctx.tally.count("guess", "connect_failed");
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        while ctx.running() {
            n += 1;
            let room = format!("{}{}", ctx.opts.room_prefix, n % u64::from(ctx.opts.rooms));
            let join =
                json!({"type":"join","room":room,"name":"guesser","password":format!("guess-{n}")});
            if send(&mut ws, join).await.is_err() {
                break;
            }
            match recv(&mut ws).await {
                Ok(ServerMsg::Error { code, .. }) => {
                    ctx.tally.count("guess", code_name(code));
                    if code == ErrorCode::RateLimited {
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                }
                Ok(ServerMsg::Joined { .. }) => ctx.tally.count("guess", "JOINED"),
                Ok(_) => {}
                Err(_) => {
                    ctx.tally.count("guess", "closed");
                    break;
                }
            }
        }
    }
}

/// A connection with a tiny receive buffer that pipelines join/leave of the flooded
/// room (each `joined` carries its history) and never reads; reconnects when dropped.
pub(crate) async fn slow_reader(ctx: Arc<Ctx>) {
    let src = loopback(4, 1);
    while ctx.running() {
        let Ok(mut ws) = slow_socket(&ctx, src).await else {
            ctx.tally.count("slow_reader", "connect_failed");
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        ctx.tally.count("slow_reader", "connected");
        let mut sent = 0u64;
        while ctx.running() {
            let msg = if sent.is_multiple_of(2) {
                json!({"type":"join","room":"flood","name":"slow"})
            } else {
                json!({"type":"leave"})
            };
            if send(&mut ws, msg).await.is_err() {
                ctx.tally.count("slow_reader", "dropped");
                break;
            }
            sent += 1;
            // Under the per-connection message rate (50/s): only the reading is slow.
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn slow_socket(ctx: &Ctx, src: IpAddr) -> anyhow::Result<Ws> {
    let sock = TcpSocket::new_v4()?;
    sock.set_recv_buffer_size(4096)?;
    sock.bind(std::net::SocketAddr::new(src, 0))?;
    let tcp = tokio::time::timeout(STEP, sock.connect(ctx.http)).await??;
    let (mut ws, _) =
        tokio::time::timeout(STEP, tokio_tungstenite::client_async(&ctx.url, tcp)).await??;
    send(&mut ws, json!({"type":"hello","version":1})).await?;
    recv(&mut ws).await?;
    Ok(ws)
}

/// Connects, joins, and drops the socket without a close, `--ghosts-per-s` a second:
/// each leaves a place held for a resume.
pub(crate) async fn ghosts(ctx: Arc<Ctx>) {
    let per_s = ctx.opts.ghosts_per_s.max(1);
    let mut tick = tokio::time::interval(Duration::from_secs(1) / per_s);
    let mut n = 0u32;
    while ctx.running() {
        tick.tick().await;
        n += 1;
        let outcome = match hello(&ctx, loopback(5, 1)).await {
            Ok(mut ws) => match join(&mut ws, &format!("ghosts-{}", n % 8), "ghost").await {
                Ok(_) => "vanished",
                Err(_) => "join_refused",
            },
            Err(_) => "connect_failed",
        };
        ctx.tally.count("ghost", outcome);
        // Dropped here: no close frame, so the server holds its place.
    }
}

/// Joins the room `flood` and chats 2,000-character messages 20 times a second,
/// reading the answers (stored echoes and refusals).
pub(crate) async fn flood(ctx: Arc<Ctx>) {
    let text = "x".repeat(2000);
    while ctx.running() {
        let Ok(mut ws) = hello(&ctx, loopback(6, 1)).await else {
            ctx.tally.count("flood", "connect_failed");
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        if join(&mut ws, "flood", "flooder").await.is_err() {
            ctx.tally.count("flood", "join_refused");
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let (mut tx, mut rx) = ws.split();
        let reader = async {
            while let Some(Ok(m)) = rx.next().await {
                let Message::Text(t) = m else { continue };
                match serde_json::from_str::<ServerMsg>(t.as_str()) {
                    Ok(ServerMsg::Chat { ref_: Some(_), .. }) => ctx.tally.count("flood", "stored"),
                    Ok(ServerMsg::Error { code, .. }) => ctx.tally.count("flood", code_name(code)),
                    _ => {}
                }
            }
        };
        let writer = async {
            let mut n = 0u64;
            while ctx.running() {
                n += 1;
                let chat = json!({"type":"chat","id":n,"text":text}).to_string();
                if tx.send(Message::Text(chat.into())).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::select! {
            _ = reader => ctx.tally.count("flood", "closed"),
            _ = writer => {}
        }
    }
}

/// A victim and an attacker in room `relay-abuse-<i>`: the attacker sends 60 KiB
/// offers at the victim 40 times a second; the victim reads everything and must stay.
pub(crate) async fn relay(ctx: Arc<Ctx>, i: u32) {
    let host = |k: u32| u8::try_from(k % 250 + 1).unwrap_or(1);
    let room = format!("relay-abuse-{i}");
    let Ok(mut victim) = hello(&ctx, loopback(8, host(2 * i))).await else {
        ctx.tally.count("relay", "connect_failed");
        return;
    };
    let Ok(mut attacker) = hello(&ctx, loopback(8, host(2 * i + 1))).await else {
        ctx.tally.count("relay", "connect_failed");
        return;
    };
    if join(&mut victim, &room, "victim").await.is_err() {
        ctx.tally.count("relay", "join_refused");
        return;
    }
    let Ok(peers) = join(&mut attacker, &room, "attacker").await else {
        ctx.tally.count("relay", "join_refused");
        return;
    };
    let Some((_, victim_id)) = peers.into_iter().find(|(n, _)| n == "victim") else {
        ctx.tally.count("relay", "no_victim");
        return;
    };
    let sdp = format!("v=0\r\n{}", "a".repeat(60 * 1024));
    let (mut tx, mut rx) = attacker.split();
    let victim_reads = async {
        loop {
            match next_msg(&mut victim).await {
                Ok(ServerMsg::Offer { .. }) => ctx.tally.count("relay", "offer_delivered"),
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    };
    let attack = async {
        let answers = async {
            while let Some(Ok(Message::Text(t))) = rx.next().await {
                if let Ok(ServerMsg::Error { code, .. }) = serde_json::from_str(t.as_str()) {
                    ctx.tally.count("relay", code_name(code));
                }
            }
        };
        let sends = async {
            while ctx.running() {
                let offer = json!({"type":"offer","to":victim_id,"sdp":sdp}).to_string();
                if tx.send(Message::Text(offer.into())).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        };
        tokio::select! { _ = answers => {}, _ = sends => {} }
    };
    tokio::select! {
        alive = victim_reads => {
            if !alive {
                ctx.tally.count("relay", "victim_dropped");
            }
        }
        _ = attack => ctx.tally.count("relay", "victim_alive"),
    }
}
