//! The tree's nodes kept four levels to a group: one group holds the nodes
//! of a 4-level slice of the tree under one position (up to 15 of them, and
//! the 16 below at its bottom edge belong to the next groups), so walking a
//! path reads one group per four levels, as Aptos' Jellyfish Merkle tree
//! stores its nibble nodes. The tree, its hashes and its proofs are the same
//! as with one entry per node; only where the nodes live changes.

use std::collections::HashMap;

use super::bit;
use super::tree::{Node, NodePos, NodeRead};

/// Levels per group.
const LEVELS: usize = 4;
/// Nodes in a group: 1 + 2 + 4 + 8.
const SLOTS: usize = (1 << LEVELS) - 1;

/// Nodes in groups, in memory.
#[derive(Default)]
pub struct GroupedNodes {
    groups: HashMap<NodePos, Box<[Option<Node>; SLOTS]>>,
    nodes: usize,
}

/// The group holding `at`, and its slot there (heap order: 0 the group's
/// top, then each level left to right).
fn locate(at: &NodePos) -> (NodePos, usize) {
    let depth = at.depth as usize;
    let top = depth - depth % LEVELS;
    let below = depth - top;
    // The `below` bits of the path after the group's top.
    let mut index = 0usize;
    for i in top..depth {
        index = index << 1 | usize::from(bit(&at.path, i));
    }
    (NodePos::on_path(top, &at.path), (1 << below) - 1 + index)
}

impl GroupedNodes {
    /// No nodes.
    pub fn new() -> GroupedNodes {
        GroupedNodes::default()
    }

    /// Applies an update's writes (`None` deletes).
    pub fn apply(&mut self, writes: impl IntoIterator<Item = (NodePos, Option<Node>)>) {
        for (at, node) in writes {
            let (group, slot) = locate(&at);
            match node {
                Some(node) => {
                    let g = self
                        .groups
                        .entry(group)
                        .or_insert_with(|| Box::new([None; SLOTS]));
                    if g[slot].replace(node).is_none() {
                        self.nodes += 1;
                    }
                }
                None => {
                    if let Some(g) = self.groups.get_mut(&group) {
                        if g[slot].take().is_some() {
                            self.nodes -= 1;
                        }
                        if g.iter().all(Option::is_none) {
                            self.groups.remove(&group);
                        }
                    }
                }
            }
        }
    }

    /// How many nodes are stored.
    pub fn len(&self) -> usize {
        self.nodes
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.nodes == 0
    }

    /// How many groups hold them.
    pub fn groups(&self) -> usize {
        self.groups.len()
    }
}

impl NodeRead for GroupedNodes {
    fn node(&self, at: &NodePos) -> Option<Node> {
        let (group, slot) = locate(at);
        self.groups.get(&group).and_then(|g| g[slot])
    }
}
