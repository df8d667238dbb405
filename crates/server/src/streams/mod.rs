//! Streams in and out of rooms over HTTP: WHIP ingest (RFC 9725), where an encoder (OBS,
//! a WHIP library) publishes into a room with one `POST` of its SDP offer, and WHEP
//! playback, where a player receives a room's broadcast the same way.
//!
//! A stream is a participant like a browser (participants are kinds): for each session
//! this module runs a headless client against the hub, over the same [`HubHandle`] and
//! bounded queue a WebSocket connection uses. It says `hello`, joins the room with the
//! join token's grant (name, role, and its kind: [`ParticipantKind`]), gets into the
//! broadcast call and sends the offer as `sfuOffer`; the SFU's `sfuAnswer` is the HTTP
//! answer. So the room sees a member named by the token, and the hub's rules (room size,
//! locks, bans, rate limits) apply unchanged.
//!
//! Rules:
//! - the server must run the SFU;
//! - a publisher's token must make it a host (publishing decides that the room
//!   broadcasts): it starts the broadcast or joins the running one, on stage; the SFU
//!   offers it nothing (it does not renegotiate);
//! - a player's token may have any role; the room must be broadcasting (else `409`); it
//!   joins the broadcast call as audience, and the SFU sends the broadcast on the
//!   m-lines of its offer: the stage's first publisher, or, for a player of one
//!   participant, the publisher of that name (who must be on stage when it starts,
//!   else `404`; one who leaves and comes back under that name is played again);
//! - a session ends with `DELETE` on its URL, when the SFU loses the peer's connection
//!   (`media_failed`), when a host removes it, or at shutdown; it leaves the room
//!   cleanly;
//! - at most [`MAX_SESSIONS`] at once on a server (each holds an SFU endpoint and a
//!   member's place).

pub mod camera;
mod client;

use crate::auth::Auth;
use crate::signal::HubHandle;
use confab_proto::{IceServer, RoomId};
use confab_signal::{ConnId, ParticipantKind};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Most stream sessions (WHIP and WHEP) a server holds at once.
pub const MAX_SESSIONS: usize = 32;

/// How long a `POST` may take to get the SFU's answer (joining, then the SFU).
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a `POST` did not start a session: an HTTP status and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, in words (the response body).
    pub message: String,
}

impl Refused {
    pub(crate) fn new(status: u16, message: impl Into<String>) -> Refused {
        Refused {
            status,
            message: message.into(),
        }
    }
}

/// A session that started: the SFU's answer, the session's id (its URL's last segment)
/// and the ICE servers the member got (TURN with fresh credentials).
#[derive(Debug)]
pub struct Started {
    /// The SDP answer.
    pub answer: String,
    /// The session id.
    pub id: String,
    /// The member's ICE servers.
    pub ice_servers: Vec<IceServer>,
}

/// The running sessions of a server. Cheap to share.
pub struct Sessions {
    hub: HubHandle,
    auth: Arc<Auth>,
    next_conn: Arc<AtomicU64>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    sfu: bool,
    /// Each session's room, kind and stop switch, by id.
    live: Mutex<HashMap<String, Live>>,
}

/// One running session, as the registry knows it.
struct Live {
    room: RoomId,
    kind: ParticipantKind,
    stop: CancellationToken,
}

/// Where a session's request came from.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    /// The request's host (no port): confab's own STUN/TURN URLs name it.
    pub host: Option<String>,
    /// The client's address.
    pub ip: Option<IpAddr>,
}

impl Sessions {
    /// The sessions of a server whose hub is `hub` (`sfu`: whether it runs the SFU).
    pub fn new(
        hub: HubHandle,
        auth: Arc<Auth>,
        next_conn: Arc<AtomicU64>,
        tracker: TaskTracker,
        shutdown: CancellationToken,
        sfu: bool,
    ) -> Sessions {
        Sessions {
            hub,
            auth,
            next_conn,
            tracker,
            shutdown,
            sfu,
            live: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a session of `kind` (a WHIP publisher or a WHEP player) in `room` for the
    /// holder of `token`, with the peer's SDP `offer`. A player with `follow` plays the
    /// participant of that name alone (`404` if nobody of that name is on stage now),
    /// else the stage.
    pub async fn start(
        self: &Arc<Self>,
        (kind, follow): (ParticipantKind, Option<String>),
        room: RoomId,
        token: &str,
        offer: String,
        origin: Origin,
    ) -> Result<Started, Refused> {
        if !self.sfu {
            return Err(Refused::new(
                503,
                "this server runs no media router (--media mesh), so it takes no streams",
            ));
        }
        let grant = self
            .auth
            .check_join(&room, None, Some(token.to_owned()), false)
            .await
            .map_err(|r| Refused::new(401, r.message))?;
        let publisher = kind == ParticipantKind::WhipPublisher;
        if publisher && grant.role != Some(confab_proto::Role::Host) {
            return Err(Refused::new(
                403,
                "publishing a stream takes a host token (confab token --role host)",
            ));
        }
        let id = hex(&crate::random::bytes::<16>());
        let stop = CancellationToken::new();
        {
            let mut live = self.live.lock().expect("stream sessions");
            if live.len() >= MAX_SESSIONS {
                return Err(Refused::new(
                    503,
                    format!("this server holds {MAX_SESSIONS} WHIP and WHEP streams already"),
                ));
            }
            let entry = Live {
                room: room.clone(),
                kind,
                stop: stop.clone(),
            };
            live.insert(id.clone(), entry);
        }
        let conn = ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed));
        let follow = follow.filter(|_| kind == ParticipantKind::WhepPlayer);
        let member = (grant, kind, follow);
        let setup = client::Client::start(self.hub.clone(), conn, origin, member, room, offer);
        let (client, answer, ice_servers) = match tokio::time::timeout(SETUP_TIMEOUT, setup).await {
            Ok(Ok(started)) => started,
            Ok(Err(refused)) => {
                self.forget(&id);
                return Err(refused);
            }
            Err(_) => {
                self.forget(&id);
                self.hub.disconnect(conn, true).await;
                return Err(Refused::new(504, "the media router did not answer in time"));
            }
        };
        let sessions = Arc::clone(self);
        let shutdown = self.shutdown.clone();
        let key = id.clone();
        self.tracker.spawn(async move {
            client.run(stop, shutdown).await;
            sessions.forget(&key);
        });
        Ok(Started {
            answer,
            id,
            ice_servers,
        })
    }

    /// Ends session `id` of `kind` in `room`; false if there is none.
    pub fn end(&self, kind: ParticipantKind, room: &RoomId, id: &str) -> bool {
        let live = self.live.lock().expect("stream sessions");
        match live.get(id) {
            Some(l) if l.kind == kind && &l.room == room => {
                l.stop.cancel();
                true
            }
            _ => false,
        }
    }

    /// Whether session `id` of `kind` in `room` runs.
    pub fn exists(&self, kind: ParticipantKind, room: &RoomId, id: &str) -> bool {
        let live = self.live.lock().expect("stream sessions");
        live.get(id)
            .is_some_and(|l| l.kind == kind && &l.room == room)
    }

    fn forget(&self, id: &str) {
        self.live.lock().expect("stream sessions").remove(id);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
