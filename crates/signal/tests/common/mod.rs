//! Shared harness for the hub scenario tests: a [`Hub`] plus a simulated clock and
//! helpers that drive connections the way the IO driver would.
#![allow(dead_code)] // Each test binary uses a different subset.

use confab_proto::{
    ChatMessage, ClientFrame, ClientMsg, ErrorCode, PeerId, PeerInfo, RequestId, RoomId, ServerMsg,
    PROTOCOL_VERSION,
};
use confab_signal::{ConnId, Hub, HubConfig, Input, Now, Output};
use std::time::{Duration, Instant};

pub struct Harness {
    pub hub: Hub,
    pub now: Instant,
    /// Simulated wall clock (Unix ms), advanced with `now` and given to the hub.
    pub wall_ms: u64,
}

/// The simulated wall clock's start: 2023-11-14T22:13:20Z.
pub const WALL_START_MS: u64 = 1_700_000_000_000;

pub fn room(name: &str) -> RoomId {
    RoomId::parse(name).unwrap()
}

pub fn send(to: ConnId, msg: ServerMsg) -> Output {
    Output::Send { to, msg }
}

pub fn info(id: &PeerId, name: &str) -> PeerInfo {
    PeerInfo {
        id: id.clone(),
        name: name.into(),
        state: Default::default(),
        role: Default::default(),
    }
}

/// `info` for a host (the first person in a room without tokens, or a host token).
pub fn host(id: &PeerId, name: &str) -> PeerInfo {
    PeerInfo {
        role: confab_proto::Role::Host,
        ..info(id, name)
    }
}

/// Everything observable through the hub's public accessors, for "nothing changed".
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub connections: usize,
    pub rooms: usize,
    pub members: Vec<Vec<PeerInfo>>,
    pub history: Vec<Vec<ChatMessage>>,
}

impl Harness {
    /// A hub with the default config except no resume grace: a dropped connection
    /// leaves at once (the grace period has its own tests in `resume.rs`).
    pub fn new() -> Self {
        Self::with_config(HubConfig {
            resume_grace: Duration::ZERO,
            ..HubConfig::default()
        })
    }

    pub fn with_config(config: HubConfig) -> Self {
        Self::seeded(config, [7; 32])
    }

    /// As [`Harness::new`], with every call on the SFU (`MediaPolicy::Sfu`).
    pub fn sfu() -> Self {
        Self::with_config(HubConfig {
            resume_grace: Duration::ZERO,
            media: confab_signal::MediaPolicy::Sfu,
            ..HubConfig::default()
        })
    }

    /// A hub whose peer ids and tokens come from `seed` (hubs of one cluster need
    /// different ones, as real nodes have).
    pub fn seeded(config: HubConfig, seed: [u8; 32]) -> Self {
        Harness {
            hub: Hub::new(config, seed),
            now: Instant::now(),
            wall_ms: WALL_START_MS,
        }
    }

    /// Lets simulated time pass (both clocks).
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.wall_ms += u64::try_from(by.as_millis()).unwrap();
    }

    /// Both clocks as they are now, for an input.
    pub fn at(&self) -> Now {
        Now {
            mono: self.now,
            unix_ms: self.wall_ms,
        }
    }

    /// Feeds `input` at the current time, without letting time pass.
    pub fn input(&mut self, input: Input) {
        let at = self.at();
        self.hub.handle(at, input);
    }

    /// Lets time pass until `until` (if it is later) and feeds `Input::Timeout` then.
    pub fn timeout_at(&mut self, until: Instant) {
        if until > self.now {
            self.advance(until - self.now);
        }
        self.input(Input::Timeout);
    }

    /// Advances time by 10 ms before each event, as a driver would see it pass, then
    /// feeds `input`.
    pub fn tick(&mut self, input: Input) {
        self.advance(Duration::from_millis(10));
        self.input(input);
    }

    pub fn connect(&mut self, conn: u64) -> ConnId {
        let conn = ConnId(conn);
        self.tick(Input::Connect {
            conn,
            host: None,
            ip: None,
        });
        conn
    }

    /// `conn`'s socket drops (no clean close): it may come back within the grace.
    /// Connects `conn` from client address `ip`.
    pub fn connect_from(&mut self, conn: u64, ip: [u8; 4]) -> ConnId {
        let conn = ConnId(conn);
        let ip = Some(std::net::IpAddr::from(ip));
        self.tick(Input::Connect {
            conn,
            host: None,
            ip,
        });
        conn
    }

    pub fn disconnect(&mut self, conn: ConnId) {
        self.tick(Input::Disconnect { conn, clean: false });
    }

    /// `conn`'s client closes its socket cleanly (1000/1001): it leaves at once.
    pub fn close(&mut self, conn: ConnId) {
        self.tick(Input::Disconnect { conn, clean: true });
    }

    /// Sends `msg` from `conn` with request id `id`.
    pub fn frame_id(&mut self, conn: ConnId, id: Option<RequestId>, msg: ClientMsg) {
        let frame = ClientFrame { id, msg };
        self.tick(Input::Frame {
            conn,
            frame,
            grant: None,
        });
    }

    /// Sends `msg` from `conn` with no request id.
    pub fn frame(&mut self, conn: ConnId, msg: ClientMsg) {
        self.frame_id(conn, None, msg);
    }

    /// All pending outputs, oldest first.
    pub fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.hub.poll_output()).collect()
    }

    /// Connects `conn`, says hello, checks the welcome and returns the peer id.
    pub fn ready(&mut self, conn: u64) -> (ConnId, PeerId) {
        let c = self.connect(conn);
        self.frame(
            c,
            ClientMsg::Hello {
                version: PROTOCOL_VERSION,
                resume: None,
            },
        );
        match self.drain().as_slice() {
            [Output::Send {
                to,
                msg: ServerMsg::Welcome { peer_id, .. },
            }] if *to == c => (c, peer_id.clone()),
            other => panic!("expected one welcome, got {other:?}"),
        }
    }

    pub fn join(&mut self, conn: ConnId, room_name: &str, name: &str) {
        let msg = ClientMsg::Join {
            room: room(room_name),
            name: name.into(),
            password: None,
            token: None,
        };
        self.frame(conn, msg);
    }

    /// `join` admitted by the driver with a token granting `role`.
    pub fn join_as(&mut self, conn: ConnId, room_name: &str, name: &str, role: confab_proto::Role) {
        let msg = ClientMsg::Join {
            room: room(room_name),
            name: name.into(),
            password: None,
            token: None,
        };
        self.tick(Input::Frame {
            conn,
            frame: ClientFrame { id: None, msg },
            grant: Some(confab_signal::Grant::new(role, name)),
        });
    }

    /// A ready connection joined to `room_name`, with its outputs drained.
    /// `a` calls `b` (peer id `idb`) in their room and `b` accepts: the call's id, once `b`
    /// is in it.
    pub fn call(&mut self, a: ConnId, b: ConnId, idb: &PeerId) -> confab_proto::CallId {
        self.frame(a, ClientMsg::Invite { to: idb.clone() });
        let out = self.drain();
        let call = to(&out, b)
            .into_iter()
            .find_map(|m| match m {
                ServerMsg::Invited { call, .. } => Some(call),
                _ => None,
            })
            .expect("an invitation");
        self.frame(b, ClientMsg::Accept { call });
        let out = self.drain();
        assert!(
            to(&out, b)
                .iter()
                .any(|m| matches!(m, ServerMsg::CallJoined { call: c, .. } if *c == call)),
            "{out:?}"
        );
        call
    }

    pub fn joined(&mut self, conn: u64, room_name: &str, name: &str) -> (ConnId, PeerId) {
        let (c, id) = self.ready(conn);
        self.join(c, room_name, name);
        self.drain();
        (c, id)
    }

    pub fn snapshot(&self, rooms: &[&str]) -> Snapshot {
        Snapshot {
            connections: self.hub.connection_count(),
            rooms: self.hub.room_count(),
            members: rooms.iter().map(|r| self.hub.peers_in(&room(r))).collect(),
            history: rooms
                .iter()
                .map(|r| self.hub.chat_history(&room(r)))
                .collect(),
        }
    }

    /// Sends `msg` with a request id and asserts that the only output is an error with
    /// `code` echoing that id, and that no observable state changed.
    pub fn expect_error(&mut self, conn: ConnId, msg: ClientMsg, code: ErrorCode) -> String {
        let rooms = ["r", "s", "t"];
        let before = self.snapshot(&rooms);
        let id = Some(RequestId::Str(format!("req-{code:?}")));
        self.frame_id(conn, id.clone(), msg);
        let out = self.drain();
        assert_eq!(
            self.snapshot(&rooms),
            before,
            "an error must change no state"
        );
        match out.as_slice() {
            [Output::Send {
                to,
                msg:
                    ServerMsg::Error {
                        code: got,
                        message,
                        ref_,
                    },
            }] => {
                assert_eq!(*to, conn);
                assert_eq!(*got, code);
                assert_eq!(*ref_, id, "errors echo the request id");
                assert!(!message.is_empty());
                message.clone()
            }
            other => panic!("expected one {code:?} error, got {other:?}"),
        }
    }
}

pub fn offer(to: &PeerId) -> ClientMsg {
    ClientMsg::Offer {
        to: to.clone(),
        sdp: "v=0\r\n".into(),
    }
}

pub fn chat(text: &str) -> ClientMsg {
    ClientMsg::Chat {
        text: text.into(),
        key: None,
    }
}

/// The messages `out` sends to `conn`, in order.
pub fn to(out: &[Output], conn: ConnId) -> Vec<ServerMsg> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { to, msg } if *to == conn => Some(msg.clone()),
            _ => None,
        })
        .collect()
}

/// The SFU commands in `out`, in order.
pub fn media(out: &[Output]) -> Vec<confab_signal::MediaCommand> {
    out.iter()
        .filter_map(|o| match o {
            Output::Media(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}
