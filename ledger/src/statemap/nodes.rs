//! The latest tree of a state, node by node in memory, as the state's
//! entries are: execution reads it to update the root, and the store keeps
//! every version of every node on disk, so it is read back at start, never
//! rebuilt.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use super::tree::{self, Node, NodePos, NodeRead, Update};
use super::{Proof, DEPTH_MAX, EMPTY};
use crate::types::Hash;

/// A node write: the node now at a position, or `None` where none is now.
pub type NodeWrite = (NodePos, Option<Node>);

/// The nodes of one tree, by position.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Nodes {
    map: HashMap<NodePos, Node>,
}

impl fmt::Debug for Nodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nodes({} nodes, root {})", self.map.len(), self.root())
    }
}

impl Nodes {
    /// The tree of no entries.
    pub fn new() -> Nodes {
        Nodes::default()
    }

    /// The nodes read back from a store; whether they form a whole tree is
    /// [`Nodes::check`]'s to say, and of which root [`Nodes::root`]'s.
    pub fn from_nodes(nodes: impl IntoIterator<Item = (NodePos, Node)>) -> Nodes {
        Nodes {
            map: nodes.into_iter().collect(),
        }
    }

    /// Checks that the nodes form one whole tree, as nodes read back from a
    /// disk must before execution relies on them: from the root down, every
    /// child an internal node names is stored where it belongs and hashes
    /// to what its parent says, every leaf sits on its key's path, and no
    /// other node is stored. Returns the number of leaves (entries), or
    /// the first position where the tree is broken. Hashes each node once.
    pub fn check(&self) -> Result<usize, NodePos> {
        let root = NodePos::root();
        let Some(top) = self.map.get(&root) else {
            return match self.map.keys().next() {
                None => Ok(0),
                Some(stray) => Err(*stray),
            };
        };
        let (mut leaves, mut seen) = (0, 0);
        let mut stack = vec![(root, *top)];
        while let Some((at, node)) = stack.pop() {
            seen += 1;
            let depth = usize::from(at.depth);
            match node {
                Node::Leaf { key, .. } => {
                    if NodePos::on_path(depth, &key) != at {
                        return Err(at);
                    }
                    leaves += 1;
                }
                Node::Internal { .. } if depth >= DEPTH_MAX => return Err(at),
                Node::Internal { left, right } => {
                    for (one, hash) in [(false, left), (true, right)] {
                        if hash == EMPTY {
                            continue;
                        }
                        let mut path = at.path;
                        if one {
                            path.0[depth / 8] |= 0x80 >> (depth % 8);
                        }
                        let child = NodePos::on_path(depth + 1, &path);
                        match self.map.get(&child) {
                            Some(n) if n.hash() == hash => stack.push((child, *n)),
                            _ => return Err(child),
                        }
                    }
                }
            }
        }
        if seen != self.map.len() {
            return Err(root);
        }
        Ok(leaves)
    }

    /// The tree's root.
    pub fn root(&self) -> Hash {
        self.map.get(&NodePos::root()).map_or(EMPTY, Node::hash)
    }

    /// How many nodes there are.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are none (the tree of no entries).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The root and the node writes after `changes` (key hash → value hash,
    /// `None` to remove), without applying them.
    pub fn update(&self, changes: &BTreeMap<Hash, Option<Hash>>) -> (Hash, Vec<NodeWrite>) {
        let Update { root, writes } =
            tree::update(&self.map, changes).expect("the tree in memory holds every node");
        (root, writes.into_iter().collect())
    }

    /// Applies node writes from [`Nodes::update`].
    pub fn apply(&mut self, writes: &[NodeWrite]) {
        for (at, node) in writes {
            match node {
                Some(n) => self.map.insert(*at, *n),
                None => self.map.remove(at),
            };
        }
    }

    /// The proof of `key` in this tree.
    pub fn prove(&self, key: &Hash) -> Proof {
        tree::prove(&self.map, key).expect("the tree in memory holds every node")
    }

    /// Every node, in no order.
    pub fn iter(&self) -> impl Iterator<Item = (&NodePos, &Node)> {
        self.map.iter()
    }
}

impl NodeRead for Nodes {
    fn node(&self, at: &NodePos) -> Option<Node> {
        self.map.get(at).copied()
    }
}
