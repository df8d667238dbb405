//! What each browser is told of the layers it gets ([`Output::Layers`]): per video track
//! it receives, the layer forwarded (its place among every layer the publisher sends,
//! one stalled for a moment included, so the words do not flap with it), or paused.
//!
//! Worked out at each layer round from where every track stands, and reported only when
//! it differs from what the receiver was last told. So a receiver hears at most one
//! report a round (a second), whatever happened in between: an estimate flapping across
//! a layer's rate switches layers, but cannot flood the signaling with messages.
//!
//! What counts is the layer *forwarded*, not the one aimed at: a switch shows once the
//! new layer's keyframe went out, and a track whose first layer has not started yet
//! keeps what it was last told (nothing, for a new one).

use crate::endpoint::{Endpoint, OutState, TrackKey, TrackOut};
use crate::io::{EndpointKind, ForwardedLayer, ForwardedTrack, Output};
use crate::layers::View;
use crate::router::Track;
use crate::sfu::Sfu;
use std::collections::HashMap;
use std::sync::Arc;
use str0m::media::{MediaKind, Mid, Rid};

/// One track as a receiver was told of it: [`ForwardedTrack`] without its strings, so
/// working it out every round and comparing costs no allocation per track.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Told {
    /// Our mid on the receiver's connection.
    mid: Mid,
    /// The publisher's label.
    from: Arc<str>,
    /// The layer forwarded; `None`: paused.
    layer: Option<Place>,
    /// How many layers the publisher sends (1: one stream).
    layers: u32,
}

/// A forwarded layer: [`ForwardedLayer`] without its strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Place {
    index: u32,
    rid: Option<Rid>,
    size: Option<(u32, u32)>,
}

impl Told {
    fn output(&self) -> ForwardedTrack {
        ForwardedTrack {
            mid: self.mid.to_string(),
            from: self.from.to_string(),
            layer: self.layer.map(|p| ForwardedLayer {
                index: p.index,
                rid: p.rid.map(|r| r.to_string()),
                size: p.size,
            }),
            layers: self.layers,
        }
    }
}

impl Sfu {
    /// Tells every browser whose layers changed since it was last told what it gets now
    /// (called once per layer round).
    pub(crate) fn report_layers(&mut self) {
        let Sfu {
            endpoints,
            router,
            out,
            ..
        } = self;
        for ep in endpoints.values_mut() {
            if ep.kind != EndpointKind::Browser {
                continue; // nobody to show it to
            }
            let now = forwarded(ep, &router.tracks);
            if now == ep.told {
                continue;
            }
            let tracks = now.iter().map(Told::output).collect();
            out.push_back(Output::Layers {
                endpoint: ep.id,
                tracks,
            });
            ep.told = now;
        }
    }
}

/// What `ep` gets of each open video track now (see the module docs).
fn forwarded(ep: &Endpoint, tracks: &HashMap<TrackKey, Track>) -> Vec<Told> {
    let mut now = Vec::with_capacity(ep.told.len());
    for (key, out) in &ep.tracks_out {
        let OutState::Open(mid) = out.state else {
            continue;
        };
        let Some(track) = tracks.get(key).filter(|_| out.kind == MediaKind::Video) else {
            continue;
        };
        let from = out.stream.clone();
        let told = match layer_of(out, track) {
            Some((layer, layers)) => Some(Told {
                mid,
                from,
                layer,
                layers,
            }),
            None => ep
                .told
                .iter()
                .find(|t| t.mid == mid && t.from == from)
                .cloned(),
        };
        now.extend(told);
    }
    now
}

/// The layer `out` gets of `track` (`None` inside: paused) and how many the publisher
/// sends; `None`: nothing new to tell (no frame came yet, or the first frame of a layer
/// it switches to has not gone out: what it was last told stands).
fn layer_of(out: &TrackOut, track: &Track) -> Option<(Option<Place>, u32)> {
    let ranked = track.layers.every();
    if ranked.is_empty() {
        // One stream: forwarded as it comes, once it does.
        let size = track.meter.size;
        let one = Place {
            index: 0,
            rid: None,
            size,
        };
        return track.meter.seen().then_some((Some(one), 1));
    }
    let layers = ranked.len() as u32;
    let current = out.sel.current;
    match current.and_then(|rid| ranked.iter().position(|l| l.rid == rid)) {
        Some(i) => {
            let l = &ranked[i];
            let place = Place {
                index: i as u32,
                rid: Some(l.rid),
                size: (l.height > 0).then_some((l.width, l.height)),
            };
            Some((Some(place), layers))
        }
        None if out.sel.view == Some(View::Hidden) => Some((None, layers)),
        None => None,
    }
}
