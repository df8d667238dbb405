//! Batched UDP system calls for the TURN relay path (Linux): `recvmmsg(2)` reads up to
//! [`BATCH`] waiting datagrams in one call, `sendmmsg(2)` writes several datagrams to one
//! socket in one call.
//!
//! Why: under load every relayed packet costs a receive and a send system call, and
//! those dominate the server's CPU time (see bench/turn_bench.py --mmsg-ab for the
//! measurement that decided to keep this). This is the server's only unsafe code; it
//! stays in this file, behind two safe functions.
#![allow(unsafe_code)]

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

/// Most datagrams read by one `recvmmsg` call.
pub const BATCH: usize = 32;

/// Room for one datagram: the largest UDP payload. Slots are zero-allocated, so a page
/// becomes resident only once a datagram that long has landed in it.
const SLOT: usize = 65_536;

/// Receive buffers and source addresses for one batch. Reused across calls (one per
/// worker thread): building it costs 2 MiB of address space.
pub struct RecvBatch {
    data: Vec<u8>,
    addrs: Box<[libc::sockaddr_storage; BATCH]>,
    lens: [usize; BATCH],
    truncated: [bool; BATCH],
    n: usize,
}

impl RecvBatch {
    /// Empty buffers for [`BATCH`] datagrams.
    pub fn new() -> RecvBatch {
        RecvBatch {
            data: vec![0; BATCH * SLOT],
            // SAFETY: sockaddr_storage is plain old data; all zeroes is a valid value.
            addrs: Box::new(unsafe { zeroed() }),
            lens: [0; BATCH],
            truncated: [false; BATCH],
            n: 0,
        }
    }

    /// Reads the datagrams waiting on non-blocking socket `fd` (at most [`BATCH`]) and
    /// returns how many. Nothing waiting is an error of kind `WouldBlock`.
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        self.n = 0;
        // SAFETY: all-zero iovec and mmsghdr are valid (null pointers, zero lengths).
        let mut iovs: [libc::iovec; BATCH] = unsafe { zeroed() };
        let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        let base = self.data.as_mut_ptr();
        for i in 0..BATCH {
            // SAFETY: i * SLOT + SLOT <= data.len(), so the slot lies inside `data`.
            iovs[i].iov_base = unsafe { base.add(i * SLOT) }.cast();
            iovs[i].iov_len = SLOT;
            let h = &mut hdrs[i].msg_hdr;
            h.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut iovs[i];
            h.msg_iovlen = 1;
        }
        // SAFETY: every header points at a live iovec, slot and address buffer owned by
        // `self` or this frame, with their true lengths; the kernel writes only within
        // them, and nothing else touches them during the call.
        let r = unsafe {
            libc::recvmmsg(
                fd,
                hdrs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = r as usize;
        for (i, h) in hdrs.iter().enumerate().take(n) {
            self.lens[i] = (h.msg_len as usize).min(SLOT);
            self.truncated[i] = h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
        }
        self.n = n;
        Ok(n)
    }

    /// The datagrams of the last [`RecvBatch::recv`], in arrival order: source and bytes.
    /// A datagram too long for its slot (impossible for UDP over IPv4/IPv6) or from an
    /// unknown address family is skipped.
    pub fn iter(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> + '_ {
        (0..self.n).filter_map(|i| {
            if self.truncated[i] {
                return None;
            }
            let from = from_storage(&self.addrs[i])?;
            Some((from, &self.data[i * SLOT..i * SLOT + self.lens[i]]))
        })
    }
}

impl Default for RecvBatch {
    fn default() -> Self {
        RecvBatch::new()
    }
}

/// Writes `msgs` (destination, payload) on non-blocking socket `fd`, as few
/// `sendmmsg` calls as it takes, and returns how many went out. It stops at the first
/// error (a full send buffer, an unreachable destination): the rest are lost, as UDP
/// datagrams may be. At most [`BATCH`] messages are sent per call.
pub fn send(fd: RawFd, msgs: &[(SocketAddr, &[u8])]) -> io::Result<usize> {
    let mut sent = 0;
    for chunk in msgs.chunks(BATCH) {
        // SAFETY: as in `recv`: all-zero values of these C structs are valid.
        let mut names: [libc::sockaddr_storage; BATCH] = unsafe { zeroed() };
        let mut iovs: [libc::iovec; BATCH] = unsafe { zeroed() };
        let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        for (i, (to, data)) in chunk.iter().enumerate() {
            let len = to_storage(to, &mut names[i]);
            iovs[i].iov_base = data.as_ptr() as *mut libc::c_void;
            iovs[i].iov_len = data.len();
            let h = &mut hdrs[i].msg_hdr;
            h.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = len;
            h.msg_iov = &mut iovs[i];
            h.msg_iovlen = 1;
        }
        // SAFETY: the first chunk.len() headers point at live address buffers and at
        // payloads borrowed for the duration of the call; the kernel only reads them.
        let r = unsafe {
            libc::sendmmsg(
                fd,
                hdrs.as_mut_ptr(),
                chunk.len() as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if r < 0 {
            return if sent > 0 {
                Ok(sent)
            } else {
                Err(io::Error::last_os_error())
            };
        }
        sent += r as usize;
        if (r as usize) < chunk.len() {
            break;
        }
    }
    Ok(sent)
}

fn from_storage(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match s.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which it can.
            let a: &libc::sockaddr_in =
                unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a: &libc::sockaddr_in6 =
                unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

fn to_storage(addr: &SocketAddr, s: &mut libc::sockaddr_storage) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr.
            let out =
                unsafe { &mut *(s as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            out.sin_family = libc::AF_INET as libc::sa_family_t;
            out.sin_port = a.port().to_be();
            out.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            // SAFETY: as above.
            let out =
                unsafe { &mut *(s as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            out.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            out.sin6_port = a.port().to_be();
            out.sin6_flowinfo = a.flowinfo();
            out.sin6_addr.s6_addr = a.ip().octets();
            out.sin6_scope_id = a.scope_id();
            size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn pair(ip: &str) -> (std::net::UdpSocket, std::net::UdpSocket) {
        let a = std::net::UdpSocket::bind(format!("{ip}:0")).unwrap();
        let b = std::net::UdpSocket::bind(format!("{ip}:0")).unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        (a, b)
    }

    fn roundtrip(ip: &str) {
        let (a, b) = pair(ip);
        let to = b.local_addr().unwrap();
        let payloads: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 1 + i as usize * 37]).collect();
        let msgs: Vec<(SocketAddr, &[u8])> = payloads.iter().map(|p| (to, &p[..])).collect();
        assert_eq!(send(a.as_raw_fd(), &msgs).unwrap(), 40);

        let mut batch = RecvBatch::new();
        let mut got = Vec::new();
        for _ in 0..100 {
            match batch.recv(b.as_raw_fd()) {
                Ok(n) => {
                    assert!(n <= BATCH);
                    got.extend(batch.iter().map(|(f, d)| (f, d.to_vec())));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if got.len() == payloads.len() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(e) => panic!("{e}"),
            }
        }
        let from = a.local_addr().unwrap();
        assert_eq!(got.len(), payloads.len());
        for ((f, d), p) in got.iter().zip(&payloads) {
            assert_eq!(*f, from);
            assert_eq!(d, p);
        }
    }

    #[test]
    fn sends_and_receives_batches_over_ipv4() {
        roundtrip("127.0.0.1");
    }

    #[test]
    fn sends_and_receives_batches_over_ipv6() {
        if std::net::UdpSocket::bind("[::1]:0").is_ok() {
            roundtrip("[::1]");
        }
    }

    #[test]
    fn nothing_waiting_is_would_block() {
        let (_a, b) = pair("127.0.0.1");
        let err = RecvBatch::new().recv(b.as_raw_fd()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn a_maximum_size_datagram_arrives_whole() {
        let (a, b) = pair("127.0.0.1");
        let big = vec![7u8; 65_507];
        let to = b.local_addr().unwrap();
        assert_eq!(send(a.as_raw_fd(), &[(to, &big[..])]).unwrap(), 1);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut batch = RecvBatch::new();
        assert_eq!(batch.recv(b.as_raw_fd()).unwrap(), 1);
        let (_, d) = batch.iter().next().unwrap();
        assert_eq!(d, &big[..]);
    }
}
