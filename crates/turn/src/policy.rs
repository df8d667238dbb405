//! Which peers a TURN allocation may relay to: [`PeerPolicy`] and its [`IpNet`] prefixes.
//!
//! A TURN server must never be an open proxy into the operator's network, so by default
//! every non-public range is denied (see [`PeerPolicy::default_deny`]), as are the server's
//! own addresses. `allow` entries override every deny (tests allow `127.0.0.1/32`); `deny`
//! entries add to the defaults. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are judged as
//! the IPv4 address they carry.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IP prefix such as `10.0.0.0/8` or `fe80::/10`. Host bits are cleared on construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// Why a string is not an [`IpNet`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid IP prefix {0:?}: expected ADDRESS or ADDRESS/LEN, e.g. 10.0.0.0/8")]
pub struct IpNetParseError(pub String);

impl IpNet {
    /// The prefix `addr/prefix`; `None` if `prefix` is longer than the address (32 or 128).
    pub fn new(addr: IpAddr, prefix: u8) -> Option<IpNet> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then(|| IpNet {
            addr: mask(addr, prefix),
            prefix,
        })
    }

    const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> IpNet {
        IpNet {
            addr: IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
            prefix,
        }
    }

    const fn v6(s: [u16; 8], prefix: u8) -> IpNet {
        IpNet {
            addr: IpAddr::V6(Ipv6Addr::new(
                s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
            )),
            prefix,
        }
    }

    /// The network address (host bits zero).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside this prefix. Families must match: an IPv4 prefix never
    /// contains an IPv6 address (use [`PeerPolicy`] for mapped-address handling).
    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == self.addr
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let m = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & m))
        }
        IpAddr::V6(v6) => {
            let m = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & m))
        }
    }
}

impl FromStr for IpNet {
    type Err = IpNetParseError;

    /// `"10.0.0.0/8"`, `"fc00::/7"`, or a bare address (a /32 or /128).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || IpNetParseError(s.to_string());
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, len)) => {
                if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err());
                }
                (addr, Some(len.parse::<u8>().map_err(|_| err())?))
            }
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| err())?;
        let prefix = prefix.unwrap_or(if addr.is_ipv4() { 32 } else { 128 });
        IpNet::new(addr, prefix).ok_or_else(err)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The ranges denied by default: this network, RFC 1918, CGNAT, loopback, link-local,
/// IETF protocol assignments, documentation (TEST-NET-1/2/3), benchmarking, the 6to4
/// relay anycast, multicast, reserved and broadcast; IPv6 unspecified and loopback (inside
/// IPv4-compatible `::/96`), the forms that embed an IPv4 address (NAT64 `64:ff9b::/96`
/// and `64:ff9b:1::/48`, SIIT `::ffff:0:0:0/96`, 6to4 `2002::/16`, Teredo `2001::/32`:
/// each would let a client reach a denied IPv4 address through a translator), discard-only,
/// documentation, benchmarking, ORCHID, site-local, unique-local, link-local and multicast.
/// IPv4-mapped addresses (`::ffff:a.b.c.d`) are judged as the IPv4 address they carry.
const DEFAULT_DENY: [IpNet; 30] = [
    IpNet::v4(0, 0, 0, 0, 8),
    IpNet::v4(10, 0, 0, 0, 8),
    IpNet::v4(100, 64, 0, 0, 10),
    IpNet::v4(127, 0, 0, 0, 8),
    IpNet::v4(169, 254, 0, 0, 16),
    IpNet::v4(172, 16, 0, 0, 12),
    IpNet::v4(192, 0, 0, 0, 24),
    IpNet::v4(192, 0, 2, 0, 24),   // TEST-NET-1 (RFC 5737)
    IpNet::v4(192, 88, 99, 0, 24), // 6to4 relay anycast (RFC 7526)
    IpNet::v4(192, 168, 0, 0, 16),
    IpNet::v4(198, 18, 0, 0, 15),   // benchmarking (RFC 2544)
    IpNet::v4(198, 51, 100, 0, 24), // TEST-NET-2
    IpNet::v4(203, 0, 113, 0, 24),  // TEST-NET-3
    IpNet::v4(224, 0, 0, 0, 4),
    IpNet::v4(240, 0, 0, 0, 4), // reserved, includes 255.255.255.255 broadcast
    IpNet::v6([0, 0, 0, 0, 0, 0, 0, 0], 96), // IPv4-compatible (RFC 4291), with :: and ::1
    IpNet::v6([0, 0, 0, 0, 0xffff, 0, 0, 0], 96), // SIIT IPv4-translated (RFC 2765)
    IpNet::v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96), // NAT64 well-known (RFC 6052)
    IpNet::v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), // NAT64 local-use (RFC 8215)
    IpNet::v6([0x0100, 0, 0, 0, 0, 0, 0, 0], 64), // discard-only (RFC 6666)
    IpNet::v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32), // Teredo (RFC 4380)
    IpNet::v6([0x2001, 0x0002, 0, 0, 0, 0, 0, 0], 48), // benchmarking (RFC 5180)
    IpNet::v6([0x2001, 0x0010, 0, 0, 0, 0, 0, 0], 28), // ORCHID (RFC 4843)
    IpNet::v6([0x2001, 0x0020, 0, 0, 0, 0, 0, 0], 28), // ORCHIDv2 (RFC 7343)
    IpNet::v6([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], 32), // documentation (RFC 3849)
    IpNet::v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16), // 6to4 (RFC 3056)
    IpNet::v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), // unique-local
    IpNet::v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), // link-local
    IpNet::v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), // site-local (deprecated, RFC 3879)
    IpNet::v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), // multicast
];

/// Which peer addresses allocations may relay to. See the module docs for the rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerPolicy {
    /// Always allowed, overriding every deny rule (`--turn-allow-peer`).
    pub allow: Vec<IpNet>,
    /// Denied in addition to [`PeerPolicy::default_deny`] (`--turn-deny-peer`).
    pub deny: Vec<IpNet>,
    /// The server's own addresses, denied (a client must not reach our other services).
    /// [`crate::Server::new`] adds `relay_ip` and `external_ip`, and every request also
    /// denies the address the client reached us on.
    pub server_addrs: Vec<IpAddr>,
}

impl PeerPolicy {
    /// The default policy for a server with these addresses: built-in denies only.
    pub fn default_for(server_addrs: Vec<IpAddr>) -> PeerPolicy {
        PeerPolicy {
            allow: Vec::new(),
            deny: Vec::new(),
            server_addrs,
        }
    }

    /// The built-in deny list, always in force unless an `allow` entry matches.
    pub fn default_deny() -> &'static [IpNet] {
        &DEFAULT_DENY
    }

    /// Whether relaying to `ip` is allowed.
    pub fn is_allowed(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        if self.allow.iter().any(|net| net.contains(ip)) {
            return true;
        }
        let denied = DEFAULT_DENY
            .iter()
            .chain(&self.deny)
            .any(|net| net.contains(ip))
            || self.server_addrs.iter().any(|a| a.to_canonical() == ip);
        !denied
    }

    /// [`PeerPolicy::is_allowed`], also denying `local` (the address the client reached
    /// the server on) unless an `allow` entry matches.
    pub(crate) fn allows_from(&self, ip: IpAddr, local: IpAddr) -> bool {
        let ip = ip.to_canonical();
        if self.allow.iter().any(|net| net.contains(ip)) {
            return true;
        }
        ip != local.to_canonical() && self.is_allowed(ip)
    }
}

/// Own addresses kept at most: a host has a handful; this bounds a misbehaving driver.
const MAX_SERVER_ADDRS: usize = 4096;

impl crate::Server {
    /// The host's interface addresses as the driver read them now (it re-reads them
    /// periodically: an address gained after start, say a new DHCP lease, must be as
    /// unreachable as the ones at start). New ones join [`PeerPolicy::server_addrs`];
    /// none is ever dropped (an address the host lost stays denied, erring on the safe
    /// side).
    pub fn handle_host_addrs(&mut self, addrs: &[IpAddr], now: std::time::Instant) {
        self.observe(now);
        let own = &mut self.config.peer_policy.server_addrs;
        for &ip in addrs {
            let ip = ip.to_canonical();
            if !ip.is_unspecified() && !own.contains(&ip) && own.len() < MAX_SERVER_ADDRS {
                own.push(ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_masks() {
        let net: IpNet = "10.1.2.3/8".parse().unwrap();
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(net.contains(ip("10.255.0.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(!net.contains(ip("::ffff:10.0.0.1")));
        assert_eq!("1.2.3.4".parse::<IpNet>().unwrap().prefix_len(), 32);
        assert_eq!("::1".parse::<IpNet>().unwrap().prefix_len(), 128);
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        let all6: IpNet = "::/0".parse().unwrap();
        assert!(all6.contains(ip("2001:db8::1")));
        for bad in [
            "",
            "/8",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "x/8",
            "10.0.0.0/+8",
            "1/2/3",
        ] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn default_denies_private_ranges() {
        let policy = PeerPolicy::default_for(vec![ip("93.184.216.34")]);
        for denied in [
            "127.0.0.1",
            "10.1.1.1",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "93.184.216.34",
            "::ffff:93.184.216.34",
        ] {
            assert!(!policy.is_allowed(ip(denied)), "{denied} allowed");
        }
        for allowed in ["8.8.8.8", "2a00:1450::1", "93.184.216.35", "::ffff:8.8.8.8"] {
            assert!(policy.is_allowed(ip(allowed)), "{allowed} denied");
        }
    }

    /// Issue 12 item 14: IPv6 forms that embed an IPv4 address (here the cloud metadata
    /// address 169.254.169.254 and loopback), site-local, documentation and benchmarking.
    #[test]
    fn default_denies_embedded_ipv4_documentation_and_benchmarking() {
        let policy = PeerPolicy::default();
        for denied in [
            "64:ff9b::a9fe:a9fe",                   // NAT64 of 169.254.169.254
            "64:ff9b::808:808",                     // NAT64 of a public address: still a translator
            "64:ff9b:1::a9fe:a9fe",                 // NAT64 local-use
            "2002:a9fe:a9fe::1",                    // 6to4
            "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
            "::a9fe:a9fe",                          // IPv4-compatible
            "::7f00:1",                             // IPv4-compatible loopback
            "::ffff:0:a9fe:a9fe",                   // SIIT
            "fec0::1",                              // site-local
            "2001:db8::1",                          // documentation
            "2001:2::1",                            // benchmarking
            "2001:10::1",                           // ORCHID
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.254",
            "192.88.99.1",
            "::ffff:198.51.100.7",
        ] {
            assert!(!policy.is_allowed(ip(denied)), "{denied} allowed");
        }
        for allowed in [
            "2a00:1450:4001::1",
            "2606:4700::1111",
            "198.20.0.1",
            "1.1.1.1",
        ] {
            assert!(policy.is_allowed(ip(allowed)), "{allowed} denied");
        }
    }

    #[test]
    fn allow_overrides_and_deny_adds() {
        let policy = PeerPolicy {
            allow: vec![
                "127.0.0.1/32".parse().unwrap(),
                "203.0.113.1".parse().unwrap(),
            ],
            deny: vec!["8.8.0.0/16".parse().unwrap()],
            server_addrs: vec![ip("203.0.113.1")],
        };
        assert!(policy.is_allowed(ip("127.0.0.1")));
        assert!(policy.is_allowed(ip("::ffff:127.0.0.1")));
        assert!(!policy.is_allowed(ip("127.0.0.2")));
        assert!(policy.is_allowed(ip("203.0.113.1")));
        assert!(!policy.is_allowed(ip("8.8.8.8")));
        assert!(policy.is_allowed(ip("8.9.8.8")));
    }
}
