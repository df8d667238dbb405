//! The `[[camera]]` entries of the config file (file only: a list of tables has no
//! flag form). Each names an IP camera the server pulls over RTSP into a room:
//!
//! ```toml
//! [[camera]]
//! name = "Front door"                             # how the room shows it
//! url = "rtsp://viewer:secret@192.0.2.10:554/h264" # credentials in the userinfo
//! room = "lobby"
//! ```
//!
//! Only `rtsp://` is accepted for now (the RTSP client, retina, has no TLS). The
//! password never reaches a log line or `check-config`: [`Camera`] keeps it apart
//! from the URL, as a [`Secret`].

use crate::config::{ConfigError, Secret, REDACTED};
use confab_proto::RoomId;
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// The file key.
pub const KEY: &str = "camera";

/// Most cameras one server pulls.
pub const MAX_CAMERAS: usize = 32;

/// One configured camera, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct Camera {
    /// Its name in the room (a display name: 1 to 64 characters), unique.
    pub name: String,
    /// Its RTSP URL without credentials (`rtsp://` or `rtsps://`).
    pub url: url::Url,
    /// The user and password from the URL's userinfo, if any.
    pub credentials: Option<(String, Secret)>,
    /// The room it appears in.
    pub room: RoomId,
}

impl Camera {
    /// The URL as configured, with the password replaced by [`REDACTED`]: what logs
    /// and `check-config` show.
    pub fn redacted_url(&self) -> String {
        let url = self.url.as_str();
        match (&self.credentials, url.split_once("://")) {
            (Some((user, _)), Some((scheme, rest))) => {
                format!("{scheme}://{user}:{REDACTED}@{rest}")
            }
            _ => url.to_owned(),
        }
    }
}

impl fmt::Debug for Camera {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Camera")
            .field("name", &self.name)
            .field("url", &self.redacted_url())
            .field("room", &self.room.as_str())
            .finish()
    }
}

/// The configured cameras, in file order. Serializes as `[[camera]]` tables with
/// redacted URLs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cameras(pub Vec<Camera>);

impl Cameras {
    /// Whether none is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads and checks the file's `[[camera]]` entries (none without a file).
    pub fn from_file(file: Option<&toml::Table>) -> Result<Cameras, ConfigError> {
        let Some(value) = file.and_then(|f| f.get(KEY)) else {
            return Ok(Cameras::default());
        };
        let entries: Vec<Entry> = value.clone().try_into().map_err(|e: toml::de::Error| {
            ConfigError::Invalid(format!(
                "[[camera]]: {} (each needs name, url and room)",
                e.message().trim()
            ))
        })?;
        if entries.len() > MAX_CAMERAS {
            return Err(ConfigError::Invalid(format!(
                "at most {MAX_CAMERAS} [[camera]] entries"
            )));
        }
        let mut cameras: Vec<Camera> = Vec::new();
        for entry in entries {
            let camera = entry.check()?;
            if cameras.iter().any(|c| c.name == camera.name) {
                return Err(ConfigError::Invalid(format!(
                    "two cameras are named {:?}: camera names must be unique",
                    camera.name
                )));
            }
            cameras.push(camera);
        }
        Ok(Cameras(cameras))
    }
}

impl Serialize for Cameras {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let shown: Vec<Entry> = self
            .0
            .iter()
            .map(|c| Entry {
                name: c.name.clone(),
                url: c.redacted_url(),
                room: c.room.as_str().to_owned(),
            })
            .collect();
        shown.serialize(s)
    }
}

/// One `[[camera]]` table as written.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    url: String,
    room: String,
}

impl Entry {
    fn check(self) -> Result<Camera, ConfigError> {
        let name = confab_proto::normalize_name(&self.name).map_err(|(_, why)| {
            ConfigError::Invalid(format!("[[camera]] name {:?}: {why}", self.name))
        })?;
        let bad = |why: &str| ConfigError::Invalid(format!("camera {name:?}: {why}"));
        let room = RoomId::parse(&self.room).ok_or_else(|| {
            bad("room is not a valid room id (see \"Room ids\" in docs/protocol.md)")
        })?;
        // The URL's own error text could quote it, password and all: not shown.
        let mut url = url::Url::parse(&self.url)
            .map_err(|_| bad("url is not a valid URL (rtsp://user:password@host:port/path)"))?;
        match url.scheme() {
            "rtsp" => {}
            // The RTSP client (retina) speaks plain RTSP only.
            "rtsps" => {
                return Err(bad(
                    "rtsps:// (RTSP over TLS) is not supported yet: use rtsp://",
                ))
            }
            _ => return Err(bad("url must start with rtsp://")),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("url has no host"));
        }
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, password) => Some((decode(user), Secret::from(decode(password.unwrap_or(""))))),
        };
        let _ = url.set_username("");
        let _ = url.set_password(None);
        Ok(Camera {
            name,
            url,
            credentials,
            room,
        })
    }
}

/// A userinfo part, percent-decoded (`p%40ss` is `p@ss`).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Cameras, ConfigError> {
        let table: toml::Table = toml::from_str(text).unwrap();
        Cameras::from_file(Some(&table))
    }

    #[test]
    fn credentials_are_kept_apart_and_never_shown() {
        let cams = parse(
            r#"[[camera]]
name = "Front door"
url = "rtsp://viewer:s%40cret@192.0.2.10:554/h264"
room = "lobby""#,
        )
        .unwrap();
        let cam = &cams.0[0];
        assert_eq!(cam.url.as_str(), "rtsp://192.0.2.10:554/h264");
        let (user, password) = cam.credentials.as_ref().unwrap();
        assert_eq!((user.as_str(), password.expose()), ("viewer", "s@cret"));
        let shown = format!("{cam:?} {}", toml::to_string(&cams).unwrap_or_default());
        assert!(!shown.contains("cret"), "{shown}");
        assert!(
            shown.contains("rtsp://viewer:<redacted>@192.0.2.10:554/h264"),
            "{shown}"
        );
    }

    #[test]
    fn bad_entries_are_refused_in_words() {
        for (text, words) in [
            (
                r#"[[camera]]
name = "a"
url = "http://h/x"
room = "r""#,
                "must start with rtsp://",
            ),
            (
                r#"[[camera]]
name = "a"
url = "rtsps://h/x"
room = "r""#,
                "not supported yet",
            ),
            (
                r#"[[camera]]
name = "a"
url = "rtsp://h/x"
room = "no spaces""#,
                "not a valid room id",
            ),
            (
                r#"[[camera]]
name = "a"
url = "rtsp://h/x"
room = "r"
[[camera]]
name = "a"
url = "rtsp://h/y"
room = "r""#,
                "unique",
            ),
            (
                r#"[[camera]]
name = "a"
url = "rtsp://h/x""#,
                "name, url and room",
            ),
            (
                r#"[[camera]]
name = "a"
url = "rtsp://u:topsecret@[::1/x"
room = "r""#,
                "not a valid URL",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(words), "{err}");
            assert!(!err.contains("topsecret"), "{err}");
        }
    }
}
