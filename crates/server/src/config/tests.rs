//! Unit tests of resolving the configuration.

use super::*;

fn file(text: &str) -> tempfile_lite::TempFile {
    tempfile_lite::TempFile::new(text)
}

/// A tiny temp-file helper so tests need no extra crate.
mod tempfile_lite {
    pub struct TempFile(pub std::path::PathBuf);
    impl TempFile {
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

#[test]
fn defaults() {
    let c = Config::resolve(ServeArgs::default()).unwrap();
    assert_eq!(c.listen.to_string(), "0.0.0.0:8443");
    assert_eq!(c.tls, TlsMode::SelfSigned);
    assert_eq!(c.data_dir, PathBuf::from("./confab-data"));
}

#[test]
fn flags_win_over_file() {
    let f = file("listen = \"127.0.0.1:9000\"\nmax_rooms = 5\npublic_host = [\"a.test\"]\n");
    let args = ServeArgs {
        config: Some(f.0.clone()),
        listen: Some("127.0.0.1:9001".parse().unwrap()),
        ..Default::default()
    };
    let c = Config::resolve(args).unwrap();
    assert_eq!(c.listen.port(), 9001);
    assert_eq!(c.max_rooms, 5);
    assert_eq!(c.public_hosts, vec!["a.test".to_string()]);
}

#[test]
fn bad_files_are_clean_errors() {
    let f = file("lisen = \"x\"\n");
    let e = Config::resolve(ServeArgs {
        config: Some(f.0.clone()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("unknown field"), "{e}");
    let e = Config::resolve(ServeArgs {
        config: Some("/nonexistent/confab.toml".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("cannot read config file"), "{e}");
    let f = file("max_rooms = 0\n");
    let e = Config::resolve(ServeArgs {
        config: Some(f.0.clone()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("max_rooms"), "{e}");
    let e = Config::resolve(ServeArgs {
        ice_server: vec!["http://x".into()],
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("stun:"), "{e}");
}

#[test]
fn chat_settings_resolve_and_are_bounded() {
    let c = Config::resolve(ServeArgs::default()).unwrap();
    assert_eq!((c.chat_retention_days, c.chat_history), (30, 100));
    assert_eq!(c.chat_retention(), Some(Duration::from_secs(30 * 86_400)));
    let f = file("chat_retention_days = 0\nchat_history = 5\n");
    let c = Config::resolve(ServeArgs {
        config: Some(f.0.clone()),
        chat_history: Some(7),
        ..Default::default()
    })
    .unwrap();
    assert_eq!((c.chat_retention_days, c.chat_history), (0, 7));
    assert_eq!(c.chat_retention(), None);
    let e = Config::resolve(ServeArgs {
        chat_history: Some(10_001),
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("chat_history"), "{e}");
    let e = Config::resolve(ServeArgs {
        chat_retention_days: Some(40_000),
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("chat_retention_days"), "{e}");
}

#[test]
fn insecure_http_wins_over_cert_files() {
    let f = file("tls_cert = \"a.pem\"\ntls_key = \"k.pem\"\ninsecure_http = true\n");
    let c = Config::resolve(ServeArgs {
        config: Some(f.0.clone()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.tls, TlsMode::Off);
}
