//! The plain-HTTP listener of `--acme-http-listen` (port 80): answers the CA's HTTP-01
//! validation at `/.well-known/acme-challenge/<token>` and redirects everything else
//! to HTTPS on one of the certificate's names (never to a host the request made up).
//!
//! It is open to anyone, so it is kept small: HTTP/1 only, at most [`MAX_CONNECTIONS`]
//! at once (more are closed at accept), each closed [`CONNECTION_LIFETIME`] after
//! accept whatever it is doing (a validation or a redirect is one short request).

use super::acme::Http01Tokens;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Connections the listener holds at once.
pub const MAX_CONNECTIONS: usize = 256;
/// How long one connection may stay open.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(10);

struct Http01State {
    tokens: Http01Tokens,
    /// The certificate's names: the only hosts a redirect goes to.
    domains: Vec<String>,
    /// The HTTPS port (left out of redirects when 443).
    https_port: u16,
}

/// Serves `listener` until `shutdown`.
pub async fn serve(
    listener: std::net::TcpListener,
    tokens: Http01Tokens,
    domains: Vec<String>,
    https_port: u16,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let state = Arc::new(Http01State {
        tokens,
        domains,
        https_port,
    });
    let app = Router::new()
        .route("/.well-known/acme-challenge/{token}", get(challenge))
        .fallback(redirect)
        .with_state(state);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // A full descriptor table or an aborted connection: not fatal.
                Err(e) => {
                    tracing::debug!("HTTP-01 listener accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue; // over the cap: dropped, so closed
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::timeout(CONNECTION_LIFETIME, conn) => {}
            }
            drop(slot);
        });
    }
}

async fn challenge(State(s): State<Arc<Http01State>>, Path(token): Path<String>) -> Response {
    match s.tokens.get(&token) {
        Some(answer) => ([(header::CONTENT_TYPE, "text/plain")], answer).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn redirect(State(s): State<Arc<Http01State>>, headers: HeaderMap, uri: Uri) -> Response {
    let asked = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| {
            h.rsplit_once(':')
                .map_or(h, |(name, _)| name)
                .to_ascii_lowercase()
        });
    let host = match asked {
        Some(h) if s.domains.contains(&h) => h,
        _ => s
            .domains
            .first()
            .cloned()
            .unwrap_or_else(|| "localhost".into()),
    };
    let port = match s.https_port {
        443 => String::new(),
        p => format!(":{p}"),
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    Redirect::permanent(&format!("https://{host}{port}{path}")).into_response()
}
