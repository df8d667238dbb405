//! HTTP routes: the embedded web client, shareable room links, the small JSON API and
//! the WebSocket upgrade.

mod gate;
pub use gate::FD_RESERVE;
mod idle;
mod ranges;
mod recordings;
mod serve;
pub mod settings;
mod streams;

use axum::extract::DefaultBodyLimit;
use axum::extract::{ConnectInfo, MatchedPath, Path, Request, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use confab_proto::RoomId;
use confab_signal::ConnId;
pub use serve::{spawn, AppState, DRAIN_DEADLINE};
use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;

/// The web client, compiled into the binary (read from disk in debug builds).
#[derive(rust_embed::RustEmbed)]
#[folder = "../../web/"]
#[exclude = "test/*"]
struct Assets;

/// Builds the router over `state`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/r/{room}", get(room_page))
        .route("/check", get(check_page))
        .route("/ws", get(ws_upgrade))
        .route("/api/ice-servers", get(ice_servers))
        .route(
            "/recordings/{room}/{recording}/{file}",
            get(recordings::download),
        )
        .route("/recordings/{room}/{recording}", get(recordings::replay))
        .route("/replay/{room}/{recording}", get(replay_page))
        .route(
            "/whip/{room}",
            post(streams::whip_post)
                .options(streams::options)
                .layer(DefaultBodyLimit::max(streams::MAX_OFFER_BYTES)),
        )
        .route(
            "/whip/{room}/{session}",
            axum::routing::delete(streams::whip_delete)
                .patch(streams::whip_patch)
                .options(streams::options),
        )
        .route(
            "/whep/{room}",
            post(streams::whep_post)
                .options(streams::options)
                .layer(DefaultBodyLimit::max(streams::MAX_OFFER_BYTES)),
        )
        .route(
            "/whep/{room}/participant/{name}",
            post(streams::whep_participant_post)
                .options(streams::options)
                .layer(DefaultBodyLimit::max(streams::MAX_OFFER_BYTES)),
        )
        .route(
            "/whep/{room}/{session}",
            axum::routing::delete(streams::whep_delete)
                .patch(streams::whep_patch)
                .options(streams::options),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(get(static_file))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(axum::middleware::map_response_with_state(
            !state.config.http.insecure_http,
            security_headers,
        ))
        .with_state(state)
}

/// How long `/readyz` waits for the hub task before calling the server not ready.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Readiness: 200 once the hub task answers; 503 while shutting down or when the hub
/// task is gone or too far behind to answer in [`READY_TIMEOUT`]. (`/healthz` is the
/// liveness probe: it answers whenever the HTTP server does.)
async fn readyz(State(state): State<AppState>) -> Response {
    let unavailable = |why: &'static str| (StatusCode::SERVICE_UNAVAILABLE, why).into_response();
    if state.shutdown.is_cancelled() {
        return unavailable("shutting down");
    }
    match tokio::time::timeout(READY_TIMEOUT, state.hub.ready()).await {
        Ok(Ok(())) if !state.shutdown.is_cancelled() => "ready".into_response(),
        Ok(Ok(())) => unavailable("shutting down"),
        Ok(Err(_)) => unavailable("signaling hub stopped"),
        Err(_) => unavailable("signaling hub not answering"),
    }
}

/// The Prometheus text exposition of this server's metrics.
async fn metrics(State(state): State<AppState>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        state.metrics.render(),
    )
        .into_response()
}

/// Counts each answered request by route pattern (never the raw path, so clients cannot
/// mint series) and status.
async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = match req.extensions().get::<MatchedPath>().map(|p| p.as_str()) {
        Some("/") => "/",
        Some("/r/{room}") => "/r/{room}",
        Some("/check") => "/check",
        Some("/ws") => "/ws",
        Some("/api/ice-servers") => "/api/ice-servers",
        Some("/whip/{room}") => "/whip/{room}",
        Some("/whip/{room}/{session}") => "/whip/{room}/{session}",
        Some("/whep/{room}") => "/whep/{room}",
        Some("/whep/{room}/participant/{name}") => "/whep/{room}/participant/{name}",
        Some("/recordings/{room}/{recording}/{file}") => "/recordings/{room}/{recording}/{file}",
        Some("/recordings/{room}/{recording}") => "/recordings/{room}/{recording}",
        Some("/replay/{room}/{recording}") => "/replay/{room}/{recording}",
        Some("/whep/{room}/{session}") => "/whep/{room}/{session}",
        Some("/healthz") => "/healthz",
        Some("/readyz") => "/readyz",
        Some("/metrics") => "/metrics",
        Some(_) => "other",
        None => "static",
    };
    let res = next.run(req).await;
    state.metrics.http_request(route, res.status().as_u16());
    res
}

/// The Content-Security-Policy of every HTML page. The web client is plain ES modules and
/// stylesheets from this server, with no inline script or style (a style *attribute* is
/// refused too; scripts may still set styles through the CSSOM), so `'self'` covers it;
/// images may be `data:` (the icon) or `blob:` (received files), media `blob:`.
/// `connect-src 'self'` covers the page's own `wss:` origin (CSP Level 3). No frames, no
/// plugins, no `<base>`: an injected tag could not load or send anything elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; \
     connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// `Strict-Transport-Security` in TLS mode: a year, this host only (other services on
/// subdomains are not ours to force). Browsers ignore it over a certificate they had to
/// click through, so the self-signed default is not locked in.
pub const HSTS: &str = "max-age=31536000";

/// Headers on every response; the CSP on HTML ones, HSTS when serving TLS (`tls`).
async fn security_headers(State(tls): State<bool>, mut res: Response) -> Response {
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let h = res.headers_mut();
    if html {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    if tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(self), microphone=(self), display-capture=(self)"),
    );
    res
}

async fn index(State(state): State<AppState>) -> Response {
    asset(&state, "index.html").await
}

/// The connection check (camera, microphone, STUN and TURN from this network).
async fn check_page(State(state): State<AppState>) -> Response {
    asset(&state, "check.html").await
}

/// The replay page of a recording. The page itself is no secret: it trades its link's
/// signature (in the query) for the recording's tracks at `/recordings/<room>/<id>`, and
/// says in words when that is refused.
async fn replay_page(State(state): State<AppState>) -> Response {
    asset(&state, "replay.html").await
}

async fn room_page(State(state): State<AppState>, Path(room): Path<String>) -> Response {
    if RoomId::parse(&room).is_none() {
        return (
            StatusCode::NOT_FOUND,
            "room names are 1-64 letters or digits (any script), '_' or '-'",
        )
            .into_response();
    }
    asset(&state, "index.html").await
}

async fn static_file(State(state): State<AppState>, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    asset(&state, path).await
}

fn request_host(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(host_from_header)
}

/// The host part of an HTTP `Host` header value, if it is a plausible host name or IP.
pub(crate) fn host_from_header(value: &str) -> Option<String> {
    let host = if let Some(rest) = value.strip_prefix('[') {
        format!("[{}]", rest.split(']').next()?)
    } else {
        value.split(':').next()?.to_owned()
    };
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    ok.then_some(host)
}

/// The public ICE servers (as in `welcome`: STUN, and configured servers without
/// credentials). TURN credentials are never handed out here: anyone may call this, and
/// they go to room members only, over the WebSocket (`iceServers`).
async fn ice_servers(State(state): State<AppState>, headers: HeaderMap) -> impl IntoResponse {
    let servers = state.ice.public_servers(request_host(&headers).as_deref());
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "iceServers": servers })),
    )
}

/// Defence against cross-site WebSocket hijacking: a page from another site must not
/// open a signaling connection from the user's browser. Browsers always send `Origin`;
/// it must be in `--allowed-origin` (compared case-insensitively), or name this server:
/// - the scheme: `https`, or `http` only when confab itself serves plain HTTP
///   (`--insecure-http`; behind a TLS proxy the page is `https`). An `http://` page must
///   not drive the HTTPS server: anyone on the path could have written it;
/// - the host and port: the request's own (`Host`, or the HTTP/2 authority);
/// - under `--insecure-http` only, the host must also be one confab trusts: an IP
///   literal, `localhost`, or a `--public-host` name. Without TLS nothing proves which
///   name the browser resolved, so a DNS-rebinding page (`http://evil.example:8080`,
///   its name pointed at this server) would otherwise match its own `Host`. Behind a
///   proxy, name the public host with `--public-host` (or `--allowed-origin`).
///
/// Clients without `Origin` (tools, tests) are not browsers and pass.
fn origin_allowed(headers: &HeaderMap, uri: &Uri, config: &crate::config::Config) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let allowed = &config.ws.allowed_origins;
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let plain_http = config.http.insecure_http;
    let origin = origin.to_ascii_lowercase();
    let rest = match origin.split_once("://") {
        Some(("https", rest)) => rest,
        Some(("http", rest)) if plain_http => rest,
        _ => return false,
    };
    // HTTP/1.1 names the host in `Host`, HTTP/2 in the URI's authority.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    let Some(host) = host.filter(|h| rest.eq_ignore_ascii_case(h)) else {
        return false;
    };
    !plain_http || trusted_plain_host(host, &config.http.public_host)
}

/// Under plain HTTP, whether the `Host` (with its port) names this server for sure: an
/// IP literal or `localhost` (a rebinding page has a name of its own), or a name the
/// operator gave in `--public-host`.
fn trusted_plain_host(host: &str, public_hosts: &[String]) -> bool {
    let Some(name) = host_from_header(host) else {
        return false;
    };
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || public_hosts.iter().any(|p| p.eq_ignore_ascii_case(&name))
}

async fn ws_upgrade(
    State(state): State<AppState>,
    PeerIp(ip): PeerIp,
    headers: HeaderMap,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &uri, &state.config) {
        return (
            StatusCode::FORBIDDEN,
            "this page's origin may not open confab's signaling socket; see --allowed-origin",
        )
            .into_response();
    }
    let remote = crate::signal::Remote {
        host: request_host(&headers),
        ip,
    };
    let conn = ConnId(state.next_conn.fetch_add(1, Ordering::Relaxed));
    let settings = state.conn_settings.clone();
    let hub = state.hub.clone();
    let shutdown = state.shutdown.clone();
    let tracker = state.tracker.clone();
    ws.max_message_size(crate::signal::HARD_FRAME_LIMIT)
        .read_buffer_size(crate::signal::READ_BUFFER_BYTES)
        .max_frame_size(crate::signal::HARD_FRAME_LIMIT)
        .on_upgrade(move |socket| async move {
            // Tracked so graceful shutdown waits for the close frames to go out.
            tracker
                .spawn(crate::signal::serve(
                    socket, conn, hub, settings, remote, shutdown,
                ))
                .await
                .ok();
        })
}

/// The client's address, when the server was started with connect info (`serve.rs`);
/// `None` for a router driven without a socket (tests).
struct PeerIp(Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PeerIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let info = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(PeerIp(info.map(|ConnectInfo(addr)| addr.ip())))
    }
}

/// Serves one file of the web client, from `--web-dir` or the embedded copy.
async fn asset(state: &AppState, path: &str) -> Response {
    if path
        .split('/')
        .any(|seg| seg == ".." || seg.starts_with('.'))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    let body: Option<Cow<'static, [u8]>> = match &state.config.http.web_dir {
        Some(dir) => tokio::fs::read(dir.join(path)).await.ok().map(Cow::Owned),
        None => Assets::get(path).map(|f| f.data),
    };
    match body {
        Some(bytes) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            (
                [
                    (header::CONTENT_TYPE, mime.as_ref().to_owned()),
                    // The client is small and changes with the binary: always revalidate.
                    (header::CACHE_CONTROL, "no-cache".to_owned()),
                ],
                bytes,
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::metrics::Metrics;
    use confab_signal::IceMinter;
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;
    use tokio_util::task::TaskTracker;

    #[tokio::test]
    async fn readyz_is_503_once_shutdown_starts() {
        let tracker = TaskTracker::new();
        let metrics = Metrics::new(false);
        let ice = IceMinter::new(Vec::new(), None);
        let hub = crate::signal::spawn(
            confab_signal::HubConfig::default(),
            [1; 32],
            &tracker,
            metrics.clone(),
            crate::signal::Services::default(),
        );
        let shutdown = CancellationToken::new();
        let state = AppState::new(
            Arc::new(Config::default()),
            hub,
            crate::auth::Auth::open(),
            ice,
            metrics,
            tracker,
            shutdown.clone(),
        );
        assert_eq!(readyz(State(state.clone())).await.status(), StatusCode::OK);
        shutdown.cancel();
        assert_eq!(
            readyz(State(state)).await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    fn headers(host: &str, origin: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        h
    }

    #[test]
    fn over_tls_the_origin_must_be_https() {
        let mut config = Config::default();
        config.http.insecure_http = false;
        config.ws.allowed_origins = vec!["https://App.Example.org".into()];
        let uri = Uri::from_static("/ws");
        let ok = |host: &str, origin: &str| origin_allowed(&headers(host, origin), &uri, &config);
        assert!(ok("call.test:8443", "https://call.test:8443"));
        assert!(ok("call.test:8443", "https://CALL.test:8443"));
        assert!(!ok("call.test:8443", "http://call.test:8443"), "http page");
        assert!(
            !ok("call.test:8443", "https://call.test:8444"),
            "other port"
        );
        assert!(!ok("call.test:8443", "wss://call.test:8443"));
        assert!(!ok("call.test:8443", "null"));
        assert!(
            ok("call.test:8443", "https://app.example.org"),
            "allow list, any case"
        );
        assert!(!ok("call.test:8443", "http://app.example.org"));
        // Over TLS a name is proven by the certificate: any Host that matches passes.
        assert!(ok("anything.test", "https://anything.test"));
    }

    #[tokio::test]
    async fn hsts_only_over_tls_and_the_csp_only_on_html() {
        let page = || {
            let mut r = Response::new(axum::body::Body::empty());
            let html = HeaderValue::from_static("text/html");
            r.headers_mut().insert(header::CONTENT_TYPE, html);
            r
        };
        let res = security_headers(State(true), page()).await;
        assert_eq!(res.headers()[header::STRICT_TRANSPORT_SECURITY], HSTS);
        assert_eq!(
            res.headers()[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY
        );
        let res = security_headers(State(false), page()).await;
        assert!(res
            .headers()
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_none());
        let text = Response::new(axum::body::Body::empty());
        let res = security_headers(State(true), text).await;
        assert!(res.headers().get(header::CONTENT_SECURITY_POLICY).is_none());
    }

    #[test]
    fn host_header_parsing() {
        assert_eq!(
            host_from_header("call.test:8443").as_deref(),
            Some("call.test")
        );
        assert_eq!(host_from_header("[::1]:8443").as_deref(), Some("[::1]"));
        assert_eq!(host_from_header("10.0.0.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(host_from_header("evil host"), None);
        assert_eq!(host_from_header(""), None);
    }
}
