//! A real `redis-server` (the Debian package the test command installs) on a loopback
//! port of its own, stopped by PID when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    /// With TLS: the CA that signed its certificate, and its password.
    pub tls: Option<(std::path::PathBuf, String)>,
    dir: Option<std::path::PathBuf>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `redis-server` with `args`, in the foreground, without persistence.
fn spawn(args: &[&str]) -> Child {
    Command::new("redis-server")
        .args(args)
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server is installed (bash scripts/install-test-deps.sh)")
}

fn openssl(args: &[&str]) {
    let ok = Command::new("openssl")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "openssl {args:?}");
}

impl RedisServer {
    /// Starts one on a free loopback port, without persistence, and waits until it
    /// answers. Panics with the reason when `redis-server` is missing: the README's
    /// test command installs it.
    pub fn start() -> RedisServer {
        let port = free_port();
        let child = spawn(&["--port", &port.to_string(), "--bind", "127.0.0.1"]);
        let server = RedisServer {
            child,
            port,
            tls: None,
            dir: None,
        };
        wait_for(port);
        server
    }

    /// One that speaks only TLS (a certificate for 127.0.0.1 from a CA made here) and
    /// wants `password`.
    pub fn start_tls(password: &str) -> RedisServer {
        let dir = std::env::temp_dir().join(format!(
            "confab-redis-tls-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let p = |f: &str| dir.join(f).to_str().unwrap().to_owned();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &[
                    "-days",
                    "2",
                    "-subj",
                    "/CN=test-ca",
                    "-keyout",
                    &p("ca.key"),
                    "-out",
                    &p("ca.pem"),
                ],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req"][..],
                &ec,
                &[
                    "-subj",
                    "/CN=127.0.0.1",
                    "-keyout",
                    &p("srv.key"),
                    "-out",
                    &p("srv.csr"),
                ],
            ]
            .concat(),
        );
        std::fs::write(dir.join("ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            &p("srv.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &p("ext"),
            "-out",
            &p("srv.pem"),
        ]);
        let port = free_port();
        let (port_s, cert, key, ca) = (port.to_string(), p("srv.pem"), p("srv.key"), p("ca.pem"));
        let child = spawn(&[
            "--port",
            "0",
            "--tls-port",
            &port_s,
            "--bind",
            "127.0.0.1",
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
            "--tls-ca-cert-file",
            &ca,
            "--tls-auth-clients",
            "no",
            "--requirepass",
            password,
        ]);
        let server = RedisServer {
            child,
            port,
            tls: Some((dir.join("ca.pem"), password.to_owned())),
            dir: Some(dir),
        };
        wait_for(port);
        server
    }

    /// Its URL, database 0 (`rediss://` with the password for a TLS one).
    pub fn url(&self) -> String {
        match &self.tls {
            Some((_, pw)) => format!("rediss://:{pw}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
