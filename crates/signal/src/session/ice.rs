//! The ICE server lists: the public one (what `welcome` and `/api/ice-servers` carry: the
//! configured servers that need no credentials and confab's own STUN URL) and a room
//! member's (everything, with confab's TURN URLs and fresh time-limited credentials in the
//! TURN REST API style, minted by [`confab_turn::rest_credentials`] for the member's TURN
//! user, which the TURN core checks). Pure: the time, the host and the user come in as
//! arguments.
//!
//! Why members only: credentials handed to whoever opens a WebSocket (or asks the HTTP
//! API) made the relay open to anyone, also with `--require-token`; a member was admitted
//! by the room's rules, and its credentials are revoked when it leaves (see `credentials.rs`).

use confab_proto::IceServer;
use std::net::IpAddr;
use std::time::Duration;

/// Mints ICE server lists. Cheap to clone; held by the hub and the HTTP API. The default
/// mints nothing (no ICE servers at all).
///
/// Contract: [`IceMinter::public_servers`] never holds a credential;
/// [`IceMinter::member_servers`] is the public list plus the entries with credentials.
#[derive(Clone, Debug, Default)]
pub struct IceMinter {
    static_servers: Vec<IceServer>,
    turn: Option<TurnUrls>,
}

#[derive(Clone)]
struct TurnUrls {
    /// Host for the URLs when one is fixed (external IP or a specific listen address);
    /// otherwise the host the browser used to reach us.
    fixed_host: Option<String>,
    fallback_host: String,
    port: u16,
    tls_port: Option<u16>,
    secret: Vec<u8>,
    ttl: Duration,
}

impl std::fmt::Debug for TurnUrls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The REST secret never reaches a log.
        f.debug_struct("TurnUrls")
            .field("fixed_host", &self.fixed_host)
            .field("fallback_host", &self.fallback_host)
            .field("port", &self.port)
            .field("tls_port", &self.tls_port)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// What the built-in TURN server needs advertised.
pub struct TurnAdvert {
    /// The public address, if configured.
    pub external_ip: Option<IpAddr>,
    /// The UDP/TCP listen address.
    pub listen: std::net::SocketAddr,
    /// The TLS listen port, if TURN over TLS is on.
    pub tls_port: Option<u16>,
    /// A name to use when nothing better is known (a public host or this host's name).
    pub fallback_host: String,
    /// The REST secret.
    pub secret: Vec<u8>,
    /// Credential lifetime.
    pub ttl: Duration,
}

impl IceMinter {
    /// A minter for `static_servers`, plus confab's TURN when `turn` is given.
    pub fn new(static_servers: Vec<IceServer>, turn: Option<TurnAdvert>) -> Self {
        let turn = turn.map(|t| {
            let fixed = t.external_ip.or_else(|| {
                let ip = t.listen.ip();
                (!ip.is_unspecified()).then_some(ip)
            });
            TurnUrls {
                fixed_host: fixed.map(url_host),
                fallback_host: t.fallback_host,
                port: t.listen.port(),
                tls_port: t.tls_port,
                secret: t.secret,
                ttl: t.ttl,
            }
        });
        IceMinter {
            static_servers,
            turn,
        }
    }

    /// The servers anyone may have (`welcome`, `/api/ice-servers`): the configured ones
    /// without credentials, then confab's STUN URL. `request_host` is the host (no port)
    /// the browser reached us by.
    pub fn public_servers(&self, request_host: Option<&str>) -> Vec<IceServer> {
        let mut out: Vec<IceServer> = self
            .static_servers
            .iter()
            .filter(|s| s.username.is_none() && s.credential.is_none())
            .cloned()
            .collect();
        if let Some(t) = &self.turn {
            let host = t.host(request_host);
            out.push(IceServer {
                urls: vec![format!("stun:{host}:{}", t.port)],
                username: None,
                credential: None,
            });
        }
        out
    }

    /// Whether a room member gets more than [`IceMinter::public_servers`]: confab's TURN
    /// is advertised, or a configured server has credentials.
    pub fn has_member_servers(&self) -> bool {
        self.turn.is_some()
            || self
                .static_servers
                .iter()
                .any(|s| s.username.is_some() || s.credential.is_some())
    }

    /// How long minted TURN credentials are valid, when confab's TURN is advertised.
    pub fn credential_ttl(&self) -> Option<Duration> {
        self.turn.as_ref().map(|t| t.ttl)
    }

    /// The servers for a room member: every configured one, confab's STUN URL, and its
    /// TURN URLs with credentials for the TURN REST `user` (the member's tag), valid until
    /// `unix_now` + [`IceMinter::credential_ttl`]. `request_host` as for
    /// [`IceMinter::public_servers`].
    pub fn member_servers(
        &self,
        user: &str,
        request_host: Option<&str>,
        unix_now: u64,
    ) -> Vec<IceServer> {
        let mut out = self.static_servers.clone();
        if let Some(t) = &self.turn {
            let host = t.host(request_host);
            let (username, credential) =
                confab_turn::rest_credentials(&t.secret, user, unix_now, t.ttl);
            let port = t.port;
            out.push(IceServer {
                urls: vec![format!("stun:{host}:{port}")],
                username: None,
                credential: None,
            });
            let mut urls = vec![
                format!("turn:{host}:{port}?transport=udp"),
                format!("turn:{host}:{port}?transport=tcp"),
            ];
            if let Some(tls) = t.tls_port {
                urls.push(format!("turns:{host}:{tls}?transport=tcp"));
            }
            out.push(IceServer {
                urls,
                username: Some(username),
                credential: Some(credential),
            });
        }
        out
    }
}

impl TurnUrls {
    /// The host for the URLs: the fixed one, else the one the browser used, else the
    /// fallback name.
    fn host(&self, request_host: Option<&str>) -> String {
        self.fixed_host
            .clone()
            .or_else(|| request_host.map(str::to_owned))
            .unwrap_or_else(|| self.fallback_host.clone())
    }
}

/// An IP as it appears in a URL host (IPv6 in brackets).
fn url_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advert(listen: &str, external: Option<&str>) -> TurnAdvert {
        TurnAdvert {
            external_ip: external.map(|e| e.parse().unwrap()),
            listen: listen.parse().unwrap(),
            tls_port: Some(5349),
            fallback_host: "myhost".into(),
            secret: b"0123456789abcdef".to_vec(),
            ttl: Duration::from_secs(3600),
        }
    }

    #[test]
    fn urls_use_external_ip_then_listen_ip_then_request_host() {
        let m = IceMinter::new(vec![], Some(advert("0.0.0.0:3478", Some("203.0.113.5"))));
        let s = m.member_servers("u", Some("call.test"), 1000);
        assert_eq!(s[0].urls, vec!["stun:203.0.113.5:3478"]);
        assert!(s[1]
            .urls
            .contains(&"turns:203.0.113.5:5349?transport=tcp".to_string()));
        let m = IceMinter::new(vec![], Some(advert("198.51.100.1:3478", None)));
        assert_eq!(
            m.public_servers(Some("call.test"))[0].urls,
            vec!["stun:198.51.100.1:3478"]
        );
        let m = IceMinter::new(vec![], Some(advert("0.0.0.0:3478", None)));
        assert_eq!(
            m.member_servers("u", Some("call.test"), 1000)[0].urls,
            vec!["stun:call.test:3478"]
        );
        assert_eq!(m.public_servers(None)[0].urls, vec!["stun:myhost:3478"]);
    }

    #[test]
    fn credentials_name_the_user_and_expire_after_the_ttl() {
        let m = IceMinter::new(vec![], Some(advert("0.0.0.0:3478", None)));
        let s = m.member_servers("m1", None, 1000);
        assert_eq!(s[1].username.as_deref(), Some("4600:m1"));
        assert!(s[1].credential.as_ref().is_some_and(|c| !c.is_empty()));
        assert_eq!(m.credential_ttl(), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn only_members_get_credentials() {
        let stun = IceServer {
            urls: vec!["stun:stun.test:3478".into()],
            username: None,
            credential: None,
        };
        let turn = IceServer {
            urls: vec!["turn:turn.test:3478".into()],
            username: Some("u".into()),
            credential: Some("c".into()),
        };
        let statics = vec![stun.clone(), turn.clone()];
        let m = IceMinter::new(statics.clone(), Some(advert("0.0.0.0:3478", None)));
        let public = m.public_servers(Some("h"));
        assert!(public
            .iter()
            .all(|s| s.username.is_none() && s.credential.is_none()));
        assert_eq!(public.len(), 2, "{public:?}");
        assert_eq!(m.member_servers("m", Some("h"), 0)[..2], statics[..]);
        assert!(m.has_member_servers());
        let only_stun = IceMinter::new(vec![stun.clone()], None);
        assert!(!only_stun.has_member_servers());
        assert_eq!(only_stun.public_servers(None), vec![stun]);
        assert!(IceMinter::new(vec![turn], None).has_member_servers());
        assert_eq!(only_stun.credential_ttl(), None);
    }
}
