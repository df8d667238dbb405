//! The lease and handover logic in simulated time: several nodes claim one room through
//! a model of Redis (the claim script: set the key if free or renew it if ours, else
//! name the owner; the renewal: `PEXPIRE` if still ours) over links that delay each
//! request and answer, while nodes pause (a stalled process) and crash.
//!
//! Safety: at no instant do two running nodes both believe they own the room.
//! Liveness: once the crashes are over, a live node owns the room within a lease's
//! lifetime and a few claims.

use confab_cluster::lease::LEASE_TTL;
use confab_cluster::{Input, Node, Output};
use confab_proto::RoomId;
use confab_signal::{ClusterIn, NodeId, Now};
use proptest::prelude::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// A node's clock fires.
    Tick(usize),
    /// A node that does not own the room tries to take it.
    Claim(usize),
    /// A request reaches Redis: a claim sent at `sent` (ms), or a renewal.
    AtRedis {
        node: usize,
        claim: bool,
        sent: u64,
    },
    /// Redis's answer reaches the node.
    Answer {
        node: usize,
        owner: Option<usize>,
        claim: bool,
        sent: u64,
    },
    Crash(usize),
    Pause {
        node: usize,
        ms: u64,
    },
}

struct Sim {
    base: Instant,
    now: u64,
    nodes: Vec<Node>,
    crashed: Vec<bool>,
    paused_until: Vec<u64>,
    /// Redis's key: owner and expiry (ms).
    key: Option<(usize, u64)>,
    queue: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    seq: u64,
    rng: u64,
    max_delay: u64,
}

fn name(i: usize) -> NodeId {
    NodeId(format!("n{i}"))
}

fn room() -> RoomId {
    RoomId::parse("r").unwrap()
}

impl Sim {
    fn at(&mut self, t: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse((t, self.seq, ev)));
    }

    fn delay(&mut self) -> u64 {
        // xorshift: the delays follow from the case's seed.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % (self.max_delay + 1)
    }

    fn instant(&self, ms: u64) -> Instant {
        self.base + Duration::from_millis(ms)
    }

    fn feed(&mut self, i: usize, input: Input) {
        let now = Now {
            mono: self.instant(self.now),
            unix_ms: self.now,
        };
        self.nodes[i].handle(now, input);
        while let Some(out) = self.nodes[i].poll_output() {
            if let Output::Renew { .. } = out {
                let t = self.now + self.delay();
                let sent = self.now;
                self.at(
                    t,
                    Ev::AtRedis {
                        node: i,
                        claim: false,
                        sent,
                    },
                );
            }
        }
    }

    /// Running nodes that believe they own the room now.
    fn owners(&self) -> Vec<usize> {
        let now = self.instant(self.now);
        (0..self.nodes.len())
            .filter(|&i| !self.crashed[i] && self.nodes[i].owns(&room(), now))
            .collect()
    }

    fn step(&mut self, ev: Ev) {
        match ev {
            Ev::Tick(i) => {
                if !self.crashed[i] {
                    if self.now >= self.paused_until[i] {
                        self.feed(i, Input::Timeout);
                    }
                    self.at(self.now + 50, Ev::Tick(i));
                }
            }
            Ev::Claim(i) => {
                if !self.crashed[i] {
                    let now = self.instant(self.now);
                    if self.now >= self.paused_until[i] && !self.nodes[i].owns(&room(), now) {
                        let (t, sent) = (self.now + self.delay(), self.now);
                        self.at(
                            t,
                            Ev::AtRedis {
                                node: i,
                                claim: true,
                                sent,
                            },
                        );
                    }
                    self.at(self.now + 500, Ev::Claim(i));
                }
            }
            Ev::AtRedis { node, claim, sent } => {
                let live = self.key.filter(|&(_, exp)| exp > self.now);
                // A claim sets the key if it is free, renews it if it is the
                // claimer's already (a claim's answer is a fresh lease), else names
                // the owner; a renewal extends only the claimer's own key.
                let owner = if claim {
                    match live {
                        Some((o, _)) if o != node => Some(o),
                        _ => {
                            self.key = Some((node, self.now + LEASE_TTL.as_millis() as u64));
                            Some(node)
                        }
                    }
                } else if live.is_some_and(|(o, _)| o == node) {
                    self.key = Some((node, self.now + LEASE_TTL.as_millis() as u64));
                    Some(node)
                } else {
                    None
                };
                let t = self.now + self.delay();
                self.at(
                    t,
                    Ev::Answer {
                        node,
                        owner,
                        claim,
                        sent,
                    },
                );
            }
            Ev::Answer {
                node,
                owner,
                claim,
                sent,
            } => {
                if self.crashed[node] {
                    return;
                }
                if self.now < self.paused_until[node] {
                    let t = self.paused_until[node];
                    return self.at(
                        t,
                        Ev::Answer {
                            node,
                            owner,
                            claim,
                            sent,
                        },
                    );
                }
                let input = if claim {
                    let Some(owner) = owner else { return };
                    let sent = self.instant(sent);
                    Input::Claimed {
                        room: room(),
                        owner: name(owner),
                        sent,
                    }
                } else {
                    Input::Renewed {
                        room: room(),
                        ok: owner == Some(node),
                    }
                };
                self.feed(node, input);
            }
            Ev::Crash(i) => self.crashed[i] = true,
            Ev::Pause { node, ms } => self.paused_until[node] = self.now + ms,
        }
    }
}

fn run(
    n: usize,
    crashes: Vec<(usize, u64)>,
    pauses: Vec<(usize, u64, u64)>,
    seed: u64,
    max_delay: u64,
) {
    let mut sim = Sim {
        base: Instant::now(),
        now: 0,
        nodes: (0..n).map(|i| Node::new(name(i), i as u64)).collect(),
        crashed: vec![false; n],
        paused_until: vec![0; n],
        key: None,
        queue: BinaryHeap::new(),
        seq: 0,
        rng: seed | 1,
        max_delay,
    };
    for i in 0..n {
        sim.at(i as u64 * 7, Ev::Tick(i));
        sim.at(i as u64 * 13, Ev::Claim(i));
    }
    // Never every node: someone must be left to take the room over.
    let mut quiet = 0;
    for (i, t) in crashes.into_iter().filter(|&(i, _)| i + 1 < n) {
        sim.at(t, Ev::Crash(i));
        quiet = quiet.max(t);
    }
    for (node, t, ms) in pauses {
        sim.at(t, Ev::Pause { node: node % n, ms });
        quiet = quiet.max(t + ms);
    }
    let end = quiet.max(60_000) + 30_000;
    // After the last crash or pause, the room is never without an owner for longer
    // than a lease that must run out plus a few round trips and claims.
    let longest_gap = LEASE_TTL.as_millis() as u64 + 4 * max_delay + 1_500;
    let mut owned_at = quiet;
    while let Some(Reverse((t, _, ev))) = sim.queue.pop() {
        if t > end {
            break;
        }
        sim.now = t;
        if std::env::var_os("LEASE_TRACE").is_some() && !matches!(ev, Ev::Tick(_) | Ev::Claim(_)) {
            eprintln!("{t} {ev:?} key={:?} owners={:?}", sim.key, sim.owners());
        }
        sim.step(ev);
        let owners = sim.owners();
        assert!(owners.len() <= 1, "two owners at {t} ms: {owners:?}");
        if t >= quiet {
            if !owners.is_empty() {
                owned_at = t;
            }
            assert!(
                t - owned_at <= longest_gap,
                "nobody owned the room from {owned_at} to {t} ms"
            );
        }
    }
}

#[test]
fn a_claim_by_the_holder_renews_the_key() {
    // Found by the property below: a holder that claimed again (after a pause) took
    // "already yours" for a fresh lease while the key was about to expire.
    run(
        4,
        vec![(1, 13)],
        vec![(3, 33472, 8999), (0, 10001, 8999)],
        10448604075377995946,
        67,
    );
}

#[test]
fn an_owner_that_crashes_is_replaced_within_a_lease() {
    run(3, vec![(0, 5_000)], vec![], 42, 100);
}

#[test]
fn a_paused_owner_stops_owning_before_another_takes_over() {
    run(2, vec![], vec![(0, 3_000, 15_000)], 7, 200);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn never_two_owners_and_always_one_again(
        n in 2usize..5,
        crashes in proptest::collection::vec((0usize..4, 0u64..40_000), 0..3),
        pauses in proptest::collection::vec((0usize..4, 0u64..40_000, 0u64..20_000), 0..4),
        seed in any::<u64>(),
        max_delay in 0u64..400,
    ) {
        run(n, crashes, pauses, seed, max_delay);
    }
}

#[test]
fn node_down_after_five_silent_seconds_and_its_leases_are_claimed_again() {
    let mut node = Node::new(name(0), 0);
    let base = Instant::now();
    let at = |ms: u64| Now {
        mono: base + Duration::from_millis(ms),
        unix_ms: ms,
    };
    node.handle(
        at(1_000),
        Input::Nodes {
            beats: vec![(name(0), 1_000), (name(1), 1_000)],
        },
    );
    node.handle(
        at(5_900),
        Input::Nodes {
            beats: vec![(name(0), 5_900), (name(1), 1_000)],
        },
    );
    let outs: Vec<Output> = std::iter::from_fn(|| node.poll_output()).collect();
    let down = |o: &Output| matches!(o, Output::ToHub(ClusterIn::NodeDown { .. }));
    assert!(!outs.iter().any(down), "{outs:?}");
    node.handle(
        at(6_000),
        Input::Nodes {
            beats: vec![(name(0), 6_000), (name(1), 1_000)],
        },
    );
    let outs: Vec<Output> = std::iter::from_fn(|| node.poll_output()).collect();
    let down = Output::ToHub(ClusterIn::NodeDown { node: name(1) });
    assert!(outs.contains(&down), "{outs:?}");
    assert_eq!(node.alive(), vec![name(0)]);

    // A claim that finds the dead node's lease is tried again, not handed to the hub.
    let room = RoomId::parse("r").unwrap();
    let sent = base + Duration::from_millis(6_000);
    node.handle(
        at(6_000),
        Input::Claimed {
            room: room.clone(),
            owner: name(1),
            sent,
        },
    );
    let outs: Vec<Output> = std::iter::from_fn(|| node.poll_output()).collect();
    assert!(
        !outs.iter().any(|o| matches!(o, Output::ToHub(_))),
        "{outs:?}"
    );
    assert!(node.poll_timeout().unwrap() <= base + Duration::from_millis(6_500));
    node.handle(at(6_500), Input::Timeout);
    let outs: Vec<Output> = std::iter::from_fn(|| node.poll_output()).collect();
    assert!(outs.contains(&Output::Claim { room }), "{outs:?}");
}

#[test]
fn a_drained_node_gives_its_leases_up_and_the_others_take_over_at_once() {
    let base = Instant::now();
    let at = |ms: u64| Now {
        mono: base + Duration::from_millis(ms),
        unix_ms: ms,
    };
    let (mut a, mut b) = (Node::new(name(0), 1), Node::new(name(1), 2));
    let beats = vec![(name(0), 1_000), (name(1), 1_000)];
    for n in [&mut a, &mut b] {
        n.handle(
            at(1_000),
            Input::Nodes {
                beats: beats.clone(),
            },
        );
        while n.poll_output().is_some() {}
    }
    let room = RoomId::parse("r").unwrap();
    let sent = base + Duration::from_millis(1_000);
    a.handle(
        at(1_000),
        Input::Claimed {
            room: room.clone(),
            owner: name(0),
            sent,
        },
    );
    while a.poll_output().is_some() {}
    a.handle(at(2_000), Input::Drain);
    let outs: Vec<Output> = std::iter::from_fn(|| a.poll_output()).collect();
    assert_eq!(
        outs[0],
        Output::ToHub(ClusterIn::Draining),
        "the hub stops owning first"
    );
    assert!(outs.contains(&Output::Release { room: room.clone() }));
    assert!(!a.owns(&room, base + Duration::from_millis(2_000)));
    let Some(Output::Publish { to, payload }) = outs
        .iter()
        .find(|o| matches!(o, Output::Publish { .. }))
        .cloned()
    else {
        panic!("the other node is told: {outs:?}");
    };
    assert_eq!(to, name(1));
    b.handle(at(2_001), Input::Received(payload));
    let outs: Vec<Output> = std::iter::from_fn(|| b.poll_output()).collect();
    assert!(
        outs.contains(&Output::ToHub(ClusterIn::NodeDown { node: name(0) })),
        "{outs:?}"
    );
    assert!(!b.alive().contains(&name(0)));
}
