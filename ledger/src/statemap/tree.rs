//! The tree kept node by node, updated by a block's writes: each changed key
//! rewrites the nodes on its path and no others, so a block costs its writes
//! times the depth (about log2 of the entries), whatever the state's size.
//!
//! A node sits at a [`NodePos`]: its depth and the key bits that lead to it.
//! An internal node holds its children's hashes; a leaf its key and value
//! hashes, at the shallowest position where it is alone. An update returns
//! the new root and the node writes; where they are kept (a map, a column
//! of the store) is the caller's.

use std::collections::BTreeMap;

use bincode::{Decode, Encode};
use thiserror::Error;

use super::{bit, internal_hash, leaf_hash, Proof, DEPTH_MAX, EMPTY};
use crate::types::Hash;

/// Where a node sits: its depth, and the first `depth` bits of every key
/// under it (the bits after them zero).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode)]
pub struct NodePos {
    /// 0 for the root.
    pub depth: u16,
    /// The path's bits, the rest zero.
    pub path: Hash,
}

impl NodePos {
    /// The position at `depth` on `key`'s path.
    pub fn on_path(depth: usize, key: &Hash) -> NodePos {
        let mut path = key.0;
        for (i, b) in path.iter_mut().enumerate() {
            let keep = depth.saturating_sub(i * 8).min(8);
            *b &= !(0xffu16 >> keep) as u8;
        }
        NodePos {
            depth: depth as u16,
            path: Hash(path),
        }
    }

    /// The root's position.
    pub fn root() -> NodePos {
        NodePos::on_path(0, &EMPTY)
    }
}

/// A stored node.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub enum Node {
    /// Two children, by hash ([`EMPTY`] for an empty side).
    Internal {
        /// The child whose next bit is 0.
        left: Hash,
        /// The child whose next bit is 1.
        right: Hash,
    },
    /// The one entry of its subtree.
    Leaf {
        /// The key's hash.
        key: Hash,
        /// The value's hash.
        value: Hash,
    },
}

impl Node {
    /// The node's hash.
    pub fn hash(&self) -> Hash {
        match self {
            Node::Internal { left, right } => internal_hash(left, right),
            Node::Leaf { key, value } => leaf_hash(key, value),
        }
    }
}

/// Reads nodes by position.
pub trait NodeRead {
    /// The node at `at`, if one is there.
    fn node(&self, at: &NodePos) -> Option<Node>;
}

impl NodeRead for BTreeMap<NodePos, Node> {
    fn node(&self, at: &NodePos) -> Option<Node> {
        self.get(at).copied()
    }
}

impl<S: std::hash::BuildHasher> NodeRead for std::collections::HashMap<NodePos, Node, S> {
    fn node(&self, at: &NodePos) -> Option<Node> {
        self.get(at).copied()
    }
}

/// A node the tree's hashes say exists is not stored.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("the state tree lacks its node at depth {} on path {}", .0.depth, .0.path)]
pub struct MissingNode(pub NodePos);

/// What an update did: the new root, and the nodes to write (`None`
/// deletes), by position.
#[derive(Debug, Default)]
pub struct Update {
    /// The map's new root.
    pub root: Hash,
    /// Node writes.
    pub writes: BTreeMap<NodePos, Option<Node>>,
}

/// Applies `changes` (key hash → value hash, `None` to remove) to the tree
/// `store` holds.
pub fn update(
    store: &dyn NodeRead,
    changes: &BTreeMap<Hash, Option<Hash>>,
) -> Result<Update, MissingNode> {
    let root_node = store.node(&NodePos::root());
    let changes: Vec<(Hash, Option<Hash>)> = changes.iter().map(|(k, v)| (*k, *v)).collect();
    if changes.is_empty() {
        return Ok(Update {
            root: root_node.map_or(EMPTY, |n| n.hash()),
            writes: BTreeMap::new(),
        });
    }
    let mut u = Updater {
        store,
        writes: BTreeMap::new(),
    };
    let sub = u.apply(0, root_node, &changes)?;
    let root = u.place(0, sub);
    Ok(Update {
        root,
        writes: u.writes,
    })
}

/// The proof of `key` from the tree `store` holds.
pub fn prove(store: &dyn NodeRead, key: &Hash) -> Result<Proof, MissingNode> {
    let mut siblings = Vec::new();
    let mut at = NodePos::root();
    let Some(mut node) = store.node(&at) else {
        return Ok(Proof {
            leaf: None,
            siblings,
        });
    };
    loop {
        match node {
            Node::Leaf { key, value } => {
                return Ok(Proof {
                    leaf: Some((key, value)),
                    siblings,
                })
            }
            Node::Internal { left, right } => {
                let depth = siblings.len();
                let (next, other) = if bit(key, depth) {
                    (right, left)
                } else {
                    (left, right)
                };
                siblings.push(other);
                if next == EMPTY {
                    return Ok(Proof {
                        leaf: None,
                        siblings,
                    });
                }
                at = NodePos::on_path(depth + 1, key);
                node = store.node(&at).ok_or(MissingNode(at))?;
            }
        }
    }
}

/// A subtree after the update, not yet placed.
enum Sub {
    Empty,
    /// A single entry; `at` is where it is stored now, if it is.
    Leaf {
        key: Hash,
        value: Hash,
        at: Option<usize>,
    },
    /// An internal node already written (or untouched) at its position.
    Internal(Hash),
    /// A subtree no change reached, by hash, at `depth` on `path`'s path.
    Untouched {
        hash: Hash,
        depth: usize,
        path: Hash,
    },
}

struct Updater<'a> {
    store: &'a dyn NodeRead,
    writes: BTreeMap<NodePos, Option<Node>>,
}

impl Updater<'_> {
    fn write(&mut self, at: NodePos, node: Node) {
        self.writes.insert(at, Some(node));
    }

    /// Records that the node at `at` is gone, unless this update put
    /// another there.
    fn delete(&mut self, at: NodePos) {
        self.writes.entry(at).or_insert(None);
    }

    /// The subtree at `depth` whose node is `node`, after `changes` (not
    /// empty, sorted, all on this subtree's path).
    fn apply(
        &mut self,
        depth: usize,
        node: Option<Node>,
        changes: &[(Hash, Option<Hash>)],
    ) -> Result<Sub, MissingNode> {
        let path = changes[0].0;
        match node {
            Some(Node::Internal { left, right }) if depth < DEPTH_MAX => {
                let split = changes.partition_point(|(k, _)| !bit(k, depth));
                let (lc, rc) = changes.split_at(split);
                let l = self.child(depth + 1, &path, false, left, lc)?;
                let r = self.child(depth + 1, &path, true, right, rc)?;
                self.join(depth, &path, true, l, r)
            }
            other => {
                // At most one entry here: rebuild the subtree from it and
                // the changes.
                let mut entries = BTreeMap::new();
                if let Some(Node::Leaf { key, value }) = other {
                    self.delete(NodePos::on_path(depth, &key));
                    entries.insert(key, value);
                }
                for (k, v) in changes {
                    match v {
                        Some(v) => entries.insert(*k, *v),
                        None => entries.remove(k),
                    };
                }
                let all: Vec<(Hash, Hash)> = entries.into_iter().collect();
                self.build(depth, &all)
            }
        }
    }

    /// A child at `depth` (the side `one` of its parent on `path`), whose
    /// hash is `hash`, after `changes`.
    fn child(
        &mut self,
        depth: usize,
        path: &Hash,
        one: bool,
        hash: Hash,
        changes: &[(Hash, Option<Hash>)],
    ) -> Result<Sub, MissingNode> {
        let mut side = *path;
        let (byte, mask) = ((depth - 1) / 8, 0x80u8 >> ((depth - 1) % 8));
        if one {
            side.0[byte] |= mask;
        } else {
            side.0[byte] &= !mask;
        }
        if changes.is_empty() {
            return Ok(match hash {
                EMPTY => Sub::Empty,
                hash => Sub::Untouched {
                    hash,
                    depth,
                    path: side,
                },
            });
        }
        let node = match hash {
            EMPTY => None,
            _ => {
                let at = NodePos::on_path(depth, &side);
                Some(self.store.node(&at).ok_or(MissingNode(at))?)
            }
        };
        self.apply(depth, node, changes)
    }

    /// A fresh subtree at `depth` over `entries` (sorted, at least none).
    fn build(&mut self, depth: usize, entries: &[(Hash, Hash)]) -> Result<Sub, MissingNode> {
        match entries {
            [] => Ok(Sub::Empty),
            [(key, value)] => Ok(Sub::Leaf {
                key: *key,
                value: *value,
                at: None,
            }),
            _ => {
                let split = entries.partition_point(|(k, _)| !bit(k, depth));
                let l = self.build(depth + 1, &entries[..split])?;
                let r = self.build(depth + 1, &entries[split..])?;
                self.join(depth, &entries[0].0, false, l, r)
            }
        }
    }

    /// The subtree at `depth` on `path` with children `l` and `r`; `was` is
    /// whether an internal node is stored there now.
    fn join(
        &mut self,
        depth: usize,
        path: &Hash,
        was: bool,
        l: Sub,
        r: Sub,
    ) -> Result<Sub, MissingNode> {
        let l = self.settle(l, &r)?;
        let r = self.settle(r, &l)?;
        let here = NodePos::on_path(depth, path);
        match (l, r) {
            (Sub::Empty, Sub::Empty) => {
                if was {
                    self.delete(here);
                }
                Ok(Sub::Empty)
            }
            (leaf @ Sub::Leaf { .. }, Sub::Empty) | (Sub::Empty, leaf @ Sub::Leaf { .. }) => {
                // Alone in this subtree: the leaf rises.
                if was {
                    self.delete(here);
                }
                Ok(leaf)
            }
            (l, r) => {
                let left = self.place(depth + 1, l);
                let right = self.place(depth + 1, r);
                let node = Node::Internal { left, right };
                self.write(here, node);
                Ok(Sub::Internal(node.hash()))
            }
        }
    }

    /// `sub`, read from the store if it is untouched and its sibling is
    /// empty: if it is a leaf, it must rise.
    fn settle(&mut self, sub: Sub, sibling: &Sub) -> Result<Sub, MissingNode> {
        match (sub, sibling) {
            (Sub::Untouched { hash, depth, path }, Sub::Empty) => {
                let at = NodePos::on_path(depth, &path);
                Ok(match self.store.node(&at).ok_or(MissingNode(at))? {
                    Node::Leaf { key, value } => Sub::Leaf {
                        key,
                        value,
                        at: Some(depth),
                    },
                    Node::Internal { .. } => Sub::Internal(hash),
                })
            }
            (sub, _) => Ok(sub),
        }
    }

    /// Puts `sub` at `depth` and returns its hash.
    fn place(&mut self, depth: usize, sub: Sub) -> Hash {
        match sub {
            Sub::Empty => EMPTY,
            Sub::Internal(hash) | Sub::Untouched { hash, .. } => hash,
            Sub::Leaf { key, value, at } => {
                let node = Node::Leaf { key, value };
                if at != Some(depth) {
                    if let Some(old) = at {
                        self.delete(NodePos::on_path(old, &key));
                    }
                    self.write(NodePos::on_path(depth, &key), node);
                }
                node.hash()
            }
        }
    }
}
