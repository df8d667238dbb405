//! The coordinator: connects every client, reads the server's RSS, runs the traffic
//! phase (paced or max-rate), waits for the last deliveries, then checks every stream.

use crate::client::{self, ClientResult, Sending, Stream};
use crate::opts::Opts;
use crate::report::{Report, Verdict};
use crate::seq::{SeqChecker, Tally};
use crate::shared::Shared;
use anyhow::{bail, Context};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

/// Errors kept in the report (the rest are only counted).
const KEEP_ERRORS: usize = 5;

/// The resident set size of `pid` in KiB, from `/proc/<pid>/status`.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS line")
}

/// CPU time (user + system) `pid` has used, in seconds, from `/proc/<pid>/stat`
/// (fields 14 and 15, in USER_HZ ticks, which Linux fixes at 100 for user space).
pub fn cpu_secs(pid: u32) -> anyhow::Result<f64> {
    cpu_times(pid).map(|(user, sys)| user + sys)
}

/// User and system CPU time `pid` has used, in seconds (see [`cpu_secs`]).
pub fn cpu_times(pid: u32) -> anyhow::Result<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces; fields after it follow its ')'.
    let rest = stat.rsplit_once(')').context("no ')' in stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields.get(i).context("short stat")?.parse::<u64>()? as f64)
    };
    // `rest` starts at field 3 (state), so utime (14) and stime (15) are at 11 and 12.
    Ok((ticks(11)? / 100.0, ticks(12)? / 100.0))
}

/// The sum of `f` over `pids`; `None` without pids.
fn summed(pids: &[u32], f: fn(u32) -> anyhow::Result<f64>) -> anyhow::Result<Option<f64>> {
    if pids.is_empty() {
        return Ok(None);
    }
    let mut total = 0.0;
    for &p in pids {
        total += f(p)?;
    }
    Ok(Some(total))
}

/// The summed RSS of `pids` in KiB.
fn rss_sum(pids: &[u32]) -> anyhow::Result<Option<u64>> {
    Ok(summed(pids, |p| rss_kib(p).map(|k| k as f64))?.map(|k| k as u64))
}

/// Host and port of a `ws://host:port/...` URL, resolved.
pub(crate) async fn resolve(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url
        .strip_prefix("ws://")
        .context("only ws:// URLs are supported")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let hostport = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.contains(']'))
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    tokio::net::lookup_host(hostport)
        .await?
        .next()
        .context("URL host does not resolve")
}

/// Room number and the members of that room, for client `idx`.
fn room_of(opts: &Opts, idx: u32) -> (u32, Vec<u32>) {
    let room = idx / opts.room_size;
    let first = room * opts.room_size;
    let last = (first + opts.room_size).min(opts.clients);
    (room, (first..last).collect())
}

/// Sender indices: the first member of each room, then the second of each, ….
fn senders(opts: &Opts) -> Vec<u32> {
    let rooms = opts.clients.div_ceil(opts.room_size);
    let want = if opts.senders == 0 {
        opts.clients
    } else {
        opts.senders.min(opts.clients)
    };
    let mut out = Vec::with_capacity(want as usize);
    'outer: for pos in 0..opts.room_size {
        for room in 0..rooms {
            let idx = room * opts.room_size + pos;
            if idx < opts.clients {
                if out.len() as u32 == want {
                    break 'outer;
                }
                out.push(idx);
            }
        }
    }
    out
}

/// Runs one load test as `opts` say. Bounded: every phase has a deadline.
pub async fn run(opts: &Opts) -> anyhow::Result<Report> {
    opts.check()?;
    let mut addrs = Vec::with_capacity(opts.url.len());
    for url in &opts.url {
        addrs.push((url.clone(), resolve(url).await?));
    }
    let baseline_kib = rss_sum(&opts.server_pid)?;
    let (start_tx, start_rx) = watch::channel(false);
    let shared = Arc::new(Shared::new(start_rx, opts.max_messages, opts.relay_ratio));
    let sender_list = senders(opts);
    let mut pacer_txs = Vec::new();
    let mut sending_for: HashMap<u32, Sending> = HashMap::new();
    for &s in &sender_list {
        let sending = if opts.rate > 0 {
            let (tx, rx) = mpsc::channel(64);
            pacer_txs.push(tx);
            Sending::Paced(rx)
        } else {
            Sending::Window(opts.window)
        };
        sending_for.insert(s, sending);
    }

    // Connect everyone; each task goes on to run its client.
    let sem = Arc::new(Semaphore::new(opts.connect_concurrency));
    let (setup_tx, mut setup_rx) = mpsc::unbounded_channel::<Result<Duration, String>>();
    let mut tasks: JoinSet<Option<ClientResult>> = JoinSet::new();
    let connect_started = Instant::now();
    let connect_deadline = connect_started + Duration::from_secs_f64(opts.connect_timeout);
    for idx in 0..opts.clients {
        let (room, members) = room_of(opts, idx);
        let src = (!opts.source_ip.is_empty())
            .then(|| opts.source_ip[idx as usize % opts.source_ip.len()]);
        let sending = sending_for.remove(&idx).unwrap_or(Sending::No);
        let (url, addr) = addrs[idx as usize % addrs.len()].clone();
        let (sem, setup_tx, shared) = (sem.clone(), setup_tx.clone(), shared.clone());
        let password = opts.password.clone();
        tasks.spawn(async move {
            let permit = sem.acquire_owned().await.ok()?;
            let room = format!("load-{room}");
            let joined = tokio::time::timeout_at(
                connect_deadline.into(),
                client::join(&url, addr, src, idx, &room, password.as_deref()),
            )
            .await;
            drop(permit);
            let joined = match joined {
                Ok(Ok(j)) => j,
                Ok(Err(e)) => {
                    let _ = setup_tx.send(Err(client::join_error(idx, e).to_string()));
                    return None;
                }
                Err(_) => {
                    let _ = setup_tx.send(Err(format!("client {idx}: connect timed out")));
                    return None;
                }
            };
            let _ = setup_tx.send(Ok(joined.setup));
            drop(setup_tx);
            Some(client::run(joined, members, sending, shared).await)
        });
    }
    drop(setup_tx);
    let mut setups = Vec::with_capacity(opts.clients as usize);
    let mut connect_errors = Vec::new();
    let mut connect_failures = 0u64;
    // Every task reports once (the senders live on in the client tasks, so count).
    for _ in 0..opts.clients {
        let Some(r) = setup_rx.recv().await else {
            break;
        };
        match r {
            Ok(d) => setups.push(d),
            Err(e) => {
                connect_failures += 1;
                if connect_errors.len() < KEEP_ERRORS {
                    connect_errors.push(e);
                }
            }
        }
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();
    setups.sort();
    let setup_p99_ms = setups
        .get((setups.len() * 99 / 100).min(setups.len().saturating_sub(1)))
        .map_or(0.0, |d| d.as_secs_f64() * 1e3);

    tokio::time::sleep(Duration::from_secs_f64(opts.settle)).await;
    let rss_joined_kib = rss_sum(&opts.server_pid)?;

    let mut report = Report {
        label: opts.label.clone(),
        clients: opts.clients,
        room_size: opts.room_size,
        connected: setups.len() as u64,
        connect_failures,
        connect_errors,
        connect_secs,
        setup_p99_ms,
        baseline_kib,
        rss_joined_kib,
        ..Report::default()
    };

    if opts.duration > 0.0 && connect_failures == 0 {
        traffic(
            opts,
            &shared,
            &start_tx,
            pacer_txs,
            &sender_list,
            &mut report,
        )
        .await;
        report.rss_after_kib = rss_sum(&opts.server_pid)?;
    }
    shared.finish.cancel();
    let mut results = Vec::new();
    let collect = async {
        while let Some(r) = tasks.join_next().await {
            if let Ok(Some(r)) = r {
                results.push(r);
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(30), collect)
        .await
        .is_err()
    {
        tasks.abort_all();
        bail!("client tasks did not finish within 30 s of the end of the run");
    }
    report.verdict = verify(opts, &results);
    report.errors = shared.errors();
    Ok(report)
}

/// The traffic phase: start, send for `--duration` (or `--max-messages`), drain.
async fn traffic(
    opts: &Opts,
    shared: &Arc<Shared>,
    start_tx: &watch::Sender<bool>,
    pacer_txs: Vec<mpsc::Sender<u64>>,
    sender_list: &[u32],
    report: &mut Report,
) {
    let t0 = shared.now_us();
    let cpu_before = summed(&opts.server_pid, cpu_secs).ok().flatten();
    shared
        .record_after_us
        .store(t0 + (opts.warmup * 1e6) as u64, Ordering::Relaxed);
    let started = Instant::now();
    let _ = start_tx.send(true);
    let pacer = (opts.rate > 0).then(|| {
        let room = opts.room_size.min(opts.clients) as f64;
        let sends_per_s = opts.rate as f64 / (room + opts.relay_ratio);
        tokio::spawn(pace(shared.clone(), pacer_txs, sends_per_s, t0))
    });
    let send_until = started + Duration::from_secs_f64(opts.duration);
    while Instant::now() < send_until && !shared.stop_sending() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shared.stop();
    let send_secs = started.elapsed().as_secs_f64();
    if let Some(p) = pacer {
        report.pacer_dropped = p.await.unwrap_or(0);
    }
    let drain_until = Instant::now() + Duration::from_secs_f64(opts.drain_timeout);
    while Instant::now() < drain_until
        && shared.delivered.load(Ordering::Relaxed) < shared.expected.load(Ordering::Relaxed)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let total_secs = started.elapsed().as_secs_f64();
    let cpu_after = summed(&opts.server_pid, cpu_secs).ok().flatten();
    report.server_cpu_secs = cpu_before.zip(cpu_after).map(|(b, a)| a - b);
    let delivered = shared.delivered.load(Ordering::Relaxed);
    report.senders = sender_list.len() as u64;
    report.target_rate = opts.rate;
    report.sent_chats = shared.sent.load(Ordering::Relaxed);
    report.expected = shared.expected.load(Ordering::Relaxed);
    report.delivered = delivered;
    report.send_secs = send_secs;
    report.traffic_secs = total_secs;
    report.latency = Some(shared.latency());
}

/// The open-loop pacer: hands out send times at a fixed rate, round-robin over the
/// senders. A sender whose queue is full misses its slot (counted, returned).
async fn pace(shared: Arc<Shared>, txs: Vec<mpsc::Sender<u64>>, per_s: f64, t0: u64) -> u64 {
    let mut issued: u64 = 0;
    let mut dropped: u64 = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let n = txs.len() as u64;
    if n == 0 {
        return 0;
    }
    while !shared.stop_sending() {
        tick.tick().await;
        let elapsed_s = (shared.now_us() - t0) as f64 / 1e6;
        let due = (elapsed_s * per_s) as u64;
        while issued < due {
            let at = t0 + ((issued as f64 / per_s) * 1e6) as u64;
            if txs[(issued % n) as usize].try_send(at).is_err() {
                dropped += 1;
            }
            issued += 1;
        }
    }
    dropped
}

/// Checks every (receiver, sender, stream): exactly once, in order.
fn verify(opts: &Opts, results: &[ClientResult]) -> Verdict {
    let mut chats_sent: HashMap<u32, u64> = HashMap::new();
    let mut offers_sent: HashMap<(u32, u32), u64> = HashMap::new();
    let mut v = Verdict::default();
    for r in results {
        chats_sent.insert(r.idx, r.chats_sent);
        for (&to, &n) in &r.offers_sent {
            offers_sent.insert((r.idx, to), n);
        }
        v.offers_skipped += r.offers_skipped;
        if let Some(why) = &r.ended_early {
            v.ended_early += 1;
            if v.ended_early_examples.len() < KEEP_ERRORS {
                v.ended_early_examples.push(format!("c{}: {why}", r.idx));
            }
        }
    }
    let empty = SeqChecker::default();
    for r in results {
        let (_, members) = room_of(opts, r.idx);
        let mut add = |t: Tally| {
            v.streams += 1;
            if !t.is_clean() {
                v.bad_streams += 1;
            }
            v.tally.add(&t);
        };
        for &s in &members {
            let sent = chats_sent.get(&s).copied().unwrap_or(0);
            add(r
                .checkers
                .get(&(s, Stream::Chat))
                .unwrap_or(&empty)
                .finish(sent));
            if s != r.idx {
                let sent = offers_sent.get(&(s, r.idx)).copied().unwrap_or(0);
                add(r
                    .checkers
                    .get(&(s, Stream::Offer))
                    .unwrap_or(&empty)
                    .finish(sent));
            }
        }
        // Anything from outside the room should not exist at all.
        for ((s, _), c) in &r.checkers {
            if !members.contains(s) {
                add(c.finish(0));
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn cpu_time_of_this_process_reads_and_grows() {
        let before = cpu_secs(std::process::id()).unwrap();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(cpu_secs(std::process::id()).unwrap() >= before);
    }

    #[test]
    fn senders_spread_over_rooms_first() {
        let o = Opts::parse_from(["x", "--clients", "10", "--room-size", "4", "--senders", "4"]);
        assert_eq!(senders(&o), vec![0, 4, 8, 1]);
        let all = Opts::parse_from(["x", "--clients", "5", "--room-size", "2"]);
        assert_eq!(senders(&all).len(), 5);
    }

    #[test]
    fn rooms_are_filled_in_order() {
        let o = Opts::parse_from(["x", "--clients", "10", "--room-size", "4"]);
        assert_eq!(room_of(&o, 9), (2, vec![8, 9]));
        assert_eq!(room_of(&o, 4), (1, vec![4, 5, 6, 7]));
    }
}
