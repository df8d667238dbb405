//! Unit tests of resolving the configuration.

use super::*;
use std::time::Duration;

fn file(text: &str) -> tempfile_lite::TempFile {
    tempfile_lite::TempFile::new(text)
}

/// A tiny temp-file helper so tests need no extra crate.
mod tempfile_lite {
    pub struct TempFile(pub std::path::PathBuf);
    impl TempFile {
        pub fn path(&self) -> &str {
            self.0.to_str().unwrap()
        }
        pub fn new(text: &str) -> Self {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "confab-cfg-{}-{}.toml",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&p, text).unwrap();
            TempFile(p)
        }
    }
    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// `confab serve` with these flags, no environment.
fn resolve(flags: &[&str]) -> Result<Config, ConfigError> {
    let cmd = Config::augment_args(Command::new("confab-serve")).mut_args(|a| a.env(None));
    let argv = std::iter::once("confab-serve").chain(flags.iter().copied());
    let (matches, file) = parse(cmd, argv.map(OsString::from).collect())?;
    Config::from_arg_matches(&matches)?.finish(file.as_ref())
}

#[test]
fn defaults() {
    let c = resolve(&[]).unwrap();
    assert_eq!(c.http.listen.to_string(), "0.0.0.0:8443");
    assert_eq!(c.http.tls(), TlsMode::SelfSigned);
    assert_eq!(c.data_dir, PathBuf::from("./confab-data"));
    assert_eq!(*c.ws.idle_timeout, Duration::from_secs(40));
    assert_eq!(c.turn.tls_listen, "0.0.0.0:5349".parse().unwrap());
    // Config::default() is the same defaults, whatever the environment says.
    let d = Config::default();
    assert_eq!(format!("{d:?}"), format!("{c:?}"));
}

#[test]
fn flags_win_over_file() {
    let f = file("listen = \"127.0.0.1:9000\"\nmax_rooms = 5\npublic_host = [\"a.test\"]\n");
    let c = resolve(&["--config", f.path(), "--listen", "127.0.0.1:9001"]).unwrap();
    assert_eq!(c.http.listen.port(), 9001);
    assert_eq!(c.hub.max_rooms, 5);
    assert_eq!(c.http.public_host, vec!["a.test".to_string()]);
}

#[test]
fn file_lists_keep_their_commas_and_flag_lists_replace_them() {
    let f = file("public_host = [\"a,b\"]\n[turn]\nusers = [\"bob:p,w\"]\n");
    let c = resolve(&["--config", f.path()]).unwrap();
    assert_eq!(c.http.public_host, vec!["a,b".to_string()]);
    assert_eq!(c.turn.users[0].password.expose(), "p,w");
    let c = resolve(&["--config", f.path(), "--public-host", "x,y"]).unwrap();
    assert_eq!(c.http.public_host, vec!["x".to_string(), "y".to_string()]);
}

#[test]
fn turn_enabled_false_in_the_file_is_no_turn() {
    let f = file("[turn]\nenabled = false\n");
    assert!(resolve(&["--config", f.path()]).unwrap().turn().is_none());
    assert!(resolve(&[]).unwrap().turn().is_some());
    assert!(resolve(&["--no-turn"]).unwrap().turn().is_none());
}

#[test]
fn bad_files_are_clean_errors() {
    let f = file("lisen = \"x\"\n");
    let e = resolve(&["--config", f.path()]).unwrap_err();
    assert!(e.to_string().contains("unknown field `lisen`"), "{e}");
    let e = resolve(&["--config", "/nonexistent/confab.toml"]).unwrap_err();
    assert!(e.to_string().contains("cannot read config file"), "{e}");
    let f = file("max_rooms = 0\n");
    let e = resolve(&["--config", f.path()]).unwrap_err();
    assert!(e.to_string().contains("max_rooms"), "{e}");
    let f = file("max_rooms = \"many\"\n");
    let e = resolve(&["--config", f.path()]).unwrap_err();
    assert!(
        e.to_string().contains("`max_rooms`: invalid value 'many'"),
        "{e}"
    );
    let f = file("ice_server = [\"stun:x\"]\n");
    let e = resolve(&["--config", f.path()]).unwrap_err();
    assert!(e.to_string().contains("unknown field `ice_server`"), "{e}");
    let e = resolve(&["--ice-server", "http://x"]).unwrap_err();
    assert!(e.to_string().contains("stun:"), "{e}");
}

#[test]
fn chat_settings_resolve_and_are_bounded() {
    let c = resolve(&[]).unwrap();
    assert_eq!((c.store.chat_retention_days, c.hub.chat_history), (30, 100));
    assert_eq!(
        c.store.chat_retention(),
        Some(Duration::from_secs(30 * 86_400))
    );
    let f = file("chat_retention_days = 0\nchat_history = 5\n");
    let c = resolve(&["--config", f.path(), "--chat-history", "7"]).unwrap();
    assert_eq!((c.store.chat_retention_days, c.hub.chat_history), (0, 7));
    assert_eq!(c.store.chat_retention(), None);
    let e = resolve(&["--chat-history", "10001"]).unwrap_err();
    assert!(e.to_string().contains("chat_history"), "{e}");
    let e = resolve(&["--chat-retention-days", "40000"]).unwrap_err();
    assert!(e.to_string().contains("chat_retention_days"), "{e}");
}

#[test]
fn insecure_http_wins_over_cert_files() {
    let f = file("tls_cert = \"a.pem\"\ntls_key = \"k.pem\"\ninsecure_http = true\n");
    let c = resolve(&["--config", f.path()]).unwrap();
    assert_eq!(c.http.tls(), TlsMode::Off);
    assert_eq!(
        c.turn.tls_listen,
        Listen::Off,
        "TURN over TLS needs the certificate"
    );
}

#[test]
fn acme_settings_choose_the_acme_mode_and_refuse_what_cannot_work() {
    let c = resolve(&["--acme-domain", " Calls.Example.org. ,b.test"]).unwrap();
    assert_eq!(c.http.tls(), TlsMode::Acme);
    assert_eq!(
        c.http.acme.acme_domains,
        vec!["calls.example.org".to_string(), "b.test".into()]
    );
    assert_eq!(
        c.http.acme.acme_directory,
        crate::tls::settings::LETS_ENCRYPT
    );
    assert!(c
        .to_toml_redacted()
        .contains("# TLS: a certificate for calls.example.org"));
    // --insecure-http wins, as over the certificate files.
    let c = resolve(&["--acme-domain", "a.test", "--insecure-http"]).unwrap();
    assert_eq!(c.http.tls(), TlsMode::Off);
    for (flags, says) in [
        (
            &[
                "--acme-domain",
                "a.test",
                "--tls-cert",
                "c",
                "--tls-key",
                "k",
            ][..],
            "two sources",
        ),
        (&["--acme-email", "a@b.test"][..], "need acme_domain"),
        (&["--acme-domain", "*.a.test"][..], "wildcards"),
        (&["--acme-domain", "10.0.0.1"][..], "not a DNS name"),
        (
            &[
                "--acme-domain",
                "a.test",
                "--acme-directory",
                "http://ca.test/dir",
            ][..],
            "https://",
        ),
        (
            &["--acme-domain", "a.test", "--acme-email", "nobody"][..],
            "not an email",
        ),
    ] {
        let e = resolve(flags).unwrap_err().to_string();
        assert!(e.contains(says), "{flags:?}: {e}");
    }
}
