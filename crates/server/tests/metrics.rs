//! Observability: `/metrics` (checked with a small Prometheus text-format parser),
//! `/readyz`, and JSON logs of the real binary that never show a secret.

mod common;
use common::{TestServer, TURN_SECRET, WAIT};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One scrape: `(name, sorted labels)` → value.
type Samples = HashMap<(String, BTreeMap<String, String>), f64>;

/// Parses the Prometheus text exposition format (0.0.4) strictly enough to catch what a
/// scraper rejects: every non-comment line is `name{labels} value`, names and label
/// names are valid, label values are quoted with only `\\`, `\"`, `\n` escapes, values
/// are numbers, each family has at most one HELP and one TYPE line, TYPE comes before
/// the family's samples and names a known type, samples of a family are contiguous and
/// no sample repeats.
fn parse_prometheus(text: &str) -> Samples {
    fn valid_name(n: &str) -> bool {
        let mut cs = n.chars();
        matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }
    fn family_of<'a>(name: &'a str, types: &HashMap<String, String>) -> &'a str {
        if types.contains_key(name) {
            return name;
        }
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix) {
                if types.contains_key(base) {
                    return base;
                }
            }
        }
        name
    }
    let mut samples = Samples::new();
    let mut helps: HashMap<String, String> = HashMap::new();
    let mut types: HashMap<String, String> = HashMap::new();
    let mut finished_families: Vec<String> = Vec::new();
    let mut current_family: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let ln = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let kind = parts.next().unwrap();
            let name = parts.next().unwrap_or("").to_string();
            let tail = parts.next().unwrap_or("").to_string();
            match kind {
                "HELP" => {
                    assert!(valid_name(&name), "line {ln}: bad name in {line:?}");
                    assert!(
                        helps.insert(name.clone(), tail).is_none(),
                        "line {ln}: second HELP for {name}"
                    );
                }
                "TYPE" => {
                    assert!(valid_name(&name), "line {ln}: bad name in {line:?}");
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"]
                            .contains(&tail.as_str()),
                        "line {ln}: unknown type in {line:?}"
                    );
                    assert!(
                        !samples.keys().any(|(n, _)| family_of(n, &types) == name),
                        "line {ln}: TYPE for {name} after its samples"
                    );
                    assert!(
                        types.insert(name.clone(), tail).is_none(),
                        "line {ln}: second TYPE for {name}"
                    );
                }
                _ => {} // other comments are allowed
            }
            continue;
        }
        assert!(!line.starts_with('#'), "line {ln}: bad comment {line:?}");
        // name, optional {labels}, value (and an optional timestamp).
        let name_end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("line {ln}: no value in {line:?}"));
        let name = &line[..name_end];
        assert!(valid_name(name), "line {ln}: bad metric name {name:?}");
        let mut rest = &line[name_end..];
        let mut labels = BTreeMap::new();
        if let Some(after) = rest.strip_prefix('{') {
            let mut chars = after.char_indices().peekable();
            let close;
            loop {
                // label name
                let start = chars.peek().map(|(i, _)| *i).unwrap();
                if after[start..].starts_with('}') {
                    close = start;
                    break;
                }
                let eq = after[start..]
                    .find('=')
                    .unwrap_or_else(|| panic!("line {ln}: label without '='"))
                    + start;
                let lname = &after[start..eq];
                assert!(
                    valid_name(lname) && !lname.contains(':'),
                    "line {ln}: bad label name {lname:?}"
                );
                while chars.peek().is_some_and(|(i, _)| *i <= eq) {
                    chars.next();
                }
                assert_eq!(
                    chars.next().map(|(_, c)| c),
                    Some('"'),
                    "line {ln}: unquoted label value"
                );
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, '\\')) => value.push('\\'),
                            Some((_, '"')) => value.push('"'),
                            other => panic!("line {ln}: bad escape {other:?}"),
                        },
                        Some((_, '"')) => break,
                        Some((_, c)) => value.push(c),
                        None => panic!("line {ln}: unterminated label value"),
                    }
                }
                assert!(
                    labels.insert(lname.to_string(), value).is_none(),
                    "line {ln}: repeated label {lname}"
                );
                match chars.next() {
                    Some((_, ',')) => {
                        if chars.peek().is_some_and(|(_, c)| *c == '}') {
                            close = chars.next().unwrap().0;
                            break;
                        }
                    }
                    Some((i, '}')) => {
                        close = i;
                        break;
                    }
                    other => panic!("line {ln}: expected ',' or '}}', got {other:?}"),
                }
            }
            rest = &after[close + 1..];
        }
        let mut fields = rest.split_whitespace();
        let value = fields
            .next()
            .unwrap_or_else(|| panic!("line {ln}: no value"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("line {ln}: bad value {v:?}")),
        };
        if let Some(ts) = fields.next() {
            ts.parse::<i64>()
                .unwrap_or_else(|_| panic!("line {ln}: bad timestamp {ts:?}"));
        }
        assert!(fields.next().is_none(), "line {ln}: trailing garbage");
        let family = family_of(name, &types).to_string();
        assert!(
            types.contains_key(&family),
            "line {ln}: sample of {family} without a TYPE line"
        );
        if current_family.as_deref() != Some(family.as_str()) {
            assert!(
                !finished_families.contains(&family),
                "line {ln}: samples of {family} are not contiguous"
            );
            if let Some(prev) = current_family.replace(family.clone()) {
                finished_families.push(prev);
            }
        }
        assert!(
            samples
                .insert((name.to_string(), labels.clone()), value)
                .is_none(),
            "line {ln}: duplicate sample {name}{labels:?}"
        );
    }
    for name in helps.keys() {
        assert!(types.contains_key(name), "HELP without TYPE for {name}");
    }
    samples
}

fn value(s: &Samples, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    s.get(&(name.to_string(), labels)).copied()
}

async fn scrape(s: &TestServer) -> (String, Samples) {
    let (status, head, body) = s.get("/metrics").await;
    assert_eq!(status, 200, "{head}");
    assert!(
        head.to_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    let samples = parse_prometheus(&body);
    (body, samples)
}

#[test]
fn the_parser_rejects_what_scrapers_reject() {
    let ok = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\",y=\"q\\\"\"} 3\n";
    assert_eq!(
        value(
            &parse_prometheus(ok),
            "a_total",
            &[("x", "1"), ("y", "q\"")]
        ),
        Some(3.0)
    );
    for bad in [
        "a 1\n",                                                   // no TYPE
        "# TYPE a gauge\na{x=1} 1\n",                              // unquoted
        "# TYPE a gauge\na 1 2 3\n",                               // trailing garbage
        "# TYPE a gauge\na one\n",                                 // not a number
        "# TYPE a gauge\n# TYPE a gauge\na 1\n",                   // two TYPEs
        "# TYPE a gauge\na 1\na 2\n",                              // duplicate sample
        "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"\"} 1\n", // not contiguous
        "# TYPE 1a gauge\n",                                       // bad name
    ] {
        let r = std::panic::catch_unwind(|| parse_prometheus(bad));
        assert!(r.is_err(), "accepted {bad:?}");
    }
}

#[tokio::test]
async fn metrics_count_connections_rooms_messages_and_errors() {
    let s = TestServer::start().await;
    let (_, before) = scrape(&s).await;
    assert_eq!(value(&before, "confab_connections", &[]), Some(0.0));
    assert_eq!(
        value(&before, "confab_messages_in_total", &[("type", "join")]),
        Some(0.0),
        "series exist before their first use"
    );
    assert!(
        !before.keys().any(|(n, _)| n.starts_with("confab_turn")),
        "no TURN series without TURN"
    );

    let (mut a, _a_id) = s.joined("metrics-room", "Ann").await;
    let (mut b, b_id) = s.joined("metrics-room", "Bob").await;
    assert_eq!(a.recv().await["type"], "peerJoined");
    a.send(json!({"type":"offer","to":b_id,"sdp":"v=0\r\n"}))
        .await;
    assert_eq!(b.recv().await["type"], "offer");
    a.send_text("this is not json").await;
    let e = a.recv().await;
    assert_eq!(e["code"], "bad_json", "{e}");
    a.send(json!({"type":"join","room":"other","name":"Ann"}))
        .await;
    assert_eq!(a.recv().await["code"], "already_joined");

    let (body, m) = scrape(&s).await;
    let v = |name: &str, labels: &[(&str, &str)]| value(&m, name, labels);
    assert_eq!(v("confab_connections", &[]), Some(2.0), "{body}");
    assert_eq!(v("confab_rooms", &[]), Some(1.0), "{body}");
    assert_eq!(v("confab_peers", &[]), Some(2.0), "{body}");
    let inn = |t: &str| v("confab_messages_in_total", &[("type", t)]);
    let out = |t: &str| v("confab_messages_out_total", &[("type", t)]);
    assert_eq!(inn("hello"), Some(2.0), "{body}");
    assert_eq!(inn("join"), Some(3.0), "{body}");
    assert_eq!(inn("offer"), Some(1.0), "{body}");
    assert_eq!(inn("invalid"), Some(1.0), "{body}");
    assert_eq!(out("welcome"), Some(2.0), "{body}");
    assert_eq!(out("joined"), Some(2.0), "{body}");
    assert_eq!(out("peerJoined"), Some(1.0), "{body}");
    assert_eq!(out("offer"), Some(1.0), "{body}");
    assert_eq!(out("error"), Some(2.0), "{body}");
    assert_eq!(
        v("confab_errors_total", &[("code", "bad_json")]),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        v("confab_errors_total", &[("code", "already_joined")]),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        v(
            "confab_http_requests_total",
            &[("route", "/metrics"), ("status", "200")]
        ),
        Some(1.0),
        "the first scrape is counted: {body}"
    );
    assert_eq!(
        v(
            "confab_http_requests_total",
            &[("route", "/ws"), ("status", "101")]
        ),
        Some(2.0),
        "{body}"
    );

    // A leave and a disconnect bring the gauges down.
    let r = b.request(json!({"type":"leave"})).await;
    assert_eq!(r["type"], "left");
    drop(a);
    let deadline = Instant::now() + WAIT;
    loop {
        let (body, m) = scrape(&s).await;
        let g = |n: &str| value(&m, n, &[]);
        if g("confab_connections") == Some(1.0)
            && g("confab_rooms") == Some(0.0)
            && g("confab_peers") == Some(0.0)
        {
            break;
        }
        assert!(Instant::now() < deadline, "gauges did not drop: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.assert_alive().await;
}

#[tokio::test]
async fn two_servers_in_one_process_count_separately() {
    let s1 = TestServer::start().await;
    let s2 = TestServer::start().await;
    let _c = s1.joined("only-on-one", "Ann").await;
    let (_, m1) = scrape(&s1).await;
    let (_, m2) = scrape(&s2).await;
    assert_eq!(value(&m1, "confab_connections", &[]), Some(1.0));
    assert_eq!(value(&m2, "confab_connections", &[]), Some(0.0));
    assert_eq!(
        value(&m2, "confab_messages_in_total", &[("type", "hello")]),
        Some(0.0)
    );
}

#[tokio::test]
async fn turn_series_exist_with_turn_and_the_secret_never_shows() {
    let s = TestServer::start_turn(|t| t.users = vec!["bob:hunter2-static".parse().unwrap()]).await;
    let _c = s.client().await;
    let (body, m) = scrape(&s).await;
    assert_eq!(
        value(&m, "confab_turn_allocations", &[]),
        Some(0.0),
        "{body}"
    );
    for dir in ["to_peer", "to_client"] {
        assert_eq!(
            value(&m, "confab_turn_relayed_bytes_total", &[("direction", dir)]),
            Some(0.0),
            "{body}"
        );
    }
    assert!(!body.contains(TURN_SECRET), "{body}");
    assert!(!body.contains("hunter2-static"), "{body}");
}

#[tokio::test]
async fn readyz_is_ok_while_the_hub_answers_and_healthz_is_alive() {
    let s = TestServer::start().await;
    let (status, _, body) = s.get("/readyz").await;
    assert_eq!((status, body.as_str()), (200, "ready"));
    let (status, _, body) = s.get("/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
}

/// A scratch directory removed on drop.
struct TempDir(std::path::PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "confab-{tag}-{}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `confab serve --log-format json --log debug` with a TURN secret and a static
/// user, talks to it, stops it with SIGTERM, and checks every stderr line is a JSON
/// object and that neither secret appears in any output.
#[tokio::test]
async fn json_logs_are_json_lines_without_secrets() {
    const SECRET: &str = "flag-secret-DO-NOT-LOG-0123456789";
    const PASSWORD: &str = "static-pass-DO-NOT-LOG";
    let data = TempDir::new("jsonlogs");
    let mut child = Command::new(env!("CARGO_BIN_EXE_confab"))
        .args([
            "serve",
            "--insecure-http",
            "--listen",
            "127.0.0.1:0",
            "--turn-listen",
            "127.0.0.1:0",
            "--turn-relay-ports",
            "41000-41099",
            "--sfu-listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--log",
            "debug",
        ])
        .arg("--data-dir")
        .arg(&data.0)
        .env("CONFAB_TURN_SECRET", SECRET)
        .env("CONFAB_TURN_USER", format!("alice:{PASSWORD}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run confab");
    let mut stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    // Read stderr on a thread; hand over lines as they come.
    let (line_tx, line_rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let addr: std::net::SocketAddr = loop {
        let line = line_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("confab logged `serving`");
        lines.push(line.clone());
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        if v["message"] == "serving" {
            break v["listen"].as_str().unwrap().parse().unwrap();
        }
    };
    // Some traffic: a WebSocket session (a member: TURN credentials minted) and the ICE
    // server API (STUN only).
    let s = TestServer {
        addr,
        turn_addr: None,
        shutdown: Default::default(),
        task: None,
        data_dir: None,
    };
    let (mut c, _) = s.joined("logs", "Ann").await;
    c.send_text("{bad").await;
    assert_eq!(c.recv().await["code"], "bad_json");
    let (status, _, body) = s.get("/api/ice-servers").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("stun:") && !body.contains("credential"),
        "{body}"
    );
    let (_, _, metrics_body) = s.get("/metrics").await;
    drop(c);

    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -TERM");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "confab did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    reader.join().unwrap();
    lines.extend(line_rx.try_iter());
    let mut out = String::new();
    stdout.read_to_string(&mut out).unwrap();

    let mut messages = Vec::new();
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        for key in ["timestamp", "level", "target"] {
            assert!(v.get(key).is_some(), "no {key} in {line}");
        }
        messages.push(v["message"].as_str().unwrap_or_default().to_string());
    }
    for expected in ["serving", "shutting down: closing connections", "stopped"] {
        assert!(
            messages.iter().any(|m| m == expected),
            "no {expected:?} in {messages:?}"
        );
    }
    assert!(
        out.contains("listening on"),
        "the banner stays on stdout: {out}"
    );
    for text in [&out, &lines.join("\n"), &metrics_body] {
        assert!(!text.contains(SECRET), "the TURN secret leaked: {text}");
        assert!(!text.contains(PASSWORD), "a TURN password leaked: {text}");
    }
}

#[tokio::test]
async fn calls_started_and_client_reported_setup_times_are_counted() {
    let s = TestServer::start().await;
    let (mut a, _) = s.joined("r", "Ada").await;
    let (mut b, b_id) = s.joined("r", "Bob").await;
    let (_, m) = scrape(&s).await;
    assert_eq!(value(&m, "confab_calls_started_total", &[]), Some(0.0));

    a.send(json!({"type":"invite","to":b_id})).await;
    while b.recv().await["type"] != "invited" {}
    // The counter follows the hub (the hub handles frames in order: after a ping is
    // answered, the invite has been counted).
    let (mut probe, _) = s.client().await;
    probe.assert_alive().await;
    let (_, m) = scrape(&s).await;
    assert_eq!(value(&m, "confab_calls_started_total", &[]), Some(1.0));

    // Two clients report their connections; one report is out of range.
    a.send(json!({"type":"callStats","peer":b_id,"setupMs":412,"pair":"relay"}))
        .await;
    a.send(json!({"type":"callStats","peer":b_id,"setupMs":2600,"pair":"host"}))
        .await;
    a.send(json!({"type":"callStats","id":9,"peer":b_id,"setupMs":900000,"pair":"host"}))
        .await;
    let r = loop {
        let m = a.recv().await;
        if m["ref"] == 9 {
            break m;
        }
    };
    assert_eq!(r["code"], "bad_field", "{r}");
    let (text, m) = scrape(&s).await;
    assert_eq!(
        value(&m, "confab_calls_connected_total", &[("pair", "relay")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&m, "confab_calls_connected_total", &[("pair", "host")]),
        Some(1.0)
    );
    assert_eq!(
        value(&m, "confab_calls_connected_total", &[("pair", "srflx")]),
        Some(0.0)
    );
    assert_eq!(value(&m, "confab_call_setup_seconds_count", &[]), Some(2.0));
    let sum = value(&m, "confab_call_setup_seconds_sum", &[]).unwrap();
    assert!((sum - 3.012).abs() < 1e-9, "{sum}");
    assert_eq!(
        value(&m, "confab_call_setup_seconds_bucket", &[("le", "0.5")]),
        Some(1.0)
    );
    assert_eq!(
        value(&m, "confab_call_setup_seconds_bucket", &[("le", "3")]),
        Some(2.0)
    );
    assert!(
        text.contains("# TYPE confab_call_setup_seconds histogram"),
        "{text}"
    );

    // Outside a room it is an error, and not counted.
    let (mut c, _) = s.client().await;
    let r = c
        .request(json!({"type":"callStats","id":1,"peer":b_id,"setupMs":5,"pair":"host"}))
        .await;
    assert_eq!(r["code"], "not_joined", "{r}");
}
