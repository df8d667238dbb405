//! Rooms shared by several hubs (a cluster): members on different nodes see each
//! other, chat, call and relay; the room's events reach each node once; a lost message
//! is healed by a resync. The nodes are wired by a test network with a lease table, as
//! the Redis driver would do it.

mod common;

use common::{room, Harness};
use confab_proto::{ClientMsg, PeerId, RoomId, ServerMsg};
use confab_signal::{
    ClusterIn, ClusterOut, ConnId, HubConfig, Input, NodeId, Output, SessionRecord,
};
use std::collections::HashMap;
use std::time::Duration;

/// Hubs wired together: what each sends to another arrives, in order, unless a test
/// drops it; the lease table gives each room to the first node that claims it.
struct Cluster {
    nodes: Vec<Harness>,
    leases: HashMap<RoomId, usize>,
    /// What each node's connections were sent, in order.
    inbox: Vec<Vec<(ConnId, ServerMsg)>>,
    /// Drop the next this many cluster messages (a lossy pub/sub).
    drop_next: usize,
    /// Nodes killed: they do nothing more, and what is sent to them is lost.
    dead: Vec<bool>,
    /// The shared store's session records.
    sessions: HashMap<String, SessionRecord>,
}

fn node(i: usize) -> NodeId {
    NodeId(format!("node-{i}"))
}

fn index(node: &NodeId) -> usize {
    node.0.trim_start_matches("node-").parse().unwrap()
}

impl Cluster {
    fn new(n: usize) -> Cluster {
        Cluster::with_grace(n, Duration::ZERO)
    }

    fn with_grace(n: usize, resume_grace: Duration) -> Cluster {
        let config = HubConfig {
            cluster: true,
            resume_grace,
            ..HubConfig::default()
        };
        Cluster {
            nodes: (0..n)
                .map(|i| Harness::seeded(config.clone(), [i as u8; 32]))
                .collect(),
            leases: HashMap::new(),
            inbox: vec![Vec::new(); n],
            drop_next: 0,
            dead: vec![false; n],
            sessions: HashMap::new(),
        }
    }

    /// Node `n` dies (`kill -9`): its leases run out, and the others learn it is dead.
    fn kill(&mut self, n: usize) {
        self.dead[n] = true;
        self.nodes[n].drain();
        self.leases.retain(|_, owner| *owner != n);
        for i in 0..self.nodes.len() {
            if !self.dead[i] {
                let down = ClusterIn::NodeDown { node: node(n) };
                self.nodes[i].tick(Input::Cluster(down));
            }
        }
        self.pump();
    }

    /// Lets `by` pass on every live node (deadlines fire).
    fn advance(&mut self, by: Duration) {
        for i in 0..self.nodes.len() {
            if !self.dead[i] {
                self.nodes[i].advance(by);
                self.nodes[i].input(Input::Timeout);
            }
        }
        self.pump();
    }

    /// Delivers every output until the cluster is quiet.
    fn pump(&mut self) {
        loop {
            let mut work = Vec::new();
            for (i, n) in self.nodes.iter_mut().enumerate() {
                if self.dead[i] {
                    continue;
                }
                for out in n.drain() {
                    work.push((i, out));
                }
            }
            if work.is_empty() {
                return;
            }
            for (i, out) in work {
                self.perform(i, out);
            }
        }
    }

    fn perform(&mut self, i: usize, out: Output) {
        match out {
            Output::Send { to, msg } => self.inbox[i].push((to, msg)),
            Output::LoadHistory { room } => {
                let owner = *self.leases.entry(room.clone()).or_insert(i);
                let input = if owner == i {
                    Input::History { room, seed: None }
                } else {
                    let owner = node(owner);
                    Input::Cluster(ClusterIn::Elsewhere { room, owner })
                };
                self.nodes[i].tick(input);
            }
            Output::Cluster(out) => {
                if self.drop_next > 0 {
                    self.drop_next -= 1;
                    return;
                }
                let from = node(i);
                let (to, input) = match out {
                    ClusterOut::Command { to, room, cmd } => {
                        (index(&to), ClusterIn::Command { from, room, cmd })
                    }
                    ClusterOut::Events { to, room, events } => {
                        (index(&to), ClusterIn::Events { from, room, events })
                    }
                    ClusterOut::Released { room } => {
                        if self.leases.get(&room) == Some(&i) {
                            self.leases.remove(&room);
                        }
                        return;
                    }
                    ClusterOut::Session { key, record } => {
                        match record {
                            Some(r) => self.sessions.insert(key, r),
                            None => self.sessions.remove(&key),
                        };
                        return;
                    }
                    ClusterOut::FindSession { conn, key } => {
                        let record = self.sessions.get(&key).cloned();
                        let found = ClusterIn::SessionFound { conn, record };
                        return self.nodes[i].tick(Input::Cluster(found));
                    }
                    other => panic!("unexpected {other:?}"),
                };
                if !self.dead[to] {
                    self.nodes[to].tick(Input::Cluster(input));
                }
            }
            _ => {}
        }
    }

    /// A helloed connection on node `n`.
    fn ready(&mut self, n: usize, conn: u64) -> (ConnId, PeerId) {
        let r = self.nodes[n].ready(conn);
        self.pump();
        r
    }

    fn frame(&mut self, n: usize, conn: ConnId, msg: ClientMsg) {
        self.nodes[n].frame(conn, msg);
        self.pump();
    }

    fn join(&mut self, n: usize, conn: ConnId, room: &str, name: &str) {
        self.nodes[n].join(conn, room, name);
        self.pump();
    }

    /// What node `n`'s connection `conn` got since the last call.
    fn took(&mut self, n: usize, conn: ConnId) -> Vec<ServerMsg> {
        let (mine, rest) = self.inbox[n].drain(..).partition(|(c, _)| *c == conn);
        self.inbox[n] = rest;
        mine.into_iter().map(|(_, m)| m).collect()
    }
}

fn chat(text: &str) -> ClientMsg {
    ClientMsg::Chat {
        text: text.into(),
        key: None,
    }
}

#[test]
fn members_on_two_nodes_see_each_other_chat_and_relay() {
    let mut c = Cluster::new(2);
    let (ada, ada_id) = c.ready(0, 1);
    let (grace, grace_id) = c.ready(1, 1);
    c.join(0, ada, "r", "Ada");
    c.join(1, grace, "r", "Grace");
    assert_eq!(
        c.leases.get(&room("r")),
        Some(&0),
        "the first to claim owns it"
    );
    assert_eq!(c.nodes[0].hub.room_count(), 1);
    assert_eq!(c.nodes[1].hub.room_count(), 0, "node 1 runs no room core");

    let got = c.took(1, grace);
    let joined = got.iter().find_map(|m| match m {
        ServerMsg::Joined { peers, .. } => Some(peers.clone()),
        _ => None,
    });
    let peers = joined.expect("Grace gets joined through her node");
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].id, ada_id);
    let ada_got = c.took(0, ada);
    assert!(
        ada_got
            .iter()
            .any(|m| matches!(m, ServerMsg::PeerJoined { peer } if peer.id == grace_id)),
        "{ada_got:?}"
    );

    // Chat from the remote member reaches both, once each, with one id.
    c.frame(1, grace, chat("hello from node 1"));
    let ids = |msgs: Vec<ServerMsg>| -> Vec<u64> {
        msgs.into_iter()
            .filter_map(|m| match m {
                ServerMsg::Chat { message, .. } => Some(message.id),
                _ => None,
            })
            .collect()
    };
    let (a, g) = (ids(c.took(0, ada)), ids(c.took(1, grace)));
    assert_eq!(a.len(), 1);
    assert_eq!(a, g);

    // An offer crosses nodes, stamped with the sender.
    let sdp = "v=0\r\n".to_owned();
    c.frame(
        0,
        ada,
        ClientMsg::Offer {
            to: grace_id.clone(),
            sdp: sdp.clone(),
        },
    );
    assert_eq!(
        c.took(1, grace),
        vec![ServerMsg::Offer {
            from: ada_id.clone(),
            sdp
        }]
    );
    assert!(c.took(0, ada).is_empty());

    // Grace leaves: Ada hears it, node 1 forgets the room; the last one out releases it.
    c.frame(1, grace, ClientMsg::Leave);
    assert!(c
        .took(1, grace)
        .iter()
        .any(|m| matches!(m, ServerMsg::Left { .. })));
    assert!(c
        .took(0, ada)
        .iter()
        .any(|m| matches!(m, ServerMsg::PeerLeft { peer_id, .. } if *peer_id == grace_id)));
    assert_eq!(c.nodes[1].hub.peer_count(), 0);
    c.frame(0, ada, ClientMsg::Leave);
    assert_eq!(c.nodes[0].hub.room_count(), 0);
    assert!(c.leases.is_empty(), "an ended room gives its lease up");
}

#[test]
fn a_remote_member_who_drops_leaves_the_owners_room() {
    let mut c = Cluster::new(2);
    let (ada, _) = c.ready(0, 1);
    let (grace, grace_id) = c.ready(1, 1);
    c.join(0, ada, "r", "Ada");
    c.join(1, grace, "r", "Grace");
    c.took(0, ada);
    c.nodes[1].disconnect(grace);
    c.pump();
    assert_eq!(c.nodes[0].hub.peers_in(&room("r")).len(), 1);
    assert!(c
        .took(0, ada)
        .iter()
        .any(|m| matches!(m, ServerMsg::PeerLeft { peer_id, .. } if *peer_id == grace_id)));
}

#[test]
fn three_nodes_share_one_room_and_each_member_gets_each_message_once() {
    let mut c = Cluster::new(3);
    let mut members = Vec::new();
    for n in [1, 0, 2, 1, 2] {
        let conn = 10 + members.len() as u64;
        let (conn, _) = c.ready(n, conn);
        c.join(n, conn, "big", &format!("P{conn}"));
        members.push((n, conn));
    }
    assert_eq!(c.leases.get(&room("big")), Some(&1));
    assert_eq!(c.nodes[1].hub.peers_in(&room("big")).len(), 5);
    for &(n, conn) in &members {
        c.took(n, conn);
    }
    let (n, conn) = members[2];
    c.frame(n, conn, chat("one"));
    for &(n, conn) in &members {
        let chats: Vec<_> = c
            .took(n, conn)
            .into_iter()
            .filter(|m| matches!(m, ServerMsg::Chat { .. }))
            .collect();
        assert_eq!(chats.len(), 1, "node {n} conn {conn}");
    }
}

#[test]
fn a_lost_message_is_healed_by_a_resync_snapshot() {
    let mut c = Cluster::new(2);
    let (ada, _) = c.ready(0, 1);
    let (grace, _) = c.ready(1, 1);
    c.join(0, ada, "r", "Ada");
    c.join(1, grace, "r", "Grace");
    c.took(1, grace);
    // Ada's chat reaches node 1 in a message that is lost.
    c.drop_next = 1;
    c.frame(0, ada, chat("lost on the way"));
    assert!(c.took(1, grace).is_empty());
    // The driver sees the gap at the next message and asks for a resync.
    c.nodes[1].tick(Input::Cluster(ClusterIn::Resync { node: node(0) }));
    c.pump();
    let got = c.took(1, grace);
    let history = got.iter().find_map(|m| match m {
        ServerMsg::Joined { history, .. } => Some(history.clone()),
        _ => None,
    });
    let history = history.expect("a fresh snapshot");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].text, "lost on the way");
}

#[test]
fn a_join_that_reaches_a_former_owner_is_claimed_again() {
    let mut c = Cluster::new(2);
    let (ada, _) = c.ready(0, 1);
    c.join(0, ada, "r", "Ada");
    c.frame(0, ada, ClientMsg::Leave);
    assert!(c.leases.is_empty());
    // Node 1 still believes node 0 owns "r" (its answer crossed the release).
    let (grace, _) = c.ready(1, 1);
    c.leases.insert(room("r"), 0);
    c.join(1, grace, "r", "Grace");
    assert!(c
        .took(1, grace)
        .iter()
        .any(|m| matches!(m, ServerMsg::Joined { .. })));
    assert_eq!(c.nodes[0].hub.peers_in(&room("r")).len(), 1);
}

#[test]
fn members_of_a_dead_node_are_held_reconnecting_then_leave() {
    let grace = Duration::from_secs(30);
    let mut c = Cluster::with_grace(2, grace);
    let (ada, _) = c.ready(0, 1);
    let (grace_conn, grace_id) = c.ready(1, 1);
    c.join(0, ada, "r", "Ada");
    c.join(1, grace_conn, "r", "Grace");
    c.took(0, ada);
    c.kill(1);
    let got = c.took(0, ada);
    assert!(
        got.iter()
            .any(|m| matches!(m, ServerMsg::Presence { peer_id, state }
            if *peer_id == grace_id && state.reconnecting)),
        "Ada sees Grace reconnecting: {got:?}"
    );
    assert_eq!(
        c.nodes[0].hub.peers_in(&room("r")).len(),
        2,
        "her place is held"
    );
    c.advance(grace + Duration::from_secs(1));
    assert!(c
        .took(0, ada)
        .iter()
        .any(|m| matches!(m, ServerMsg::PeerLeft { peer_id, .. } if *peer_id == grace_id)));
    assert_eq!(c.nodes[0].hub.peers_in(&room("r")).len(), 1);
}

#[test]
fn a_dead_owners_room_is_made_again_by_its_members_on_other_nodes() {
    let mut c = Cluster::new(3);
    let (ada, _) = c.ready(0, 1);
    let (grace, grace_id) = c.ready(1, 1);
    let (hank, hank_id) = c.ready(2, 1);
    c.join(0, ada, "r", "Ada");
    c.join(1, grace, "r", "Grace");
    c.join(2, hank, "r", "Hank");
    c.took(1, grace);
    c.took(2, hank);
    c.kill(0);
    // Both took their places again in a room a live node owns now, under their names.
    let owner = *c.leases.get(&room("r")).expect("owned again");
    assert_ne!(owner, 0);
    let peers = c.nodes[owner].hub.peers_in(&room("r"));
    let mut names: Vec<_> = peers.iter().map(|p| p.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Grace", "Hank"]);
    let mut ids: Vec<_> = peers.iter().map(|p| p.id.clone()).collect();
    ids.sort();
    let mut want = vec![grace_id, hank_id];
    want.sort();
    assert_eq!(ids, want, "the same peer ids");
    for (n, conn) in [(1, grace), (2, hank)] {
        assert!(
            c.took(n, conn)
                .iter()
                .any(|m| matches!(m, ServerMsg::Joined { .. })),
            "node {n}'s member gets a fresh joined"
        );
    }
    // And they go on: a chat reaches both.
    c.frame(1, grace, chat("still here"));
    for (n, conn) in [(1, grace), (2, hank)] {
        assert!(c
            .took(n, conn)
            .iter()
            .any(|m| matches!(m, ServerMsg::Chat { .. })));
    }
}

impl Cluster {
    /// A helloed connection on node `n`, resuming with `token` if given; returns it with
    /// its welcome's peer id, resume token and `resumed` flag.
    fn hello(
        &mut self,
        n: usize,
        conn: u64,
        token: Option<String>,
    ) -> (ConnId, PeerId, String, bool) {
        let c = self.nodes[n].connect(conn);
        let hello = ClientMsg::Hello {
            version: confab_proto::PROTOCOL_VERSION,
            resume: token,
        };
        self.nodes[n].frame(c, hello);
        self.pump();
        let got = self.took(n, c);
        let welcome = got.iter().find_map(|m| match m {
            ServerMsg::Welcome {
                peer_id,
                resume_token,
                resumed,
                ..
            } => Some((peer_id.clone(), resume_token.clone().unwrap(), *resumed)),
            _ => None,
        });
        let (peer, token, resumed) = welcome.expect("a welcome");
        // What came after the welcome stays for the test to read.
        self.inbox[n].extend(
            got.into_iter()
                .filter(|m| !matches!(m, ServerMsg::Welcome { .. }))
                .map(|m| (c, m)),
        );
        (c, peer, token, resumed)
    }
}

#[test]
fn a_member_whose_node_died_resumes_on_another_node_with_its_peer_id() {
    let grace = Duration::from_secs(30);
    let mut c = Cluster::with_grace(3, grace);
    let (ada, _) = c.ready(0, 1);
    let (g1, grace_id, token, _) = c.hello(1, 1, None);
    c.join(0, ada, "r", "Ada");
    c.join(1, g1, "r", "Grace");
    // Grace renames herself: the record a resume elsewhere uses keeps the new name.
    c.frame(
        1,
        g1,
        ClientMsg::Rename {
            name: "Grace H.".into(),
        },
    );
    assert!(
        c.sessions.values().any(|r| r.name == "Grace H."),
        "the session record has the new name"
    );
    c.took(0, ada);
    c.kill(1);
    c.took(0, ada); // Grace is reconnecting

    // Grace's browser reconnects through the load balancer, to node 2.
    let (g2, peer, _, resumed) = c.hello(2, 7, Some(token));
    assert!(resumed, "the session is taken over");
    assert_eq!(peer, grace_id, "with its peer id");
    let got = c.took(2, g2);
    let joined = got.iter().find_map(|m| match m {
        ServerMsg::Joined { room, peers, .. } => Some((room.clone(), peers.clone())),
        _ => None,
    });
    let (joined_room, peers) = joined.expect("back in its room");
    assert_eq!(joined_room, room("r"));
    assert_eq!(peers.len(), 1);
    let ada_got = c.took(0, ada);
    assert!(
        ada_got
            .iter()
            .any(|m| matches!(m, ServerMsg::Presence { peer_id, state }
            if *peer_id == grace_id && !state.reconnecting)),
        "Ada sees Grace back: {ada_got:?}"
    );
    // The hold is over: Grace stays past the grace, and chats from her new node.
    c.advance(grace + Duration::from_secs(1));
    assert_eq!(c.nodes[0].hub.peers_in(&room("r")).len(), 2);
    c.frame(2, g2, chat("back"));
    assert!(c
        .took(0, ada)
        .iter()
        .any(|m| matches!(m, ServerMsg::Chat { .. })));
}

#[test]
fn a_node_a_session_left_cannot_act_for_it() {
    let grace = Duration::from_secs(30);
    let mut c = Cluster::with_grace(3, grace);
    let (ada, _) = c.ready(0, 1);
    let (g1, grace_id, token, _) = c.hello(1, 1, None);
    c.join(0, ada, "r", "Ada");
    c.join(1, g1, "r", "Grace");
    // Grace's socket to node 1 drops (node 1 lives and holds her place), and her
    // browser comes back through node 2 before node 1 notices anything else.
    c.nodes[1].disconnect(g1);
    c.pump();
    let (g2, peer, _, resumed) = c.hello(2, 7, Some(token));
    assert!(resumed);
    assert_eq!(peer, grace_id);
    c.took(2, g2);
    // Node 1's hold ends and it sends her `leave`: the owner ignores it, since node 2
    // holds her now.
    c.advance(grace + Duration::from_secs(1));
    let peers = c.nodes[0].hub.peers_in(&room("r"));
    assert!(peers.iter().any(|p| p.id == grace_id), "{peers:?}");
    c.frame(2, g2, chat("still mine"));
    assert!(c
        .took(0, ada)
        .iter()
        .any(|m| matches!(m, ServerMsg::Chat { .. })));
}

#[test]
fn a_join_lost_with_a_dead_owner_is_made_again_too() {
    let mut c = Cluster::new(2);
    let (ada, _) = c.ready(0, 1);
    c.join(0, ada, "r", "Ada");
    let (grace, _) = c.ready(1, 1);
    c.join(1, grace, "r", "Grace");
    // Node 0 dies before anyone knows; Hank's join on node 1 goes to it, unanswered.
    c.dead[0] = true;
    let (hank, _) = c.ready(1, 2);
    c.join(1, hank, "r", "Hank");
    assert!(!c
        .took(1, hank)
        .iter()
        .any(|m| matches!(m, ServerMsg::Joined { .. })));
    c.dead[0] = false;
    c.kill(0);
    assert!(
        c.took(1, hank)
            .iter()
            .any(|m| matches!(m, ServerMsg::Joined { .. })),
        "Hank's join is made again with Grace's"
    );
    assert_eq!(c.nodes[1].hub.peers_in(&room("r")).len(), 2);
}
