//! One person's audio and video start together in a recording. A video file can only
//! start at a keyframe (asked for when the recording starts, arriving a few hundred ms
//! later), while audio flows at once; left alone, a person's audio file would start
//! that much earlier than their video. So a person's audio is held back (dropped) until
//! their video has started, and the two files' first frames are one audio frame apart
//! (20 ms), not the keyframe's delay. A person who sends no video is not silenced: after
//! [`AUDIO_ALONE_AFTER`] without any, their audio starts alone.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How long a person's audio waits for their video's first keyframe.
pub(super) const AUDIO_ALONE_AFTER: Duration = Duration::from_millis(1500);

/// Which people's audio may be written yet (see the module docs). Pure: time comes in.
#[derive(Default)]
pub(super) struct StartGate {
    /// Whose audio is written from now on: their video started, or they waited long
    /// enough without any (one lookup a frame from then on).
    released: HashSet<String>,
    /// When each person's first audio frame came, while it is held back.
    first_audio: HashMap<String, Instant>,
}

impl StartGate {
    /// Whether an audio frame of `person` that arrived `at` may be written.
    pub(super) fn audio(&mut self, person: &str, at: Instant) -> bool {
        if self.released.contains(person) {
            return true;
        }
        let first = *self.first_audio.entry(person.to_owned()).or_insert(at);
        if at.saturating_duration_since(first) < AUDIO_ALONE_AFTER {
            return false;
        }
        self.release(person);
        true
    }

    /// `person`'s video file has started (it has its first keyframe).
    pub(super) fn video_started(&mut self, person: &str) {
        if !self.released.contains(person) {
            self.release(person);
        }
    }

    fn release(&mut self, person: &str) {
        self.first_audio.remove(person);
        self.released.insert(person.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_waits_for_its_persons_video_and_no_longer() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut g = StartGate::default();
        assert!(!g.audio("ada", ms(0)), "before Ada's video: held back");
        assert!(!g.audio("ada", ms(300)));
        g.video_started("ada");
        assert!(g.audio("ada", ms(320)), "with her video: written");
        // Bob sends no video: his audio starts alone after the wait.
        assert!(!g.audio("bob", ms(0)));
        assert!(!g.audio("bob", ms(1_499)));
        assert!(g.audio("bob", ms(1_500)));
        // One person's video does not release another's audio.
        assert!(!g.audio("cy", ms(400)));
    }
}
