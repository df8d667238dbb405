//! The WHIP (RFC 9725) and WHEP endpoints over `crate::streams`' sessions; both work
//! alike, `/whip/...` to publish into a room and `/whep/...` to play its broadcast:
//!
//! - `POST /whip/<room>`, `POST /whep/<room>`: `Authorization: Bearer <join token>` (for
//!   WHIP a host token for that room), `Content-Type: application/sdp`, the offer as
//!   body. `201 Created` with the answer, `Location` (the session URL), `ETag`, and one
//!   `Link` per ICE server (`rel="ice-server"`, TURN with fresh credentials). Refusals
//!   say why in text.
//! - `POST /whep/<room>/participant/<name>` (the name percent-encoded): the same, playing
//!   the one participant of that name (`404` if nobody of that name is on stage). Its
//!   three segments after `/whep` keep it apart from a session URL's two; its session
//!   URL is `/whep/<room>/<session>` like any player's.
//! - `PATCH <session>` (`application/trickle-ice-sdpfrag`): `204`. The SFU is ICE-lite
//!   and learns the encoder's addresses from its checks, so trickled candidates are not
//!   needed; an ICE restart is not offered (`Accept-Patch` is not sent on `OPTIONS`).
//! - `DELETE <session>`: `200`; the member leaves the room.
//! - `OPTIONS` on both, and CORS headers on every answer, so a page may publish.

use super::{request_host, AppState, PeerIp};
use crate::streams::{Origin, Refused};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use confab_proto::{IceServer, RoomId};
use confab_signal::ParticipantKind;

/// Largest offer taken (an encoder's offer is a few kilobytes).
pub const MAX_OFFER_BYTES: usize = 64 * 1024;

/// The URL path segment of a kind's endpoint.
fn prefix(kind: ParticipantKind) -> &'static str {
    match kind {
        ParticipantKind::WhepPlayer => "whep",
        _ => "whip",
    }
}

/// `POST /whip/<room>`: starts publishing.
pub(super) async fn whip_post(
    state: State<AppState>,
    ip: PeerIp,
    room: Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let kind = (ParticipantKind::WhipPublisher, None);
    post(kind, state, ip, room, headers, body).await
}

/// `POST /whep/<room>`: starts playing.
pub(super) async fn whep_post(
    state: State<AppState>,
    ip: PeerIp,
    room: Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let kind = (ParticipantKind::WhepPlayer, None);
    post(kind, state, ip, room, headers, body).await
}

/// `POST /whep/<room>/participant/<name>`: starts playing one participant.
pub(super) async fn whep_participant_post(
    state: State<AppState>,
    ip: PeerIp,
    Path((room, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let kind = (ParticipantKind::WhepPlayer, Some(name));
    post(kind, state, ip, Path(room), headers, body).await
}

/// `DELETE /whip/<room>/<session>`.
pub(super) async fn whip_delete(state: State<AppState>, path: Path<(String, String)>) -> Response {
    delete(ParticipantKind::WhipPublisher, state, path)
}

/// `DELETE /whep/<room>/<session>`.
pub(super) async fn whep_delete(state: State<AppState>, path: Path<(String, String)>) -> Response {
    delete(ParticipantKind::WhepPlayer, state, path)
}

/// `PATCH /whip/<room>/<session>`.
pub(super) async fn whip_patch(
    state: State<AppState>,
    path: Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    patch(ParticipantKind::WhipPublisher, state, path, headers)
}

/// `PATCH /whep/<room>/<session>`.
pub(super) async fn whep_patch(
    state: State<AppState>,
    path: Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    patch(ParticipantKind::WhepPlayer, state, path, headers)
}

/// Starts a session of `kind`, a player for the participant named by the second member
/// alone if set.
async fn post(
    (kind, follow): (ParticipantKind, Option<String>),
    State(state): State<AppState>,
    PeerIp(ip): PeerIp,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(room) = RoomId::parse(&room) else {
        return text(StatusCode::NOT_FOUND, "no such room name");
    };
    let is_sdp = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/sdp"));
    if !is_sdp {
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the offer as application/sdp",
        );
    }
    let Some(token) = bearer(&headers) else {
        let mut res = text(
            StatusCode::UNAUTHORIZED,
            "send a join token: Authorization: Bearer <token>",
        );
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return res;
    };
    if body.len() > MAX_OFFER_BYTES {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "the offer is too large");
    }
    let Ok(offer) = String::from_utf8(body.to_vec()) else {
        return text(StatusCode::BAD_REQUEST, "the offer is not UTF-8 text");
    };
    let origin = Origin {
        host: request_host(&headers),
        ip,
    };
    let started = match state
        .streams
        .start((kind, follow), room.clone(), token, offer, origin)
        .await
    {
        Ok(s) => s,
        Err(Refused { status, message }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CONFLICT);
            return text(status, &message);
        }
    };
    let location = format!("/{}/{}/{}", prefix(kind), room.url_segment(), started.id);
    let mut res = (StatusCode::CREATED, started.answer).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/sdp"),
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", started.id)) {
        h.insert(header::ETAG, v);
    }
    for link in ice_links(&started.ice_servers) {
        if let Ok(v) = HeaderValue::from_str(&link) {
            h.append(header::LINK, v);
        }
    }
    cors(h);
    res
}

/// `DELETE` on a session URL: ends it.
fn delete(
    kind: ParticipantKind,
    State(state): State<AppState>,
    Path((room, id)): Path<(String, String)>,
) -> Response {
    match RoomId::parse(&room) {
        Some(room) if state.streams.end(kind, &room, &id) => {
            with_cors(StatusCode::OK.into_response())
        }
        _ => text(StatusCode::NOT_FOUND, "no such session"),
    }
}

/// `PATCH` on a session URL: trickled candidates, not needed (see the module docs).
fn patch(
    kind: ParticipantKind,
    State(state): State<AppState>,
    Path((room, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let known = RoomId::parse(&room).is_some_and(|room| state.streams.exists(kind, &room, &id));
    if !known {
        return text(StatusCode::NOT_FOUND, "no such session");
    }
    let frag = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/trickle-ice-sdpfrag")
        });
    if !frag {
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/trickle-ice-sdpfrag",
        );
    }
    with_cors(StatusCode::NO_CONTENT.into_response())
}

/// `OPTIONS` on either URL: what it takes, for CORS preflights and RFC 9725 clients.
pub(super) async fn options() -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    let h = res.headers_mut();
    h.insert("accept-post", HeaderValue::from_static("application/sdp"));
    cors(h);
    res
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// One `Link` value per ICE server URL (RFC 9725 §4.6).
fn ice_links(servers: &[IceServer]) -> Vec<String> {
    let mut out = Vec::new();
    for s in servers {
        for url in &s.urls {
            let mut link = format!("<{url}>; rel=\"ice-server\"");
            if let (Some(user), Some(pass)) = (&s.username, &s.credential) {
                link.push_str(&format!(
                    "; username=\"{user}\"; credential=\"{pass}\"; credential-type=\"password\""
                ));
            }
            out.push(link);
        }
    }
    out
}

fn text(status: StatusCode, message: &str) -> Response {
    with_cors((status, format!("{message}\n")).into_response())
}

fn with_cors(mut res: Response) -> Response {
    cors(res.headers_mut());
    res
}

fn cors(h: &mut HeaderMap) {
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, PATCH, DELETE, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type, If-Match"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Location, Link, ETag"),
    );
}
