//! The confab adapter: each member is one WebSocket client and one peer, like a
//! browser in an SFU call (see `docs/protocol.md`). Member 0 invites member 1, which
//! starts the call (the server must run `--media sfu`); everyone else joins it with
//! `joinCall`. Each member then sends its `sfuOffer` (publishers: send-only audio and
//! video; receivers: one receive-only audio m-line, as a browser with nothing to
//! send), applies the `sfuAnswer`, and answers every `sfuOffer` the server sends as
//! the others' tracks come. Clients read their socket
//! all along, so no server queue fills while others are still joining. With
//! `--record`, whoever joins a room first (its host) starts recording it.

use super::peer::PeerHandle;
use super::{Ctx, Plan, Receiver, Roster, Stage};
use crate::client::{connect, next_msg, Ws};
use anyhow::{bail, Context};
use confab_proto::{CallId, MediaMode, ServerMsg};
use futures_util::SinkExt;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// Application pings keep the server's idle timeout (40 s) away on long setups.
const PING_EVERY: Duration = Duration::from_secs(10);

/// Starts every member's client task; returns the roster at once (media flows as the
/// tasks get through signaling). Tasks end when `ctx.stop` is cancelled, closing their
/// socket cleanly (the server frees the SFU endpoint).
pub async fn start(
    ctx: &Ctx,
    url: &str,
    room: &str,
    plan: &Plan,
    concurrency: usize,
    tasks: &mut JoinSet<()>,
) -> anyhow::Result<Roster> {
    anyhow::ensure!(plan.members.len() >= 2, "a call needs two members");
    let addr = crate::run::resolve(url).await?;
    let mut roster = Roster::default();
    for (i, m) in plan.members.iter().enumerate() {
        roster.peers.push(ctx.peer(m.name.clone(), m.publishes)?);
        if !m.sources.is_empty() {
            roster.receivers.push(Receiver {
                peer: i,
                sources: m.sources.clone(),
            });
        }
    }
    let (callee_tx, callee_rx) = watch::channel(None::<String>);
    let (call_tx, call_rx) = watch::channel(None::<CallId>);
    let (callee_tx, call_tx) = (Arc::new(callee_tx), Arc::new(call_tx));
    let gate = Arc::new(Semaphore::new(concurrency));
    for (i, peer) in roster.peers.iter().enumerate() {
        let role = match i {
            0 => Role::Caller {
                callee: callee_rx.clone(),
                call: call_tx.clone(),
            },
            1 => Role::Callee {
                me: callee_tx.clone(),
                call: call_rx.clone(),
            },
            _ => Role::Member {
                call: call_rx.clone(),
            },
        };
        let member = Member {
            url: url.to_owned(),
            addr,
            room: room.to_owned(),
            peer: peer.clone(),
            ctx: ctx.clone(),
            stage: Stage::new("waiting for its turn"),
        };
        let gate = gate.clone();
        tasks.spawn(async move {
            let stop = member.ctx.stop.clone();
            let errors = member.ctx.errors.clone();
            let stage = member.stage.clone();
            tokio::select! {
                _ = stop.cancelled() => stage.report_unfinished(&errors, "confab member"),
                r = member.run(role, gate) => if let Err(e) = r {
                    stage.set(Stage::DONE);
                    errors.count(format!("confab member: {e:#}"));
                },
            }
        });
    }
    Ok(roster)
}

/// How a member gets into the call.
enum Role {
    /// Invites the callee, which starts the call; tells everyone its id.
    Caller {
        callee: watch::Receiver<Option<String>>,
        call: Arc<watch::Sender<Option<CallId>>>,
    },
    /// Tells the caller its peer id, then joins the call.
    Callee {
        me: Arc<watch::Sender<Option<String>>>,
        call: watch::Receiver<Option<CallId>>,
    },
    /// Joins the call once it exists.
    Member {
        call: watch::Receiver<Option<CallId>>,
    },
}

struct Member {
    url: String,
    addr: SocketAddr,
    room: String,
    peer: PeerHandle,
    ctx: Ctx,
    stage: Stage,
}

impl Member {
    async fn run(self, role: Role, gate: Arc<Semaphore>) -> anyhow::Result<()> {
        let permit = gate.acquire_owned().await?;
        self.stage.set("connecting and joining the room");
        let mut ws = connect(&self.url, self.addr, None).await?;
        send(&mut ws, json!({"type":"hello","id":1,"version":1})).await?;
        let me = until(&mut ws, |m| match m {
            ServerMsg::Welcome { peer_id, .. } => Some(peer_id.as_str().to_owned()),
            _ => None,
        })
        .await?;
        let join = json!({"type":"join","id":2,"room":self.room,"name":self.peer.name});
        send(&mut ws, join).await?;
        let role_here = until(&mut ws, |m| match m {
            ServerMsg::Joined { you, .. } => Some(you.role),
            _ => None,
        })
        .await?;
        if self.ctx.record.is_some() && role_here == confab_proto::Role::Host {
            // The room's first member hosts it: it starts the recording.
            send(&mut ws, json!({"type":"record","id":6,"on":true})).await?;
        }
        drop(permit);
        self.stage.set("getting into the call");
        match role {
            Role::Caller { mut callee, call } => {
                let to = wait_for(&mut ws, &mut callee).await?;
                send(&mut ws, json!({"type":"invite","id":3,"to":to})).await?;
                let id = until(&mut ws, |m| match m {
                    ServerMsg::Inviting { call, .. } => Some(call),
                    _ => None,
                })
                .await?;
                let _ = call.send(Some(id));
            }
            Role::Callee { me: tx, mut call } => {
                let _ = tx.send(Some(me));
                join_call(&mut ws, &mut call).await?;
            }
            Role::Member { mut call } => join_call(&mut ws, &mut call).await?,
        }
        self.stage.set("waiting for the SFU's answer");
        let offer = self.peer.create_offer().await?;
        send(&mut ws, json!({"type":"sfuOffer","id":5,"sdp":offer})).await?;
        self.signal(ws).await
    }

    /// Applies the SFU's answers and answers its offers until the run stops.
    async fn signal(self, mut ws: Ws) -> anyhow::Result<()> {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            let msg = tokio::select! {
                _ = self.ctx.stop.cancelled() => {
                    let frame = CloseFrame { code: CloseCode::Normal, reason: "".into() };
                    let _ = ws.close(Some(frame)).await;
                    return Ok(());
                }
                _ = ping.tick() => {
                    send(&mut ws, json!({"type":"ping"})).await?;
                    continue;
                }
                m = next_msg(&mut ws) => m?,
            };
            match msg {
                ServerMsg::SfuAnswer { sdp } => {
                    self.peer.accept_answer(sdp).await?;
                    self.stage.set(Stage::DONE);
                }
                ServerMsg::SfuOffer { sdp } => match self.peer.accept_offer(sdp).await {
                    Ok(answer) => send(&mut ws, json!({"type":"sfuAnswer","sdp":answer})).await?,
                    // Our offer crossed the SFU's: it makes its offer again after ours.
                    Err(e) if e.to_string().starts_with("glare") => {}
                    Err(e) => return Err(e),
                },
                ServerMsg::Error { code, message, .. } => {
                    self.ctx
                        .errors
                        .count(format!("confab error {code:?}: {message}"));
                }
                _ => {}
            }
        }
    }
}

/// `joinCall` once the call exists; the call must be on the SFU.
async fn join_call(ws: &mut Ws, call: &mut watch::Receiver<Option<CallId>>) -> anyhow::Result<()> {
    let id = wait_for(ws, call).await?;
    send(ws, json!({"type":"joinCall","id":4,"call":id.0})).await?;
    let media = until(ws, |m| match m {
        ServerMsg::CallJoined { media, .. } => Some(media),
        _ => None,
    })
    .await?;
    if media != MediaMode::Sfu {
        bail!("the call is a mesh: run confab with --media sfu");
    }
    Ok(())
}

/// Reads (and drops) messages until `rx` holds a value.
async fn wait_for<T: Clone>(ws: &mut Ws, rx: &mut watch::Receiver<Option<T>>) -> anyhow::Result<T> {
    loop {
        if let Some(v) = rx.borrow_and_update().clone() {
            return Ok(v);
        }
        tokio::select! {
            r = rx.changed() => r.context("the call was never made")?,
            m = next_msg(ws) => { check(m?)?; }
        }
    }
}

async fn send(ws: &mut Ws, v: Value) -> anyhow::Result<()> {
    ws.send(Message::Text(v.to_string().into())).await?;
    Ok(())
}

/// An `error` fails the setup step that caused it.
fn check(m: ServerMsg) -> anyhow::Result<ServerMsg> {
    match m {
        ServerMsg::Error { code, message, .. } => bail!("{code:?}: {message}"),
        m => Ok(m),
    }
}

/// Reads until `pick` takes a message; an `error` fails.
async fn until<T>(ws: &mut Ws, mut pick: impl FnMut(ServerMsg) -> Option<T>) -> anyhow::Result<T> {
    loop {
        if let Some(t) = pick(check(next_msg(ws).await?)?) {
            return Ok(t);
        }
    }
}
