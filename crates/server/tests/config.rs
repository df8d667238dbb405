//! The configuration reference cannot drift from the code, and `confab check-config`
//! resolves like `serve`, redacts secrets and fails cleanly.

use clap::{Args, Command as ClapCommand};
use confab_server::config::{file_keys, Config};
use std::collections::BTreeSet;
use std::process::{Command, Output};
use std::time::Duration;

const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");

fn doc() -> String {
    std::fs::read_to_string(DOC_PATH).expect("docs/configuration.md exists")
}

/// `text` contains `` `needle `` followed by a backtick or a space (so `--log` is not
/// found inside `--log-format`).
fn mentions(text: &str, needle: &str) -> bool {
    let pat = format!("`{needle}");
    text.match_indices(&pat).any(|(i, _)| {
        matches!(
            text[i + pat.len()..].chars().next(),
            Some('`') | Some(' ') | Some('\\')
        )
    })
}

/// The `confab serve` flags as clap defines them.
fn serve_command() -> ClapCommand {
    <Config as Args>::augment_args(ClapCommand::new("serve"))
}

/// The first column of the reference table: the documented flags.
fn documented_flags(doc: &str) -> BTreeSet<String> {
    doc.lines()
        .filter_map(|l| l.strip_prefix("| `--"))
        .map(|rest| {
            rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn every_flag_and_env_var_is_documented_and_every_documented_flag_exists() {
    let doc = doc();
    let cmd = serve_command();
    let mut longs = BTreeSet::new();
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else {
            continue;
        };
        if long == "help" || long == "version" {
            continue;
        }
        longs.insert(long.to_string());
        assert!(
            mentions(&doc, &format!("--{long}")),
            "--{long} is not in docs/configuration.md"
        );
        let env = arg
            .get_env()
            .unwrap_or_else(|| panic!("--{long} has no environment variable"))
            .to_str()
            .unwrap();
        assert!(
            mentions(&doc, env),
            "{env} (of --{long}) is not in docs/configuration.md"
        );
        assert!(
            arg.get_help().is_some(),
            "--{long} has no help text for `confab serve --help`"
        );
    }
    assert!(longs.len() >= 25, "clap introspection found {longs:?}");
    let documented = documented_flags(&doc);
    let stale: Vec<_> = documented.difference(&longs).collect();
    assert!(
        stale.is_empty(),
        "documented flags that do not exist: {stale:?}"
    );
}

/// The file keys, `turn.listen` for `[turn] listen`.
fn keys() -> Vec<String> {
    file_keys(&serve_command())
}

#[test]
fn every_file_key_is_documented_and_every_documented_key_exists() {
    let doc = doc();
    let all: BTreeSet<String> = keys().into_iter().collect();
    for key in [
        "listen",
        "turn.secret",
        "auth.token_key",
        "ice_servers",
        "turn.enabled",
    ] {
        assert!(all.contains(key), "{key} missing from {all:?}");
    }
    for key in &all {
        assert!(
            mentions(&doc, key),
            "file key `{key}` is not in docs/configuration.md"
        );
    }
    // The other way: every key in the table's file-key column exists.
    for line in doc.lines().filter(|l| l.starts_with("| `--")) {
        let col = line.split(" | ").nth(2).unwrap_or("");
        if let Some(key) = col.split('`').nth(1) {
            let key = key.split(' ').next().unwrap();
            assert!(all.contains(key), "documented key `{key}` does not exist");
        }
    }
}

/// Each flag's default, as the reference's "default" column shows it, is the one clap
/// declares; settings without a declared default say so in words there.
#[test]
fn documented_defaults_are_the_declared_ones() {
    let doc = doc();
    let cmd = serve_command();
    let mut checked = 0;
    for line in doc.lines().filter(|l| l.starts_with("| `--")) {
        let cols: Vec<&str> = line.split(" | ").collect();
        let long = documented_flags(line).into_iter().next().unwrap();
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()))
            .unwrap_or_else(|| panic!("--{long} exists"));
        let declared: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let shown = cols[3].trim();
        let is_flag = matches!(arg.get_action(), clap::ArgAction::SetTrue);
        match declared.as_slice() {
            [_] if is_flag => assert!(
                ["off", "on"].contains(&shown),
                "--{long}: a switch's default is off (or, for --no-turn, on): {shown}"
            ),
            [v] => {
                assert_eq!(shown, format!("`{v}`"), "--{long}'s documented default");
                checked += 1;
            }
            [] => assert!(
                !shown.starts_with('`'),
                "--{long} has no declared default, the reference shows {shown}"
            ),
            many => panic!("--{long} declares several defaults: {many:?}"),
        }
    }
    assert!(checked >= 20, "only {checked} defaults compared");
}

#[test]
fn a_file_with_every_documented_key_is_accepted() {
    // Built from the key list the reference documents, with a valid value for each.
    let web_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web");
    let text = &format!(
        r#"
listen = "127.0.0.1:8443"
data_dir = "/tmp/confab-doc-test"
tls_cert = "cert.pem"
tls_key = "key.pem"
insecure_http = true
acme_domains = ["calls.example.org"]
acme_email = "ops@example.org"
acme_directory = "https://acme-staging-v02.api.letsencrypt.org/directory"
acme_ca_file = "/etc/confab/acme-ca.pem"
acme_http_listen = "0.0.0.0:80"
public_host = ["a.test"]
web_dir = "{web_dir}"
ice_servers = [{{ urls = ["turn:t.test"], username = "u", credential = "c" }}]
idle_timeout = 30
handshake_timeout = 5
http_idle_timeout = 30
max_http_connections = 300
max_http_connections_per_ip = 20
msg_rate = 40
msg_burst = 80
max_queue_bytes = 500000
max_peers_per_room = 4
max_rooms = 5
max_call_size = 3
ring_timeout = 12
resume_grace = 45
max_connections = 6
max_detached = 100
max_detached_per_ip = 4
chat_retention_days = 7
redis_url = "rediss://:hunter2-redis@127.0.0.1:6379/0"
redis_ca = "/etc/confab/redis-ca.pem"
node_id = "node-1"
node_address = "203.0.113.8"
chat_history = 50
chat_burst = 7
chat_refill_ms = 250
chat_history_bytes = 100000
chat_ip_burst = 20
chat_ip_refill_ms = 300
chat_room_burst = 40
chat_room_refill_ms = 150
relay_burst_bytes = 200000
relay_rate_bytes = 30000
log = "debug"
log_format = "json"
allowed_origins = ["https://app.example.org"]

[turn]
enabled = true
listen = "127.0.0.1:3478"
tls_listen = "off"
relay_ports = "50000-50010"
relay_ip = "127.0.0.1"
external_ip = "203.0.113.7"
secret = "0123456789abcdef0123"
credential_ttl = 600
allow_peer = ["10.0.0.0/8"]
deny_peer = ["192.0.2.0/24"]
users = ["bob:pw"]
realm = "test"
user_quota = 3
ip_quota = 5
max_allocations = 9
max_stream_connections = 99
max_stream_connections_per_ip = 9

[sfu]
media = "sfu"
mesh_max = 3
listen = "127.0.0.1:7999"
shards = 2
ips = ["198.51.100.4"]
recording_retention_days = 7
recording_quota_mb = 2048

[auth]
token_key = "0123456789abcdef0123456789abcdef"
token_public_key = "/etc/confab/token.pub.pem"
token_max_lifetime = 3600
token_audience = "confab.example.org"
token_issuer = "https://app.example.org"
require_token = true
room_passwords = ["board=$argon2id$v=19$m=19456,t=2,p=1$TKNTEOORckKw2T76gMqmJw$nEJZNPqXxKDAPgiTr3SyTqzfhjSYQ2K1bcggEEHzj5I"]
"#
    );
    // And each key of the doc's table appears in this sample, so it stays complete.
    let doc = doc();
    for line in doc.lines().filter(|l| l.starts_with("| `--")) {
        let col = line.split(" | ").nth(2).unwrap_or("");
        if let Some(key) = col.split('`').nth(1) {
            let key = key.split(' ').next().unwrap();
            let bare = key
                .strip_prefix("turn.")
                .or_else(|| key.strip_prefix("auth."))
                .or_else(|| key.strip_prefix("sfu."))
                .unwrap_or(key);
            assert!(
                text.lines().any(|l| l.starts_with(&format!("{bare} ="))),
                "the sample lacks `{key}`"
            );
        }
    }
    let dir = std::env::temp_dir().join(format!("confab-allkeys-{}.toml", std::process::id()));
    std::fs::write(&dir, text).unwrap();
    let c = Config::from_args(["confab-serve", "--config", dir.to_str().unwrap()]);
    std::fs::remove_file(&dir).unwrap();
    let c = c.expect("resolves");
    assert_eq!(c.hub.max_rooms, 5);
    assert_eq!((c.ws.msg_rate, c.ws.msg_burst), (40, 80));
    assert_eq!((c.store.chat_retention_days, c.hub.chat_history), (7, 50));
    assert!(c.auth.require_token);
    assert_eq!(c.auth.passwords().count(), 1);
    let rules = c.auth.token_rules();
    assert_eq!(rules.max_lifetime, Duration::from_secs(3600));
    assert_eq!(rules.audience.as_deref(), Some("confab.example.org"));
    assert_eq!(rules.issuer.as_deref(), Some("https://app.example.org"));
    assert_eq!(*c.http.handshake_timeout, Duration::from_secs(5));
    assert_eq!(*c.http.http_idle_timeout, Duration::from_secs(30));
    assert_eq!(
        (
            c.http.max_http_connections,
            c.http.max_http_connections_per_ip
        ),
        (300, 20)
    );
    assert_eq!(c.hub.max_call_size, 3);
    assert_eq!(*c.hub.ring_timeout, Duration::from_secs(12));
    assert_eq!(c.hub.chat_burst, 7);
    assert_eq!(*c.hub.chat_refill, Duration::from_millis(250));
    assert_eq!(c.ws.max_queue_bytes, 500_000);
    assert_eq!(c.hub.chat_history_bytes, 100_000);
    assert_eq!((c.hub.chat_ip_burst, c.hub.chat_room_burst), (20, 40));
    assert_eq!(*c.hub.chat_ip_refill, Duration::from_millis(300));
    assert_eq!(*c.hub.chat_room_refill, Duration::from_millis(150));
    assert_eq!(
        (c.hub.relay_burst_bytes, c.hub.relay_rate_bytes),
        (200_000, 30_000)
    );
    assert_eq!(*c.hub.resume_grace, Duration::from_secs(45));
    assert_eq!(c.hub.ice_servers.0[0].credential.as_deref(), Some("c"));
    assert_eq!((c.turn.user_quota, c.turn.ip_quota), (3, 5));
    assert_eq!(c.sfu.media, confab_server::config::MediaArg::Sfu);
    assert_eq!(
        (c.sfu.mesh_max, c.sfu.shards, c.sfu.ips.len()),
        (3, Some(2), 1)
    );
    assert!(c.cluster.enabled());
    assert_eq!(c.cluster.node_id.as_deref(), Some("node-1"));
    // The node's address is what its media ports advertise, over --external-ip.
    assert_eq!(c.turn.external_ip, Some("203.0.113.8".parse().unwrap()));
    let shown = c.to_toml_redacted();
    assert!(
        !shown.contains("hunter2-redis"),
        "the Redis URL is a secret"
    );
}

fn check_config(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_confab"));
    cmd.arg("check-config").args(args);
    // A clean environment: no CONFAB_* from the caller.
    for (k, _) in std::env::vars() {
        if k.starts_with("CONFAB_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run confab check-config")
}

struct TempFile(std::path::PathBuf);
impl TempFile {
    fn new(tag: &str, text: &str) -> TempFile {
        let p = std::env::temp_dir().join(format!("confab-{tag}-{}.toml", std::process::id()));
        std::fs::write(&p, text).unwrap();
        TempFile(p)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}
impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn check_config_prints_the_effective_config_with_secrets_redacted() {
    const SECRET: &str = "flag-secret-0123456789abcdef";
    const PASSWORD: &str = "env-password-xyz";
    const CREDENTIAL: &str = "file-credential-abc";
    const TOKEN_KEY: &str = "env-token-key-0123456789abcdef-0123456";
    let file = TempFile::new(
        "check",
        &format!(
            "max_rooms = 7\nlisten = \"127.0.0.1:9000\"\n\
             ice_servers = [{{ urls = [\"turn:t.test\"], username = \"u\", credential = \"{CREDENTIAL}\" }}]\n\
             [turn]\nrealm = \"from-file\"\nsecret = \"file-secret-is-overridden-0000\"\n"
        ),
    );
    let out = check_config(
        &[
            "--config",
            file.path(),
            "--turn-secret",
            SECRET,
            "--listen",
            "127.0.0.1:9001",
        ],
        &[
            ("CONFAB_TURN_USER", &format!("alice:{PASSWORD}")),
            ("CONFAB_LOG_FORMAT", "json"),
            ("CONFAB_TOKEN_KEY", TOKEN_KEY),
        ],
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    for secret in [
        SECRET,
        PASSWORD,
        CREDENTIAL,
        TOKEN_KEY,
        "file-secret-is-overridden",
    ] {
        assert!(!stdout.contains(secret), "{secret} leaked:\n{stdout}");
        assert!(!stderr.contains(secret), "{secret} leaked:\n{stderr}");
    }
    // The output is a config file in its own right.
    let v: toml::Table = toml::from_str(&stdout).expect("TOML");
    assert_eq!(v["listen"].as_str(), Some("127.0.0.1:9001"), "flag wins");
    assert_eq!(v["max_rooms"].as_integer(), Some(7), "file value");
    assert_eq!(v["log_format"].as_str(), Some("json"), "env value");
    assert_eq!(v["idle_timeout"].as_integer(), Some(40), "default");
    let turn = v["turn"].as_table().unwrap();
    assert_eq!(turn["secret"].as_str(), Some("<redacted>"));
    assert_eq!(v["auth"]["token_key"].as_str(), Some("<redacted>"));
    assert_eq!(turn["realm"].as_str(), Some("from-file"));
    assert_eq!(
        turn["users"].as_array().unwrap()[0].as_str(),
        Some("alice:<redacted>")
    );
    assert_eq!(
        v["ice_servers"].as_array().unwrap()[0]["credential"].as_str(),
        Some("<redacted>")
    );
    // Every key it prints is a key the file takes.
    let keys = keys();
    for (k, value) in &v {
        match value.as_table() {
            Some(table) => {
                for inner in table.keys() {
                    let full = format!("{k}.{inner}");
                    assert!(keys.contains(&full), "printed key {full} is no file key");
                }
            }
            None => assert!(keys.contains(k), "printed key {k} is no file key"),
        }
    }
}

#[test]
fn check_config_output_round_trips() {
    let first = check_config(
        &[
            "--no-turn",
            "--insecure-http",
            "--public-host",
            "a.test,b.test",
            "--max-peers-per-room",
            "3",
        ],
        &[],
    );
    assert!(first.status.success());
    let text = String::from_utf8(first.stdout).unwrap();
    let file = TempFile::new("roundtrip", &text);
    let second = check_config(&["--config", file.path()], &[]);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(String::from_utf8(second.stdout).unwrap(), text);
}

#[test]
fn check_config_fails_with_one_clean_line() {
    let bad_key = TempFile::new("badkey", "max_room = 3\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--config", bad_key.path()], "unknown field"),
        (vec!["--config", "/nonexistent/confab.toml"], "cannot read"),
        (vec!["--max-rooms", "0"], "max_rooms"),
        (vec!["--max-call-size", "1"], "max_call_size"),
        (vec!["--ring-timeout", "0"], "ring_timeout"),
        (vec!["--turn-secret", "short"], "at least 16"),
        (vec!["--log", "x=[["], "log filter"),
        (
            vec!["--redis-url", "http://:pw-secret@10.0.0.5:6379"],
            "redis_url must start with redis:// or rediss://",
        ),
        (vec!["--node-id", "node a"], "node_id must be 1 to 64"),
        (
            vec!["--redis-url", "redis://10.0.0.5", "--redis-ca", "/x.pem"],
            "redis_ca needs a rediss://",
        ),
        (
            vec![
                "--tls-cert",
                "/nonexistent/c.pem",
                "--tls-key",
                "/nonexistent/k.pem",
            ],
            "/nonexistent/c.pem",
        ),
    ];
    for (args, needle) in cases {
        let out = check_config(&args, &[]);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with("confab: error: "), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(
            !err.contains("pw-secret"),
            "a Redis password is never printed: {err}"
        );
    }
    // A bad value for a typed flag is clap's usage error (exit 2), not a crash.
    let out = check_config(&["--log-format", "xml"], &[]);
    assert_eq!(out.status.code(), Some(2));
}
