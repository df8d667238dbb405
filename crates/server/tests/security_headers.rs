//! HTML pages carry a Content-Security-Policy that forbids inline script and style and
//! other origins; the pages have no inline script or style for it to break.

mod common;
use common::TestServer;

#[tokio::test]
async fn html_pages_carry_the_csp_and_have_nothing_inline() {
    let s = TestServer::start().await;
    for path in ["/", "/r/standup", "/example/index.html"] {
        let (status, head, body) = s.get(path).await;
        assert_eq!(status, 200, "{path}: {head}");
        let head = head.to_ascii_lowercase();
        let csp = head
            .lines()
            .find_map(|l| l.strip_prefix("content-security-policy: "))
            .unwrap_or_else(|| panic!("{path}: no CSP in {head}"));
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        assert!(
            !head.contains("strict-transport-security"),
            "no HSTS over HTTP"
        );
        // What the policy would refuse: inline scripts, style attributes or elements.
        assert!(!body.contains(" style="), "{path} has a style attribute");
        assert!(!body.contains("<style"), "{path} has a style element");
        for script in body.split("<script").skip(1) {
            let tag = script.split('>').next().unwrap_or_default();
            assert!(tag.contains("src="), "{path} has an inline script");
        }
        assert!(
            !has_event_handler(&body),
            "{path} has an inline event handler"
        );
    }
    let (_, head, _) = s.get("/metrics").await;
    assert!(!head
        .to_ascii_lowercase()
        .contains("content-security-policy"));
}

/// Whether `html` has an attribute like ` onclick=`.
fn has_event_handler(html: &str) -> bool {
    html.match_indices(" on").any(|(i, _)| {
        let rest = &html[i + 3..];
        let name_len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
        name_len > 0 && rest[name_len..].starts_with('=')
    })
}
