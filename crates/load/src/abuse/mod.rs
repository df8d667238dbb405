//! `confab-abuse`: the attacks of issue 12 at once, against one server, for a bounded
//! time, so `bench/soak.sh` can measure what legitimate clients (driven by
//! `confab-load`) notice. Every attack comes from loopback addresses of its own (below),
//! so the per-address limits meet the attacker, not the legitimate clients:
//!
//! | attack | from | what it does |
//! | --- | --- | --- |
//! | `guess` | 127.0.1.1–N | wrong room passwords to the rooms `--room-prefix`0…, reconnecting |
//! | `idle` | 127.0.3.1 | TCP connections to HTTP and TURN that never send a byte, reopened when closed |
//! | `slow_reader` | 127.0.4.1 | a tiny receive buffer, pipelined join/leave of the flooded room, never reads |
//! | `ghost` | 127.0.5.1 | hello, join, then the socket dropped without a close (a resume hold) |
//! | `flood` | 127.0.6.1 | connections chatting 2,000-character messages as fast as allowed |
//! | `turn` | 127.0.7.1 | TURN Allocate requests without credentials over UDP |
//! | `relay` | 127.0.8.1 | 60 KiB offers at a member of its own room, who must not be dropped |
//!
//! Each attack counts its outcomes (`AbuseReport`). Bounded in time (`--duration`) and
//! rate (each loop paces itself).

mod attacks;
mod raw;

use crate::run::resolve;
use clap::Parser;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Options of `confab-abuse`.
#[derive(Parser, Clone, Debug)]
#[command(name = "confab-abuse", version)]
pub struct AbuseOpts {
    /// WebSocket URL of the server's signaling endpoint.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    pub url: String,
    /// The server's TURN address (UDP and TCP); no TURN attacks without it.
    #[arg(long)]
    pub turn: Option<SocketAddr>,
    /// Seconds the attacks run.
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// Password guessers, each from an address of its own (127.0.1.1 and up, ≤ 250).
    #[arg(long, default_value_t = 64)]
    pub guessers: u8,
    /// Guessed rooms: `<prefix>0` … `<prefix><rooms - 1>`.
    #[arg(long, default_value = "load-")]
    pub room_prefix: String,
    /// How many rooms the guessers spread over.
    #[arg(long, default_value_t = 1)]
    pub rooms: u32,
    /// Idle TCP connections held to HTTP (and a tenth as many to TURN).
    #[arg(long, default_value_t = 200)]
    pub idle: u32,
    /// Slow readers pipelining joins.
    #[arg(long, default_value_t = 4)]
    pub slow_readers: u32,
    /// Ghosts made per second (connect, join, vanish).
    #[arg(long, default_value_t = 20)]
    pub ghosts_per_s: u32,
    /// Chat flooding connections.
    #[arg(long, default_value_t = 8)]
    pub flooders: u32,
    /// TURN Allocate requests without credentials per second.
    #[arg(long, default_value_t = 200)]
    pub turn_rate: u32,
    /// Members relaying oversized offers (each at a victim of its own).
    #[arg(long, default_value_t = 2)]
    pub relayers: u32,
    /// Write the report as JSON here too.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

/// Outcome counts by attack, shared by the attack tasks. A std mutex: each use is one
/// map update, never across `.await`.
#[derive(Debug, Default)]
pub struct Tally(Mutex<BTreeMap<(&'static str, String), u64>>);

impl Tally {
    /// One more `outcome` of `attack`.
    pub fn count(&self, attack: &'static str, outcome: impl Into<String>) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry((attack, outcome.into())).or_insert(0) += 1;
    }

    fn snapshot(&self) -> BTreeMap<(&'static str, String), u64> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// What every attack task gets: where, until when, and where to count.
pub(crate) struct Ctx {
    pub(crate) url: String,
    pub(crate) http: SocketAddr,
    pub(crate) opts: AbuseOpts,
    pub(crate) until: Instant,
    pub(crate) tally: Tally,
}

impl Ctx {
    pub(crate) fn running(&self) -> bool {
        Instant::now() < self.until
    }
}

/// `127.0.<net>.<host>`.
pub(crate) fn loopback(net: u8, host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, net, host))
}

/// Outcome counts of one run, by attack.
#[derive(Clone, Debug, Default)]
pub struct AbuseReport {
    /// Seconds the attacks ran.
    pub secs: f64,
    /// (attack, outcome) → count.
    pub outcomes: BTreeMap<(String, String), u64>,
}

impl AbuseReport {
    /// The count of `outcome` for `attack` (0 if none).
    pub fn get(&self, attack: &str, outcome: &str) -> u64 {
        self.outcomes
            .get(&(attack.to_owned(), outcome.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// All outcomes of `attack`, summed.
    pub fn total(&self, attack: &str) -> u64 {
        self.outcomes
            .iter()
            .filter(|((a, _), _)| a == attack)
            .map(|(_, n)| n)
            .sum()
    }

    /// The report as JSON: `{"secs": …, "attacks": {attack: {outcome: count}}}`.
    pub fn to_json(&self) -> Value {
        let mut attacks = serde_json::Map::new();
        for ((a, o), n) in &self.outcomes {
            let e = attacks.entry(a.clone()).or_insert_with(|| json!({}));
            e[o] = json!(n);
        }
        json!({"secs": self.secs, "attacks": attacks})
    }

    /// Whether the server held: no relay victim was dropped.
    pub fn held(&self) -> bool {
        self.get("relay", "victim_dropped") == 0
    }
}

impl fmt::Display for AbuseReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "abuse for {:.1} s:", self.secs)?;
        for ((a, o), n) in &self.outcomes {
            writeln!(f, "  {a:<12} {o:<28} {n}")?;
        }
        Ok(())
    }
}

impl crate::tool::RunReport for AbuseReport {
    fn to_json(&self) -> Value {
        AbuseReport::to_json(self)
    }
    fn passed(&self) -> bool {
        self.held()
    }
}

/// Runs every attack for `--duration` seconds, then reports.
pub async fn run(opts: &AbuseOpts) -> anyhow::Result<AbuseReport> {
    anyhow::ensure!(
        (0.1..=600.0).contains(&opts.duration),
        "--duration must be 0.1..=600 seconds"
    );
    anyhow::ensure!(opts.guessers <= 250, "--guessers must be at most 250");
    anyhow::ensure!(opts.rooms >= 1, "--rooms must be at least 1");
    let http = resolve(&opts.url).await?;
    let started = Instant::now();
    let ctx = Arc::new(Ctx {
        url: opts.url.clone(),
        http,
        opts: opts.clone(),
        until: started + Duration::from_secs_f64(opts.duration),
        tally: Tally::default(),
    });
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..opts.guessers {
        tasks.spawn(attacks::guess(ctx.clone(), loopback(1, i + 1)));
    }
    tasks.spawn(raw::idle(ctx.clone()));
    for _ in 0..opts.slow_readers {
        tasks.spawn(attacks::slow_reader(ctx.clone()));
    }
    tasks.spawn(attacks::ghosts(ctx.clone()));
    for _ in 0..opts.flooders {
        tasks.spawn(attacks::flood(ctx.clone()));
    }
    if opts.turn.is_some() {
        tasks.spawn(raw::turn_allocations(ctx.clone()));
    }
    for i in 0..opts.relayers {
        tasks.spawn(attacks::relay(ctx.clone(), i));
    }
    // Every task checks the deadline between steps; a step blocked on the network is
    // cut off a little after it.
    let grace = ctx.until + Duration::from_secs(5);
    while tokio::time::timeout_at(grace.into(), tasks.join_next())
        .await
        .is_ok_and(|r| r.is_some())
    {}
    tasks.abort_all();
    let outcomes = ctx
        .tally
        .snapshot()
        .into_iter()
        .map(|((a, o), n)| ((a.to_owned(), o), n))
        .collect();
    Ok(AbuseReport {
        secs: started.elapsed().as_secs_f64(),
        outcomes,
    })
}
