//! What a subscriber counts per received RTP stream: unique packets and the span of
//! extended sequence numbers seen, so loss is measured (a packet never received inside
//! the span is lost; a retransmission that repairs it counts as received, a duplicate
//! does not).

/// Sequence numbers remembered behind the highest one, to tell a late or retransmitted
/// packet from a duplicate. Older arrivals are ignored.
const WINDOW: u64 = 1024;

/// One received stream's counters.
#[derive(Debug, Default, Clone)]
pub struct SeqTracker {
    /// Highest extended sequence number seen.
    highest: Option<u64>,
    /// Bit `i` of word `(s % WINDOW) / 64`: sequence `s` seen, for `s` within `WINDOW`
    /// of `highest`.
    seen: Vec<u64>,
    /// Unique packets received.
    pub received: u64,
    /// Packets the span says were sent: highest - first + 1.
    pub expected: u64,
    /// Copies of packets already counted.
    pub duplicates: u64,
}

impl SeqTracker {
    /// Counts one arrival of extended sequence number `seq`; true if it was new.
    pub fn observe(&mut self, seq: u64) -> bool {
        if self.seen.is_empty() {
            self.seen = vec![0; (WINDOW / 64) as usize];
        }
        let Some(high) = self.highest else {
            self.highest = Some(seq);
            self.expected = 1;
            self.received = 1;
            self.mark(seq);
            return true;
        };
        if seq > high {
            // Clear the slots the window slides over.
            let step = (seq - high).min(WINDOW);
            for s in high + 1..=high + step {
                self.unmark(s);
            }
            self.expected += seq - high;
            self.highest = Some(seq);
        } else if high - seq >= WINDOW {
            return false;
        } else if self.is_marked(seq) {
            self.duplicates += 1;
            return false;
        }
        self.mark(seq);
        self.received += 1;
        true
    }

    fn slot(seq: u64) -> (usize, u64) {
        let i = seq % WINDOW;
        ((i / 64) as usize, 1 << (i % 64))
    }

    fn mark(&mut self, seq: u64) {
        let (w, b) = Self::slot(seq);
        self.seen[w] |= b;
    }

    fn unmark(&mut self, seq: u64) {
        let (w, b) = Self::slot(seq);
        self.seen[w] &= !b;
    }

    fn is_marked(&self, seq: u64) -> bool {
        let (w, b) = Self::slot(seq);
        self.seen[w] & b != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_stream_has_no_loss() {
        let mut t = SeqTracker::default();
        for s in 100..200 {
            assert!(t.observe(s));
        }
        assert_eq!((t.received, t.expected), (100, 100));
    }

    #[test]
    fn gaps_are_lost_until_a_retransmission_fills_them() {
        let mut t = SeqTracker::default();
        for s in [1, 2, 5, 6] {
            t.observe(s);
        }
        assert_eq!((t.received, t.expected), (4, 6));
        assert!(t.observe(3));
        assert!(!t.observe(3));
        assert_eq!((t.received, t.expected, t.duplicates), (5, 6, 1));
    }

    #[test]
    fn a_jump_beyond_the_window_forgets_the_old_slots() {
        let mut t = SeqTracker::default();
        t.observe(10);
        t.observe(10 + WINDOW * 3);
        assert_eq!(t.expected, WINDOW * 3 + 1);
        // The slot of 10 is reused by 10 + 3 * WINDOW; 10 + WINDOW is new, not a copy.
        assert!(t.observe(10 + WINDOW * 2 + 5));
        assert!(!t.observe(5));
    }
}
