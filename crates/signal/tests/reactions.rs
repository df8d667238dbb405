//! Reactions: one goes to everyone in the room (the sender too, and no other room), it
//! shares the chat's rate limits, and it needs a room.

mod common;

use common::*;
use confab_proto::{ClientMsg, ErrorCode, Reaction, ServerMsg};
use confab_signal::HubConfig;

fn react(reaction: Reaction) -> ClientMsg {
    ClientMsg::React { reaction }
}

#[test]
fn a_reaction_reaches_everyone_in_the_room_and_no_one_else() {
    let mut h = Harness::new();
    let (a, ida) = h.joined(1, "r", "Ada");
    let (b, _) = h.joined(2, "r", "Bob");
    let (other, _) = h.joined(3, "s", "Cy");
    h.drain();
    h.frame(a, react(Reaction::Clap));
    let out = h.drain();
    let reacted = ServerMsg::Reacted {
        peer: ida,
        reaction: Reaction::Clap,
    };
    assert_eq!(to(&out, b), std::slice::from_ref(&reacted));
    assert_eq!(to(&out, a), [reacted]);
    assert!(to(&out, other).is_empty());
}

#[test]
fn reactions_share_the_chat_budget_and_need_a_room() {
    let mut h = Harness::with_config(HubConfig {
        chat_burst: 2,
        ..HubConfig::default()
    });
    let (lobby, _) = h.ready(9);
    h.expect_error(lobby, react(Reaction::Heart), ErrorCode::NotJoined);
    let (a, _) = h.joined(1, "r", "Ada");
    h.joined(2, "r", "Bob");
    h.drain();
    h.frame(a, react(Reaction::Party));
    h.frame(
        a,
        ClientMsg::Chat {
            text: "and a word".into(),
            key: None,
        },
    );
    h.drain();
    // Two in the burst, taken by a reaction and a message: the next is refused (one
    // error, to the sender only: `expect_error` checks that nothing else went out).
    h.expect_error(a, react(Reaction::Laugh), ErrorCode::RateLimited);
}
