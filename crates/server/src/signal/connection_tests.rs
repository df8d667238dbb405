//! The connection's rules over channels instead of a socket: close codes, the flood
//! guard, batched writes and the write timeout. A real hub task answers; time is
//! tokio's paused clock, so timeouts pass at once.

use super::*;
use crate::signal::hub_task;
use confab_proto::PROTOCOL_VERSION;
use confab_signal::HubConfig;
use futures_util::stream::{self, BoxStream};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use tokio_util::task::TaskTracker;

/// What the connection did to its sink.
#[derive(Debug, Clone, PartialEq)]
enum Wrote {
    Msg(Message),
    Flush,
}

/// A sink that records messages and flushes, or (stalled) never accepts anything.
#[derive(Clone, Default)]
struct Recorder {
    log: Arc<Mutex<Vec<Wrote>>>,
    stalled: bool,
}

impl Sink<Message> for Recorder {
    type Error = String;
    fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), String>> {
        if self.stalled {
            Poll::Pending // a client that stopped reading: its TCP window is full
        } else {
            Poll::Ready(Ok(()))
        }
    }
    fn start_send(self: Pin<&mut Self>, m: Message) -> Result<(), String> {
        self.log.lock().unwrap().push(Wrote::Msg(m));
        Ok(())
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), String>> {
        if self.stalled {
            return Poll::Pending;
        }
        self.log.lock().unwrap().push(Wrote::Flush);
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), String>> {
        Poll::Ready(Ok(()))
    }
}

impl Recorder {
    fn texts(&self) -> Vec<serde_json::Value> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter_map(|w| match w {
                Wrote::Msg(Message::Text(t)) => serde_json::from_str(t.as_str()).ok(),
                _ => None,
            })
            .collect()
    }
    /// Flushes from the first pong written to the last one's flush.
    fn flushes_during_pongs(&self) -> usize {
        let log = self.log.lock().unwrap();
        let is_pong = |w: &Wrote| matches!(w, Wrote::Msg(Message::Text(t)) if t.contains("pong"));
        let first = log.iter().position(is_pong).expect("pongs were written");
        let last = log.iter().rposition(is_pong).expect("pongs were written");
        let flushed = log[last..]
            .iter()
            .position(|w| *w == Wrote::Flush)
            .unwrap_or(0);
        log[first..=last + flushed]
            .iter()
            .filter(|w| **w == Wrote::Flush)
            .count()
    }
    fn close_code(&self) -> Option<u16> {
        let log = self.log.lock().unwrap();
        log.iter().find_map(|w| match w {
            Wrote::Msg(Message::Close(Some(f))) => Some(f.code),
            _ => None,
        })
    }
}

fn settings() -> ConnSettings {
    ConnSettings {
        idle_timeout: Duration::from_secs(40),
        ping_interval: Duration::from_secs(15),
        outbound_queue: 256,
        outbound_queue_bytes: 1 << 20,
        handshake_timeout: Duration::from_secs(10),
        msg_rate: 50,
        msg_burst: 200,
        metrics: Metrics::new(false),
        auth: Arc::new(Auth::open()),
        throttle: Arc::default(),
    }
}

fn text(json: &str) -> Result<Message, String> {
    Ok(Message::Text(json.to_owned().into()))
}

fn hello() -> Result<Message, String> {
    text(&format!(
        r#"{{"type":"hello","version":{PROTOCOL_VERSION}}}"#
    ))
}

/// One step of what the client does.
enum Read {
    /// A read result, at once after the previous one.
    Now(Result<Message, String>),
    /// Time passes (and the hub answers) before the next read.
    Wait,
}
use Read::{Now, Wait};

/// Runs a connection that reads `reads` (then stays silent unless `then_end`) and
/// writes into `sink`; returns how it ended.
async fn run_with(
    settings: ConnSettings,
    sink: Recorder,
    reads: Vec<Read>,
    then_end: bool,
) -> Exit {
    let tracker = TaskTracker::new();
    let hub = hub_task::spawn(
        HubConfig::default(),
        [9; 32],
        &tracker,
        settings.metrics.clone(),
        hub_task::Services::default(),
    );
    let tail: BoxStream<'static, Result<Message, String>> = if then_end {
        Box::pin(stream::empty())
    } else {
        Box::pin(stream::pending())
    };
    let reads = stream::iter(reads)
        .filter_map(|r| async move {
            match r {
                Now(m) => Some(m),
                Wait => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    None
                }
            }
        })
        .chain(tail);
    let reads = Box::pin(reads);
    let shutdown = CancellationToken::new();
    let c = Connection::open(
        sink,
        reads,
        ConnId(1),
        hub,
        settings,
        Remote::default(),
        shutdown,
    )
    .await
    .expect("the hub runs");
    c.run().await
}

#[tokio::test(start_paused = true)]
async fn no_hello_within_the_handshake_timeout_closes_with_4003_in_words() {
    let sink = Recorder::default();
    let exit = run_with(settings(), sink.clone(), vec![], false).await;
    assert_eq!(
        exit,
        Exit::Close(close::HELLO_TIMEOUT, "no hello in time".into())
    );
    assert_eq!(sink.close_code(), Some(close::HELLO_TIMEOUT));
}

#[tokio::test(start_paused = true)]
async fn silence_after_hello_closes_with_the_idle_code() {
    let sink = Recorder::default();
    let exit = run_with(settings(), sink.clone(), vec![Now(hello())], false).await;
    assert_eq!(
        exit,
        Exit::Close(close::IDLE_TIMEOUT, "idle timeout".into())
    );
    assert_eq!(sink.texts()[0]["type"], "welcome");
    assert_eq!(sink.close_code(), Some(close::IDLE_TIMEOUT));
}

#[tokio::test(start_paused = true)]
async fn replies_queued_together_go_out_in_order_in_one_flush() {
    let sink = Recorder::default();
    let mut reads = vec![Now(hello()), Wait];
    for i in 0..20 {
        reads.push(Now(text(&format!(r#"{{"type":"ping","id":{i}}}"#))));
    }
    let exit = run_with(settings(), sink.clone(), reads, false).await;
    assert_eq!(
        exit,
        Exit::Close(close::IDLE_TIMEOUT, "idle timeout".into())
    );
    let refs: Vec<_> = sink
        .texts()
        .iter()
        .skip(1)
        .map(|v| v["ref"].clone())
        .collect();
    let want: Vec<serde_json::Value> = (0..20).map(serde_json::Value::from).collect();
    assert_eq!(refs, want, "every pong, in order");
    // The pongs piled up while the hub worked, and went out with one flush, not 20.
    assert!(
        sink.flushes_during_pongs() <= 1,
        "{:?}",
        sink.log.lock().unwrap()
    );
}

#[tokio::test(start_paused = true)]
async fn a_flood_is_answered_rate_limited_then_closed_with_1008() {
    let sink = Recorder::default();
    let s = ConnSettings {
        msg_rate: 1,
        msg_burst: 3,
        ..settings()
    };
    let mut reads = vec![Now(hello()), Wait];
    reads.extend((0..20).map(|_| Now(text(r#"{"type":"ping"}"#))));
    let exit = run_with(s, sink.clone(), reads, false).await;
    assert_eq!(exit, Exit::Close(close::FLOOD, "too many messages".into()));
    let limited = sink
        .texts()
        .iter()
        .filter(|v| v["type"] == "error" && v["code"] == "rate_limited")
        .count();
    assert!(limited >= 1, "told in words first: {:?}", sink.texts());
    assert_eq!(sink.close_code(), Some(close::FLOOD));
}

#[tokio::test(start_paused = true)]
async fn a_client_that_stops_reading_is_dropped_after_the_write_timeout() {
    let sink = Recorder {
        stalled: true,
        ..Recorder::default()
    };
    let started = Instant::now();
    let exit = run_with(settings(), sink, vec![Now(hello())], false).await;
    assert_eq!(
        exit,
        Exit::Close(SLOW_CONSUMER_CLOSE, "write timeout".into())
    );
    assert!(started.elapsed() >= WRITE_TIMEOUT);
}

#[tokio::test(start_paused = true)]
async fn bad_frames_get_errors_and_the_connection_lives_on_until_an_oversized_one() {
    let sink = Recorder::default();
    let reads = vec![
        Now(hello()),
        Wait,
        Now(Ok(Message::Binary(vec![1, 2, 3].into()))),
        Now(text("{not json")),
        Now(Err("Space limit exceeded: message too long".into())),
    ];
    let exit = run_with(settings(), sink.clone(), reads, false).await;
    assert_eq!(exit, Exit::Close(close::TOO_BIG, "frame too large".into()));
    let types: Vec<_> = sink.texts().iter().map(|v| v["type"].clone()).collect();
    assert_eq!(types, ["welcome", "error", "error"]);
}
