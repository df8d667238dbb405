//! The recordings a host may see, and the download links it gets for them.
//!
//! A link is a path under `/recordings/` with an expiry and an HMAC-SHA256 signature by a
//! key made at start (so links end with the process, or after [`LINK_TTL`]). The hub has
//! already checked that the asker hosts the room; the link carries that decision to the
//! HTTP handler, which checks the signature and serves the file. Nothing else under the
//! data dir is reachable: names are checked against what a recording writes (its
//! tracks, and the MP4 `confab recording compose` makes of them).

use super::names::{is_file, COMPOSED};
use confab_proto::{ComposedFile, RecordedFile, RecordingInfo, RoomId};
use std::path::{Path, PathBuf};

/// How long a download link works.
pub const LINK_TTL_SECS: u64 = 3600;
/// Most recordings a listing names (newest first).
pub const MAX_LISTED: usize = 100;

/// The recordings folder and the key links are signed with. Cheap to share (`Arc`).
pub struct Links {
    dir: PathBuf,
    key: aws_lc_rs::hmac::Key,
}

impl Links {
    /// Links to the recordings under `dir`, signed with a fresh random key.
    pub fn new(dir: PathBuf) -> Links {
        let secret: [u8; 32] = crate::random::bytes();
        Links {
            dir,
            key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret),
        }
    }

    /// The recordings folder.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// A file's download link, signed until `exp`. Signed over the path as the server
    /// reads it back (decoded); sent percent-encoded.
    pub(super) fn file_url(&self, room: &RoomId, folder: &str, file: &str, exp: u64) -> String {
        let sig = self.sign(&format!("{}/{folder}/{file}", room.as_str()), exp);
        format!(
            "/recordings/{}/{folder}/{file}?exp={exp}&sig={sig}",
            room.url_segment()
        )
    }

    /// The hex HMAC of `path` and `exp`.
    pub(super) fn sign(&self, path: &str, exp: u64) -> String {
        let tag = aws_lc_rs::hmac::sign(&self.key, format!("{path}\n{exp}").as_bytes());
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The file a link names, if its signature is right, it has not expired and the
    /// names are a recording's.
    pub fn verify(
        &self,
        room: &str,
        folder: &str,
        file: &str,
        exp: u64,
        sig: &str,
    ) -> Option<PathBuf> {
        let ok_names = RoomId::parse(room).is_some()
            && is_folder(folder)
            && (is_file(file) || file == COMPOSED);
        if !ok_names || exp < crate::unix_now() {
            return None;
        }
        let path = format!("{room}/{folder}/{file}");
        let want = self.sign(&path, exp);
        // Constant time: the signature is the secret here.
        if aws_lc_rs::constant_time::verify_slices_are_equal(want.as_bytes(), sig.as_bytes())
            .is_err()
        {
            return None;
        }
        Some(self.dir.join(room).join(folder).join(file))
    }

    /// `room`'s recordings, newest first, with download links (blocking file IO).
    pub fn list(&self, room: &RoomId) -> Vec<RecordingInfo> {
        let base = self.dir.join(room.as_str());
        let Ok(entries) = std::fs::read_dir(&base) else {
            return Vec::new();
        };
        let mut folders: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| is_folder(n))
            .collect();
        // Folder names start with the start time in ms: newest first.
        folders.sort_by_key(|n| std::cmp::Reverse(started_ms(n)));
        folders.truncate(MAX_LISTED);
        let exp = crate::unix_now() + LINK_TTL_SECS;
        folders
            .into_iter()
            .map(|folder| self.recording(room, &base.join(&folder), &folder, exp))
            .collect()
    }

    fn recording(&self, room: &RoomId, path: &Path, folder: &str, exp: u64) -> RecordingInfo {
        let manifest: Option<serde_json::Value> = std::fs::read(path.join("recording.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let stopped_ms = manifest
            .as_ref()
            .and_then(|m| m.get("stoppedMs"))
            .and_then(|v| v.as_u64());
        let mut files: Vec<RecordedFile> = std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                if !is_file(&name) {
                    return None;
                }
                let bytes = e.metadata().ok()?.len();
                let kind = super::names::kind(&name);
                let peer = name.split('-').next().unwrap_or_default().to_owned();
                let url = self.file_url(room, folder, &name, exp);
                Some(RecordedFile {
                    name,
                    kind: kind.to_owned(),
                    peer,
                    bytes,
                    url,
                })
            })
            .collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        // Written as `.part` and renamed when whole, so one that is here is complete.
        let composed = std::fs::metadata(path.join(COMPOSED))
            .ok()
            .filter(|m| m.is_file())
            .map(|m| ComposedFile {
                name: COMPOSED.to_owned(),
                bytes: m.len(),
                url: self.file_url(room, folder, COMPOSED, exp),
            });
        RecordingInfo {
            id: folder.to_owned(),
            started_ms: started_ms(folder),
            stopped_ms,
            files,
            replay: Some(self.replay_url(room, folder, exp)),
            composed,
        }
    }
}

/// A recording folder's name: `<start ms>-<call>` (what `Recorder` makes).
pub(super) fn is_folder(name: &str) -> bool {
    name.split_once('-').is_some_and(|(ms, call)| {
        !ms.is_empty()
            && ms.bytes().all(|b| b.is_ascii_digit())
            && !call.is_empty()
            && call.bytes().all(|b| b.is_ascii_digit())
    })
}

/// When a recording folder's recording started (0 for another name).
pub(super) fn started_ms(folder: &str) -> u64 {
    folder
        .split_once('-')
        .and_then(|(ms, _)| ms.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_name_only_recordings_and_need_their_signature() {
        let links = Links::new(PathBuf::from("/data/recordings"));
        let exp = crate::unix_now() + 60;
        let sig = links.sign("class/1700000000000-3/ab12-1-video.webm", exp);
        let path = links.verify("class", "1700000000000-3", "ab12-1-video.webm", exp, &sig);
        assert_eq!(
            path,
            Some(PathBuf::from(
                "/data/recordings/class/1700000000000-3/ab12-1-video.webm"
            ))
        );
        // Another file, another room, a bad signature, an expired link, a path trick.
        assert!(links
            .verify("class", "1700000000000-3", "ab12-0-audio.webm", exp, &sig)
            .is_none());
        assert!(links
            .verify("other", "1700000000000-3", "ab12-1-video.webm", exp, &sig)
            .is_none());
        assert!(links
            .verify("class", "1700000000000-3", "ab12-1-video.webm", exp, "00")
            .is_none());
        let old = links.sign("class/1700000000000-3/ab12-1-video.webm", 5);
        assert!(links
            .verify("class", "1700000000000-3", "ab12-1-video.webm", 5, &old)
            .is_none());
        assert!(!is_folder("..") && !is_file("../confab.db") && !is_file("recording.json"));
    }

    #[test]
    fn a_composed_file_is_listed_with_a_link_once_it_is_there() {
        let dir = std::env::temp_dir().join(format!("confab-links-{}", std::process::id()));
        let folder = dir.join("class/1700000000000-3");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("ab12-1-video.webm"), b"webm").unwrap();
        std::fs::write(folder.join("composed.mp4.part"), b"half").unwrap();
        let links = Links::new(dir.clone());
        let room = RoomId::parse("class").unwrap();
        let listed = links.list(&room);
        assert_eq!(listed[0].composed, None, "a .part is not listed");
        assert_eq!(listed[0].files.len(), 1);

        std::fs::rename(folder.join("composed.mp4.part"), folder.join(COMPOSED)).unwrap();
        let listed = links.list(&room);
        let composed = listed[0].composed.clone().expect("listed");
        assert_eq!((composed.name.as_str(), composed.bytes), (COMPOSED, 4));
        assert_eq!(listed[0].files.len(), 1, "not a track");
        // Its link verifies to the file; a link to another name in its place does not.
        let query = composed.url.split_once('?').unwrap().1;
        let (exp, sig) = query.split_once("&sig=").unwrap();
        let exp: u64 = exp.trim_start_matches("exp=").parse().unwrap();
        let path = links.verify("class", "1700000000000-3", COMPOSED, exp, sig);
        assert_eq!(path, Some(folder.join(COMPOSED)));
        let other = links.verify("class", "1700000000000-3", "composed.mp4.part", exp, sig);
        assert_eq!(other, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
