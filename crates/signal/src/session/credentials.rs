//! TURN credentials for room members only, bound to the membership.
//!
//! `welcome` carries the public ICE servers (STUN). When a connection enters a room it
//! gets `iceServers`, the full list, right before its `joined`: with confab's TURN, the
//! credentials name a *TURN user* drawn fresh for this membership, so the TURN server's
//! quota counts the member, not the credentials. While the member stays, new credentials
//! for the same user follow every half credential lifetime (a peer connection created an
//! hour into a stay must not get expired ones); a resume gets them at once. Allocations
//! already made keep refreshing with the credentials they began with (the TURN core
//! allows that, see `confab_turn`), so a short lifetime does not cut calls.
//!
//! When the membership ends for good (leave, kick, clean close, the end of the resume
//! grace, never a mere drop), the hub emits [`Output::RevokeTurnUser`]: the driver has the
//! TURN server free the user's allocations and refuse its credentials, which would
//! otherwise stay good until they expire. The next join draws a new user.

use super::hub::{Hub, Session};
use super::timers::Timer;
use crate::{ConnId, Output};
use confab_proto::{PeerId, ServerMsg};
use std::time::Instant;

/// A membership's TURN user and where its credentials stand.
#[derive(Debug)]
pub(crate) struct TurnGrant {
    /// The TURN REST user (the part of the usernames after the expiry): random, new for
    /// each membership.
    pub(crate) user: String,
    /// The latest expiry minted for it (unix seconds): its revocation lasts until then.
    pub(crate) until: u64,
    /// When its credentials are minted again ([`Timer::Credentials`]).
    pub(crate) renew_at: Instant,
}

impl Hub {
    /// `conn` entered a room: with member-only ICE servers configured, a TURN user is
    /// drawn for the membership (with confab's TURN) and `iceServers` sent.
    pub(crate) fn member_entered(&mut self, conn: ConnId) {
        if !self.config.ice.has_member_servers() {
            return;
        }
        if self.config.ice.credential_ttl().is_some() {
            let user = self.rng.peer_id().as_str().to_owned();
            let grant = TurnGrant {
                user,
                until: 0,
                renew_at: self.now.mono,
            };
            if let Some(s) = self.conns.get_mut(&conn).and_then(|c| c.session.as_mut()) {
                s.turn = Some(grant);
            }
        }
        self.send_member_servers(conn);
    }

    /// Sends `conn` (a member) `iceServers` with credentials minted now for its TURN user,
    /// and schedules the next minting at half their lifetime.
    pub(crate) fn send_member_servers(&mut self, conn: ConnId) {
        let unix = self.now.unix_ms / 1000;
        let ttl = self.config.ice.credential_ttl();
        let Some(state) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(session) = state.session.as_mut() else {
            return;
        };
        let user = match (&mut session.turn, ttl) {
            (Some(grant), Some(ttl)) => {
                grant.until = grant.until.max(unix.saturating_add(ttl.as_secs()));
                grant.renew_at = self.now.mono + ttl / 2;
                let peer = session.peer_id.clone();
                self.timers
                    .schedule(grant.renew_at, Timer::Credentials { peer });
                grant.user.clone()
            }
            _ => String::new(),
        };
        let host = state.host.as_deref();
        let ice_servers = self.config.ice.member_servers(&user, host, unix);
        self.send(conn, ServerMsg::IceServers { ice_servers });
    }

    /// [`Timer::Credentials`] of `peer` due at `at`: fresh credentials, unless the timer
    /// is stale or the peer's socket is gone (a resume sends them).
    pub(crate) fn credentials_due(&mut self, peer: &PeerId, at: Instant) {
        let Some(&conn) = self.by_peer.get(peer) else {
            return;
        };
        if self.credentials_timer_is_live(conn, at)
            && self
                .conns
                .get(&conn)
                .is_some_and(|c| c.detached_until.is_none())
        {
            self.send_member_servers(conn);
        }
    }

    /// Whether `conn`'s credentials are next minted at `at`.
    pub(crate) fn credentials_timer_is_live(&self, conn: ConnId, at: Instant) -> bool {
        self.session(conn)
            .and_then(|s| s.turn.as_ref())
            .is_some_and(|g| g.renew_at == at)
    }

    /// The membership of `session` ended for good: its TURN user, if any, is revoked.
    pub(crate) fn revoke_turn(&mut self, session: &mut Session) {
        if let Some(grant) = session.turn.take() {
            self.out.push_back(Output::RevokeTurnUser {
                user: grant.user,
                until_unix: grant.until,
            });
        }
    }
}
