//! The Janus adapter: the same plan in a Janus VideoRoom, over Janus's HTTP API
//! (`/janus`). One Janus session carries every handle of the run, and one long-poll
//! task hands each event to its handle by `sender`. A control handle creates the room
//! (VP8 and Opus, no bitrate cap). Each publishing member attaches a handle, joins as
//! `publisher`, and `configure`s with its peer's offer; each receiving member attaches
//! another handle and peer, once those publishers' connections are up (`webrtcup`),
//! joins as `subscriber` to the feeds of its sources (one
//! multistream subscription), answers Janus's offer and `start`s. The JSEPs say
//! `trickle: false`: str0m puts its candidate in the SDP, and Janus (half-trickle)
//! puts its own in its SDP too. Cleanup destroys the room and the session.

use super::http::Http;
use super::peer::PeerHandle;
use super::{Ctx, Plan, Receiver, Roster, Stage};
use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

/// Time allowed for one API request (the long poll: Janus answers within 30 s).
const REQUEST: Duration = Duration::from_secs(10);
const LONG_POLL: Duration = Duration::from_secs(40);
/// Time allowed for the event that answers a request.
const EVENT: Duration = Duration::from_secs(20);

/// A Janus session and its event routing.
#[derive(Clone)]
pub struct Session {
    http: Http,
    id: u64,
    routes: Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Value>>>>,
    next_tx: Arc<AtomicU64>,
}

/// One attached handle and its events.
struct Handle {
    session: Session,
    id: u64,
    events: mpsc::UnboundedReceiver<Value>,
}

impl Session {
    /// Creates a session and starts its long poll on `tasks` (until `ctx.stop`).
    async fn create(url: &str, ctx: &Ctx, tasks: &mut JoinSet<()>) -> anyhow::Result<Session> {
        let http = Http::new(url).await?;
        let mut s = Session {
            http,
            id: 0,
            routes: Arc::default(),
            next_tx: Arc::default(),
        };
        let r = s.call("", json!({"janus":"create"})).await?;
        s.id = r["data"]["id"].as_u64().context("no session id")?;
        let (poll, stop, errors) = (s.clone(), ctx.stop.clone(), ctx.errors.clone());
        tasks.spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                e = poll.poll() => errors.count(format!("janus long poll: {e:#}")),
            }
        });
        Ok(s)
    }

    /// POSTs a Janus request to `path` (under the session) with a fresh transaction;
    /// a Janus `error` fails.
    async fn call(&self, path: &str, mut body: Value) -> anyhow::Result<Value> {
        let tx = self.next_tx.fetch_add(1, Ordering::Relaxed);
        body["transaction"] = json!(format!("t{tx}"));
        let path = if self.id == 0 {
            String::new()
        } else {
            format!("/{}{path}", self.id)
        };
        let r = self.http.post(&path, &body, REQUEST).await?;
        if r["janus"] == "error" {
            bail!("janus error: {}", r["error"]);
        }
        Ok(r)
    }

    /// Long-polls events and routes each to its handle, until an error.
    async fn poll(&self) -> anyhow::Error {
        loop {
            let r = match self
                .http
                .get(&format!("/{}?maxev=50", self.id), LONG_POLL)
                .await
            {
                Ok(r) => r,
                Err(e) => return e,
            };
            let events = match r {
                Value::Array(a) => a,
                one => vec![one],
            };
            for e in events {
                let Some(sender) = e["sender"].as_u64() else {
                    continue;
                };
                if let Some(tx) = self
                    .routes
                    .lock()
                    .ok()
                    .and_then(|r| r.get(&sender).cloned())
                {
                    let _ = tx.send(e);
                }
            }
        }
    }

    /// Attaches a VideoRoom handle.
    async fn attach(&self) -> anyhow::Result<Handle> {
        let r = self
            .call(
                "",
                json!({"janus":"attach","plugin":"janus.plugin.videoroom"}),
            )
            .await?;
        let id = r["data"]["id"].as_u64().context("no handle id")?;
        let (tx, events) = mpsc::unbounded_channel();
        if let Ok(mut routes) = self.routes.lock() {
            routes.insert(id, tx);
        }
        Ok(Handle {
            session: self.clone(),
            id,
            events,
        })
    }

    /// Destroys the session (and with it every handle and peer connection).
    async fn destroy(&self) -> anyhow::Result<()> {
        self.call("", json!({"janus":"destroy"})).await.map(|_| ())
    }
}

impl Handle {
    /// Sends a plugin message (with a JSEP, if given); Janus's immediate answer.
    async fn message(&self, body: Value, jsep: Option<Value>) -> anyhow::Result<Value> {
        let mut msg = json!({"janus":"message","body":body});
        if let Some(j) = jsep {
            msg["jsep"] = j;
        }
        self.session.call(&format!("/{}", self.id), msg).await
    }

    /// Waits for the plugin event `pick` takes; a plugin error fails.
    async fn event<T>(&mut self, mut pick: impl FnMut(&Value) -> Option<T>) -> anyhow::Result<T> {
        let work = async {
            loop {
                let e = self.events.recv().await.context("event stream ended")?;
                let data = &e["plugindata"]["data"];
                if let Some(err) = data.get("error") {
                    bail!("videoroom error {}: {err}", data["error_code"]);
                }
                if let Some(t) = pick(&e) {
                    return Ok(t);
                }
            }
        };
        tokio::time::timeout(EVENT, work)
            .await
            .context("no answer from Janus in time")?
    }
}

/// A running room: how to clean it up.
pub struct Room {
    session: Session,
    control: Handle,
    room: u64,
}

impl Room {
    /// Destroys the room and the session.
    pub async fn cleanup(self) -> anyhow::Result<()> {
        let r = self
            .control
            .message(json!({"request":"destroy","room":self.room}), None)
            .await;
        self.session.destroy().await?;
        r.map(|_| ())
    }
}

/// Creates the room and starts every member's task; returns the roster at once.
pub async fn start(
    ctx: &Ctx,
    url: &str,
    room: u64,
    plan: &Plan,
    concurrency: usize,
    tasks: &mut JoinSet<()>,
) -> anyhow::Result<(Roster, Room)> {
    let session = Session::create(url, ctx, tasks).await?;
    let control = session.attach().await?;
    let mut create = json!({
        "request": "create", "room": room, "publishers": plan.publishers().max(1),
        "videocodec": "vp8", "audiocodec": "opus", "bitrate": 0, "fir_freq": 0,
        "audiolevel_ext": true, "notify_joining": false, "permanent": false,
    });
    if let Some(dir) = &ctx.record {
        // Janus writes each publisher's RTP as it comes (.mjr files), no muxing.
        create["record"] = json!(true);
        create["rec_dir"] = json!(dir.display().to_string());
    }
    let r = control.message(create, None).await?;
    let data = &r["plugindata"]["data"];
    if data["videoroom"] != "created" {
        bail!("janus did not create room {room}: {data}");
    }
    let mut roster = Roster::default();
    // The publishing peer of each member that publishes, by member index.
    let mut pub_peer = BTreeMap::new();
    for (i, m) in plan.members.iter().enumerate() {
        if m.publishes {
            pub_peer.insert(i, roster.peers.len());
            roster.peers.push(ctx.peer(m.name.clone(), true)?);
        }
    }
    let feeds: Vec<watch::Sender<Option<u64>>> = plan
        .members
        .iter()
        .map(|_| watch::channel(None).0)
        .collect();
    let gate = Arc::new(Semaphore::new(concurrency));
    for (&member, &p) in &pub_peer {
        let job = Publish {
            session: session.clone(),
            room,
            peer: roster.peers[p].clone(),
            feed: feeds[member].clone(),
            stage: Stage::new("waiting for its turn"),
        };
        let who = ("janus publisher", job.stage.clone());
        spawn(ctx, tasks, gate.clone(), who, job.run());
    }
    for m in plan.members.iter() {
        if m.sources.is_empty() {
            continue;
        }
        let peer = ctx.peer(format!("{}-sub", m.name), false)?;
        roster.receivers.push(Receiver {
            peer: roster.peers.len(),
            sources: m.sources.iter().map(|s| pub_peer[s]).collect(),
        });
        roster.peers.push(peer.clone());
        let job = Subscribe {
            session: session.clone(),
            room,
            peer,
            feeds: m.sources.iter().map(|&s| feeds[s].subscribe()).collect(),
            stage: Stage::new("waiting for its publishers"),
        };
        let who = ("janus subscriber", job.stage.clone());
        spawn(ctx, tasks, gate.clone(), who, job.run());
    }
    Ok((
        roster,
        Room {
            session,
            control,
            room,
        },
    ))
}

/// Runs one member's setup under the concurrency gate, counting its failure; then
/// holds until the run stops.
fn spawn(
    ctx: &Ctx,
    tasks: &mut JoinSet<()>,
    gate: Arc<Semaphore>,
    (who, stage): (&'static str, Stage),
    job: impl std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
) {
    let (stop, errors) = (ctx.stop.clone(), ctx.errors.clone());
    tasks.spawn(async move {
        tokio::select! {
            _ = stop.cancelled() => stage.report_unfinished(&errors, who),
            r = async {
                let _permit = gate.acquire_owned().await?;
                job.await
            } => match r {
                Ok(()) => stage.set(Stage::DONE),
                Err(e) => {
                    stage.set(Stage::DONE);
                    errors.count(format!("{who}: {e:#}"));
                }
            },
        }
    });
}

struct Publish {
    session: Session,
    room: u64,
    peer: PeerHandle,
    feed: watch::Sender<Option<u64>>,
    stage: Stage,
}

impl Publish {
    async fn run(self) -> anyhow::Result<()> {
        let mut h = self.session.attach().await?;
        let join =
            json!({"request":"join","ptype":"publisher","room":self.room,"display":self.peer.name});
        h.message(join, None).await?;
        let id = h
            .event(|e| {
                let d = &e["plugindata"]["data"];
                (d["videoroom"] == "joined")
                    .then(|| d["id"].as_u64())
                    .flatten()
            })
            .await?;
        self.stage.set("configuring (offer, answer)");
        let offer = self.peer.create_offer().await?;
        let jsep = json!({"type":"offer","sdp":offer,"trickle":false});
        h.message(
            json!({"request":"configure","audio":true,"video":true}),
            Some(jsep),
        )
        .await?;
        let answer = h.event(|e| jsep_of(e, "answer")).await?;
        self.peer.accept_answer(answer).await?;
        // Janus refuses subscriptions to a feed whose peer connection is not up yet.
        self.stage.set("waiting for webrtcup (ICE, DTLS)");
        h.event(|e| (e["janus"] == "webrtcup").then_some(()))
            .await?;
        let _ = self.feed.send(Some(id));
        Ok(())
    }
}

struct Subscribe {
    session: Session,
    room: u64,
    peer: PeerHandle,
    feeds: Vec<watch::Receiver<Option<u64>>>,
    stage: Stage,
}

impl Subscribe {
    async fn run(mut self) -> anyhow::Result<()> {
        let mut streams = Vec::new();
        for f in &mut self.feeds {
            let id = *f
                .wait_for(Option::is_some)
                .await
                .context("a publisher never published")?;
            streams.push(json!({ "feed": id }));
        }
        let mut h = self.session.attach().await?;
        let join =
            json!({"request":"join","ptype":"subscriber","room":self.room,"streams":streams});
        h.message(join, None).await?;
        let offer = h.event(|e| jsep_of(e, "offer")).await?;
        let answer = self.peer.accept_offer(offer).await?;
        let jsep = json!({"type":"answer","sdp":answer,"trickle":false});
        self.stage.set("starting");
        h.message(json!({"request":"start"}), Some(jsep)).await?;
        h.event(|e| (e["plugindata"]["data"]["started"] == "ok").then_some(()))
            .await
    }
}

/// The SDP of an event's JSEP of `kind` (offer or answer).
fn jsep_of(e: &Value, kind: &str) -> Option<String> {
    let j = e.get("jsep")?;
    (j["type"] == kind).then(|| j["sdp"].as_str().map(str::to_owned))?
}
