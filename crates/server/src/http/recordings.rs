//! `GET /recordings/<room>/<recording>/<file>?exp=..&sig=..`: a recording's file, for a
//! link the hub gave a host in `recordings` (see `crate::record::Links`). Streams the file
//! (a recording can be large); anything but a valid, unexpired link is `404`.

use super::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

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
) -> Response {
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            "no such recording, or the link expired\n",
        )
            .into_response()
    };
    let Some(links) = &state.recordings else {
        return not_found();
    };
    let Some(path) = links.verify(&room, &folder, &file, q.exp, &q.sig) else {
        return not_found();
    };
    let Ok(f) = tokio::fs::File::open(&path).await else {
        return not_found();
    };
    let len = f.metadata().await.map(|m| m.len()).ok();
    let kind = if file.ends_with("-audio.webm") {
        "audio/webm"
    } else {
        "video/webm"
    };
    let mut res = Body::from_stream(tokio_util::io::ReaderStream::new(f)).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Some(len) = len {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    res
}
