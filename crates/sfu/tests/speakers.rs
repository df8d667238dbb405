//! Active speakers from the audio levels publishers send (RFC 6464): the loudest is
//! listed first, silence lists nobody, a speaker who stops drops out after the
//! smoothing, one who leaves at the next round, and rooms are separate.
mod common;

use common::{room, World};
use confab_sfu::EndpointId;
use std::time::Duration;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_loudest_speaker_is_listed_first_and_levels_are_forwarded() {
    let mut w = World::new();
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.join(2, "203.0.113.2:5000", "standup", true);
    w.join(3, "203.0.113.3:5000", "standup", true);
    w.join(4, "203.0.113.4:5000", "standup", false);
    w.set_level(1, Some(35)); // a quiet voice
    w.set_level(2, Some(20)); // a loud one
    w.set_level(3, Some(127)); // a muted microphone
    w.run_for(Duration::from_secs(4));

    assert_eq!(
        w.speakers_in("standup"),
        Some(&names(&["peer-2", "peer-1"])[..])
    );
    assert_eq!(
        w.sfu.active_speakers(&room("standup")),
        [EndpointId(2), EndpointId(1)]
    );
    // Steady levels: the list settles and then stays put (no flicker).
    let settled = w.speakers.len();
    w.run_for(Duration::from_secs(3));
    assert_eq!(w.speakers.len(), settled, "{:?}", w.speakers);
    // Receivers get the levels with the frames.
    let rx = w.peer(4);
    assert_eq!(rx.levels_in.get("peer-1"), Some(&-35));
    assert_eq!(rx.levels_in.get("peer-2"), Some(&-20));
    assert_eq!(rx.levels_in.get("peer-3"), Some(&-127));
}

#[test]
fn silence_and_frames_without_levels_list_nobody() {
    let mut w = World::new();
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.join(2, "203.0.113.2:5000", "standup", true);
    w.join(3, "203.0.113.3:5000", "standup", true);
    w.set_level(1, Some(127));
    // 2 sends background noise, far below a voice; 3 sends no level at all.
    w.set_level(2, Some(90));
    w.run_for(Duration::from_secs(4));
    assert!(w.sfu.frames_forwarded() > 300);
    assert!(w.speakers.is_empty(), "{:?}", w.speakers);
    assert!(w.sfu.active_speakers(&room("standup")).is_empty());
}

#[test]
fn a_speaker_who_stops_drops_out_after_the_smoothing() {
    let mut w = World::new();
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.join(2, "203.0.113.2:5000", "standup", true);
    w.set_level(1, Some(30));
    w.set_level(2, Some(127));
    w.run_for(Duration::from_secs(3));
    assert_eq!(
        w.speakers,
        [(w.speakers[0].0, room("standup"), names(&["peer-1"]))]
    );

    // Ada goes quiet: not at once (the average decays), but within about a second.
    w.set_level(1, Some(127));
    let stopped = w.now.duration_since(w.start);
    w.run_for(Duration::from_secs(2));
    let [_, (at, _, list)] = &w.speakers[..] else {
        panic!("{:?}", w.speakers);
    };
    assert!(list.is_empty());
    let after = *at - stopped;
    assert!(
        after >= Duration::from_millis(300) && after <= Duration::from_millis(1200),
        "dropped out {after:?} after stopping"
    );

    // She talks again, then leaves while listed: the next round lists nobody.
    w.set_level(1, Some(30));
    w.run_for(Duration::from_secs(1));
    assert_eq!(w.speakers_in("standup"), Some(&names(&["peer-1"])[..]));
    w.leave(1);
    w.run_for(Duration::from_millis(400));
    assert_eq!(w.speakers_in("standup"), Some(&[][..]));
    assert!(w.sfu.active_speakers(&room("standup")).is_empty());
}

#[test]
fn rooms_have_their_own_speakers() {
    let mut w = World::new();
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.join(2, "203.0.113.2:5000", "standup", true);
    w.join(3, "203.0.113.3:5000", "retro", true);
    w.join(4, "203.0.113.4:5000", "retro", true);
    w.set_level(1, Some(25));
    w.set_level(2, Some(127));
    w.set_level(3, Some(127));
    w.set_level(4, Some(40));
    w.run_for(Duration::from_secs(3));
    assert_eq!(w.speakers_in("standup"), Some(&names(&["peer-1"])[..]));
    assert_eq!(w.speakers_in("retro"), Some(&names(&["peer-4"])[..]));
    for (_, r, list) in &w.speakers {
        let own: &[&str] = if *r == room("standup") {
            &["peer-1", "peer-2"]
        } else {
            &["peer-3", "peer-4"]
        };
        assert!(
            list.iter().all(|s| own.contains(&s.as_str())),
            "{r}: {list:?}"
        );
    }

    // The last member of a room leaving takes the room's speakers with it.
    w.leave(3);
    w.leave(4);
    let reports = w.speakers.len();
    w.run_for(Duration::from_secs(1));
    assert_eq!(
        w.speakers.len(),
        reports,
        "nothing reported to a room that is gone"
    );
}
