//! TURN credentials for room members only (issue 12 items 6 and 8): `welcome` holds none;
//! a join gets `iceServers` with credentials for a TURN user new with each membership,
//! right before `joined`; they are minted again every half lifetime and on a resume; and
//! the membership's end, never a mere drop, revokes the user once.

mod common;

use common::{room, Harness};
use confab_proto::{ClientMsg, IceServer, PeerId, ServerMsg, PROTOCOL_VERSION};
use confab_signal::{ConnId, HubConfig, IceMinter, Input, Output, TurnAdvert};
use std::time::Duration;

const TTL: Duration = Duration::from_secs(600);

fn config() -> HubConfig {
    let advert = TurnAdvert {
        external_ip: None,
        listen: "0.0.0.0:3478".parse().unwrap(),
        tls_port: Some(5349),
        fallback_host: "fallback".into(),
        secret: b"s3cret-s3cret-s3cret".to_vec(),
        ttl: TTL,
    };
    HubConfig {
        ice: IceMinter::new(Vec::new(), Some(advert)),
        resume_grace: Duration::from_secs(30),
        ..HubConfig::default()
    }
}

/// Connects `conn` by host `call.test` and says hello; returns its peer id and token.
fn hello(h: &mut Harness, conn: u64) -> (ConnId, PeerId, String) {
    let c = ConnId(conn);
    h.tick(Input::Connect {
        conn: c,
        host: Some("call.test".into()),
        ip: None,
    });
    let hello = ClientMsg::Hello {
        version: PROTOCOL_VERSION,
        resume: None,
    };
    h.frame(c, hello);
    match h.drain().as_slice() {
        [Output::Send {
            msg:
                ServerMsg::Welcome {
                    peer_id,
                    ice_servers,
                    resume_token,
                    ..
                },
            ..
        }] => {
            assert!(
                ice_servers.iter().all(|s| s.credential.is_none()),
                "{ice_servers:?}"
            );
            (c, peer_id.clone(), resume_token.clone().unwrap())
        }
        other => panic!("expected a welcome, got {other:?}"),
    }
}

/// The TURN entry's (username, credential) in `servers`.
fn turn_entry(servers: &[IceServer]) -> (String, String) {
    let turn = servers
        .iter()
        .find(|s| s.urls.iter().any(|u| u.starts_with("turn:")))
        .expect("a TURN entry");
    (
        turn.username.clone().unwrap(),
        turn.credential.clone().unwrap(),
    )
}

/// The `(expiry, user)` of the TURN username in the `iceServers` to `conn` in `out`.
fn minted_for(out: &[Output], conn: ConnId) -> Option<(u64, String)> {
    out.iter().find_map(|o| match o {
        Output::Send {
            to,
            msg: ServerMsg::IceServers { ice_servers },
        } if *to == conn => {
            let (username, _) = turn_entry(ice_servers);
            let (expiry, user) = username.split_once(':').unwrap();
            Some((expiry.parse().unwrap(), user.to_owned()))
        }
        _ => None,
    })
}

fn revocations(out: &[Output]) -> Vec<(String, u64)> {
    out.iter()
        .filter_map(|o| match o {
            Output::RevokeTurnUser { user, until_unix } => Some((user.clone(), *until_unix)),
            _ => None,
        })
        .collect()
}

fn join(h: &mut Harness, c: ConnId, room_name: &str) -> Vec<Output> {
    h.join(c, room_name, "Ada");
    h.drain()
}

#[test]
fn a_join_gets_turn_credentials_for_a_new_member_user_right_before_joined() {
    let mut h = Harness::with_config(config());
    let (c, peer, _) = hello(&mut h, 1);
    let out = join(&mut h, c, "r");
    let kinds: Vec<&str> = out
        .iter()
        .map(|o| match o {
            Output::Send { msg, .. } => msg.type_name(),
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["iceServers", "joined"]);
    let Output::Send {
        msg: ServerMsg::IceServers { ice_servers },
        ..
    } = &out[0]
    else {
        unreachable!()
    };
    assert_eq!(ice_servers[0].urls, ["stun:call.test:3478"]);
    assert_eq!(
        ice_servers[1].urls,
        [
            "turn:call.test:3478?transport=udp",
            "turn:call.test:3478?transport=tcp",
            "turns:call.test:5349?transport=tcp"
        ]
    );
    let (expiry, user) = minted_for(&out, c).unwrap();
    assert_eq!(expiry, h.wall_ms / 1000 + TTL.as_secs());
    assert_ne!(user, peer.as_str(), "a member user, not the peer id");
    let (username, credential) = turn_entry(ice_servers);
    assert_eq!(username, format!("{expiry}:{user}"));
    assert_eq!(credential.len(), 28, "base64 of an HMAC-SHA1");

    // Leaving and joining again is a new membership: a new user.
    h.frame(c, ClientMsg::Leave);
    let out = h.drain();
    assert_eq!(revocations(&out), [(user.clone(), expiry)]);
    let again = minted_for(&join(&mut h, c, "s"), c).unwrap().1;
    assert_ne!(again, user);
}

#[test]
fn a_refused_join_gets_no_credentials() {
    let mut h = Harness::with_config(HubConfig {
        max_peers_per_room: 1,
        ..config()
    });
    let (a, _, _) = hello(&mut h, 1);
    join(&mut h, a, "r");
    let (b, _, _) = hello(&mut h, 2);
    let out = join(&mut h, b, "r");
    assert!(minted_for(&out, b).is_none(), "{out:?}");
    assert!(matches!(
        out.as_slice(),
        [Output::Send {
            msg: ServerMsg::Error { .. },
            ..
        }]
    ));
}

#[test]
fn members_get_fresh_credentials_every_half_lifetime_for_the_same_user() {
    let mut h = Harness::with_config(config());
    let (c, _, _) = hello(&mut h, 1);
    let (first, user) = minted_for(&join(&mut h, c, "r"), c).unwrap();
    let due = h.hub.poll_timeout().expect("a renewal is scheduled");
    assert!(due <= h.now + TTL / 2);
    let mut last = first;
    for _ in 0..4 {
        let at = h.hub.poll_timeout().unwrap();
        h.timeout_at(at);
        let out = h.drain();
        let (expiry, again) = minted_for(&out, c).expect("fresh credentials");
        assert_eq!(again, user, "the same membership");
        assert!(expiry > last && expiry >= h.wall_ms / 1000 + TTL.as_secs());
        last = expiry;
    }
    // Leaving revokes the user until the last expiry minted, and stops the renewals.
    h.frame(c, ClientMsg::Leave);
    assert_eq!(revocations(&h.drain()), [(user, last)]);
    h.advance(TTL * 2);
    h.input(Input::Timeout);
    assert!(minted_for(&h.drain(), c).is_none());
}

#[test]
fn only_the_end_of_a_membership_revokes_its_user_and_only_once() {
    let mut h = Harness::with_config(config());
    // A clean close leaves at once: revoked.
    let (a, _, _) = hello(&mut h, 1);
    let (_, user_a) = minted_for(&join(&mut h, a, "r"), a).unwrap();
    h.close(a);
    assert_eq!(revocations(&h.drain()).len(), 1);

    // A kick: revoked (the host is another member).
    let (host, _, _) = hello(&mut h, 2);
    join(&mut h, host, "k");
    let (b, peer_b, _) = hello(&mut h, 3);
    let (_, user_b) = minted_for(&join(&mut h, b, "k"), b).unwrap();
    h.frame(host, ClientMsg::Kick { peer: peer_b });
    let out = h.drain();
    assert_eq!(
        revocations(&out).iter().map(|r| &r.0).collect::<Vec<_>>(),
        [&user_b]
    );
    assert_ne!(user_a, user_b);

    // A drop keeps the membership for the grace: nothing revoked, no renewal sent to a
    // socket that is gone; the resume gets fresh credentials for the same user first.
    let (d, _, token) = hello(&mut h, 4);
    let (_, user_d) = minted_for(&join(&mut h, d, "r"), d).unwrap();
    h.disconnect(d);
    assert!(revocations(&h.drain()).is_empty());
    h.advance(Duration::from_secs(20));
    h.input(Input::Timeout);
    let d2 = ConnId(5);
    h.tick(Input::Connect {
        conn: d2,
        host: Some("call.test".into()),
        ip: None,
    });
    let resume = ClientMsg::Hello {
        version: PROTOCOL_VERSION,
        resume: Some(token),
    };
    h.frame(d2, resume);
    let out = h.drain();
    let kinds: Vec<&str> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, msg } if *to == d2 => Some(msg.type_name()),
            _ => None,
        })
        .collect();
    assert_eq!(kinds[..3], ["welcome", "iceServers", "joined"]);
    assert_eq!(minted_for(&out, d2).unwrap().1, user_d);
    assert!(revocations(&out).is_empty());

    // A drop whose grace runs out: revoked then, once.
    h.disconnect(d2);
    assert!(revocations(&h.drain()).is_empty());
    h.advance(Duration::from_secs(31));
    h.input(Input::Timeout);
    let out = h.drain();
    assert_eq!(
        revocations(&out).iter().map(|r| &r.0).collect::<Vec<_>>(),
        [&user_d]
    );
    h.disconnect(host);
    h.advance(Duration::from_secs(31));
    h.input(Input::Timeout);
    assert_eq!(revocations(&h.drain()).len(), 1, "the host's own, once");
    assert_eq!(h.hub.room_count(), 0);
    assert!(h.hub.peers_in(&room("r")).is_empty());
}

#[test]
fn configured_servers_with_credentials_go_to_members_only_and_need_no_revocation() {
    let stun = IceServer {
        urls: vec!["stun:stun.test:3478".into()],
        username: None,
        credential: None,
    };
    let turn = IceServer {
        urls: vec!["turn:turn.test:3478".into()],
        username: Some("static".into()),
        credential: Some("pw".into()),
    };
    let mut h = Harness::with_config(HubConfig {
        ice: IceMinter::new(vec![stun.clone(), turn.clone()], None),
        ..HubConfig::default()
    });
    let (c, _, _) = hello(&mut h, 1);
    let out = join(&mut h, c, "r");
    let want = ServerMsg::IceServers {
        ice_servers: vec![stun, turn],
    };
    assert!(out.contains(&Output::Send { to: c, msg: want }), "{out:?}");
    assert_eq!(h.hub.poll_timeout(), None, "nothing to renew");
    h.frame(c, ClientMsg::Leave);
    assert!(revocations(&h.drain()).is_empty());
}

#[test]
fn without_member_servers_a_join_sends_no_ice_servers() {
    let mut h = Harness::new();
    let (c, _) = h.ready(1);
    h.join(c, "r", "Ada");
    let out = h.drain();
    assert_eq!(out.len(), 1, "joined only: {out:?}");
}
