//! The delivery checker: every message from a sender arrives exactly once and in the
//! order it was sent.
//!
//! Each receiver keeps one [`SeqChecker`] per (sender, stream). Senders number their
//! messages 0, 1, 2, … per stream; the checker sees them in arrival order and, given the
//! count the sender finally sent, classifies every deviation as loss, duplicate or
//! reordering.

use std::collections::BTreeSet;

/// What one arrival was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// The next one expected.
    InOrder,
    /// Ahead of the next expected one: the ones skipped are missing (so far).
    Gap,
    /// One that was missing arrived late: reordered.
    Late,
    /// Already seen: a duplicate.
    Duplicate,
}

/// Arrivals of one (sender, stream) at one receiver.
#[derive(Clone, Debug, Default)]
pub struct SeqChecker {
    /// One past the highest sequence number seen.
    next: u64,
    /// Below `next` but not seen yet.
    missing: BTreeSet<u64>,
    received: u64,
    duplicates: u64,
    reordered: u64,
}

/// The verdict on one (sender, stream) at one receiver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Distinct messages received.
    pub received: u64,
    /// Sent but never received.
    pub lost: u64,
    /// Received more than once (extra copies).
    pub duplicates: u64,
    /// Received after a later one from the same sender.
    pub reordered: u64,
    /// Received with a number the sender never sent.
    pub phantom: u64,
}

impl Tally {
    /// Exactly once and in order.
    pub fn is_clean(&self) -> bool {
        self.lost == 0 && self.duplicates == 0 && self.reordered == 0 && self.phantom == 0
    }

    /// Adds another tally's counts to this one.
    pub fn add(&mut self, o: &Tally) {
        self.received += o.received;
        self.lost += o.lost;
        self.duplicates += o.duplicates;
        self.reordered += o.reordered;
        self.phantom += o.phantom;
    }
}

impl SeqChecker {
    /// Records the arrival of sequence number `seq`.
    pub fn observe(&mut self, seq: u64) -> Arrival {
        if seq == self.next {
            self.next += 1;
            self.received += 1;
            Arrival::InOrder
        } else if seq > self.next {
            // Bounded by the caller: sequence numbers come from a sender we run, and a
            // gap this large would mean a corrupt payload; cap it so memory stays small.
            let gap_end = seq.min(self.next + 1_000_000);
            self.missing.extend(self.next..gap_end);
            self.next = seq + 1;
            self.received += 1;
            Arrival::Gap
        } else if self.missing.remove(&seq) {
            self.received += 1;
            self.reordered += 1;
            Arrival::Late
        } else {
            self.duplicates += 1;
            Arrival::Duplicate
        }
    }

    /// The verdict, given that the sender sent sequence numbers `0..sent`.
    pub fn finish(&self, sent: u64) -> Tally {
        let phantom = self.next.saturating_sub(sent);
        // Missing ones below `sent`, and never-seen ones at the tail.
        let missing_below = self.missing.range(..sent).count() as u64;
        let tail = sent.saturating_sub(self.next);
        Tally {
            received: self.received.saturating_sub(phantom),
            lost: missing_below + tail,
            duplicates: self.duplicates,
            reordered: self.reordered,
            phantom,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seqs: &[u64], sent: u64) -> Tally {
        let mut c = SeqChecker::default();
        for &s in seqs {
            c.observe(s);
        }
        c.finish(sent)
    }

    #[test]
    fn exactly_once_in_order_is_clean() {
        let t = run(&[0, 1, 2, 3, 4], 5);
        assert!(t.is_clean(), "{t:?}");
        assert_eq!(t.received, 5);
    }

    #[test]
    fn nothing_sent_nothing_received_is_clean() {
        assert!(run(&[], 0).is_clean());
    }

    #[test]
    fn loss_in_the_middle_and_at_the_tail() {
        let t = run(&[0, 2, 3], 6);
        assert_eq!(t.lost, 3, "1, 4 and 5 never came: {t:?}");
        assert_eq!((t.duplicates, t.reordered), (0, 0));
        assert!(!t.is_clean());
    }

    #[test]
    fn everything_lost() {
        let t = run(&[], 4);
        assert_eq!(t.lost, 4);
    }

    #[test]
    fn duplicates_are_counted_not_as_received() {
        let t = run(&[0, 1, 1, 2, 0], 3);
        assert_eq!(t.duplicates, 2);
        assert_eq!(t.received, 3);
        assert_eq!(t.lost, 0);
        assert!(!t.is_clean());
    }

    #[test]
    fn reordering_is_detected_and_not_loss() {
        let mut c = SeqChecker::default();
        assert_eq!(c.observe(0), Arrival::InOrder);
        assert_eq!(c.observe(2), Arrival::Gap);
        assert_eq!(c.observe(1), Arrival::Late);
        assert_eq!(c.observe(1), Arrival::Duplicate);
        assert_eq!(c.observe(3), Arrival::InOrder);
        let t = c.finish(4);
        assert_eq!(t.reordered, 1);
        assert_eq!(t.lost, 0);
        assert_eq!(t.duplicates, 1);
        assert_eq!(t.received, 4);
    }

    #[test]
    fn a_number_never_sent_is_phantom() {
        let t = run(&[0, 1, 2], 2);
        assert_eq!(t.phantom, 1);
        assert!(!t.is_clean());
    }

    #[test]
    fn tallies_add_up() {
        let mut a = run(&[0, 2], 3);
        a.add(&run(&[0, 0], 1));
        assert_eq!((a.received, a.lost, a.duplicates), (3, 1, 1));
    }
}
