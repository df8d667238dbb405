//! Admission: what the connection driver decides before a frame reaches the hub
//! (passwords and join tokens, with the password throttle of `throttle.rs`), and the
//! error replies it makes itself.

use super::connection::ConnSettings;
use super::hub_task::HubHandle;
use axum::extract::ws::Message;
use confab_proto::{ClientFrame, ClientMsg, DecodeError, ErrorCode, ServerMsg};
use confab_signal::{ConnId, Grant};
use std::net::IpAddr;
use std::time::Instant;

/// The reply to a frame refused before the hub (decode error, refused join, flood).
pub(crate) fn decode_error(e: DecodeError) -> Message {
    let msg: ServerMsg = e.into();
    Message::Text(
        serde_json::to_string(&msg)
            .expect("error messages always serialize")
            .into(),
    )
}

/// What admission knows besides the frame: the connection's settings, its id and its
/// client's address, whether it has sent `hello`, and the hub (to ask whether a room is
/// locked to it).
pub(crate) struct Gate<'a> {
    pub(crate) settings: &'a ConnSettings,
    pub(crate) hub: &'a HubHandle,
    pub(crate) conn: ConnId,
    pub(crate) ip: Option<IpAddr>,
    pub(crate) helloed: bool,
}

/// A frame admission answers itself.
pub(crate) struct Refused {
    /// The error sent back.
    pub(crate) error: DecodeError,
    /// It was a wrong guess (password, token): it counts towards the connection's cap.
    pub(crate) failed: bool,
}

/// Checks a `join`'s password or token (other frames pass) and takes both out of the
/// frame, so the hub never holds a secret. A token's name replaces the requested one;
/// its role and subject are returned for the hub.
///
/// Nothing is checked before `hello` (`hello_required`, as the hub would say), nor for a
/// locked room (`room_locked`, whatever the password: no right/wrong oracle, and no
/// argon2 work), nor for an address that sent too many wrong passwords lately
/// (`rate_limited`, see `throttle.rs`).
pub(crate) async fn admit(
    frame: &mut ClientFrame,
    gate: Gate<'_>,
) -> Result<Option<Grant>, Refused> {
    let ClientMsg::Join {
        room,
        name,
        password,
        token,
    } = &mut frame.msg
    else {
        return Ok(None);
    };
    let (password, token) = (password.take(), token.take());
    let ref_ = frame.id.clone();
    let answer = |code, message: String| Refused {
        error: DecodeError {
            code,
            message,
            ref_: ref_.clone(),
        },
        failed: false,
    };
    if !gate.helloed {
        let message = "send hello before any other message".to_owned();
        return Err(answer(ErrorCode::HelloRequired, message));
    }
    let auth = &gate.settings.auth;
    let mut clean = false;
    if token.is_none() && auth.has_password(room) {
        if gate
            .hub
            .locked(room.clone(), gate.conn)
            .await
            .unwrap_or(false)
        {
            // The hub's own words for it.
            let message = format!("room {room} is locked by its host");
            return Err(answer(ErrorCode::RoomLocked, message));
        }
        if password.is_some() {
            if let Err(wait) = gate.settings.throttle.check(gate.ip, Instant::now()) {
                let message = format!(
                    "too many wrong passwords from your address; try again in {} s",
                    wait.as_secs().max(1)
                );
                return Err(Refused {
                    failed: true,
                    ..answer(ErrorCode::RateLimited, message)
                });
            }
            clean = gate.settings.throttle.is_clean(gate.ip, Instant::now());
        }
    }
    let password_join = password.is_some() && token.is_none();
    match auth.check_join(room, password, token, clean).await {
        Ok(grant) => {
            if let Some(n) = grant.name {
                *name = n;
            }
            Ok(grant.role.map(|role| {
                let subject = grant.subject.unwrap_or_else(|| name.clone());
                Grant::new(role, subject)
            }))
        }
        Err(r) => {
            // A wrong password, or a check the room's gate had no room for: either
            // spends one of the address's tries (so a guesser is clean once only).
            if r.code == ErrorCode::BadPassword
                || (password_join && r.code == ErrorCode::RateLimited)
            {
                gate.settings.throttle.failed(gate.ip, Instant::now());
            }
            Err(Refused {
                failed: true,
                ..answer(r.code, r.message)
            })
        }
    }
}

/// The `rate_limited` error for a message dropped by the flood guard.
pub(crate) fn rate_limited(settings: &ConnSettings) -> Message {
    decode_error(DecodeError {
        code: ErrorCode::RateLimited,
        message: format!(
            "you are sending messages too fast (at most {} in a row, then {} a second); \
             this one was dropped",
            settings.msg_burst, settings.msg_rate
        ),
        ref_: None,
    })
}
