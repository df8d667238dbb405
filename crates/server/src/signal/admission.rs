//! Admission: what the connection driver decides before a frame reaches the hub
//! (passwords and join tokens), and the error replies it makes itself.

use super::connection::ConnSettings;
use crate::auth::Auth;
use axum::extract::ws::Message;
use confab_proto::{ClientFrame, ClientMsg, DecodeError, ErrorCode, Role, ServerMsg};

/// The reply to a frame refused before the hub (decode error, refused join, flood).
pub(crate) fn decode_error(e: DecodeError) -> Message {
    let msg: ServerMsg = e.into();
    Message::Text(
        serde_json::to_string(&msg)
            .expect("error messages always serialize")
            .into(),
    )
}

/// Checks a `join`'s password or token (other frames pass) and takes both out of the
/// frame, so the hub never holds a secret. A token's name replaces the requested one;
/// its role is returned for the hub.
pub(crate) async fn admit(
    frame: &mut ClientFrame,
    auth: &Auth,
) -> Result<Option<Role>, DecodeError> {
    let ClientMsg::Join {
        room,
        name,
        password,
        token,
    } = &mut frame.msg
    else {
        return Ok(None);
    };
    match auth.check_join(room, password.take(), token.take()).await {
        Ok(grant) => {
            if let Some(n) = grant.name {
                *name = n;
            }
            Ok(grant.role)
        }
        Err(r) => Err(DecodeError {
            code: r.code,
            message: r.message,
            ref_: frame.id.clone(),
        }),
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
