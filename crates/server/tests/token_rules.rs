//! Issue 12 item 19 over a real WebSocket: a join token is refused when its `nbf` is in
//! the future, its header has `crit`, it is valid for longer than `--token-max-lifetime`
//! (`exp` of u64::MAX included), or its `aud` / `iss` are not the configured ones; a
//! token that meets every rule admits.

mod common;
use common::{Client, TestServer};
use confab_server::auth::token::{mint, Audience, Claims, Role};
use serde_json::{json, Value};
use std::time::Duration;

const KEY: &str = "join-token-key-0123456789abcdef-0123";
const AUD: &str = "confab.example.org";
const ISS: &str = "https://app.example.org";

fn now() -> u64 {
    confab_server::unix_now()
}

/// Claims that pass every rule of the server below.
fn good() -> Claims {
    Claims {
        room: "standup".into(),
        name: "Grace".into(),
        role: Role::Guest,
        exp: now() + 600,
        iat: Some(now()),
        aud: Some(Audience::One(AUD.into())),
        iss: Some(ISS.into()),
        ..Claims::default()
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `claims` under a hand-written `header`, signed HS256 with [`KEY`].
fn signed_with_header(header: &str, claims: &Claims) -> String {
    use aws_lc_rs::hmac;
    let input = format!(
        "{}.{}",
        b64(header.as_bytes()),
        b64(serde_json::to_string(claims).unwrap().as_bytes())
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, KEY.as_bytes());
    let tag = hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

async fn join(c: &mut Client, token: &str) -> Value {
    c.request(json!({"type":"join","id":7,"room":"standup","name":"x","token":token}))
        .await
}

#[tokio::test]
async fn tokens_that_break_a_rule_are_refused_and_a_good_one_admits() {
    let s = TestServer::start_with(|c| {
        c.auth.token_key = Some(KEY.into());
        c.auth.token_audience = Some(AUD.into());
        c.auth.token_issuer = Some(ISS.into());
        c.auth.token_max_lifetime = Duration::from_secs(86_400).into();
    })
    .await;
    let cases = [
        (
            mint(
                KEY,
                &Claims {
                    nbf: Some(now() + 3600),
                    exp: now() + 7200,
                    ..good()
                },
            ),
            "not valid yet",
        ),
        (
            signed_with_header(r#"{"alg":"HS256","typ":"JWT","crit":["exp"]}"#, &good()),
            "crit",
        ),
        (
            mint(
                KEY,
                &Claims {
                    exp: u64::MAX,
                    ..good()
                },
            ),
            "too long",
        ),
        (
            mint(
                KEY,
                &Claims {
                    exp: now() + 2 * 86_400,
                    ..good()
                },
            ),
            "too long",
        ),
        (
            mint(
                KEY,
                &Claims {
                    aud: Some(Audience::One("another.example.org".into())),
                    ..good()
                },
            ),
            "aud",
        ),
        (
            mint(
                KEY,
                &Claims {
                    aud: None,
                    ..good()
                },
            ),
            "aud",
        ),
        (
            mint(
                KEY,
                &Claims {
                    iss: Some("https://evil.example".into()),
                    ..good()
                },
            ),
            "iss",
        ),
        (
            mint(
                KEY,
                &Claims {
                    iss: None,
                    ..good()
                },
            ),
            "iss",
        ),
    ];
    let mut c = s.client().await.0;
    for (i, (token, why)) in cases.iter().enumerate() {
        // A fresh connection every few tries: five refused joins close one.
        if i % 4 == 0 {
            c = s.client().await.0;
        }
        let r = join(&mut c, token).await;
        assert_eq!(r["code"], "bad_token", "{why}: {r}");
        assert!(r["message"].as_str().unwrap().contains(why), "{why}: {r}");
    }
    // The sound hand-made token proves the crit refusal was about crit.
    let mut c = s.client().await.0;
    let plain = signed_with_header(r#"{"alg":"HS256","typ":"JWT"}"#, &good());
    let r = join(&mut c, &plain).await;
    assert_eq!(r["type"], "joined", "{r}");
    assert_eq!(r["you"]["name"], "Grace");
}

/// `confab token` mints what the server checks (its audience and issuer, a subject) and
/// refuses a lifetime the server would refuse.
#[test]
fn confab_token_follows_the_server_rules() {
    use confab_server::auth::token::{TokenRules, Verifier};
    use std::process::Command;
    let run = |ttl: &str| {
        Command::new(env!("CARGO_BIN_EXE_confab"))
            .args([
                "token", "--room", "standup", "--name", "Ada", "--role", "host",
            ])
            .args(["--subject", "user-7", "--ttl", ttl, "--token-key", KEY])
            .args(["--token-audience", AUD, "--token-issuer", ISS])
            .args(["--token-max-lifetime", "86400"])
            .output()
            .unwrap()
    };
    let long = run("2d");
    assert!(!long.status.success());
    let err = String::from_utf8_lossy(&long.stderr);
    assert!(err.contains("--token-max-lifetime 86400"), "{err}");

    let ok = run("1h");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let token = String::from_utf8(ok.stdout).unwrap();
    let rules = TokenRules {
        audience: Some(AUD.into()),
        issuer: Some(ISS.into()),
        max_lifetime: Duration::from_secs(86_400),
    };
    let v = Verifier::new(Some(KEY), None, rules).unwrap();
    let claims = v.verify(token.trim(), now()).unwrap();
    assert_eq!(claims.sub.as_deref(), Some("user-7"));
    assert_eq!(claims.role, Role::Host);
}
