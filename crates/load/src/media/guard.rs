//! The network rule, enforced: peers bind a loopback address, or another address only
//! inside a network namespace with no default route (the one `bench/media.sh` makes,
//! where nothing but its own addresses exists); and they never try a remote candidate
//! outside their own reach (loopback, or the /24 of the address they bind). A server
//! that offers every interface of the host (Janus gathers no loopback candidates and
//! then takes all interfaces) so cannot make a peer send to the host's public address.

use std::net::IpAddr;

/// Whether peers may bind `ip`: loopback always, others only with no default route.
pub fn check_bind(ip: IpAddr) -> anyhow::Result<()> {
    if ip.is_loopback() {
        return Ok(());
    }
    anyhow::ensure!(
        !has_default_route(),
        "--bind-ip {ip} is not loopback: allowed only inside a network namespace without \
         a default route (bench/media.sh makes one)"
    );
    Ok(())
}

/// A default route in this network namespace (IPv4 or IPv6), from /proc.
fn has_default_route() -> bool {
    let v4 = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let v4_default = v4
        .lines()
        .skip(1)
        .any(|l| l.split_whitespace().nth(1) == Some("00000000"));
    let v6 = std::fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    // Destination ::/0 on an interface other than lo (lo holds the unreachable default).
    let v6_default = v6.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() >= 10 && f[0] == "0".repeat(32) && f[1] == "00" && f[9] != "lo"
    });
    v4_default || v6_default
}

/// Whether a remote candidate address is one a peer bound to `bind` may try.
pub fn reachable(bind: IpAddr, remote: IpAddr) -> bool {
    match (bind, remote) {
        (_, r) if r.is_loopback() => bind.is_loopback(),
        (IpAddr::V4(b), IpAddr::V4(r)) => !b.is_loopback() && b.octets()[..3] == r.octets()[..3],
        _ => false,
    }
}

/// `sdp` without the `a=candidate` lines a peer bound to `bind` must not try.
pub fn keep_candidates(sdp: &str, bind: IpAddr) -> String {
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("a=candidate:") {
            // foundation component transport priority address port typ ...
            let addr = rest.split_whitespace().nth(4).and_then(|a| a.parse().ok());
            if !addr.is_some_and(|a| reachable(bind, a)) {
                continue;
            }
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_candidates_within_reach_stay() {
        let sdp = "v=0\r\na=candidate:1 1 udp 2015363327 192.0.2.2 48303 typ host\r\n\
                   a=candidate:2 1 udp 2015363583 fd00::2 49984 typ host\r\n\
                   a=candidate:3 1 udp 2015363583 127.0.0.1 4000 typ host\r\n\
                   a=candidate:4 1 udp 2015363583 10.77.0.1 4001 typ host\r\na=end-of-candidates\r\n";
        let lo = keep_candidates(sdp, "127.0.0.1".parse().unwrap());
        assert_eq!(
            lo,
            "v=0\r\na=candidate:3 1 udp 2015363583 127.0.0.1 4000 typ host\r\na=end-of-candidates\r\n"
        );
        let ns = keep_candidates(sdp, "10.77.0.2".parse().unwrap());
        assert!(ns.contains("10.77.0.1 4001") && !ns.contains("192.0.2.2"));
        assert!(!ns.contains("127.0.0.1") && !ns.contains("fd00"));
    }

    #[test]
    fn loopback_binds_anywhere() {
        assert!(check_bind("127.0.0.1".parse().unwrap()).is_ok());
    }
}
