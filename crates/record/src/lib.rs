//! Pure muxers for confab's recordings: no IO, no clock. The server's recorder feeds
//! frames as they arrive from the SFU and appends the bytes each call returns to a file;
//! the formats are chosen so a file is valid at every point, even cut off by a crash.
//! VP8 and Opus tracks make WebM files; H.264 and G.711 (IP cameras) make Matroska.
//!
//! ```
//! use confab_record::{Track, WebmWriter};
//!
//! let mut audio = WebmWriter::new(Track::opus());
//! let mut file = audio.header();
//! for i in 0..50u64 {
//!     // One 20 ms Opus packet each (here a placeholder payload).
//!     file.extend(audio.frame(i * 20, true, &[0xFC, 0xFF, 0xFE]));
//! }
//! assert!(file.starts_with(&[0x1A, 0x45, 0xDF, 0xA3])); // an EBML document
//! ```

pub mod ebml;
pub mod h264;
mod track;
mod webm;

pub use track::{Codec, Track};
pub use webm::{vp8_keyframe_size, WebmWriter};
