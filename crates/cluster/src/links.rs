//! Sequence numbers on each pair of nodes: what this node sent each addressee, and what
//! it last got from each sender.
//!
//! Redis pub/sub delivers at most once and in order per publisher connection, so a
//! message is either next, lost (a jump), or a replay the receiver has seen. A jump
//! means something is missing: the caller resynchronises the rooms the two nodes share.
//! Each run of a node has its own *epoch* (random at start): a node restarted under the
//! same name starts its numbers over, and its first message is taken as the first.

use confab_signal::NodeId;
use std::collections::HashMap;

/// What a received sequence number means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// The next one (or the first from this sender): use it.
    Next,
    /// `missed` messages before it are lost: use it, and resynchronise.
    Gap {
        /// How many were skipped.
        missed: u64,
    },
    /// Seen already (or older): drop it.
    Stale,
}

/// Sequence numbers out and in.
#[derive(Debug, Default)]
pub struct Links {
    sent: HashMap<NodeId, u64>,
    /// Each sender's epoch and the last number got in it.
    got: HashMap<NodeId, (u64, u64)>,
}

impl Links {
    /// The number of the next message to `to` (from 1).
    pub fn next_out(&mut self, to: &NodeId) -> u64 {
        let n = self.sent.entry(to.clone()).or_insert(0);
        *n += 1;
        *n
    }

    /// Message `seq` of `from`'s run `epoch` arrived.
    pub fn arrived(&mut self, from: &NodeId, epoch: u64, seq: u64) -> Arrival {
        let Some((known, last)) = self.got.get_mut(from) else {
            self.got.insert(from.clone(), (epoch, seq));
            // A node met in the middle of its life: what it sent before is not ours.
            return Arrival::Next;
        };
        if *known != epoch {
            // Restarted: a new run of that node.
            (*known, *last) = (epoch, seq);
            return Arrival::Next;
        }
        if seq <= *last {
            return Arrival::Stale;
        }
        let missed = seq - *last - 1;
        *last = seq;
        if missed == 0 {
            Arrival::Next
        } else {
            Arrival::Gap { missed }
        }
    }

    /// `node` is gone (dead or drained): forget both directions, so a node that comes
    /// back under the same name starts over.
    pub fn forget(&mut self, node: &NodeId) {
        self.sent.remove(node);
        self.got.remove(node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_gap_and_stale() {
        let (mut l, a) = (Links::default(), NodeId("a".into()));
        assert_eq!(l.arrived(&a, 1, 5), Arrival::Next);
        assert_eq!(l.arrived(&a, 1, 6), Arrival::Next);
        assert_eq!(l.arrived(&a, 1, 6), Arrival::Stale);
        assert_eq!(l.arrived(&a, 1, 9), Arrival::Gap { missed: 2 });
        assert_eq!(l.arrived(&a, 1, 3), Arrival::Stale);
        assert_eq!(l.arrived(&a, 2, 1), Arrival::Next, "a restarted node");
        assert_eq!(l.arrived(&a, 2, 2), Arrival::Next);
        assert_eq!(l.next_out(&a), 1);
        assert_eq!(l.next_out(&a), 2);
        l.forget(&a);
        assert_eq!(l.next_out(&a), 1);
        assert_eq!(l.arrived(&a, 2, 1), Arrival::Next, "forgotten: met anew");
    }
}
