//! Sessions that move between nodes (cluster mode): a member's resume token works on
//! any node, so a browser whose node died (or whose load balancer sent it elsewhere)
//! reconnects anywhere and keeps its peer id and its place.
//!
//! While a session is in a room, its node keeps a [`SessionRecord`] in the shared store
//! under a one-way hash of its resume token ([`ClusterOut::Session`]); the token
//! changes with every resume, and the record with it. A `hello {resume}` with a token
//! this node does not know asks the store ([`ClusterOut::FindSession`]); with a record
//! ([`ClusterIn::SessionFound`]) the node takes the session over: the same peer id, a
//! `welcome` that says resumed, and a `join` of the recorded room under the recorded
//! name. The room's owner sees a member it already has (held as reconnecting since its
//! node died) and gives it its place back; a room made again after its owner died takes
//! it as a new member with the same id.

use super::hub::{Hub, Session};
use super::resume::session_identity;
use crate::room::Identity;
use crate::{ClusterOut, ConnId, Grant, Output};
use confab_proto::{PeerId, RequestId, Role, RoomId};
use serde::{Deserialize, Serialize};

/// What the shared store keeps about a session in a room, for a resume on any node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Its peer id.
    pub peer: PeerId,
    /// The room it joined.
    pub room: RoomId,
    /// The name it joined under.
    pub name: String,
    /// The role a join token fixed, if any.
    pub role: Option<Role>,
    /// Who it is beyond this connection (a token's subject, else its session).
    pub identity: Option<Identity>,
}

/// The store's key of a session's record: a one-way hash of its resume token (the token
/// itself is a secret only the browser holds).
pub(crate) fn record_key(token: &str) -> String {
    match session_identity(token) {
        Identity::Session(hex) | Identity::Token(hex) => hex,
    }
}

impl Hub {
    /// Writes (or, with `None`, forgets) the record of `conn`'s session under its
    /// current token (cluster mode only).
    pub(crate) fn save_record(&mut self, conn: ConnId, record: Option<SessionRecord>) {
        if !self.config.cluster {
            return;
        }
        let Some(token) = self
            .conns
            .get(&conn)
            .and_then(|c| c.resume_token.as_deref())
        else {
            return;
        };
        let key = record_key(token);
        let out = ClusterOut::Session { key, record };
        self.out.push_back(Output::Cluster(out));
    }

    /// `conn`'s token is about to change from `old`: its record moves to the new key
    /// (written by the caller once the new token is issued).
    pub(crate) fn forget_record(&mut self, old: &str) {
        if self.config.cluster {
            let key = record_key(old);
            let out = ClusterOut::Session { key, record: None };
            self.out.push_back(Output::Cluster(out));
        }
    }

    /// A `hello {resume}` with a token this node does not know: ask the shared store.
    pub(crate) fn find_session(&mut self, conn: ConnId, token: String, ref_: Option<RequestId>) {
        let key = record_key(&token);
        self.finding.insert(conn, (token, ref_));
        let out = ClusterOut::FindSession { conn, key };
        self.out.push_back(Output::Cluster(out));
    }

    /// The store answered for `conn`'s resume: take the session over, or start a new one
    /// (claiming the old identity, as after a restart).
    pub(crate) fn session_found(&mut self, conn: ConnId, record: Option<SessionRecord>) {
        let Some((token, ref_)) = self.finding.remove(&conn) else {
            return;
        };
        if self.session(conn).is_some() || !self.conns.contains_key(&conn) {
            return;
        }
        let record = record.filter(|r| !self.by_peer.contains_key(&r.peer));
        let Some(record) = record else {
            return self.new_session(conn, Some(session_identity(&token)));
        };
        let peer_id = record.peer.clone();
        if let Some(state) = self.conns.get_mut(&conn) {
            state.session = Some(Session {
                peer_id: peer_id.clone(),
                room: None,
                turn: None,
                identity: record.identity.clone(),
                claim: None,
                kind: crate::ParticipantKind::Browser,
                follow: None,
                joined_as: None,
                waiting: None,
            });
        }
        self.by_peer.insert(peer_id.clone(), conn);
        self.forget_record(&token);
        let token = self.issue_token(conn);
        self.welcome(conn, peer_id, Some(token), true);
        let grant = match (&record.identity, record.role) {
            (Some(Identity::Token(subject)), Some(role)) => Some(Grant::new(role, subject)),
            _ => None,
        };
        let now = self.now.mono;
        self.handle_join(conn, record.room, record.name, grant, ref_, now);
    }
}
