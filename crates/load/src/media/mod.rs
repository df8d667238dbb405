//! The media mode (`confab-media`): headless str0m peers publish synthetic VP8 and Opus
//! RTP into an SFU and receive what it forwards, in a room of a given shape, and the
//! server's CPU time is set against the packets it delivered.
//!
//! - [`peer`]: one str0m `Rtc` (RTP mode) on its own loopback UDP socket, one task;
//!   [`stats`] its counters, [`track`] loss by sequence numbers, [`synth`] its media.
//! - [`confab`] and [`janus`]: adapters that get the same [`Plan`] into a confab SFU
//!   call (WebSocket signaling) or a Janus VideoRoom (its HTTP API), and return the
//!   [`Roster`] of peers: who receives, and from which publishing peers.
//! - [`run`]: waits until every receiver gets video from every source, lets it warm
//!   up, then measures a window: packets delivered, loss by RTP sequence numbers, video
//!   frames delivered against frames sent, and the server's CPU time from `/proc`.
//! - [`report`]: the figures, as text and JSON (`bench/media.sh` prints both servers
//!   side by side with `bench/media-table.mjs`).

pub mod confab;
pub mod guard;
pub mod http;
pub mod janus;
pub mod opts;
pub mod peer;
pub mod report;
pub mod run;
pub mod stats;
pub mod synth;
pub mod track;

pub use opts::{MediaOpts, ServerKind, Shape};
pub use report::MediaReport;
pub use run::run;

use peer::{PeerConfig, PeerHandle};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use str0m::config::{CryptoProvider, DtlsCert};
use synth::MediaSpec;
use tokio_util::sync::CancellationToken;

/// One member of the room, whatever the server: it publishes, or receives from
/// `sources` (indices of publishing members), or both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    /// `p<i>` for publishers, `s<i>` for receive-only members.
    pub name: String,
    /// Sends audio and video.
    pub publishes: bool,
    /// The members whose media it receives.
    pub sources: Vec<usize>,
}

/// The room's members (see [`Shape`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub members: Vec<Participant>,
}

impl Plan {
    /// meeting of `size`: everyone publishes and receives everyone else; broadcast of
    /// `size`: member 0 publishes, `size` others receive it.
    pub fn new(shape: Shape, size: u32) -> Plan {
        let size = size as usize;
        let members = match shape {
            Shape::Meeting => (0..size)
                .map(|i| Participant {
                    name: format!("p{i}"),
                    publishes: true,
                    sources: (0..size).filter(|&j| j != i).collect(),
                })
                .collect(),
            Shape::Broadcast => std::iter::once(Participant {
                name: "p0".into(),
                publishes: true,
                sources: Vec::new(),
            })
            .chain((1..=size).map(|i| Participant {
                name: format!("s{i}"),
                publishes: false,
                sources: vec![0],
            }))
            .collect(),
        };
        Plan { members }
    }

    /// Members that publish.
    pub fn publishers(&self) -> usize {
        self.members.iter().filter(|m| m.publishes).count()
    }
}

/// A receiving peer and the publishing peers it should get media from (indices into
/// [`Roster::peers`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receiver {
    pub peer: usize,
    pub sources: Vec<usize>,
}

/// The peers an adapter made for a plan (confab: one per member; Janus: a publishing
/// and a subscribing peer per member as needed).
#[derive(Clone, Default)]
pub struct Roster {
    pub peers: Vec<PeerHandle>,
    pub receivers: Vec<Receiver>,
}

impl Roster {
    /// Adds another room's roster after this one's.
    pub fn append(&mut self, other: Roster) {
        let offset = self.peers.len();
        self.peers.extend(other.peers);
        self.receivers
            .extend(other.receivers.into_iter().map(|r| Receiver {
                peer: r.peer + offset,
                sources: r.sources.iter().map(|s| s + offset).collect(),
            }));
    }
}

/// Unexpected events counted by description (server errors, failed setups).
#[derive(Clone, Default)]
pub struct Tally(Arc<Mutex<BTreeMap<String, u64>>>);

impl Tally {
    /// Counts one `what` (first 160 characters).
    pub fn count(&self, what: impl AsRef<str>) {
        let key: String = what.as_ref().chars().take(160).collect();
        if let Ok(mut m) = self.0.lock() {
            *m.entry(key).or_insert(0) += 1;
        }
    }

    /// The counts so far.
    pub fn get(&self) -> BTreeMap<String, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

/// How far a member's setup got: told in the report when the run stops before it is
/// [`Stage::DONE`].
#[derive(Clone)]
pub struct Stage(Arc<Mutex<&'static str>>);

impl Stage {
    /// Setup complete: nothing to report.
    pub const DONE: &'static str = "done";

    /// A member at its first step.
    pub fn new(first: &'static str) -> Stage {
        Stage(Arc::new(Mutex::new(first)))
    }

    /// Moves on to `step`.
    pub fn set(&self, step: &'static str) {
        if let Ok(mut s) = self.0.lock() {
            *s = step;
        }
    }

    /// Counts `who` in `errors` if its setup did not finish.
    pub fn report_unfinished(&self, errors: &Tally, who: &str) {
        let step = self.0.lock().map(|s| *s).unwrap_or(Self::DONE);
        if step != Self::DONE {
            errors.count(format!(
                "{who}: setup unfinished when the run stopped ({step})"
            ));
        }
    }
}

/// What adapters share: where peers bind, what they send, whether the rooms are
/// recorded, the run's stop token (every task ends when it is cancelled) and the error
/// tally.
#[derive(Clone)]
pub struct Ctx {
    pub bind: IpAddr,
    pub media: MediaSpec,
    /// Record every room on the server: confab's host sends `record`; Janus's rooms are
    /// made with `record` into this folder.
    pub record: Option<std::path::PathBuf>,
    pub stop: CancellationToken,
    pub errors: Tally,
    crypto: Arc<CryptoProvider>,
    cert: DtlsCert,
}

impl Ctx {
    /// A context with a fresh DTLS certificate shared by all its peers.
    pub fn new(bind: IpAddr, media: MediaSpec) -> anyhow::Result<Ctx> {
        let crypto = Arc::new(str0m::crypto::from_feature_flags());
        let cert = crypto
            .dtls_provider
            .generate_certificate()
            .ok_or_else(|| anyhow::anyhow!("cannot make a DTLS certificate"))?;
        Ok(Ctx {
            bind,
            media,
            record: None,
            stop: CancellationToken::new(),
            errors: Tally::default(),
            crypto,
            cert,
        })
    }

    /// Starts a peer on its own socket.
    pub fn peer(&self, name: String, publish: bool) -> anyhow::Result<PeerHandle> {
        PeerHandle::spawn(
            PeerConfig {
                name,
                publish,
                media: self.media.clone(),
                bind: self.bind,
                crypto: self.crypto.clone(),
                cert: self.cert.clone(),
            },
            self.stop.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let m = Plan::new(Shape::Meeting, 3);
        assert_eq!(m.publishers(), 3);
        assert_eq!(m.members[1].sources, vec![0, 2]);
        let b = Plan::new(Shape::Broadcast, 4);
        assert_eq!(b.members.len(), 5);
        assert_eq!(b.publishers(), 1);
        assert!(b.members[1..].iter().all(|m| m.sources == vec![0]));
    }
}
