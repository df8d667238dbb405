//! A tiny TURN test client and a simulated-time harness around [`Server`].
//!
//! Requests are built with stun-types' `MessageWriteVec` and signed with the same key
//! derivation a real client uses (`LongTermKeyCredentials::make_key`), so the tests
//! exercise the codec integration end to end. Time only moves when a test says so.
#![allow(dead_code)]

use confab_turn::{ClientKey, Output, RelayRequestId, Server, Transport, TurnConfig};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use stun_types::attribute::{
    AttributeStaticType, AttributeType, AttributeWrite, ErrorCode, MessageIntegrity,
    MessageIntegritySha256, Nonce, PasswordAlgorithm, PasswordAlgorithmValue, PasswordAlgorithms,
    Realm, Username, XorMappedAddress,
};
use stun_types::message::{
    IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass, MessageType, MessageWrite,
    MessageWriteExt, MessageWriteVec, Method, TransactionId,
};
use turn_types::attribute::{Lifetime, RequestedTransport, XorPeerAddress, XorRelayedAddress};
use turn_types::message::ALLOCATE;

pub const UNIX0: u64 = 1_700_000_000;
pub const SECRET: &[u8] = b"test secret";

/// A config that allows loopback peers (the tests' peers live there) and has one static
/// user `ada`/`lovelace` plus the REST secret.
pub fn config() -> TurnConfig {
    let mut config = TurnConfig {
        rest_secret: Some(SECRET.to_vec()),
        static_users: vec![("ada".into(), "lovelace".into())],
        relay_ip: "198.51.100.1".parse().unwrap(),
        ..TurnConfig::default()
    };
    config.peer_policy.allow = vec!["127.0.0.1/32".parse().unwrap()];
    config
}

pub fn udp(port: u16) -> ClientKey {
    ClientKey {
        transport: Transport::Udp,
        client: SocketAddr::from(([203, 0, 113, 5], port)),
        local: SocketAddr::from(([198, 51, 100, 1], 3478)),
    }
}

pub fn tcp(port: u16) -> ClientKey {
    ClientKey {
        transport: Transport::Tcp,
        ..udp(port)
    }
}

pub fn peer(port: u16) -> SocketAddr {
    SocketAddr::from(([8, 8, 4, 4], port))
}

/// Long-term credentials as a client holds them after a 401.
#[derive(Clone, Debug)]
pub struct Auth {
    pub username: String,
    pub password: String,
    pub realm: String,
    pub nonce: String,
    pub algorithm: IntegrityAlgorithm,
}

impl Auth {
    pub fn new(username: &str, password: &str) -> Auth {
        Auth {
            username: username.into(),
            password: password.into(),
            realm: "confab".into(),
            nonce: String::new(),
            algorithm: IntegrityAlgorithm::Sha1,
        }
    }

    pub fn sha256(mut self) -> Auth {
        self.algorithm = IntegrityAlgorithm::Sha256;
        self
    }

    fn key(&self) -> stun_types::message::IntegrityKey {
        LongTermKeyCredentials::new(
            self.username.clone(),
            self.password.clone(),
            self.realm.clone(),
        )
        .make_key(self.algorithm)
    }
}

/// Build a message. With `auth`: USERNAME, REALM, NONCE, (for SHA-256 the
/// PASSWORD-ALGORITHMS/-ALGORITHM pair), MESSAGE-INTEGRITY(-SHA256); then FINGERPRINT.
pub fn build(
    class: MessageClass,
    method: Method,
    tid: u128,
    attrs: &[&dyn AttributeWrite],
    auth: Option<&Auth>,
) -> Vec<u8> {
    let mtype = MessageType::from_class_method(class, method);
    let mut msg = Message::builder(mtype, TransactionId::from(tid), MessageWriteVec::new());
    for attr in attrs {
        msg.add_attribute(*attr).unwrap();
    }
    if let Some(auth) = auth {
        msg.add_attribute(&Username::new(&auth.username).unwrap())
            .unwrap();
        msg.add_attribute(&Realm::new(&auth.realm).unwrap())
            .unwrap();
        msg.add_attribute(&Nonce::new(&auth.nonce).unwrap())
            .unwrap();
        if auth.algorithm == IntegrityAlgorithm::Sha256 {
            let offered = [PasswordAlgorithmValue::MD5, PasswordAlgorithmValue::SHA256];
            msg.add_attribute(&PasswordAlgorithms::new(&offered))
                .unwrap();
            msg.add_attribute(&PasswordAlgorithm::new(PasswordAlgorithmValue::SHA256))
                .unwrap();
        }
        msg.add_message_integrity_with_key(&auth.key(), auth.algorithm)
            .unwrap();
    }
    msg.add_fingerprint().unwrap();
    msg.finish()
}

pub fn request(
    method: Method,
    tid: u128,
    attrs: &[&dyn AttributeWrite],
    auth: Option<&Auth>,
) -> Vec<u8> {
    build(MessageClass::Request, method, tid, attrs, auth)
}

pub fn indication(method: Method, tid: u128, attrs: &[&dyn AttributeWrite]) -> Vec<u8> {
    build(MessageClass::Indication, method, tid, attrs, None)
}

/// A parsed response, owning its bytes.
#[derive(Clone, Debug)]
pub struct Reply(pub Vec<u8>);

impl Reply {
    pub fn msg(&self) -> Message<'_> {
        Message::from_bytes(&self.0).expect("the server sent an unparsable message")
    }
    pub fn tid(&self) -> u128 {
        self.msg().transaction_id().into()
    }
    pub fn class(&self) -> MessageClass {
        self.msg().class()
    }
    pub fn is_success(&self) -> bool {
        self.class() == MessageClass::Success
    }
    /// The ERROR-CODE, or 0 for a success.
    pub fn code(&self) -> u16 {
        self.msg()
            .attribute::<ErrorCode>()
            .map(|e| e.code())
            .unwrap_or(0)
    }
    pub fn has(&self, t: AttributeType) -> bool {
        self.msg().has_attribute(t)
    }
    pub fn nonce(&self) -> Option<String> {
        self.msg()
            .attribute::<Nonce>()
            .ok()
            .map(|n| n.nonce().to_string())
    }
    pub fn realm(&self) -> Option<String> {
        self.msg()
            .attribute::<Realm>()
            .ok()
            .map(|r| r.realm().to_string())
    }
    pub fn mapped(&self) -> SocketAddr {
        let msg = self.msg();
        msg.attribute::<XorMappedAddress>()
            .unwrap()
            .addr(msg.transaction_id())
    }
    pub fn relayed(&self) -> SocketAddr {
        let msg = self.msg();
        msg.attribute::<XorRelayedAddress>()
            .unwrap()
            .addr(msg.transaction_id())
    }
    pub fn lifetime(&self) -> u32 {
        self.msg().attribute::<Lifetime>().unwrap().seconds()
    }
    pub fn peer(&self) -> SocketAddr {
        let msg = self.msg();
        msg.attribute::<XorPeerAddress>()
            .unwrap()
            .addr(msg.transaction_id())
    }
    pub fn data(&self) -> Vec<u8> {
        self.msg()
            .attribute::<turn_types::attribute::Data<'_>>()
            .unwrap()
            .data()
            .to_vec()
    }
    /// Whether the response's integrity verifies with `auth`'s key.
    pub fn verifies(&self, auth: &Auth) -> bool {
        let algo = if self.has(MessageIntegritySha256::TYPE) {
            IntegrityAlgorithm::Sha256
        } else {
            IntegrityAlgorithm::Sha1
        };
        let key = Auth {
            algorithm: algo,
            ..auth.clone()
        }
        .key();
        self.msg().validate_integrity_with_key(&key).is_ok()
    }
    pub fn signed(&self) -> bool {
        self.has(MessageIntegrity::TYPE) || self.has(MessageIntegritySha256::TYPE)
    }
}

/// The server plus simulated clocks and an output log.
pub struct Harness {
    pub server: Server,
    pub t0: Instant,
    pub now: Instant,
    pub unix: u64,
    next_tid: u128,
    next_port: u16,
}

impl Harness {
    pub fn new(config: TurnConfig) -> Harness {
        let t0 = Instant::now();
        Harness {
            server: Server::new(config, 42),
            t0,
            now: t0,
            unix: UNIX0,
            next_tid: 1,
            next_port: 50_000,
        }
    }

    /// Move both clocks, run `handle_timeout`, and return what it produced.
    pub fn advance(&mut self, secs: u64) -> Vec<Output> {
        self.now += Duration::from_secs(secs);
        self.unix += secs;
        self.server.handle_timeout(self.now);
        self.drain()
    }

    pub fn tid(&mut self) -> u128 {
        self.next_tid += 1;
        0x00C0_FFEE_0000_0000 + self.next_tid
    }

    pub fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.server.poll_output()).collect()
    }

    /// Feed client bytes and return every output.
    pub fn client(&mut self, key: ClientKey, data: &[u8]) -> Vec<Output> {
        self.server.handle_client(key, data, self.now, self.unix);
        self.drain()
    }

    /// Feed a request and return the single response it must produce.
    pub fn ask(&mut self, key: ClientKey, data: &[u8]) -> Reply {
        let outputs = self.client(key, data);
        match &outputs[..] {
            [Output::ToClient { key: to, data }] if *to == key => Reply(data.clone()),
            other => panic!("expected one response to {key:?}, got {other:?}"),
        }
    }

    /// Get a nonce via the 401 challenge (checking it has REALM, NONCE and no integrity).
    pub fn challenge(&mut self, key: ClientKey, auth: &mut Auth) {
        let tid = self.tid();
        let transport = RequestedTransport::new(RequestedTransport::UDP);
        let reply = self.ask(key, &request(ALLOCATE, tid, &[&transport], None));
        assert_eq!(reply.code(), 401);
        assert!(!reply.signed());
        auth.nonce = reply.nonce().expect("401 without NONCE");
        auth.realm = reply.realm().expect("401 without REALM");
    }

    /// Allocate up to the BindRelay; returns the request id.
    pub fn allocate_pending(&mut self, key: ClientKey, auth: &Auth, tid: u128) -> RelayRequestId {
        let transport = RequestedTransport::new(RequestedTransport::UDP);
        let outputs = self.client(key, &request(ALLOCATE, tid, &[&transport], Some(auth)));
        match &outputs[..] {
            [Output::BindRelay { request, ip, .. }] => {
                assert_eq!(*ip, "198.51.100.1".parse::<std::net::IpAddr>().unwrap());
                *request
            }
            other => panic!("expected BindRelay, got {other:?}"),
        }
    }

    /// The driver's side of a bind: a fresh relay port on 198.51.100.1.
    pub fn bind(&mut self, request: RelayRequestId) -> (SocketAddr, Vec<Output>) {
        self.next_port += 1;
        let relay = SocketAddr::from(([198, 51, 100, 1], self.next_port));
        self.server.handle_relay_bound(request, Ok(relay), self.now);
        (relay, self.drain())
    }

    /// A full allocation: challenge, Allocate, bind. Returns the relay socket address.
    pub fn allocate(&mut self, key: ClientKey, auth: &mut Auth) -> SocketAddr {
        self.challenge(key, auth);
        let tid = self.tid();
        let request = self.allocate_pending(key, auth, tid);
        let (relay, outputs) = self.bind(request);
        let [Output::ToClient { data, .. }] = &outputs[..] else {
            panic!("expected the Allocate success, got {outputs:?}");
        };
        let reply = Reply(data.clone());
        assert!(reply.is_success(), "allocate failed: {}", reply.code());
        assert!(reply.verifies(auth));
        assert_eq!(reply.relayed(), relay);
        relay
    }

    /// A signed request after a successful allocation.
    pub fn signed(
        &mut self,
        key: ClientKey,
        method: Method,
        attrs: &[&dyn AttributeWrite],
        auth: &Auth,
    ) -> Reply {
        let tid = self.tid();
        let reply = self.ask(key, &request(method, tid, attrs, Some(auth)));
        assert_eq!(reply.tid(), tid);
        reply
    }
}

/// Decode a ChannelData frame: (channel, payload).
pub fn channel_data(frame: &[u8]) -> (u16, Vec<u8>) {
    let channel = u16::from_be_bytes([frame[0], frame[1]]);
    let len = usize::from(u16::from_be_bytes([frame[2], frame[3]]));
    (channel, frame[4..4 + len].to_vec())
}

/// Encode a ChannelData frame (unpadded).
pub fn make_channel_data(channel: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = channel.to_be_bytes().to_vec();
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out
}
