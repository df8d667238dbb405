//! Batched UDP IO for confab's media drivers (the TURN relay today, the SFU later):
//! `recvmmsg(2)` reads up to [`BATCH`] waiting datagrams in one system call, and
//! `sendmmsg(2)` writes several datagrams to one socket in one call. Linux only.
//!
//! Why: under load every relayed packet costs a receive and a send system call, and those
//! dominate a relay's CPU time. Measured with `bench/turn_bench.py --mmsg-ab` (see
//! `docs/turn.md`, "Performance"): 6-14 % less server CPU per relayed frame at
//! 50,000-100,000 frames/s, and no difference at light load once a wake-up that finds a
//! single datagram uses plain `recvfrom`/`sendto` (the caller decides that; this crate
//! only does batches).
//!
//! Contract: both functions take a raw fd of a *non-blocking* UDP socket that the caller
//! keeps open for the duration of the call, never block, and report "nothing to read" or
//! "send buffer full" as [`io::ErrorKind::WouldBlock`], so they fit inside tokio's
//! `UdpSocket::try_io`. A datagram is returned whole or not at all.
//!
//! [`set_reuse_port`] lets several sockets share one address (the SFU's shards on one
//! port). It also lists the host's interface addresses ([`host_addrs`], `getifaddrs(3)`) for the
//! TURN peer policy.
//!
//! This crate holds all of the server's unsafe system-call code (the server crate forbids
//! unsafe code), so that it can be reviewed in one place; every `unsafe` block states why
//! it is sound.
//!
//! # Example
//!
//! ```
//! use std::net::{SocketAddr, UdpSocket};
//! use std::os::fd::AsRawFd;
//!
//! let a = UdpSocket::bind("127.0.0.1:0").unwrap();
//! let b = UdpSocket::bind("127.0.0.1:0").unwrap();
//! a.set_nonblocking(true).unwrap();
//! b.set_nonblocking(true).unwrap();
//! let to = b.local_addr().unwrap();
//! let msgs: Vec<(SocketAddr, &[u8])> = vec![(to, b"one"), (to, b"two")];
//! assert_eq!(confab_udp::send(a.as_raw_fd(), &msgs).unwrap(), 2);
//!
//! let mut batch = confab_udp::RecvBatch::new();
//! let mut got = Vec::new();
//! while got.len() < 2 {
//!     match batch.recv(b.as_raw_fd()) {
//!         Ok(_) => got.extend(batch.iter().map(|(_, d)| d.to_vec())),
//!         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
//!             std::thread::sleep(std::time::Duration::from_millis(1))
//!         }
//!         Err(e) => panic!("{e}"),
//!     }
//! }
//! assert_eq!(got, [b"one".to_vec(), b"two".to_vec()]);
//! ```
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod ifaddrs;
pub use ifaddrs::host_addrs;

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

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
        // SAFETY: iovec is plain old data; all zeroes is a valid value (a null pointer
        // and a zero length), which is overwritten below before the kernel sees it.
        let mut iovs: [libc::iovec; BATCH] = unsafe { zeroed() };
        // SAFETY: mmsghdr is plain old data; all zeroes (null pointers, zero lengths and
        // flags) is a valid value, filled in below.
        let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        let base = self.data.as_mut_ptr();
        for i in 0..BATCH {
            // SAFETY: `data` holds BATCH * SLOT bytes and i < BATCH, so i * SLOT + SLOT <=
            // data.len(): the offset stays inside the allocation.
            iovs[i].iov_base = unsafe { base.add(i * SLOT) }.cast();
            iovs[i].iov_len = SLOT;
            let h = &mut hdrs[i].msg_hdr;
            h.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut iovs[i];
            h.msg_iovlen = 1;
        }
        // SAFETY: each of the BATCH headers points at a live iovec (this frame), a slot of
        // `self.data` and an address buffer of `self.addrs`, with their true lengths, so
        // the kernel writes only within memory we own; `&mut self` guarantees nothing
        // else reads or writes it during the call. `fd` is only read by the kernel: a
        // closed or foreign fd yields an error (EBADF, ENOTSOCK), not unsoundness.
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
        // SAFETY: sockaddr_storage is plain old data; all zeroes is a valid value.
        let mut names: [libc::sockaddr_storage; BATCH] = unsafe { zeroed() };
        // SAFETY: as in `RecvBatch::recv`: an all-zero iovec is valid.
        let mut iovs: [libc::iovec; BATCH] = unsafe { zeroed() };
        // SAFETY: as in `RecvBatch::recv`: an all-zero mmsghdr is valid.
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
        // SAFETY: the first chunk.len() headers (the count passed) point at live address
        // buffers of this frame with their true lengths and at payloads borrowed from
        // `msgs` for the duration of the call; sendmmsg only reads them (the `*mut` in
        // iov_base is the C signature, nothing is written through it).
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
            // SAFETY: the kernel wrote an AF_INET address, so the storage holds a
            // sockaddr_in; sockaddr_storage is large and aligned enough for one, and the
            // shared borrow lives no longer than `s`.
            let a: &libc::sockaddr_in =
                unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for AF_INET6 and sockaddr_in6.
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
            // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr, every
            // bit pattern is a valid sockaddr_in, and the unique borrow comes from `s`.
            let out =
                unsafe { &mut *(s as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            out.sin_family = libc::AF_INET as libc::sa_family_t;
            out.sin_port = a.port().to_be();
            out.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            // SAFETY: as above, for sockaddr_in6.
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

/// Sets `SO_REUSEPORT` on socket `fd`, before it is bound: sockets that all set it may
/// share one address, and Linux gives each remote address to one of them by a hash of
/// the addresses (the SFU's shards on one port). Here rather than through socket2, which
/// has it only under its `all` feature, and that feature would be turned on for every
/// crate of the build that uses socket2.
pub fn set_reuse_port(fd: BorrowedFd<'_>) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `fd` is a socket kept open by the borrow for the call; the option value
    // is a live c_int of the length passed, which setsockopt only reads.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEPORT,
            (&on as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_with_reuse_port_share_an_address() {
        use socket2::{Domain, Socket, Type};
        use std::os::fd::AsFd;
        let bind = |addr: SocketAddr, reuse: bool| {
            let s = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
            if reuse {
                set_reuse_port(s.as_fd()).unwrap();
            }
            s.bind(&addr.into()).map(|()| s)
        };
        let first = bind("127.0.0.1:0".parse().unwrap(), true).unwrap();
        let addr = first.local_addr().unwrap().as_socket().unwrap();
        let second = bind(addr, true).unwrap();
        assert_eq!(second.local_addr().unwrap().as_socket(), Some(addr));
        assert!(
            bind(addr, false).is_err(),
            "without it, the address is taken"
        );
    }

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
