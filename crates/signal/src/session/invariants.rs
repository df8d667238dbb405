//! The hub's internal invariants, checked by the tests after every input.

use super::hub::Hub;
use std::collections::HashMap;
use std::net::IpAddr;

impl Hub {
    /// Panics if the state's internal invariants are broken; for tests.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let remote: usize = self.rooms.values().map(|r| r.remote.len()).sum();
        let held: usize = self.remote_rooms.values().map(|r| r.members.len()).sum();
        let members: usize =
            self.rooms.values().map(|r| r.core.len()).sum::<usize>() - remote + held;
        assert_eq!(members, self.peer_total, "peer_count matches the rooms");
        for (room_id, slot) in &self.rooms {
            let room = &slot.core;
            assert!(!room.is_empty(), "room {room_id} is empty");
            assert_eq!(room.id(), room_id);
            room.check_invariants();
            if let Some(at) = room.poll_timeout() {
                assert_eq!(slot.wake, Some(at), "{room_id}'s deadline is scheduled");
            }
            for p in room
                .peers()
                .iter()
                .filter(|p| !slot.remote.contains_key(&p.id))
            {
                let conn = self.by_peer.get(&p.id).expect("members have connections");
                let s = self.session(*conn).expect("members are helloed");
                assert_eq!(s.room.as_ref(), Some(room_id), "{conn} in its room");
            }
        }
        self.check_park_invariants();
        self.check_media_invariants();
        assert!(self.rooms.len() + self.pending.len() <= self.config.max_rooms);
        assert!(self.conns.len() - self.detached_total <= self.config.max_connections);
        assert!(self.detached_total <= self.config.max_detached);
        let mut by_ip: HashMap<IpAddr, usize> = HashMap::new();
        for c in self.conns.values().filter(|c| c.detached_until.is_some()) {
            if let Some(ip) = c.ip {
                *by_ip.entry(ip).or_default() += 1;
            }
        }
        assert_eq!(by_ip, self.detached_by_ip, "detached counts by address");
        assert!(by_ip
            .values()
            .all(|&n| n <= self.config.max_detached_per_ip));
        let mut helloed = 0;
        for (conn, c) in &self.conns {
            if let Some(s) = &c.session {
                helloed += 1;
                assert_eq!(self.by_peer.get(&s.peer_id), Some(conn));
                if let Some(room) = &s.room {
                    if let Some(remote) = self.remote_rooms.get(room) {
                        assert!(remote.members.contains(&s.peer_id), "{conn} remote");
                        continue;
                    }
                    let r = self.rooms.get(room).expect("a session's room exists");
                    assert!(r.core.contains(&s.peer_id), "{conn} missing from its room");
                }
            }
        }
        assert_eq!(helloed, self.by_peer.len());
        for (token, conn) in &self.by_token {
            let c = self
                .conns
                .get(conn)
                .expect("tokens belong to known connections");
            assert_eq!(c.resume_token.as_ref(), Some(token));
        }
        let turn = self.config.ice.credential_ttl().is_some();
        for (conn, c) in &self.conns {
            if c.detached_until.is_some() {
                let s = c.session.as_ref().expect("only helloed connections detach");
                assert!(s.room.is_some(), "{conn} detached outside a room");
            }
            if let Some(s) = &c.session {
                let granted = s.turn.is_some();
                assert_eq!(granted, turn && s.room.is_some(), "{conn}'s TURN grant");
            }
        }
    }

    /// The rules of `park.rs` and the counters: a loading room does not exist yet, its
    /// waiters are parked for it (helloed, in no room), and every parked connection waits
    /// for exactly one loading room.
    #[cfg(test)]
    fn check_park_invariants(&self) {
        assert!(self.ready.is_none(), "a seed outlived its release");
        let detached = self
            .conns
            .values()
            .filter(|c| c.detached_until.is_some())
            .count();
        assert_eq!(detached, self.detached_total, "detached counter");
        let mut waiting = std::collections::HashSet::new();
        for (room, p) in &self.pending {
            assert!(!self.rooms.contains_key(room), "{room} exists and loads");
            for c in &p.waiting {
                assert!(waiting.insert(*c), "{c} waits twice");
                let conn = self.conns.get(c).expect("waiters are connected");
                assert_eq!(conn.parked.as_ref().map(|p| &p.room), Some(room));
                let s = conn.session.as_ref().expect("waiters are helloed");
                assert!(s.room.is_none(), "{c} waits while in a room");
            }
        }
        for (c, conn) in &self.conns {
            assert_eq!(
                conn.parked.is_some(),
                waiting.contains(c),
                "{c} parked but not waiting"
            );
        }
    }
}
