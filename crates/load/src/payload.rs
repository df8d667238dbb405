//! The load payload carried in a chat `text` or an offer `sdp`: who sent it, its
//! sequence number in its stream, and when it was (scheduled to be) sent.

/// A decoded payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payload {
    /// Sender's client index.
    pub sender: u32,
    /// Sequence number within the sender's stream (chats; or offers to one receiver).
    pub seq: u64,
    /// Send time in microseconds since the run's time base.
    pub t_us: u64,
}

impl Payload {
    /// The wire text; valid as a chat text (no control characters) and as an sdp.
    pub fn encode(&self) -> String {
        format!("load s={} n={} t={}", self.sender, self.seq, self.t_us)
    }

    /// Parses [`Payload::encode`]'s output; `None` for anything else.
    pub fn decode(text: &str) -> Option<Payload> {
        let mut it = text.strip_prefix("load ")?.split(' ');
        let mut field = |k: &str| it.next()?.strip_prefix(k)?.parse::<u64>().ok();
        let sender = u32::try_from(field("s=")?).ok()?;
        let seq = field("n=")?;
        let t_us = field("t=")?;
        Some(Payload { sender, seq, t_us })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let p = Payload {
            sender: 9999,
            seq: 12,
            t_us: 345_678,
        };
        assert_eq!(Payload::decode(&p.encode()), Some(p));
    }

    #[test]
    fn rejects_other_text() {
        for t in [
            "hello",
            "load s=1 n=2",
            "load s=x n=2 t=3",
            "load s=1 n=2 t=-3",
        ] {
            assert_eq!(Payload::decode(t), None, "{t}");
        }
    }
}
