//! Every JSON fixture in `fixtures/protocol/` round-trips through the Rust types.
//! The browser client's tests read the same files (web/test/protocol.test.js).

use confab_proto::{decode_client, ClientMsg, ErrorCode, ServerMsg};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir(kind: &str) -> Vec<(PathBuf, String)> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/protocol")
        .join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&d)
        .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", d.display());
    files
}

#[test]
fn client_fixtures_decode_and_reencode_identically() {
    let mut seen = std::collections::BTreeSet::new();
    for (path, text) in dir("client") {
        let frame =
            decode_client(text.trim()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seen.insert(frame.msg.type_name());
        let again: Value = serde_json::to_value(&frame).unwrap();
        let orig: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(again, orig, "{}", path.display());
    }
    let all: std::collections::BTreeSet<_> = ClientMsg::TYPES.iter().copied().collect();
    assert_eq!(seen, all, "every client message type needs a fixture");
}

#[test]
fn server_fixtures_round_trip() {
    let mut seen = std::collections::BTreeSet::new();
    for (path, text) in dir("server") {
        let msg: ServerMsg =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let v = serde_json::to_value(&msg).unwrap();
        let tag = v["type"].as_str().unwrap().to_owned();
        assert_eq!(msg.type_name(), tag, "{}", path.display());
        seen.insert(tag);
        let orig: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v, orig, "{}", path.display());
    }
    for t in ServerMsg::TYPES {
        assert!(seen.contains(*t), "no server fixture for {t}");
    }
    for t in &seen {
        assert!(
            ServerMsg::TYPES.contains(&t.as_str()),
            "{t} missing from ServerMsg::TYPES"
        );
    }
}

#[test]
fn invalid_fixtures_get_their_documented_error() {
    for (path, text) in dir("invalid") {
        let case: Value = serde_json::from_str(&text).unwrap();
        let err =
            decode_client(case["input"].as_str().unwrap()).expect_err(&path.display().to_string());
        let code: ErrorCode = serde_json::from_value(case["code"].clone()).unwrap();
        assert_eq!(err.code, code, "{}", path.display());
        let reply = serde_json::to_value(ServerMsg::from(err)).unwrap();
        let want_ref = &case["ref"];
        let got_ref = reply.get("ref").unwrap_or(&Value::Null);
        assert_eq!(got_ref, want_ref, "{}", path.display());
    }
}

#[test]
fn protocol_doc_examples_are_exactly_the_fixtures() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/protocol.md");
    let doc = std::fs::read_to_string(doc_path).unwrap();
    let examples: Vec<Value> = doc
        .split("```json")
        .skip(1)
        .map(|rest| {
            let block = rest.split("```").next().unwrap();
            serde_json::from_str(block.trim())
                .unwrap_or_else(|e| panic!("bad JSON example in protocol.md: {e}\n{block}"))
        })
        .collect();
    let mut fixtures: Vec<(PathBuf, Value)> = dir("client")
        .into_iter()
        .chain(dir("server"))
        .map(|(p, t)| (p, serde_json::from_str(&t).unwrap()))
        .collect();
    for ex in &examples {
        let i = fixtures
            .iter()
            .position(|(_, v)| v == ex)
            .unwrap_or_else(|| panic!("protocol.md example is not a fixture: {ex}"));
        fixtures.remove(i);
    }
    let missing: Vec<_> = fixtures
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "fixtures not shown in protocol.md: {missing:?}"
    );
}

#[test]
fn joined_from_a_server_without_chat_still_parses() {
    let old = r#"{"type":"joined","ref":2,"room":"standup","you":{"id":"a8d2kq0n5v1c","name":"Ada"},"peers":[]}"#;
    match serde_json::from_str::<ServerMsg>(old).unwrap() {
        ServerMsg::Joined { history, .. } => assert!(history.is_empty()),
        other => panic!("{other:?}"),
    }
}
