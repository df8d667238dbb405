//! The coordinator of a media run: set the plan up through the server's adapter, wait
//! until every receiver gets video from every source (bounded), warm up, measure one
//! window (peer counters, server and own CPU time, the machine's busy share), stop
//! every task and clean up.

use super::stats::Snapshot;
use super::{confab, janus, Ctx, MediaOpts, MediaReport, Plan, Roster, ServerKind};
use crate::run::{cpu_secs, cpu_times};
use anyhow::Context;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::task::JoinSet;

/// Time allowed for the peers' and clients' tasks to end after the run.
const WIND_DOWN: Duration = Duration::from_secs(10);

/// Runs one load as `opts` say. Bounded: every phase has a deadline.
pub async fn run(opts: &MediaOpts) -> anyhow::Result<MediaReport> {
    opts.check()?;
    let mut ctx = Ctx::new(opts.bind_ip, opts.media())?;
    ctx.record = opts.record.clone();
    let plan = Plan::new(opts.shape, opts.size);
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    let url = opts.url();
    let base = unique();
    let janus_first: u64 = match (&opts.room, opts.server) {
        (Some(id), ServerKind::Janus) => id.parse().context("a Janus room id is a number")?,
        _ => base * 1000,
    };
    let mut roster = Roster::default();
    let mut janus_rooms = Vec::new();
    let mut setup = Ok(());
    for r in 0..u64::from(opts.rooms) {
        let one = match opts.server {
            ServerKind::Confab => {
                let room = match &opts.room {
                    Some(name) if opts.rooms == 1 => name.clone(),
                    Some(name) => format!("{name}-{r}"),
                    None => format!("media-{base}-{r}"),
                };
                confab::start(&ctx, &url, &room, &plan, opts.setup_concurrency, &mut tasks).await
            }
            ServerKind::Janus => {
                let conc = opts.setup_concurrency;
                janus::start(&ctx, &url, janus_first + r, &plan, conc, &mut tasks)
                    .await
                    .map(|(roster, room)| {
                        janus_rooms.push(room);
                        roster
                    })
            }
        };
        match one {
            Ok(one) => roster.append(one),
            Err(e) => {
                setup = Err(e);
                break;
            }
        }
    }
    let result = match setup {
        Ok(()) => Ok(measure(opts, &plan, &roster, started).await),
        Err(e) => Err(e),
    };
    ctx.stop.cancel();
    if tokio::time::timeout(WIND_DOWN, async {
        while tasks.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        tasks.abort_all();
    }
    for room in janus_rooms {
        if let Err(e) = room.cleanup().await {
            ctx.errors.count(format!("janus cleanup: {e:#}"));
        }
    }
    let mut report = result?;
    report.errors = ctx.errors.get();
    Ok(report)
}

/// A number unique to this process and moment (room names and ids), below 2^40.
fn unique() -> u64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    (ms % 1_000_000_000) * 1000 + u64::from(std::process::id() % 1000)
}

/// Waits for readiness, warms up, measures the window.
async fn measure(opts: &MediaOpts, plan: &Plan, roster: &Roster, started: Instant) -> MediaReport {
    let deadline = started + Duration::from_secs_f64(opts.setup_timeout);
    let ready_count = || {
        roster
            .receivers
            .iter()
            .filter(|r| {
                let s = roster.peers[r.peer].stats.snapshot();
                s.connected && s.rx_video_tracks >= r.sources.len() as u64
            })
            .count()
    };
    let mut ready = ready_count();
    while ready < roster.receivers.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        ready = ready_count();
    }
    let setup_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs_f64(opts.warmup)).await;

    let pid = opts.server_pid;
    let me = std::process::id();
    let before = snapshots(roster);
    let (cpu0, tool0, machine0) = (
        pid.and_then(|p| cpu_times(p).ok()),
        cpu_secs(me).ok(),
        machine_ticks(),
    );
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(opts.duration)).await;
    let after = snapshots(roster);
    let (cpu1, tool1, machine1) = (
        pid.and_then(|p| cpu_times(p).ok()),
        cpu_secs(me).ok(),
        machine_ticks(),
    );
    let window_secs = t0.elapsed().as_secs_f64();

    let mut r = MediaReport {
        label: opts.label(),
        shape: format!("{:?}", opts.shape).to_lowercase(),
        size: opts.size,
        rooms: opts.rooms,
        publishers: (plan.publishers() * opts.rooms as usize) as u64,
        receivers: roster.receivers.len() as u64,
        peers: roster.peers.len() as u64,
        setup_secs,
        ready: ready == roster.receivers.len(),
        ready_receivers: ready as u64,
        window_secs,
        server_cpu_secs: cpu0.zip(cpu1).map(|(a, b)| (b.0 + b.1) - (a.0 + a.1)),
        server_sys_secs: cpu0.zip(cpu1).map(|(a, b)| b.1 - a.1),
        tool_cpu_secs: tool0.zip(tool1).map(|(a, b)| b - a),
        machine_busy_pct: machine0.zip(machine1).and_then(|((b0, t0), (b1, t1))| {
            (t1 > t0).then(|| (b1 - b0) as f64 * 100.0 / (t1 - t0) as f64)
        }),
        max_loss_pct: opts.max_loss_pct,
        ..MediaReport::default()
    };
    for (i, (a, b)) in before.iter().zip(&after).enumerate() {
        if roster.peers[i].publish {
            r.sent_packets += b.tx_packets - a.tx_packets;
        }
        r.send_drops += b.send_drops;
        r.peer_errors += b.errors;
        r.keyframe_requests += b.keyframe_requests;
    }
    for rx in &roster.receivers {
        let (a, b) = (&before[rx.peer], &after[rx.peer]);
        r.forwarded_packets += b.rx_packets - a.rx_packets;
        r.expected_packets += b.rx_expected - a.rx_expected;
        let got = b.rx_stamped - a.rx_stamped;
        let promised = b.rx_stamped_expected - a.rx_stamped_expected;
        r.stamped_received += got;
        r.stamped_expected += promised;
        if promised > 0 {
            let loss = promised.saturating_sub(got) as f64 * 100.0 / promised as f64;
            r.worst_loss_pct = r.worst_loss_pct.max(loss);
        }
        r.frames_received += b.rx_video_frames - a.rx_video_frames;
        r.frames_expected += rx
            .sources
            .iter()
            .map(|&s| after[s].tx_video_frames - before[s].tx_video_frames)
            .sum::<u64>();
        r.video_tracks += b.rx_video_tracks;
        r.video_tracks_expected += rx.sources.len() as u64;
        r.audio_tracks += b.rx_audio_tracks;
    }
    r
}

fn snapshots(roster: &Roster) -> Vec<Snapshot> {
    roster.peers.iter().map(|p| p.stats.snapshot()).collect()
}

/// Busy and total CPU ticks of the whole machine, from the first line of /proc/stat.
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}
