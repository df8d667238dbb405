//! Value types of the media family of messages (calls on the media router).

use crate::ids::PeerId;
use serde::{Deserialize, Serialize};

/// One video track you receive from the media router, as `layers` reports it: which of
/// its publisher's simulcast layers the router forwards to you now, or that it is paused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerTrack {
    /// The m-line's mid on your connection to the router (what `sfuView` names).
    pub mid: String,
    /// Whose track it is (also its stream id).
    pub from: PeerId,
    /// The layer forwarded: its place among the layers the publisher sends, 0 the
    /// smallest, `layers - 1` the top one. Absent: paused (you do not show the track, so
    /// the router sends nothing of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<u32>,
    /// How many layers the publisher sends (one stalled or turned off for now, as a
    /// shared screen turns off the smaller ones, included); 1 for a track without
    /// simulcast (then forwarded as it comes, never paused).
    pub layers: u32,
    /// The forwarded layer's rid (RFC 8851), as the publisher named it; absent without
    /// simulcast. For logs: `layer` is what says how big it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// The forwarded layer's picture width, when the router knows it (from a VP8
    /// keyframe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Its picture height, with `width`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}
