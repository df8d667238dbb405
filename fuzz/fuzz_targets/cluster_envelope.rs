//! A node's reading of what arrives on its Redis channel: any bytes through
//! `Envelope::decode` and the cluster core (sequence numbers, the hub's inputs). Nothing
//! may panic; what decodes re-encodes to an envelope that decodes to itself.
#![no_main]

use confab_cluster::envelope::Envelope;
use confab_cluster::{Input, Node};
use confab_signal::{NodeId, Now};
use libfuzzer_sys::fuzz_target;
use std::time::Instant;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = Envelope::decode(data) {
        assert_eq!(Envelope::decode(&env.encode()).as_ref(), Ok(&env));
    }
    let mut node = Node::new(NodeId("fuzz".into()), 1);
    let now = Now { mono: Instant::now(), unix_ms: 1_700_000_000_000 };
    for chunk in data.split(|&b| b == 0) {
        node.handle(now, Input::Received(chunk.to_vec()));
        while node.poll_output().is_some() {}
    }
});
