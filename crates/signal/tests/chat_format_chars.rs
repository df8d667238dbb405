//! Chat text cannot reorder or hide what others see (issue 12 item 24): a right-to-left
//! override or a zero-width character in a `chat` frame is removed by the decoder
//! before the room stores and delivers it, to everyone including the sender; joiners
//! that emoji sequences need stay; a message that was nothing but such characters is
//! refused (`bad_text`).

mod common;

use common::{room, Harness};
use confab_proto::{decode_client, ErrorCode, ServerMsg};
use confab_signal::Output;

/// The texts of every chat delivered in `out`.
fn delivered(out: &[Output]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send {
                msg: ServerMsg::Chat { message, .. },
                ..
            } => Some(message.text.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn overrides_and_invisible_characters_never_reach_the_room() {
    let mut h = Harness::new();
    let (a, _) = h.joined(1, "r", "Ada");
    let (_b, _) = h.joined(2, "r", "Grace");
    h.drain();
    // "see \u{202E}gnp.exe" would show as "see exe.png"; "A\u{200B}da" passes for "Ada".
    let raw = r#"{"type":"chat","text":"see \u202egnp.exe, ask A\u200bda \ud83d\udc68\u200d\ud83d\udc69"}"#;
    let frame = decode_client(raw).expect("accepted, with the characters removed");
    h.frame(a, frame.msg);
    let want = "see gnp.exe, ask Ada \u{1F468}\u{200D}\u{1F469}";
    assert_eq!(delivered(&h.drain()), vec![want, want], "sender and Grace");
    assert_eq!(h.hub.chat_history(&room("r"))[0].text, want, "and kept so");

    let invisible = r#"{"type":"chat","text":"\u200b\u202e\u2066"}"#;
    assert_eq!(
        decode_client(invisible).unwrap_err().code,
        ErrorCode::BadText
    );
}
