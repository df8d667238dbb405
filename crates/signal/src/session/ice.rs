//! The ICE server list each `welcome` carries: the configured static servers plus
//! confab's own STUN/TURN URLs with fresh time-limited credentials (TURN REST API style,
//! minted by [`confab_turn::rest_credentials`], which the TURN core checks). Pure: the
//! time and the host come in as arguments.

use confab_proto::IceServer;
use std::net::IpAddr;
use std::time::Duration;

/// Mints ICE server lists. Cheap to clone; held by the hub and the HTTP API. The default
/// mints nothing (no ICE servers at all).
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

    /// The servers for one client. `user` names the client in the TURN username (for
    /// quotas and logs); `request_host` is the host (no port) the browser reached us by.
    pub fn servers_for(
        &self,
        user: &str,
        request_host: Option<&str>,
        unix_now: u64,
    ) -> Vec<IceServer> {
        let mut out = self.static_servers.clone();
        if let Some(t) = &self.turn {
            let host = t
                .fixed_host
                .clone()
                .or_else(|| request_host.map(str::to_owned))
                .unwrap_or_else(|| t.fallback_host.clone());
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
        let s = m.servers_for("u", Some("call.test"), 1000);
        assert_eq!(s[0].urls, vec!["stun:203.0.113.5:3478"]);
        assert!(s[1]
            .urls
            .contains(&"turns:203.0.113.5:5349?transport=tcp".to_string()));
        let m = IceMinter::new(vec![], Some(advert("198.51.100.1:3478", None)));
        assert_eq!(
            m.servers_for("u", Some("call.test"), 1000)[0].urls,
            vec!["stun:198.51.100.1:3478"]
        );
        let m = IceMinter::new(vec![], Some(advert("0.0.0.0:3478", None)));
        assert_eq!(
            m.servers_for("u", Some("call.test"), 1000)[0].urls,
            vec!["stun:call.test:3478"]
        );
        assert_eq!(
            m.servers_for("u", None, 1000)[0].urls,
            vec!["stun:myhost:3478"]
        );
    }

    #[test]
    fn credentials_expire_after_the_ttl() {
        let m = IceMinter::new(vec![], Some(advert("0.0.0.0:3478", None)));
        let s = m.servers_for("peer1", None, 1000);
        assert_eq!(s[1].username.as_deref(), Some("4600:peer1"));
        assert!(s[1].credential.as_ref().is_some_and(|c| !c.is_empty()));
    }
}
