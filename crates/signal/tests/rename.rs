//! Renaming yourself: the new name goes to everyone in the room (the requester with its
//! request id), is what a later joiner sees, shares the chat's rate limits, and is
//! refused to a join token's holder (the token named it). The name rules are the
//! decoder's, as for `join` (fixtures/protocol/invalid/rename-empty-name.json).

mod common;

use common::*;
use confab_proto::{ClientMsg, ErrorCode, RequestId, Role, ServerMsg};
use confab_signal::HubConfig;

fn rename(name: &str) -> ClientMsg {
    ClientMsg::Rename { name: name.into() }
}

#[test]
fn a_new_name_reaches_everyone_in_the_room_and_later_joiners() {
    let mut h = Harness::new();
    let (a, ida) = h.joined(1, "r", "Ada");
    let (b, _) = h.joined(2, "r", "Bob");
    let (other, _) = h.joined(3, "s", "Cy");
    h.drain();
    h.frame_id(a, Some(RequestId::Num(7)), rename("Ada Lovelace"));
    let out = h.drain();
    let renamed = |ref_| ServerMsg::Renamed {
        ref_,
        peer_id: ida.clone(),
        name: "Ada Lovelace".into(),
    };
    assert_eq!(to(&out, a), [renamed(Some(RequestId::Num(7)))]);
    assert_eq!(to(&out, b), [renamed(None)]);
    assert!(to(&out, other).is_empty());
    // Someone joining later sees the new name.
    let (c, _) = h.ready(4);
    h.join(c, "r", "Cy");
    let joined = h.drain();
    let names: Vec<String> = to(&joined, c)
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Joined { peers, .. } => {
                Some(peers.iter().map(|p| p.name.clone()).collect::<Vec<_>>())
            }
            _ => None,
        })
        .flatten()
        .collect();
    assert!(names.contains(&"Ada Lovelace".to_owned()), "{names:?}");
}

#[test]
fn a_rename_shares_the_chat_budget_and_needs_a_room() {
    let mut h = Harness::with_config(HubConfig {
        chat_burst: 1,
        ..HubConfig::default()
    });
    let (lobby, _) = h.ready(9);
    h.expect_error(lobby, rename("Ghost"), ErrorCode::NotJoined);
    let (a, _) = h.joined(1, "r", "Ada");
    h.drain();
    h.frame(a, rename("Ada L."));
    let out = h.drain();
    assert!(
        to(&out, a)
            .iter()
            .any(|m| matches!(m, ServerMsg::Renamed { name, .. } if name == "Ada L.")),
        "{out:?}"
    );
    h.expect_error(a, rename("Ada again"), ErrorCode::RateLimited);
}

#[test]
fn a_join_tokens_holder_keeps_its_name() {
    let mut h = Harness::new();
    let (t, _) = h.ready(1);
    h.join_as(t, "r", "Teacher", Role::Host);
    h.drain();
    h.expect_error(t, rename("Someone else"), ErrorCode::NameFixed);
}
