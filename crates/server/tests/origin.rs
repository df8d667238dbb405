//! The WebSocket Origin check (cross-site WebSocket hijacking defence): same origin and
//! allow-listed origins connect; other sites' pages are refused with 403; clients that
//! send no Origin (not browsers) connect.

mod common;
use common::TestServer;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Error;

/// Tries the WebSocket handshake with `origin`; `Ok(())` if it upgraded, else the status.
async fn connect(s: &TestServer, origin: Option<&str>) -> Result<(), u16> {
    let mut req = s.ws_url().into_client_request().unwrap();
    if let Some(o) = origin {
        req.headers_mut()
            .insert("origin", HeaderValue::from_str(o).unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => Ok(()),
        Err(Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("unexpected handshake error: {e}"),
    }
}

#[tokio::test]
async fn only_same_origin_allow_listed_or_origin_less_clients_connect() {
    let s = TestServer::start_with(|c| {
        c.ws.allowed_origins = vec!["https://app.example.org".into()];
    })
    .await;
    let same = format!("http://{}", s.addr);
    assert_eq!(connect(&s, Some(&same)).await, Ok(()), "same origin");
    assert_eq!(
        connect(&s, Some("https://app.example.org")).await,
        Ok(()),
        "allow-listed origin"
    );
    assert_eq!(connect(&s, None).await, Ok(()), "no Origin: not a browser");
    assert_eq!(
        connect(&s, Some("https://evil.example")).await,
        Err(403),
        "another site's page"
    );
    // Same host name but another port is another origin.
    let other_port = format!("http://127.0.0.1:{}", s.addr.port() + 1);
    assert_eq!(connect(&s, Some(&other_port)).await, Err(403));
    assert_eq!(connect(&s, Some("null")).await, Err(403), "sandboxed page");
}

/// Tries the handshake with `origin` and a `Host` header of `host` (as a browser would
/// send after a DNS rebinding: its own name, pointed at this server).
async fn connect_as(s: &TestServer, host: &str, origin: &str) -> Result<(), u16> {
    let mut req = s.ws_url().into_client_request().unwrap();
    req.headers_mut()
        .insert("host", HeaderValue::from_str(host).unwrap());
    req.headers_mut()
        .insert("origin", HeaderValue::from_str(origin).unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => Ok(()),
        Err(Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("unexpected handshake error: {e}"),
    }
}

#[tokio::test]
async fn under_plain_http_only_ip_localhost_or_public_host_names_are_same_origin() {
    let s = TestServer::start_with(|c| {
        c.http.public_host = vec!["calls.example.org".into()];
        c.ws.allowed_origins = vec!["https://App.Example.org".into()];
    })
    .await;
    let port = s.addr.port();
    let rebound = format!("evil.example:{port}");
    assert_eq!(
        connect_as(&s, &rebound, &format!("http://{rebound}")).await,
        Err(403),
        "a rebinding page's own name is not trusted without TLS"
    );
    for name in [
        "localhost",
        "127.0.0.1",
        "calls.example.org",
        "CALLS.example.org",
    ] {
        let host = format!("{name}:{port}");
        for scheme in ["http", "https"] {
            let origin = format!("{scheme}://{host}");
            assert_eq!(connect_as(&s, &host, &origin).await, Ok(()), "{origin}");
        }
    }
    assert_eq!(
        connect(&s, Some("https://app.example.org")).await,
        Ok(()),
        "--allowed-origin matches whatever its case"
    );
}
