//! Property test: random operation sequences never panic and keep the hub consistent,
//! also across restarts that bring rooms back with the moderation they reported.

use crate::{
    ChatSeed, ConnId, Grant, Hub, HubConfig, Input, MediaEndpoint, MediaEvent, MediaPolicy,
    Moderation, Now, Output,
};
use confab_proto::{
    CallId, ClientFrame, ClientMsg, ErrorCode, IceCandidate, LayerTrack, PeerId, RequestId, Role,
    RoomId, ServerMsg, Status, PROTOCOL_VERSION,
};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

const CONNS: u64 = 5;
const ROOMS: [&str; 2] = ["a", "b"];

#[derive(Clone, Debug)]
enum Op {
    Connect(u64),
    Hello(u64, bool),
    Ping(u64),
    Join(u64, usize),
    Leave(u64),
    /// Relay kind 0..4 from a conn to the peer id last seen on another conn (or a bogus id).
    Relay(u64, u8, Option<u64>),
    /// A chat message, after a pause of this many milliseconds (to exercise the limit).
    Chat(u64, u16),
    /// A socket drops (false) or closes cleanly (true).
    Disconnect(u64, bool),
    /// Call ops: invite / cancel the peer id of another conn (or a bogus id).
    Invite(u64, Option<u64>),
    Cancel(u64, Option<u64>),
    /// accept / decline / joinCall of call id 1..=4 (ids start at 1).
    Accept(u64, u64),
    Decline(u64, u64),
    JoinCall(u64, u64),
    LeaveCall(u64),
    Media(u64, bool, bool),
    /// A join a token admitted, with the role it grants (true: host).
    JoinAs(u64, usize, bool),
    /// Moderation of the peer id of another conn (or a bogus id); lock/unlock.
    Kick(u64, Option<u64>),
    Mute(u64, Option<u64>),
    Lock(u64, bool),
    /// `broadcast` (0), `hand` (1), `stage` of the peer id of another conn (2) or
    /// `record` (3), on or off.
    Stage(u64, u8, Option<u64>, bool),
    /// Let this many milliseconds pass, then run the ring timer as the driver would.
    Wait(u16),
    /// `sfuOffer` (true) or `sfuAnswer` from a conn.
    Sfu(u64, bool),
    /// The SFU fails endpoint 1..=8 (gone or not).
    SfuFailed(u64, bool),
    /// The SFU reports group 1..=4's speakers (the peer id of a conn, or nobody), or
    /// endpoint 1..=8 connected (false).
    SfuNews(u64, Option<u64>, bool),
    /// `hello {resume}` on a conn with the last token another conn was given (or a
    /// bogus token when false).
    Resume(u64, u64, bool),
    /// The store answers for a room: with a seed (true: the chat, and the moderation
    /// the room last reported) or nothing usable (false).
    History(usize, bool),
    /// The server restarts: a new hub, every connection gone, the store kept.
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0..CONNS;
    prop_oneof![
        3 => c.clone().prop_map(Op::Connect),
        3 => (c.clone(), prop::bool::weighted(0.95)).prop_map(|(c, ok)| Op::Hello(c, ok)),
        1 => c.clone().prop_map(Op::Ping),
        4 => (c.clone(), 0..ROOMS.len()).prop_map(|(c, r)| Op::Join(c, r)),
        1 => c.clone().prop_map(Op::Leave),
        6 => (c.clone(), 0..4u8, prop::option::weighted(0.9, 0..CONNS))
            .prop_map(|(c, k, t)| Op::Relay(c, k, t)),
        4 => (c.clone(), prop_oneof![Just(0u16), 0..3000u16]).prop_map(|(c, p)| Op::Chat(c, p)),
        1 => (c.clone(), any::<bool>()).prop_map(|(c, clean)| Op::Disconnect(c, clean)),
        5 => (c.clone(), prop::option::weighted(0.9, 0..CONNS)).prop_map(|(c, t)| Op::Invite(c, t)),
        1 => (c.clone(), prop::option::weighted(0.9, 0..CONNS)).prop_map(|(c, t)| Op::Cancel(c, t)),
        3 => (c.clone(), 1..5u64).prop_map(|(c, k)| Op::Accept(c, k)),
        1 => (c.clone(), 1..5u64).prop_map(|(c, k)| Op::Decline(c, k)),
        2 => (c.clone(), 1..5u64).prop_map(|(c, k)| Op::JoinCall(c, k)),
        2 => c.clone().prop_map(Op::LeaveCall),
        1 => (c.clone(), any::<bool>(), any::<bool>()).prop_map(|(c, a, v)| Op::Media(c, a, v)),
        1 => (c.clone(), 0..ROOMS.len(), any::<bool>()).prop_map(|(c, r, h)| Op::JoinAs(c, r, h)),
        2 => (c.clone(), prop::option::weighted(0.9, 0..CONNS)).prop_map(|(c, t)| Op::Kick(c, t)),
        1 => (c.clone(), prop::option::weighted(0.9, 0..CONNS)).prop_map(|(c, t)| Op::Mute(c, t)),
        2 => (c.clone(), any::<bool>()).prop_map(|(c, l)| Op::Lock(c, l)),
        3 => (c.clone(), 0..4u8, prop::option::weighted(0.9, 0..CONNS), any::<bool>())
            .prop_map(|(c, k, t, on)| Op::Stage(c, k, t, on)),
        2 => (c.clone(), c.clone(), prop::bool::weighted(0.9)).prop_map(|(c, t, ok)| Op::Resume(c, t, ok)),
        2 => prop_oneof![0..2000u16, 4000..12000u16].prop_map(Op::Wait),
        2 => (0..ROOMS.len(), any::<bool>()).prop_map(|(r, s)| Op::History(r, s)),
        3 => (c, any::<bool>()).prop_map(|(c, o)| Op::Sfu(c, o)),
        1 => (1..9u64, any::<bool>()).prop_map(|(e, g)| Op::SfuFailed(e, g)),
        1 => (1..9u64, prop::option::of(0..CONNS), any::<bool>())
            .prop_map(|(n, c, s)| Op::SfuNews(n, c, s)),
        2 => Just(Op::Restart),
    ]
}

fn room(i: usize) -> RoomId {
    RoomId::parse(ROOMS[i]).unwrap()
}

type Snapshot = (
    usize,
    usize,
    Vec<Vec<confab_proto::PeerInfo>>,
    Vec<Vec<confab_proto::ChatMessage>>,
    Vec<Vec<crate::CallSnapshot>>,
);

/// Everything a client or the server can observe through the public API.
fn snapshot(hub: &Hub) -> Snapshot {
    let rooms = (0..ROOMS.len()).map(|i| hub.peers_in(&room(i))).collect();
    let history = (0..ROOMS.len())
        .map(|i| hub.chat_history(&room(i)))
        .collect();
    let calls = (0..ROOMS.len()).map(|i| hub.calls_in(&room(i))).collect();
    (
        hub.connection_count(),
        hub.room_count(),
        rooms,
        history,
        calls,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_operations_keep_invariants(
        ops in prop::collection::vec(op(), 1..120), seed in any::<[u8; 32]>(), persist_chat in any::<bool>(),
        turn in any::<bool>(),
        fast_store in any::<bool>(),
    ) {
        // With confab's TURN, members get credentials renewed every second.
        let advert = crate::TurnAdvert {
            external_ip: None, listen: "127.0.0.1:3478".parse().unwrap(), tls_port: None,
            fallback_host: "h".into(), secret: b"s3cret".to_vec(), ttl: Duration::from_secs(2),
        };
        let ice = crate::IceMinter::new(Vec::new(), turn.then_some(advert));
        let config = HubConfig {
            max_rooms: 1, max_peers_per_room: 4, max_connections: 5,
            chat_history: 4, chat_burst: 3, max_call_size: 3,
            ring_timeout: Duration::from_secs(5), resume_grace: Duration::from_secs(2),
            persist_chat, history_timeout: Duration::from_secs(1),
            max_detached: 2, max_detached_per_ip: 1,
            // Small enough that random runs reach every bound: about 3 messages of
            // history by bytes, 4 chats per address, 5 per room, 7 relays per burst.
            chat_history_bytes: 250, chat_ip_burst: 4, chat_room_burst: 5,
            relay_burst: 1_000, relay_rate: 1_000, ice,
            // Calls of three move to the SFU: both kinds of call are exercised.
            media: MediaPolicy::Auto { mesh_max: 2 },
            ..HubConfig::default()
        };
        // TURN users revoked so far: each once, and never given credentials again.
        let mut revoked: HashSet<String> = HashSet::new();
        let mut hub = Hub::new(config.clone(), seed);
        let t0 = Instant::now();
        // What the store holds of each room's moderation (its last report).
        let mut saved: HashMap<RoomId, Moderation> = HashMap::new();
        // Every peer id handed out, before restarts too (a lock may name an old one).
        let mut all_ids: HashSet<PeerId> = HashSet::new();
        let mut restarts = 0u8;
        let mut ids: HashMap<u64, PeerId> = HashMap::new();
        let mut tokens: HashMap<u64, String> = HashMap::new();
        let mut elapsed = Duration::ZERO;
        let mut last_chat_id: HashMap<usize, u64> = HashMap::new();
        for (step, op) in ops.into_iter().enumerate() {
            elapsed += Duration::from_millis(1);
            if let Op::Chat(_, pause) | Op::Wait(pause) = op { elapsed += Duration::from_millis(pause.into()); }
            let now = t0 + elapsed;
            let at = Now { mono: now, unix_ms: 1_700_000_000_000 + elapsed.as_millis() as u64 };
            let known_before: HashSet<ConnId> = hub.conns.keys().copied().collect();
            // Detached connections (held for a resume) take no events.
            let live_before: HashSet<ConnId> = hub.conns.iter()
                .filter(|(_, c)| c.detached_until.is_none()).map(|(&k, _)| k).collect();
            let before = snapshot(&hub);
            // A frame from a parked connection waits; a store answer or a timer
            // releases parked joins and whatever their connections sent after them.
            let parked_before = hub.conns.values().any(|c| c.parked.is_some());
            let releasing = parked_before && matches!(op, Op::History(..) | Op::Wait(_));
            let req = Some(RequestId::Num(step as u64));
            let frame = |msg| ClientFrame { id: req.clone(), msg };
            let (actor, is_relay) = match &op {
                Op::Connect(c) => {
                    // Three client addresses, so the per-address cap on held places bites.
                    let ip = Some(std::net::IpAddr::from([10, 0, 0, (*c % 3) as u8]));
                    hub.handle(at, Input::Connect { conn: ConnId(*c), host: None, ip });
                    (*c, false)
                }
                Op::Hello(c, ok) => {
                    let version = if *ok { PROTOCOL_VERSION } else { PROTOCOL_VERSION + 1 };
                    hub.handle(at, Input::Frame { conn: ConnId(*c), frame: frame(ClientMsg::Hello { version, resume: None }), grant: None });
                    (*c, false)
                }
                Op::Resume(c, t, ok) => {
                    let resume = Some(if *ok { tokens.get(t).cloned().unwrap_or_default() } else { "bogus".into() });
                    hub.handle(at, Input::Frame { conn: ConnId(*c), frame: frame(ClientMsg::Hello { version: PROTOCOL_VERSION, resume }), grant: None });
                    (*c, false)
                }
                Op::Ping(c) => { hub.handle(at, Input::Frame { conn: ConnId(*c), frame: frame(ClientMsg::Ping), grant: None }); (*c, false) }
                Op::Join(c, r) => {
                    let msg = ClientMsg::Join { room: room(*r), name: format!("n{c}"), password: None, token: None };
                    hub.handle(at, Input::Frame { conn: ConnId(*c), frame: frame(msg), grant: None });
                    (*c, false)
                }
                Op::Leave(c) => { hub.handle(at, Input::Frame { conn: ConnId(*c), frame: frame(ClientMsg::Leave), grant: None }); (*c, false) }
                Op::Relay(c, kind, target) => {
                    let to = target
                        .and_then(|t| ids.get(&t).cloned())
                        .unwrap_or_else(|| PeerId::new("nobodyhere22"));
                    let msg = match kind {
                        0 => ClientMsg::Offer { to, sdp: "v=0".into() },
                        1 => ClientMsg::Answer { to, sdp: "v=0".into() },
                        2 => ClientMsg::Candidate { to, candidate: Some(IceCandidate {
                            candidate: "candidate:1".into(), sdp_mid: None,
                            sdp_m_line_index: Some(0), username_fragment: None }) },
                        _ => ClientMsg::Hangup { to },
                    };
                    hub.handle(at, Input::Frame { conn: ConnId(*c), frame: frame(msg), grant: None });
                    (*c, true)
                }
                Op::Chat(c, _) => {
                    hub.handle(at, Input::Frame { conn: ConnId(*c), frame: frame(ClientMsg::Chat { text: format!("t{step}"), key: None }), grant: None });
                    (*c, false)
                }
                Op::Disconnect(c, clean) => { hub.handle(at, Input::Disconnect { conn: ConnId(*c), clean: *clean }); (*c, false) }
                Op::Invite(c, t) | Op::Cancel(c, t) => {
                    let to = t.and_then(|t| ids.get(&t).cloned())
                        .unwrap_or_else(|| PeerId::new("nobodyhere22"));
                    let msg = if matches!(op, Op::Invite(..)) { ClientMsg::Invite { to } } else { ClientMsg::Cancel { to } };
                    hub.handle(at, Input::Frame { conn: ConnId(*c), frame: frame(msg), grant: None });
                    (*c, false)
                }
                Op::Accept(c, k) | Op::Decline(c, k) | Op::JoinCall(c, k) => {
                    let call = CallId(*k);
                    let msg = match op {
                        Op::Accept(..) => ClientMsg::Accept { call },
                        Op::Decline(..) => ClientMsg::Decline { call },
                        _ => ClientMsg::JoinCall { call },
                    };
                    hub.handle(at, Input::Frame { conn: ConnId(*c), frame: frame(msg), grant: None });
                    (*c, false)
                }
                Op::LeaveCall(c) => { hub.handle(at, Input::Frame { conn: ConnId(*c), frame: frame(ClientMsg::LeaveCall), grant: None }); (*c, false) }
                Op::Media(c, a, v) => {
                    hub.handle(at, Input::Frame { conn: ConnId(*c), frame: frame(ClientMsg::Media { audio_muted: *a, video_muted: *v, screen: *a && *v }), grant: None });
                    (*c, false)
                }
                Op::JoinAs(c, r, is_host) => {
                    let msg = ClientMsg::Join { room: room(*r), name: format!("n{c}"), password: None, token: None };
                    let role = if *is_host { Role::Host } else if c % 3 == 0 { Role::Viewer } else { Role::Guest };
                    // Two subjects, so a kicked one may come back under another conn.
                    let grant = Some(Grant::new(role, format!("user{}", c % 2)));
                    hub.handle(at, Input::Frame { conn: ConnId(*c), frame: frame(msg), grant });
                    (*c, false)
                }
                Op::Kick(c, t) | Op::Mute(c, t) => {
                    let peer = t.and_then(|t| ids.get(&t).cloned())
                        .unwrap_or_else(|| PeerId::new("nobodyhere22"));
                    let msg = if matches!(op, Op::Kick(..)) { ClientMsg::Kick { peer } } else { ClientMsg::Mute { peer } };
                    hub.handle(at, Input::Frame { conn: ConnId(*c), frame: frame(msg), grant: None });
                    (*c, false)
                }
                Op::Lock(c, locked) => {
                    hub.handle(at, Input::Frame { conn: ConnId(*c), frame: frame(ClientMsg::Lock { locked: *locked }), grant: None });
                    (*c, false)
                }
                Op::Stage(c, kind, t, on) => {
                    let peer = t.and_then(|t| ids.get(&t).cloned())
                        .unwrap_or_else(|| PeerId::new("nobodyhere22"));
                    let msg = match kind {
                        0 => ClientMsg::Broadcast { on: *on },
                        1 => ClientMsg::Hand { up: *on },
                        2 => ClientMsg::Stage { peer, on: *on },
                        _ => ClientMsg::Record { on: *on },
                    };
                    hub.handle(at, Input::Frame { conn: ConnId(*c), frame: frame(msg), grant: None });
                    (*c, false)
                }
                Op::History(r, some) => {
                    let moderation = saved.get(&room(*r)).cloned();
                    let stored = ChatSeed { room: room(*r), history: Vec::new(), last_id: 40, moderation };
                    hub.handle(at, Input::History { room: room(*r), seed: some.then_some(stored) });
                    (u64::MAX, false)
                }
                Op::Sfu(c, offer) => {
                    let sdp = "v=0".to_string();
                    let msg = if *offer { ClientMsg::SfuOffer { sdp } } else { ClientMsg::SfuAnswer { sdp } };
                    hub.handle(at, Input::Frame { conn: ConnId(*c), frame: frame(msg), grant: None });
                    (*c, false)
                }
                Op::SfuFailed(e, gone) => {
                    let event = MediaEvent::Failed { endpoint: MediaEndpoint(*e), message: "lost".into(), gone: *gone };
                    hub.handle(at, Input::Media(event));
                    (u64::MAX, false)
                }
                Op::SfuNews(n, c, speakers) => {
                    let event = if *speakers {
                        let speakers = c.and_then(|c| ids.get(&c).cloned()).into_iter().collect();
                        MediaEvent::Speakers { group: n % 4 + 1, speakers }
                    } else if n % 2 == 0 {
                        MediaEvent::Connected { endpoint: MediaEndpoint(*n) }
                    } else {
                        let from = c.and_then(|c| ids.get(&c).cloned()).unwrap_or_else(|| PeerId::new("gone"));
                        let (layer, layers, rid, width, height) = (Some(0), 1, None, None, None);
                        let tracks = vec![LayerTrack { mid: "1".into(), from, layer, layers, rid, width, height }];
                        MediaEvent::Layers { endpoint: MediaEndpoint(*n), tracks }
                    };
                    hub.handle(at, Input::Media(event));
                    (u64::MAX, false)
                }
                Op::Restart => {
                    restarts += 1;
                    let mut seed = seed;
                    seed[0] ^= restarts;
                    hub = Hub::new(config.clone(), seed);
                    ids.clear();
                    // Every client reconnects at once, presenting its last resume token
                    // (unknown now: a claim), as the web client does.
                    for c in 0..CONNS {
                        let ip = Some(std::net::IpAddr::from([10, 0, 0, (c % 3) as u8]));
                        hub.handle(at, Input::Connect { conn: ConnId(c), host: None, ip });
                        let resume = tokens.get(&c).cloned();
                        let hello = ClientMsg::Hello { version: PROTOCOL_VERSION, resume };
                        hub.handle(at, Input::Frame { conn: ConnId(c), frame: frame(hello), grant: None });
                    }
                    for o in std::iter::from_fn(|| hub.poll_output()) {
                        if let Output::Send { to, msg: ServerMsg::Welcome { peer_id, resume_token, resumed, .. } } = o {
                            prop_assert!(!resumed, "nothing to resume after a restart");
                            ids.insert(to.0, peer_id.clone());
                            all_ids.insert(peer_id);
                            tokens.insert(to.0, resume_token.unwrap_or_default());
                        }
                    }
                    (u64::MAX, false)
                }
                Op::Wait(_) => {
                    // The driver wakes at poll_timeout(); waking late or early is fine.
                    hub.handle(at, Input::Timeout);
                    // No invitation outlives its deadline.
                    prop_assert!(hub.poll_timeout().is_none_or(|d| d > now));
                    (u64::MAX, false)
                }
            };
            // Every invitation rings for exactly the ring timeout at most.
            // and no place is held longer than the resume grace.
            let longest = config.ring_timeout.max(config.resume_grace).max(config.history_timeout);
            prop_assert!(hub.poll_timeout().is_none_or(|d| d <= now + longest));
            hub.check_invariants();

            let outputs: Vec<Output> = std::iter::from_fn(|| hub.poll_output()).collect();
            let mut error_code = None;
            for o in &outputs {
                match o {
                    Output::RevokeTurnUser { user, .. } => {
                        prop_assert!(turn && revoked.insert(user.clone()), "{user} revoked twice");
                    }
                    Output::Send { to, msg: ServerMsg::IceServers { ice_servers } } => {
                        // (A release replays parked frames: a leave may follow the join.)
                        let member = hub.session(*to).is_some_and(|s| s.room.is_some());
                        prop_assert!(releasing || member, "credentials for a non-member");
                        for name in ice_servers.iter().filter_map(|s| s.username.as_deref()) {
                            let user = name.split_once(':').map(|(_, u)| u).unwrap_or_default();
                            prop_assert!(!revoked.contains(user), "credentials for a revoked user");
                        }
                    }
                    Output::ModerationStored { room, moderation } => {
                        prop_assert!(persist_chat, "moderation is reported only for a store");
                        if moderation.is_empty() {
                            saved.remove(room);
                        } else {
                            saved.insert(room.clone(), moderation.clone());
                        }
                    }
                    _ => {}
                }
                let target = match o { Output::Send { to, .. } => *to, Output::Close { conn, .. } => *conn, _ => continue };
                prop_assert!(
                    known_before.contains(&target) || target == ConnId(actor),
                    "output to a connection that was not live: {o:?}"
                );
                if matches!(op, Op::SfuFailed(..) | Op::SfuNews(..)) {
                    continue; // the SFU's news reaches the endpoint's member, not an actor
                }
                if releasing {
                    continue; // replayed frames of several connections: checked by the invariants
                }
                if let Output::Send { to, msg } = o {
                    match msg {
                        ServerMsg::Welcome { peer_id, resume_token, resumed, .. } => {
                            if *resumed {
                                // The identity moves: nobody else holds this peer id now.
                                prop_assert!(matches!(op, Op::Resume(..)));
                                ids.retain(|_, id| id != peer_id);
                            }
                            prop_assert!(resume_token.is_some());
                            prop_assert!(!tokens.values().any(|t| Some(t) == resume_token.as_ref()), "tokens are fresh");
                            ids.insert(to.0, peer_id.clone());
                            all_ids.insert(peer_id.clone());
                            tokens.insert(to.0, resume_token.clone().unwrap_or_default());
                        }
                        ServerMsg::Error { code, ref_, .. } => {
                            prop_assert_eq!(*to, ConnId(actor));
                            if !matches!(op, Op::Connect(_)) { prop_assert_eq!(ref_, &req); }
                            error_code = Some(*code);
                        }
                        ServerMsg::RoomLocked { by, .. }
                            if matches!(op, Op::JoinAs(..) | Op::Join(..)) && *to == ConnId(actor) =>
                        {
                            // Someone let into a locked room (a host token, any token when
                            // a tokenless host locked it, a member taking its seat back
                            // after a restart) hears who locked it (a peer that may have
                            // left since, or be from before a restart).
                            prop_assert!(all_ids.contains(by));
                        }
                        ServerMsg::Kicked { by, .. } | ServerMsg::MuteRequest { by }
                        | ServerMsg::RoomLocked { by, .. } => {
                            // Only a host acts, and only on its own room.
                            prop_assert_eq!(Some(by), ids.get(&actor));
                            let was_host = before.2.iter().flatten()
                                .any(|p| Some(&p.id) == ids.get(&actor) && p.role == Role::Host);
                            let host_joined = matches!(op, Op::JoinAs(_, _, true));
                            prop_assert!(was_host || host_joined, "{:?} from a non-host", msg);
                        }
                        ServerMsg::Offer { from, .. } | ServerMsg::Answer { from, .. }
                        | ServerMsg::Candidate { from, .. } | ServerMsg::Hangup { from } => {
                            prop_assert_eq!(Some(from), ids.get(&actor));
                            prop_assert_ne!(*to, ConnId(actor));
                        }
                        ServerMsg::Chat { ref_, message } => {
                            prop_assert!(matches!(op, Op::Chat(..)));
                            prop_assert_eq!(Some(&message.from), ids.get(&actor));
                            let mine = *to == ConnId(actor);
                            prop_assert_eq!(ref_, if mine { &req } else { &None });
                            let r = before.2.iter()
                                .position(|m| m.iter().any(|p| Some(&p.id) == ids.get(&actor)));
                            prop_assert!(r.is_some(), "chat from a connection in no room");
                            let r = r.unwrap_or_default();
                            // A room's first ids continue the store's (when it had one).
                            if let Some(last) = last_chat_id.get(&r) {
                                prop_assert_eq!(message.id, last + 1, "ids count up per room");
                            }
                            prop_assert!(before.2[r].iter().any(|p| ids.get(&to.0) == Some(&p.id)));
                        }
                        _ => {}
                    }
                }
            }
            if releasing || matches!(op, Op::History(..)) {
                // Checked above through the invariants and the output targets; the chat
                // ids a release produced are not tracked, so the next ones are not checked.
                last_chat_id.clear();
            } else if matches!(op, Op::Wait(_)) {
                for o in &outputs {
                    // Invitations time out; held places expire (the peer leaves its room
                    // and its call, which may end invitations it sent or received, and
                    // hand its host role on).
                    // Stored rooms report the moderation that changed.
                    let timed_out = matches!(o, Output::Send { msg: ServerMsg::InviteEnded { .. }, .. }
                        | Output::Send { msg: ServerMsg::IceServers { .. }, .. }
                        | Output::RevokeTurnUser { .. }
                        | Output::ModerationStored { .. }
                        | Output::Send { msg: ServerMsg::Presence { .. }, .. }
                        | Output::Send { msg: ServerMsg::RoleChanged { .. }, .. }
                        | Output::Send { msg: ServerMsg::PeerLeft { reason: confab_proto::LeaveReason::Disconnected, .. }, .. });
                    prop_assert!(timed_out, "the timer only ends invitations and held places: {o:?}");
                }
            } else if !live_before.contains(&ConnId(actor))
                // The SFU's news has no actor; it reaches the endpoint's member.
                && !matches!(op, Op::Connect(_) | Op::SfuFailed(..) | Op::SfuNews(..))
            {
                prop_assert!(outputs.is_empty(), "events for unknown connections are ignored: {outputs:?}");
            } else if is_relay && hub.conns.get(&ConnId(actor)).is_some_and(|c| c.parked.is_none()) {
                prop_assert_eq!(outputs.len(), 1, "a relay produces exactly one output");
            }
            match error_code {
                // These two end the connection, by contract.
                Some(ErrorCode::ServerFull) if matches!(op, Op::Connect(_)) => {}
                Some(ErrorCode::UnsupportedVersion) => {}
                Some(_) => {
                    prop_assert_eq!(outputs.len(), 1, "an error is the only output: {:?}", outputs);
                    // A refused join may have brought a room back from the store (its
                    // seats held): the room count aside, nothing changed.
                    let (mut now_, mut before_) = (snapshot(&hub), before.clone());
                    (now_.1, before_.1) = (0, 0);
                    prop_assert_eq!(&now_, &before_, "an error changed state");
                }
                None => {}
            }

            if let (false, Some(Output::Send { msg: ServerMsg::Chat { message, .. }, .. })) = (releasing, outputs.first()) {
                let r = before.2.iter()
                    .position(|m| m.iter().any(|p| p.id == message.from)).unwrap_or_default();
                let sends = outputs.iter().filter(|o| matches!(o, Output::Send { .. })).count();
                prop_assert_eq!(sends, before.2[r].len(), "a chat goes to every member");
                last_chat_id.insert(r, message.id);
            }
            // Presence: a peer is in at most one call; calls' members are in the room.
            let (conns, rooms, members, history, calls) = snapshot(&hub);
            for (i, room_calls) in calls.iter().enumerate() {
                let mut seen = HashSet::new();
                for call in room_calls {
                    prop_assert!(call.members.len() + call.invited.len() <= config.max_call_size);
                    for p in call.members.iter().chain(&call.invited) {
                        prop_assert!(seen.insert(p.clone()), "{} in two calls", p);
                        prop_assert!(members[i].iter().any(|m| &m.id == p), "call member not in the room");
                    }
                    for p in &call.members {
                        let st = &members[i].iter().find(|m| &m.id == p).map(|m| m.state.clone()).unwrap_or_default();
                        prop_assert_eq!((st.status, st.call), (Status::InCall, Some(call.id)));
                    }
                }
                for m in &members[i] {
                    prop_assert_eq!(m.state.status != Status::Idle, seen.contains(&m.id));
                }
            }
            for (i, m) in members.iter().enumerate() {
                // A room without members lives on while seats are held for them.
                if m.is_empty() && !hub.room_exists(&room(i)) {
                    last_chat_id.remove(&i); // the room ended; ids start over
                    prop_assert!(history[i].is_empty());
                }
                prop_assert!(history[i].len() <= config.chat_history);
            }
            prop_assert!(conns <= config.max_connections);
            prop_assert!(rooms <= config.max_rooms);
            // Rooms with members, and rooms brought back whose seats are still held.
            prop_assert!(rooms >= members.iter().filter(|m| !m.is_empty()).count());
            for m in &members {
                prop_assert!(m.len() <= config.max_peers_per_room);
            }
            // A fast store answers every load at once, so rooms come back from it (with
            // their moderation) often enough to be tested; its outputs are checked by
            // the invariants.
            let loads: Vec<RoomId> = outputs.iter().filter_map(|o| match o {
                Output::LoadHistory { room } => Some(room.clone()),
                _ => None,
            }).collect();
            for r in loads.into_iter().filter(|_| fast_store) {
                let moderation = saved.get(&r).cloned();
                let stored = ChatSeed { room: r.clone(), history: Vec::new(), last_id: 40, moderation };
                hub.handle(at, Input::History { room: r, seed: Some(stored) });
                hub.check_invariants();
                for o in std::iter::from_fn(|| hub.poll_output()) {
                    match o {
                        Output::ModerationStored { room, moderation } if moderation.is_empty() => { saved.remove(&room); }
                        Output::ModerationStored { room, moderation } => { saved.insert(room, moderation); }
                        Output::Send { to, msg: ServerMsg::Welcome { peer_id, resume_token, .. } } => {
                            ids.insert(to.0, peer_id.clone());
                            all_ids.insert(peer_id);
                            tokens.insert(to.0, resume_token.unwrap_or_default());
                        }
                        _ => {}
                    }
                }
                last_chat_id.clear();
            }
        }
    }
}
