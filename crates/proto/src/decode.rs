//! The one decoder for client frames read from the network.

use crate::client::{ClientFrame, ClientMsg};
use crate::ids::{RequestId, RoomId};
use crate::server::{ErrorCode, ServerMsg};
use crate::text::{normalize_chat_text, normalize_name};
use crate::MAX_FRAME_BYTES;
use serde_json::Value;

/// Why a client frame was rejected. Turn it into a [`ServerMsg::Error`] with `.into()`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct DecodeError {
    /// The error code sent back.
    pub code: ErrorCode,
    /// Human-readable detail.
    pub message: String,
    /// The request id of the offending frame, when one could be read.
    pub ref_: Option<RequestId>,
}

impl DecodeError {
    fn new(code: ErrorCode, message: impl Into<String>, ref_: Option<RequestId>) -> Self {
        DecodeError {
            code,
            message: message.into(),
            ref_,
        }
    }

    /// The error for a frame of `len` bytes over [`MAX_FRAME_BYTES`].
    pub fn too_large(len: usize) -> Self {
        DecodeError::new(
            ErrorCode::TooLarge,
            format!("frame of {len} bytes exceeds the limit of {MAX_FRAME_BYTES} bytes"),
            None,
        )
    }

    /// The error for a binary WebSocket frame (the protocol is text only).
    pub fn binary() -> Self {
        DecodeError::new(ErrorCode::BadJson, "binary frames are not supported", None)
    }
}

impl From<DecodeError> for ServerMsg {
    fn from(e: DecodeError) -> Self {
        ServerMsg::Error {
            code: e.code,
            message: e.message,
            ref_: e.ref_,
        }
    }
}

/// Decodes and validates one text frame from a client.
///
/// Contract: never panics on any input; on success every field holds a valid value
/// (room ids checked, names trimmed and checked, SDPs non-empty); on failure the error
/// carries the frame's `id` as `ref_` whenever the frame was an object with a valid id.
pub fn decode_client(text: &str) -> Result<ClientFrame, DecodeError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(DecodeError::too_large(text.len()));
    }
    let mut value: Value = serde_json::from_str(text)
        .map_err(|e| DecodeError::new(ErrorCode::BadJson, format!("invalid JSON: {e}"), None))?;
    let Some(obj) = value.as_object_mut() else {
        return Err(DecodeError::new(
            ErrorCode::BadJson,
            "a message must be a JSON object",
            None,
        ));
    };
    let id = match obj.remove("id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(RequestId::from_json(&v).ok_or_else(|| {
            DecodeError::new(
                ErrorCode::BadField,
                "id must be a non-negative integer or a string of at most 64 bytes",
                None,
            )
        })?),
    };
    match obj.get("type") {
        Some(Value::String(t)) if ClientMsg::TYPES.contains(&t.as_str()) => {}
        Some(Value::String(t)) => {
            let shown: String = t.chars().take(32).collect();
            return Err(DecodeError::new(
                ErrorCode::UnknownType,
                format!("unknown message type {shown:?}"),
                id,
            ));
        }
        _ => {
            return Err(DecodeError::new(
                ErrorCode::UnknownType,
                "missing string field \"type\"",
                id,
            ))
        }
    }
    let mut msg: ClientMsg = serde_json::from_value(value)
        .map_err(|e| DecodeError::new(ErrorCode::BadField, e.to_string(), id.clone()))?;
    if let Err((code, message)) = validate(&mut msg) {
        return Err(DecodeError::new(code, message, id));
    }
    Ok(ClientFrame { id, msg })
}

/// Longest room password accepted in `join`.
pub const MAX_SECRET_BYTES: usize = 1024;
/// Longest join token accepted in `join`.
pub const MAX_TOKEN_BYTES: usize = 8192;
/// Longest `hello.resume` accepted (the server's tokens are much shorter).
pub const MAX_RESUME_TOKEN_BYTES: usize = 128;

/// Checks field contents that serde cannot, normalizing where the contract says so.
fn validate(msg: &mut ClientMsg) -> Result<(), (ErrorCode, String)> {
    match msg {
        ClientMsg::Hello {
            resume: Some(token),
            ..
        } if token.len() > MAX_RESUME_TOKEN_BYTES => {
            return Err((
                ErrorCode::BadField,
                format!("resume must be at most {MAX_RESUME_TOKEN_BYTES} bytes"),
            ));
        }
        ClientMsg::Join {
            room,
            name,
            password,
            token,
        } => {
            if RoomId::parse(room.as_str()).is_none() {
                return Err((
                    ErrorCode::BadRoom,
                    "room must be 1-64 letters or digits (any script), '_' or '-'".into(),
                ));
            }
            *name = normalize_name(name)?;
            if password
                .as_ref()
                .is_some_and(|p| p.is_empty() || p.len() > MAX_SECRET_BYTES)
            {
                return Err((
                    ErrorCode::BadField,
                    format!("password must be 1-{MAX_SECRET_BYTES} bytes"),
                ));
            }
            if token
                .as_ref()
                .is_some_and(|t| t.is_empty() || t.len() > MAX_TOKEN_BYTES)
            {
                return Err((
                    ErrorCode::BadField,
                    format!("token must be 1-{MAX_TOKEN_BYTES} bytes"),
                ));
            }
        }
        ClientMsg::Rename { name } => *name = normalize_name(name)?,
        ClientMsg::SfuView { tracks } => {
            if tracks.len() > crate::MAX_VIEWS {
                let message = format!("tracks: at most {} entries", crate::MAX_VIEWS);
                return Err((ErrorCode::BadField, message));
            }
            let bad_mid = |m: &str| {
                m.is_empty()
                    || m.len() > crate::MAX_MID_LEN
                    || !m.bytes().all(|b| b.is_ascii_graphic())
            };
            if tracks.iter().any(|t| bad_mid(&t.mid)) {
                let message = format!(
                    "mid: 1 to {} printable ASCII characters",
                    crate::MAX_MID_LEN
                );
                return Err((ErrorCode::BadField, message));
            }
        }
        ClientMsg::CallStats { setup_ms, .. } if *setup_ms > crate::MAX_SETUP_MS => {
            return Err((
                ErrorCode::BadField,
                format!("setupMs must be at most {}", crate::MAX_SETUP_MS),
            ));
        }
        ClientMsg::Offer { sdp, .. }
        | ClientMsg::Answer { sdp, .. }
        | ClientMsg::SfuOffer { sdp }
        | ClientMsg::SfuAnswer { sdp }
            if sdp.trim().is_empty() =>
        {
            return Err((ErrorCode::BadSdp, "sdp must not be empty".into()));
        }
        ClientMsg::Chat { text, key } => {
            if let Some(k) = key {
                let ok = !k.is_empty()
                    && k.len() <= crate::MAX_CHAT_KEY_LEN
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if !ok {
                    return Err((
                        ErrorCode::BadField,
                        format!(
                            "key must be 1-{} characters of A-Z a-z 0-9 _ -",
                            crate::MAX_CHAT_KEY_LEN
                        ),
                    ));
                }
            }
            *text = normalize_chat_text(text)?;
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{is_format_char, MAX_CHAT_CHARS};
    use proptest::prelude::*;

    fn code(text: &str) -> ErrorCode {
        decode_client(text).unwrap_err().code
    }

    #[test]
    fn classifies_bad_input() {
        assert_eq!(code("{"), ErrorCode::BadJson);
        assert_eq!(code("[1,2]"), ErrorCode::BadJson);
        assert_eq!(code(r#"{"id":1}"#), ErrorCode::UnknownType);
        assert_eq!(code(r#"{"type":5}"#), ErrorCode::UnknownType);
        assert_eq!(code(r#"{"type":"fly"}"#), ErrorCode::UnknownType);
        assert_eq!(code(r#"{"type":"hello"}"#), ErrorCode::BadField);
        assert_eq!(
            code(r#"{"type":"hello","version":"1"}"#),
            ErrorCode::BadField
        );
        assert_eq!(code(r#"{"type":"offer","to":"p1"}"#), ErrorCode::BadField);
        assert_eq!(
            code(r#"{"type":"offer","to":"p1","sdp":" "}"#),
            ErrorCode::BadSdp
        );
        assert_eq!(code(r#"{"type":"ping","id":-1}"#), ErrorCode::BadField);
        assert_eq!(
            code(r#"{"type":"join","room":"","name":"a"}"#),
            ErrorCode::BadRoom
        );
        assert_eq!(
            code(r#"{"type":"join","room":"a/b","name":"a"}"#),
            ErrorCode::BadRoom
        );
        assert_eq!(
            code(r#"{"type":"join","room":"r","name":"   "}"#),
            ErrorCode::BadName
        );
        assert_eq!(
            code(r#"{"type":"join","room":"r","name":"a\u0007b"}"#),
            ErrorCode::BadName
        );
        let long = format!(
            r#"{{"type":"join","room":"r","name":"{}"}}"#,
            "é".repeat(65)
        );
        assert_eq!(code(&long), ErrorCode::BadName);
        let huge = format!(
            r#"{{"type":"ping","pad":"{}"}}"#,
            "x".repeat(MAX_FRAME_BYTES)
        );
        assert_eq!(code(&huge), ErrorCode::TooLarge);
        assert_eq!(code(r#"{"type":"chat"}"#), ErrorCode::BadField);
        assert_eq!(code(r#"{"type":"chat","text":5}"#), ErrorCode::BadField);
        assert_eq!(code(r#"{"type":"chat","text":""}"#), ErrorCode::BadText);
        assert_eq!(
            code(r#"{"type":"chat","text":" \n\t "}"#),
            ErrorCode::BadText
        );
        assert_eq!(
            code(r#"{"type":"chat","text":"a\u0000b"}"#),
            ErrorCode::BadText
        );
        assert_eq!(code(r#"{"type":"chat","text":"a\rb"}"#), ErrorCode::BadText);
        assert_eq!(
            code(r#"{"type":"chat","text":"a\u009bb"}"#),
            ErrorCode::BadText
        );
    }

    #[test]
    fn chat_text_is_trimmed_and_counted_in_chars() {
        let text = |t: &str| {
            let json = serde_json::json!({"type": "chat", "text": t}).to_string();
            decode_client(&json).map(|f| match f.msg {
                ClientMsg::Chat { text, .. } => text,
                other => panic!("{other:?}"),
            })
        };
        assert_eq!(text("  hi there \n").unwrap(), "hi there");
        assert_eq!(text("line 1\n\tline 2").unwrap(), "line 1\n\tline 2");
        assert_eq!(
            text(&"é".repeat(MAX_CHAT_CHARS)).unwrap().chars().count(),
            2000
        );
        let padded = format!("   {}   ", "x".repeat(MAX_CHAT_CHARS));
        assert_eq!(text(&padded).unwrap().len(), MAX_CHAT_CHARS);
        assert_eq!(
            text(&"😀".repeat(MAX_CHAT_CHARS + 1)).unwrap_err().code,
            ErrorCode::BadText
        );
        let e = decode_client(r#"{"type":"chat","id":"c1","text":"  "}"#).unwrap_err();
        assert_eq!(e.ref_, Some(RequestId::Str("c1".into())));
    }

    #[test]
    fn keeps_ref_when_readable() {
        let e = decode_client(r#"{"type":"nope","id":"a1"}"#).unwrap_err();
        assert_eq!(e.ref_, Some(RequestId::Str("a1".into())));
        let e = decode_client(r#"{"type":"hello","id":9}"#).unwrap_err();
        assert_eq!(e.ref_, Some(RequestId::Num(9)));
    }

    #[test]
    fn trims_names_and_ignores_unknown_fields() {
        let f = decode_client(r#"{"type":"join","room":"r","name":"  Ada ","extra":1}"#).unwrap();
        assert_eq!(
            f.msg,
            ClientMsg::Join {
                room: RoomId::parse("r").unwrap(),
                name: "Ada".into(),
                password: None,
                token: None,
            }
        );
    }

    proptest! {
        /// No input panics, and every error stays within the documented codes.
        #[test]
        fn never_panics_on_arbitrary_text(s in ".{0,300}") {
            let _ = decode_client(&s);
        }

        /// Structured but random JSON objects are classified, never panic.
        #[test]
        fn never_panics_on_random_objects(
            t in prop::sample::select(vec!["hello","join","leave","offer","answer","candidate","hangup","ping","chat","x"]),
            k in "[a-zA-Z]{1,10}",
            v in prop_oneof![Just("1".to_string()), Just("null".to_string()), Just("\"s\"".to_string()), Just("[]".to_string()), Just("{}".to_string())],
        ) {
            let text = format!(r#"{{"type":"{t}","{k}":{v}}}"#);
            let _ = decode_client(&text);
        }

        /// A valid join round-trips: encode, decode, same message.
        #[test]
        fn valid_join_round_trips(room in "[A-Za-z0-9_-]{1,64}", name in "[a-zA-Z0-9 ]{0,60}[a-z]", id in any::<u64>()) {
            let frame = ClientFrame { id: Some(RequestId::Num(id)), msg: ClientMsg::Join { room: RoomId::parse(&room).unwrap(), name: name.trim().to_string(), password: None, token: None } };
            let text = serde_json::to_string(&frame).unwrap();
            prop_assert_eq!(decode_client(&text).unwrap(), frame);
        }

        /// Any chat text is accepted exactly when it obeys the documented rules, and
        /// what is accepted is the text without its format characters (but joiners
        /// between non-ASCII characters), trimmed.
        #[test]
        fn chat_text_follows_the_rules(t in prop_oneof![
            ".{0,40}",
            "[ \t\n\r\u{0}-\u{1f}a-z\u{85}\u{3000}]{0,20}",
            "[ a\u{e9}\u{3000}\u{1F468}\u{200B}-\u{200F}\u{202A}-\u{202E}\u{FEFF}]{0,20}",
        ]) {
            let json = serde_json::json!({"type": "chat", "text": t}).to_string();
            let visible: String = t.chars().filter(|&c| !is_format_char(c)).collect();
            let visible = visible.trim();
            let ok = !visible.is_empty()
                && visible.chars().count() <= MAX_CHAT_CHARS
                && !visible.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
            match decode_client(&json) {
                Ok(f) => {
                    prop_assert!(ok);
                    let ClientMsg::Chat { text, key: None } = f.msg else {
                        panic!("a chat");
                    };
                    let joiner = |c: char| c == '\u{200C}' || c == '\u{200D}';
                    prop_assert!(text.chars().all(|c| !is_format_char(c) || joiner(c)));
                    let shown: String = text.chars().filter(|&c| !is_format_char(c)).collect();
                    prop_assert_eq!(shown.as_str(), visible);
                    prop_assert_eq!(text.trim(), text.as_str());
                }
                Err(e) => {
                    prop_assert!(!ok);
                    prop_assert_eq!(e.code, ErrorCode::BadText);
                }
            }
        }
    }
}
