//! Any bytes as a client text frame: decoding never panics, and whatever decodes
//! re-encodes to something that decodes to the same frame.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match confab_proto::decode_client(text) {
        Ok(frame) => {
            let again = serde_json::to_string(&frame).expect("a decoded frame serializes");
            let back = confab_proto::decode_client(&again).expect("re-encoded frame decodes");
            assert_eq!(back, frame);
        }
        Err(e) => {
            let msg: confab_proto::ServerMsg = e.into();
            serde_json::to_string(&msg).expect("errors serialize");
        }
    }
});
