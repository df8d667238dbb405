//! A recording as a whole, for the replay page: one link signed for the recording (its
//! folder) that the page trades for the recording's tracks, each with its own file link
//! signed until the same expiry, its person's name and where it starts.
//!
//! The recording's signature is made over `replay:<room>/<folder>`, which no file link
//! signs (those are `<room>/<folder>/<file>`), so neither kind of link opens the other.

use super::links::{is_folder, Links};
use super::names::is_file;
use confab_proto::RoomId;
use serde::Serialize;
use std::path::Path;

/// Most tracks one recording lists (a call of the SFU's size, with room to spare).
pub const MAX_TRACKS: usize = 256;

/// What `GET /recordings/<room>/<recording>` answers for a valid replay link.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Replay {
    /// The room.
    pub room: String,
    /// The recording's id (its folder).
    pub id: String,
    /// When it started, in ms since the Unix epoch.
    pub started_ms: u64,
    /// When it stopped; absent while it runs (or if the server stopped first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_ms: Option<u64>,
    /// Its tracks, by file name.
    pub tracks: Vec<ReplayTrack>,
}

/// One track of a [`Replay`].
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReplayTrack {
    /// `audio` or `video`.
    pub kind: &'static str,
    /// Its person's peer id.
    pub peer: String,
    /// Its person's display name ("" when the manifest has none: a recording still
    /// running, or made before names were recorded).
    pub name: String,
    /// Where its first frame sits, in ms into the recording (its file's timestamps are
    /// on the recording's clock already; players that start files at zero need it).
    pub start_ms: u64,
    /// Where it ends, in ms into the recording (0 when the manifest does not say). With
    /// `start_ms`, it tells a player that starts files at zero from one that shows the
    /// file's own timestamps (the file's duration is then `end_ms`, not the difference).
    pub end_ms: u64,
    /// Its file's download link, signed until the replay link's expiry.
    pub url: String,
}

impl Links {
    /// The replay page's link for a recording, signed until `exp`.
    pub(super) fn replay_url(&self, room: &RoomId, folder: &str, exp: u64) -> String {
        let sig = self.sign(&format!("replay:{}/{folder}", room.as_str()), exp);
        format!(
            "/replay/{}/{folder}?exp={exp}&sig={sig}",
            room.url_segment()
        )
    }

    /// The recording a replay link names, if its signature is right, it has not expired
    /// and the names are a recording's (blocking file IO: the folder and its manifest).
    pub fn replay(&self, room: &str, folder: &str, exp: u64, sig: &str) -> Option<Replay> {
        let room = RoomId::parse(room)?;
        if !is_folder(folder) || exp < crate::unix_now() {
            return None;
        }
        let want = self.sign(&format!("replay:{}/{folder}", room.as_str()), exp);
        aws_lc_rs::constant_time::verify_slices_are_equal(want.as_bytes(), sig.as_bytes()).ok()?;
        let dir = self.dir().join(room.as_str()).join(folder);
        if !dir.is_dir() {
            return None;
        }
        let manifest = read_manifest(&dir);
        let tracks = self.tracks(&room, folder, &dir, manifest.as_ref(), exp);
        let stopped_ms = manifest
            .as_ref()
            .and_then(|m| m.get("stoppedMs"))
            .and_then(|v| v.as_u64());
        Some(Replay {
            room: room.as_str().to_owned(),
            id: folder.to_owned(),
            started_ms: super::links::started_ms(folder),
            stopped_ms,
            tracks,
        })
    }

    /// The folder's track files, with what the manifest says of each.
    fn tracks(
        &self,
        room: &RoomId,
        folder: &str,
        dir: &Path,
        manifest: Option<&serde_json::Value>,
        exp: u64,
    ) -> Vec<ReplayTrack> {
        let entry = |file: &str| {
            manifest
                .and_then(|m| m.get("files"))
                .and_then(|f| f.as_array())
                .and_then(|files| {
                    files
                        .iter()
                        .find(|e| e.get("file").and_then(|v| v.as_str()) == Some(file))
                })
        };
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| is_file(n))
            .take(MAX_TRACKS)
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|file| {
                let e = entry(&file);
                let number = |k: &str| {
                    e.and_then(|e| e.get(k))
                        .and_then(|v| v.as_u64())
                        .unwrap_or(0)
                };
                let text = |k: &str| {
                    e.and_then(|e| e.get(k))
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                };
                ReplayTrack {
                    kind: super::names::kind(&file),
                    peer: text("peer")
                        .unwrap_or_else(|| file.split('-').next().unwrap_or_default().to_owned()),
                    name: text("name").unwrap_or_default(),
                    start_ms: number("startMs"),
                    end_ms: number("endMs"),
                    url: self.file_url(room, folder, &file, exp),
                }
            })
            .collect()
    }
}

/// A recording's `recording.json`, if it has one yet (written when it stops) and it
/// reads; at most 1 MiB is read.
fn read_manifest(dir: &Path) -> Option<serde_json::Value> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(dir.join("recording.json"))
        .ok()?
        .take(1 << 20)
        .read_to_end(&mut bytes)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording() -> (tempdir::Dir, Links, String) {
        let dir = tempdir::Dir::new();
        let folder = "1700000000000-3".to_owned();
        let at = dir.0.join("class").join(&folder);
        std::fs::create_dir_all(&at).unwrap();
        std::fs::write(at.join("ab12-0-audio.webm"), b"a").unwrap();
        std::fs::write(at.join("ab12-1-video.webm"), b"v").unwrap();
        std::fs::write(at.join("cd34-1-video.webm"), b"v").unwrap();
        let manifest = serde_json::json!({
            "room": "class", "startedMs": 1_700_000_000_000u64, "stoppedMs": 1_700_000_009_000u64,
            "files": [
                {"file": "ab12-1-video.webm", "peer": "ab12", "name": "Ada", "kind": "video", "startMs": 0},
                {"file": "cd34-1-video.webm", "peer": "cd34", "name": "Bob", "kind": "video", "startMs": 2500, "endMs": 9000},
            ],
        });
        std::fs::write(at.join("recording.json"), manifest.to_string()).unwrap();
        let links = Links::new(dir.0.clone());
        (dir, links, folder)
    }

    fn query(url: &str) -> (u64, String) {
        let q = url.split_once('?').unwrap().1;
        let (exp, sig) = q.split_once('&').unwrap();
        let exp = exp.strip_prefix("exp=").unwrap().parse().unwrap();
        (exp, sig.strip_prefix("sig=").unwrap().to_owned())
    }

    #[test]
    fn a_replay_link_gives_the_tracks_with_names_starts_and_file_links() {
        let (_dir, links, folder) = recording();
        let room = RoomId::parse("class").unwrap();
        let exp = crate::unix_now() + 60;
        let url = links.replay_url(&room, &folder, exp);
        assert!(
            url.starts_with("/replay/class/1700000000000-3?exp="),
            "{url}"
        );
        let (exp, sig) = query(&url);
        let replay = links
            .replay("class", &folder, exp, &sig)
            .expect("a valid link");
        assert_eq!(replay.stopped_ms, Some(1_700_000_009_000));
        let seen: Vec<_> = replay
            .tracks
            .iter()
            .map(|t| (t.kind, t.name.as_str(), t.start_ms, t.end_ms))
            .collect();
        // The audio file is not in the manifest (a crash before it was written): still
        // listed, by the peer its name starts with.
        assert_eq!(
            seen,
            [
                ("audio", "", 0, 0),
                ("video", "Ada", 0, 0),
                ("video", "Bob", 2500, 9000)
            ]
        );
        assert_eq!(replay.tracks[0].peer, "ab12");
        // Each file link opens its file, until the same expiry.
        for t in &replay.tracks {
            let (fexp, fsig) = query(&t.url);
            assert_eq!(fexp, exp);
            let file = t.url.split('?').next().unwrap().rsplit('/').next().unwrap();
            assert!(links.verify("class", &folder, file, fexp, &fsig).is_some());
        }
    }

    #[test]
    fn a_tampered_or_misused_replay_link_opens_nothing() {
        let (_dir, links, folder) = recording();
        let room = RoomId::parse("class").unwrap();
        let exp = crate::unix_now() + 60;
        let (exp, sig) = query(&links.replay_url(&room, &folder, exp));
        assert!(links.replay("class", &folder, exp, "00").is_none());
        assert!(links.replay("class", &folder, exp + 1, &sig).is_none());
        assert!(links.replay("other", &folder, exp, &sig).is_none());
        assert!(links
            .replay("class", "1700000000000-4", exp, &sig)
            .is_none());
        // A file's link is no replay link, and a replay link opens no file.
        let file_url = links.file_url(&room, &folder, "ab12-1-video.webm", exp);
        let (_, file_sig) = query(&file_url);
        assert!(links.replay("class", &folder, exp, &file_sig).is_none());
        assert!(links
            .verify("class", &folder, "ab12-1-video.webm", exp, &sig)
            .is_none());
        // Expired.
        let (old_exp, old_sig) = query(&links.replay_url(&room, &folder, 5));
        assert!(links.replay("class", &folder, old_exp, &old_sig).is_none());
    }

    /// A temporary folder, removed on drop.
    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                let n: u64 = crate::random::bytes::<8>()
                    .iter()
                    .fold(0, |a, b| a << 8 | u64::from(*b));
                let p = std::env::temp_dir().join(format!("confab-replay-{n:x}"));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }
}
