//! `GET /recordings/<room>/<recording>/<file>?exp=..&sig=..`: a recording's file, for a
//! link the hub gave a host in `recordings` (see `crate::record::Links`). Streams the file
//! (a recording can be large), or the byte range asked for (players seek so); anything
//! but a valid, unexpired link is `404`.
//!
//! `GET /recordings/<room>/<recording>?exp=..&sig=..`: for the replay page, a recording's
//! tracks (JSON, see `crate::record::Replay`) for a replay link the listing gave; `404`
//! otherwise.

use super::ranges::{self, Ranged};
use super::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// The link's query: its expiry (Unix seconds) and signature.
#[derive(Deserialize)]
pub(super) struct Signed {
    exp: u64,
    sig: String,
}

pub(super) async fn download(
    State(state): State<AppState>,
    Path((room, folder, file)): Path<(String, String, String)>,
    Query(q): Query<Signed>,
    headers: HeaderMap,
) -> Response {
    let Some(links) = &state.recordings else {
        return not_found();
    };
    let Some(path) = links.verify(&room, &folder, &file, q.exp, &q.sig) else {
        return not_found();
    };
    let Ok(mut f) = tokio::fs::File::open(&path).await else {
        return not_found();
    };
    let Ok(len) = f.metadata().await.map(|m| m.len()) else {
        return not_found();
    };
    let kind = crate::record::content_type(&file);
    let asked = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, end) = match ranges::parse(asked, len) {
        Ranged::Whole => (StatusCode::OK, 0, len.saturating_sub(1)),
        Ranged::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end),
        Ranged::Unsatisfiable => {
            let mut res = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return res;
        }
    };
    if start > 0 && f.seek(std::io::SeekFrom::Start(start)).await.is_err() {
        return not_found();
    }
    let count = if len == 0 { 0 } else { end - start + 1 };
    let body = tokio_util::io::ReaderStream::new(f.take(count));
    let mut res = (status, Body::from_stream(body)).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    res
}

pub(super) async fn replay(
    State(state): State<AppState>,
    Path((room, folder)): Path<(String, String)>,
    Query(q): Query<Signed>,
) -> Response {
    let Some(links) = state.recordings.clone() else {
        return not_found();
    };
    // The folder listing and the manifest are file IO: off the async workers.
    let found =
        tokio::task::spawn_blocking(move || links.replay(&room, &folder, q.exp, &q.sig)).await;
    let Ok(Some(replay)) = found else {
        return not_found();
    };
    let mut res = axum::Json(replay).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    res
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "no such recording, or the link expired\n",
    )
        .into_response()
}
