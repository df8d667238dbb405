//! The headless client a stream session runs against the hub: the same messages a
//! browser sends, over a connection id and bounded queue of its own (see the module
//! docs).

use super::{Origin, Refused};
use crate::signal::hub_task::{ConnLink, Outbound, QueuedBytes};
use crate::signal::{HubHandle, Remote};
use confab_proto::{
    CallId, ClientFrame, ClientMsg, ErrorCode, IceServer, PeerInfo, RequestId, RoomId, ServerMsg,
    Status, PROTOCOL_VERSION,
};
use confab_signal::{ConnId, Grant, ParticipantKind};
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

/// The session's queue from the hub: small, it reads everything at once.
const QUEUE: usize = 64;
/// Its bound in bytes (a room's `joined` snapshot is the biggest message it gets).
const QUEUE_BYTES: usize = 1 << 20;
/// Requests in flight to the hub at once (it makes one at a time).
const IN_FLIGHT: usize = 4;

/// One stream session's member of the room.
pub(super) struct Client {
    hub: HubHandle,
    conn: ConnId,
    rx: mpsc::Receiver<Outbound>,
    queued: QueuedBytes,
    kill: CancellationToken,
    permits: Arc<Semaphore>,
    grant: Option<Grant>,
    kind: ParticipantKind,
    /// A player of one participant: that participant's name.
    follow: Option<String>,
    name: String,
    next_id: u64,
}

impl Client {
    /// Connects to the hub as `conn`, joins `room` with the token's `grant` as a
    /// participant of `kind` (a player: of the participant named `follow` alone, if
    /// set, who must be on stage in the broadcast, else `404`), gets into the broadcast
    /// call and has the SFU answer `offer`. On failure the connection is gone.
    pub(super) async fn start(
        hub: HubHandle,
        conn: ConnId,
        origin: Origin,
        (grant, kind, follow): (crate::auth::Grant, ParticipantKind, Option<String>),
        room: RoomId,
        offer: String,
    ) -> Result<(Client, String, Vec<IceServer>), Refused> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let kill = CancellationToken::new();
        let queued = QueuedBytes::default();
        let link = ConnLink {
            tx,
            kill: kill.clone(),
            queued: queued.clone(),
            max_bytes: QUEUE_BYTES,
        };
        let remote = Remote {
            host: origin.host,
            ip: origin.ip,
        };
        hub.connect(conn, link, remote)
            .await
            .map_err(|_| stopping())?;
        let name = grant.name.clone().unwrap_or_else(|| "Stream".to_owned());
        let subject = grant.subject.clone().unwrap_or_else(|| name.clone());
        let mut client = Client {
            hub,
            conn,
            rx,
            queued,
            kill,
            permits: Arc::new(Semaphore::new(IN_FLIGHT)),
            grant: grant.role.map(|role| {
                Grant::new(role, subject)
                    .for_kind(kind)
                    .following(follow.clone())
            }),
            kind,
            follow,
            name,
            next_id: 0,
        };
        match client.setup(room, offer).await {
            Ok((answer, ice)) => Ok((client, answer, ice)),
            Err(refused) => {
                client.hub.disconnect(conn, true).await;
                Err(refused)
            }
        }
    }

    async fn setup(
        &mut self,
        room: RoomId,
        offer: String,
    ) -> Result<(String, Vec<IceServer>), Refused> {
        let version = PROTOCOL_VERSION;
        self.send(ClientMsg::Hello {
            version,
            resume: None,
        })
        .await?;
        self.until(|m| matches!(m, ServerMsg::Welcome { .. }).then_some(()))
            .await?;
        let name = self.name.clone();
        self.send(ClientMsg::Join {
            room,
            name,
            password: None,
            token: None,
        })
        .await?;
        let mut ice = Vec::new();
        let (broadcast, running, peers) = self
            .until(|m| match m {
                ServerMsg::IceServers { ice_servers } => {
                    ice = ice_servers;
                    None
                }
                ServerMsg::Joined {
                    broadcast, peers, ..
                } => Some((broadcast, running_call(&peers), peers)),
                _ => None,
            })
            .await?;
        // Into the broadcast: the running call (made a broadcast if it is not one yet),
        // or a call of our own, which starting the broadcast gives an idle host. A player
        // only watches one that runs.
        let joined = |m: ServerMsg| matches!(m, ServerMsg::CallJoined { .. }).then_some(());
        if self.kind == ParticipantKind::WhepPlayer {
            let Some(call) = running.filter(|_| broadcast) else {
                return Err(Refused::new(409, "this room is not broadcasting now"));
            };
            if let Some(name) = &self.follow {
                if !on_stage(&peers, call, name) {
                    let message =
                        format!("nobody named \"{name}\" is on stage in this room's broadcast now");
                    return Err(Refused::new(404, message));
                }
            }
            self.send(ClientMsg::JoinCall { call }).await?;
            self.until(joined).await?;
            return self.offer(offer, ice).await;
        }
        match running {
            Some(call) => {
                self.send(ClientMsg::JoinCall { call }).await?;
                self.until(joined).await?;
                if !broadcast {
                    self.send(ClientMsg::Broadcast { on: true }).await?;
                }
            }
            None => {
                self.send(ClientMsg::Broadcast { on: true }).await?;
                self.until(joined).await?;
            }
        }
        self.offer(offer, ice).await
    }

    /// Sends the peer's offer to the SFU; its answer (and our ICE servers) come back.
    async fn offer(
        &mut self,
        offer: String,
        ice: Vec<IceServer>,
    ) -> Result<(String, Vec<IceServer>), Refused> {
        self.send(ClientMsg::SfuOffer { sdp: offer }).await?;
        let answer = self
            .until(|m| match m {
                ServerMsg::SfuAnswer { sdp } => Some(sdp),
                _ => None,
            })
            .await?;
        Ok((answer, ice))
    }

    /// Keeps the member in the room until `stop` (a `DELETE`), `shutdown`, the hub
    /// dropping the connection, a host removing it, or the SFU losing the encoder; then
    /// leaves cleanly. Everything else the hub says is read and dropped (the router's
    /// offers included: an encoder does not renegotiate).
    pub(super) async fn run(mut self, stop: CancellationToken, shutdown: CancellationToken) {
        loop {
            let msg = tokio::select! {
                _ = stop.cancelled() => break,
                _ = shutdown.cancelled() => break,
                _ = self.kill.cancelled() => break,
                out = self.rx.recv() => match out {
                    Some(out) => self.read(out),
                    None => break,
                },
            };
            match msg {
                Some(ServerMsg::Kicked { .. }) | Some(ServerMsg::Left { .. }) => break,
                Some(ServerMsg::Error {
                    code: ErrorCode::MediaFailed,
                    message,
                    ..
                }) => {
                    tracing::info!(conn = %self.conn.0, %message, "stream ended by the media router");
                    break;
                }
                _ => {}
            }
        }
        self.hub.disconnect(self.conn, true).await;
    }

    async fn send(&mut self, msg: ClientMsg) -> Result<(), Refused> {
        self.next_id += 1;
        let frame = ClientFrame {
            id: Some(RequestId::Num(self.next_id)),
            msg,
        };
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| stopping())?;
        self.hub
            .frame(self.conn, frame, self.grant.clone(), permit)
            .await
            .map_err(|_| stopping())
    }

    /// Reads until `pick` takes a message; an `error` or a closed queue refuses.
    async fn until<T>(
        &mut self,
        mut pick: impl FnMut(ServerMsg) -> Option<T>,
    ) -> Result<T, Refused> {
        loop {
            let out = self.rx.recv().await.ok_or_else(stopping)?;
            let Some(msg) = self.read(out) else {
                continue;
            };
            if let ServerMsg::Error { code, message, .. } = msg {
                return Err(refusal(code, message));
            }
            if let Some(t) = pick(msg) {
                return Ok(t);
            }
        }
    }

    /// One queued message, parsed back (`None` for a close or what does not parse).
    fn read(&self, out: Outbound) -> Option<ServerMsg> {
        self.queued.taken(&out);
        match out {
            Outbound::Text(text) => serde_json::from_str(text.as_str()).ok(),
            Outbound::Close { .. } => Some(ServerMsg::Left {
                ref_: None,
                room: RoomId::parse("closed").expect("a valid room id"),
            }),
        }
    }
}

/// The biggest call running among `peers` (what the broadcast's viewers watch).
fn running_call(peers: &[PeerInfo]) -> Option<CallId> {
    let mut sizes: Vec<(CallId, usize)> = Vec::new();
    for p in peers.iter().filter(|p| p.state.status == Status::InCall) {
        let Some(call) = p.state.call else { continue };
        match sizes.iter_mut().find(|(c, _)| *c == call) {
            Some((_, n)) => *n += 1,
            None => sizes.push((call, 1)),
        }
    }
    sizes.into_iter().max_by_key(|(_, n)| *n).map(|(c, _)| c)
}

/// Whether someone named `name` publishes in broadcast call `call`: in it, and a host
/// or on stage (who may send media in a broadcast).
fn on_stage(peers: &[PeerInfo], call: CallId, name: &str) -> bool {
    peers.iter().any(|p| {
        p.name == name
            && p.state.status == Status::InCall
            && p.state.call == Some(call)
            && (p.role == confab_proto::Role::Host || p.state.on_stage)
    })
}

/// The HTTP status for a hub refusal during setup.
fn refusal(code: ErrorCode, message: String) -> Refused {
    let status = match code {
        ErrorCode::RoomFull | ErrorCode::ServerFull | ErrorCode::CallFull => 503,
        ErrorCode::RoomLocked | ErrorCode::NotHost => 403,
        ErrorCode::MediaFailed | ErrorCode::BadSdp => 400,
        ErrorCode::NoMediaServer => 503,
        _ => 409,
    };
    Refused::new(status, message)
}

fn stopping() -> Refused {
    Refused::new(503, "the server is shutting down")
}
