//! The node directory: who is alive, from the heartbeats every node writes to Redis.
//!
//! Each node writes its wall-clock time under its name every second and reads everyone's
//! back. A node whose last beat is older than [`DEAD_AFTER`] (or that has vanished from
//! the registry) is dead: reported once, when it is first seen so.

use confab_signal::NodeId;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Silence after which a node is dead.
pub const DEAD_AFTER: Duration = Duration::from_secs(5);

/// What changed in the directory at a reading.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Nodes alive now that were not before.
    pub up: Vec<NodeId>,
    /// Nodes dead now that were alive before.
    pub down: Vec<NodeId>,
}

/// The nodes known alive, with their last beat (unix ms).
#[derive(Debug, Default)]
pub struct Directory {
    alive: HashMap<NodeId, u64>,
    /// Nodes seen alive, then dead (and not back since).
    dead: HashSet<NodeId>,
}

impl Directory {
    /// A reading of the registry at wall-clock `now_ms`: every node's last beat.
    pub fn read(&mut self, now_ms: u64, beats: &[(NodeId, u64)]) -> Changes {
        let dead_after = u64::try_from(DEAD_AFTER.as_millis()).unwrap_or(u64::MAX);
        let live: HashMap<&NodeId, u64> = beats
            .iter()
            .filter(|(_, at)| now_ms.saturating_sub(*at) < dead_after)
            .map(|(n, at)| (n, *at))
            .collect();
        let mut changes = Changes::default();
        for node in self.alive.keys() {
            if !live.contains_key(node) {
                changes.down.push(node.clone());
            }
        }
        for node in live.keys() {
            if !self.alive.contains_key(*node) {
                changes.up.push((*node).clone());
            }
        }
        changes.down.sort();
        changes.up.sort();
        for node in &changes.down {
            self.dead.insert(node.clone());
        }
        for node in &changes.up {
            self.dead.remove(node);
        }
        self.alive = live.into_iter().map(|(n, at)| (n.clone(), at)).collect();
        changes
    }

    /// Whether `node` was alive at the last reading.
    pub fn is_alive(&self, node: &NodeId) -> bool {
        self.alive.contains_key(node)
    }

    /// `node` said it is leaving: dead from now on (until it beats again).
    pub fn gone(&mut self, node: &NodeId) {
        if self.alive.remove(node).is_some() {
            self.dead.insert(node.clone());
        }
    }

    /// Whether `node` was seen alive and then dead (a node never seen is not dead: it
    /// may have started since the last reading).
    pub fn is_dead(&self, node: &NodeId) -> bool {
        self.dead.contains(node)
    }

    /// The nodes alive at the last reading, by name.
    pub fn alive(&self) -> Vec<NodeId> {
        let mut nodes: Vec<NodeId> = self.alive.keys().cloned().collect();
        nodes.sort();
        nodes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_dead_after_five_silent_seconds_and_reported_once() {
        let (a, b) = (NodeId("a".into()), NodeId("b".into()));
        let mut d = Directory::default();
        let c = d.read(10_000, &[(a.clone(), 10_000), (b.clone(), 9_000)]);
        assert_eq!(c.up, vec![a.clone(), b.clone()]);
        let c = d.read(13_500, &[(a.clone(), 13_000), (b.clone(), 9_000)]);
        assert_eq!(c, Changes::default(), "4.5 s of silence is not death");
        let c = d.read(14_001, &[(a.clone(), 14_000), (b.clone(), 9_000)]);
        assert_eq!(c.down, vec![b.clone()]);
        assert!(!d.is_alive(&b));
        assert!(d.is_dead(&b) && !d.is_dead(&NodeId("never-seen".into())));
        let c = d.read(15_000, &[(a.clone(), 15_000)]);
        assert_eq!(c, Changes::default(), "reported once");
        assert_eq!(d.alive(), vec![a]);
    }
}
