//! One UDP port for every endpoint: which endpoint a datagram belongs to.
//!
//! The first datagram of a new 5-tuple (remote address, local address) from a WebRTC
//! peer is a STUN binding request (we are ICE-lite: the peer checks, we answer). Its
//! USERNAME attribute is `<our ufrag>:<their ufrag>`, and every endpoint has its own
//! ufrag, so one hash lookup names the endpoint; the 5-tuple is then bound to it, and
//! every later datagram (DTLS, SRTP, more STUN) is one hash lookup by address. Nothing
//! here scans the endpoints.
//!
//! A bound address is not proof of anything: the endpoint's str0m instance still checks
//! STUN integrity, DTLS and SRTP. The binding only routes. Since anyone who learns a
//! ufrag can make bindings for it, an endpoint holds at most [`MAX_ADDRS`] of them; the
//! oldest is forgotten first.

use crate::io::EndpointId;
use std::collections::HashMap;
use std::net::SocketAddr;

/// Most 5-tuples bound to one endpoint (its candidate pairs: a browser has a handful).
pub const MAX_ADDRS: usize = 8;

/// The STUN magic cookie (RFC 8489 section 5).
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
/// The USERNAME attribute type.
const ATTR_USERNAME: u16 = 0x0006;

/// A 5-tuple on our one UDP socket: (remote address, local address).
pub(crate) type Tuple = (SocketAddr, SocketAddr);

/// The demultiplexer: ufrag → endpoint, and 5-tuple → endpoint.
#[derive(Debug, Default)]
pub(crate) struct Demux {
    by_ufrag: HashMap<String, EndpointId>,
    by_tuple: HashMap<Tuple, EndpointId>,
}

/// Where a datagram goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// To an endpoint we already knew this 5-tuple for.
    Known(EndpointId),
    /// A STUN message naming this endpoint's ufrag, from a new 5-tuple: deliver it, then
    /// [`Demux::bind`] the tuple if the endpoint takes it.
    ByUfrag(EndpointId),
    /// Nobody's.
    Unknown,
}

impl Demux {
    /// Registers an endpoint's local ufrag. False (and no change) if it is taken.
    pub(crate) fn add_ufrag(&mut self, ufrag: &str, id: EndpointId) -> bool {
        if self.by_ufrag.contains_key(ufrag) {
            return false;
        }
        self.by_ufrag.insert(ufrag.to_owned(), id);
        true
    }

    /// Whether a ufrag is registered.
    pub(crate) fn has_ufrag(&self, ufrag: &str) -> bool {
        self.by_ufrag.contains_key(ufrag)
    }

    /// Finds the endpoint for a datagram.
    pub(crate) fn route(&self, tuple: Tuple, bytes: &[u8]) -> Route {
        if let Some(id) = self.by_tuple.get(&tuple) {
            return Route::Known(*id);
        }
        let ufrag = stun_local_ufrag(bytes).and_then(|u| std::str::from_utf8(u).ok());
        match ufrag.and_then(|u| self.by_ufrag.get(u)) {
            Some(id) => Route::ByUfrag(*id),
            None => Route::Unknown,
        }
    }

    /// Binds a 5-tuple to an endpoint whose list of tuples is `tuples`; the list is
    /// kept at [`MAX_ADDRS`] by forgetting its oldest entry.
    pub(crate) fn bind(&mut self, tuple: Tuple, id: EndpointId, tuples: &mut Vec<Tuple>) {
        if tuples.len() >= MAX_ADDRS {
            let old = tuples.remove(0);
            self.by_tuple.remove(&old);
        }
        tuples.push(tuple);
        self.by_tuple.insert(tuple, id);
    }

    /// Forgets everything about an endpoint: its ufrag and its tuples.
    pub(crate) fn remove(&mut self, ufrag: &str, tuples: &[Tuple]) {
        self.by_ufrag.remove(ufrag);
        for t in tuples {
            self.by_tuple.remove(t);
        }
    }

    /// How many tuples are bound in total (for tests and metrics).
    pub(crate) fn tuples(&self) -> usize {
        self.by_tuple.len()
    }
}

/// If `bytes` is a STUN message with a USERNAME attribute `a:b`, returns `a` (for a
/// request to us: our ufrag). Never panics, whatever the bytes.
pub fn stun_local_ufrag(bytes: &[u8]) -> Option<&[u8]> {
    let header = bytes.get(..20)?;
    // The two top bits of a STUN message are zero; the cookie is fixed.
    if header[0] & 0xC0 != 0 || header[4..8] != MAGIC_COOKIE {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let mut attrs = bytes.get(20..20 + len)?;
    while attrs.len() >= 4 {
        let kind = u16::from_be_bytes([attrs[0], attrs[1]]);
        let alen = usize::from(u16::from_be_bytes([attrs[2], attrs[3]]));
        let value = attrs.get(4..4 + alen)?;
        if kind == ATTR_USERNAME {
            let end = value.iter().position(|&b| b == b':')?;
            return Some(&value[..end]);
        }
        // Values are padded to a multiple of 4.
        let padded = 4 + alen.div_ceil(4) * 4;
        attrs = attrs.get(padded..)?;
    }
    None
}

/// A STUN binding request carrying `attrs`, each padded to 4 bytes (the unit tests' and
/// fuzz targets' stand-in for what a browser sends).
#[doc(hidden)]
pub fn stun_with(attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (kind, value) in attrs {
        body.extend_from_slice(&kind.to_be_bytes());
        body.extend_from_slice(&(value.len() as u16).to_be_bytes());
        body.extend_from_slice(value);
        while body.len() % 4 != 0 {
            body.push(0);
        }
    }
    let mut msg = vec![0x00, 0x01];
    msg.extend_from_slice(&(body.len() as u16).to_be_bytes());
    msg.extend_from_slice(&MAGIC_COOKIE);
    msg.extend_from_slice(&[7; 12]);
    msg.extend_from_slice(&body);
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_local_ufrag_after_other_attributes() {
        let msg = stun_with(&[
            (0x0024, &[0, 0, 0, 1]),
            (0x8029, &[1; 8]),
            (ATTR_USERNAME, b"abcd:wxyz"),
        ]);
        assert_eq!(stun_local_ufrag(&msg), Some(&b"abcd"[..]));
        // Padding: a 5-byte attribute before it.
        let msg = stun_with(&[(0x8022, b"hello"), (ATTR_USERNAME, b"q1w2e3:x")]);
        assert_eq!(stun_local_ufrag(&msg), Some(&b"q1w2e3"[..]));
    }

    #[test]
    fn refuses_what_is_not_stun_or_has_no_username() {
        assert_eq!(stun_local_ufrag(&[]), None);
        assert_eq!(stun_local_ufrag(&[0x80; 40]), None); // RTP-looking
        assert_eq!(stun_local_ufrag(&stun_with(&[(0x0024, &[0; 4])])), None);
        assert_eq!(
            stun_local_ufrag(&stun_with(&[(ATTR_USERNAME, b"nocolon")])),
            None
        );
        // A length field pointing past the end.
        let mut msg = stun_with(&[(ATTR_USERNAME, b"abcd:wxyz")]);
        msg[3] = 200;
        assert_eq!(stun_local_ufrag(&msg), None);
    }

    #[test]
    fn routes_by_ufrag_then_by_tuple_and_caps_tuples() {
        let mut demux = Demux::default();
        let ep = EndpointId(1);
        assert!(demux.add_ufrag("abcd", ep));
        assert!(!demux.add_ufrag("abcd", EndpointId(2)));
        let local: SocketAddr = "10.0.0.1:3478".parse().unwrap();
        let remote = |port| SocketAddr::from(([192, 0, 2, 1], port));
        let msg = stun_with(&[(ATTR_USERNAME, b"abcd:wxyz")]);
        assert_eq!(demux.route((remote(1), local), &msg), Route::ByUfrag(ep));
        assert_eq!(demux.route((remote(1), local), b"dtls"), Route::Unknown);
        let mut tuples = Vec::new();
        for port in 1..=(MAX_ADDRS as u16 + 2) {
            demux.bind((remote(port), local), ep, &mut tuples);
        }
        assert_eq!(tuples.len(), MAX_ADDRS);
        assert_eq!(demux.tuples(), MAX_ADDRS);
        assert_eq!(demux.route((remote(1), local), b"dtls"), Route::Unknown);
        assert_eq!(demux.route((remote(5), local), b"dtls"), Route::Known(ep));
        demux.remove("abcd", &tuples);
        assert_eq!(demux.tuples(), 0);
        assert_eq!(demux.route((remote(5), local), &msg), Route::Unknown);
    }
}
