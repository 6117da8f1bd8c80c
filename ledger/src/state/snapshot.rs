//! Snapshot chunks: every state entry whose key hash starts with one
//! prefix, with what proves that they are all of them, checked against a
//! state root alone. A node that starts from a snapshot takes the state of
//! height H chunk by chunk from its peers, and trusts no peer for any of
//! it: each chunk either hashes to the certified state root of H or is
//! refused.
//!
//! A chunk names a prefix of `depth` bits and carries the whole content of
//! the map's node that covers the prefix, with the siblings on the way
//! down to that node. Usually that node is the subtree at `depth` itself.
//! Where the map ends higher up (a subtree of one entry or none is a leaf
//! or empty, [`crate::statemap`]), the node is that leaf or that empty
//! subtree, fewer siblings are needed, and the chunk holds at most one
//! entry, which may lie outside the prefix. Either way, every entry under
//! the prefix is under that node, so a chunk that hashes to the root is
//! complete for its prefix: a peer cannot leave an entry out, add one, or
//! change one.

use bincode::{Decode, Encode};
use thiserror::Error;

use super::{key_hash, value_hash, State, StateKey, StateValue};
use crate::codec;
use crate::error::TxError;
use crate::statemap::{self, naive};
use crate::types::Hash;

/// The longest prefix a chunk may name: 65,536 chunks at most.
pub const CHUNK_DEPTH_MAX: u8 = 16;
/// The most bytes a chunk takes.
pub const CHUNK_BYTES_MAX: usize = 32 * 1024 * 1024;

/// The state entries under one prefix of the key hashes, and their proof.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Chunk {
    /// Bits in the prefix, at most [`CHUNK_DEPTH_MAX`].
    pub depth: u8,
    /// The prefix: the first `depth` bits of the key hashes, most
    /// significant first, as a number below 2^depth.
    pub prefix: u32,
    /// Siblings from just under the root down to the node that covers the
    /// prefix (at most `depth` of them).
    pub siblings: Vec<Hash>,
    /// Every entry under that node, in key-hash order.
    pub entries: Vec<(StateKey, StateValue)>,
}

/// Why a chunk is refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ChunkError {
    /// The prefix is longer than a chunk's may be, or does not fit its bits.
    #[error("a chunk's prefix is {prefix} of {depth} bits; at most {CHUNK_DEPTH_MAX} bits, below 2^depth")]
    Prefix {
        /// Its bits.
        depth: u8,
        /// The prefix.
        prefix: u32,
    },
    /// More siblings than the prefix has bits.
    #[error("a chunk of a {depth}-bit prefix carries {siblings} siblings")]
    TooDeep {
        /// The prefix's bits.
        depth: u8,
        /// Siblings carried.
        siblings: usize,
    },
    /// A node above the prefix's depth holds more than one entry, so the
    /// map does not end there.
    #[error("a chunk that ends above its prefix's depth holds {0} entries; at most one")]
    NotALeaf(usize),
    /// A key holds a value of another kind.
    #[error("entry {0} holds a value of another kind than its key")]
    KindMismatch(usize),
    /// The entries are not in key-hash order, or one is there twice.
    #[error("entry {0} is out of key-hash order or repeated")]
    Order(usize),
    /// An entry is not under the node the siblings lead to.
    #[error("entry {0} is not under the node the chunk proves")]
    OffPath(usize),
    /// The chunk does not hash to the trusted root.
    #[error("the chunk does not lead to the state root {expected}: it leads to {got}")]
    WrongRoot {
        /// The certified state root.
        expected: Hash,
        /// What the chunk hashes to.
        got: Hash,
    },
}

/// Whether bit `i` of the `depth`-bit `prefix` is set.
fn prefix_bit(depth: u8, prefix: u32, i: usize) -> bool {
    (prefix >> (usize::from(depth) - 1 - i)) & 1 == 1
}

/// A hash whose first `depth` bits are `prefix`, to walk its path.
pub(crate) fn prefix_path(depth: u8, prefix: u32) -> Hash {
    let mut bytes = [0u8; 32];
    for i in 0..usize::from(depth) {
        if prefix_bit(depth, prefix, i) {
            bytes[i / 8] |= 0x80 >> (i % 8);
        }
    }
    Hash(bytes)
}

/// Whether `key` starts with the first `bits` bits of `path`.
pub(crate) fn shares(key: &Hash, path: &Hash, bits: usize) -> bool {
    statemap::common_prefix(key, path) >= bits
}

impl Chunk {
    /// The chunk of `state` for `prefix` of `depth` bits.
    ///
    /// # Panics
    /// If the prefix does not fit `depth` or `depth` is over
    /// [`CHUNK_DEPTH_MAX`]: the caller names the chunks.
    pub fn build(state: &State, depth: u8, prefix: u32) -> Chunk {
        assert!(
            depth <= CHUNK_DEPTH_MAX && u64::from(prefix) < 1u64 << depth,
            "a chunk's prefix fits its depth"
        );
        let path = prefix_path(depth, prefix);
        let mut here: Vec<(Hash, StateKey, StateValue)> = state
            .entries()
            .map(|(k, v)| (key_hash(k), k.clone(), v.clone()))
            .collect();
        here.sort_by_key(|e| e.0);
        let mut siblings = Vec::new();
        let mut level = 0;
        while level < usize::from(depth) && here.len() > 1 {
            let (on, off): (Vec<_>, Vec<_>) = here
                .into_iter()
                .partition(|(k, _, _)| statemap::bit(k, level) == statemap::bit(&path, level));
            let off: Vec<(Hash, Hash)> = off.iter().map(|(k, _, v)| (*k, value_hash(v))).collect();
            siblings.push(naive::subtree(&off, level + 1));
            here = on;
            level += 1;
        }
        Chunk {
            depth,
            prefix,
            siblings,
            entries: here.into_iter().map(|(_, k, v)| (k, v)).collect(),
        }
    }

    /// Reads a chunk: canonical, at most [`CHUNK_BYTES_MAX`] bytes, nothing
    /// after it.
    pub fn decode(bytes: &[u8]) -> Result<Chunk, TxError> {
        codec::decode::<Chunk, CHUNK_BYTES_MAX>(bytes)
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Checks the chunk against a trusted state root; returns the entries
    /// whose key hashes start with the prefix: all of them, and only them.
    pub fn verify(&self, root: &Hash) -> Result<Vec<(StateKey, StateValue)>, ChunkError> {
        let (depth, prefix) = (self.depth, self.prefix);
        if depth > CHUNK_DEPTH_MAX || u64::from(prefix) >= 1u64 << depth {
            return Err(ChunkError::Prefix { depth, prefix });
        }
        let level = self.siblings.len();
        if level > usize::from(depth) {
            return Err(ChunkError::TooDeep {
                depth,
                siblings: level,
            });
        }
        if level < usize::from(depth) && self.entries.len() > 1 {
            return Err(ChunkError::NotALeaf(self.entries.len()));
        }
        let path = prefix_path(depth, prefix);
        let mut hashed: Vec<(Hash, Hash)> = Vec::with_capacity(self.entries.len());
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if !k.accepts(v) {
                return Err(ChunkError::KindMismatch(i));
            }
            let kh = key_hash(k);
            if hashed.last().is_some_and(|(last, _)| *last >= kh) {
                return Err(ChunkError::Order(i));
            }
            if !shares(&kh, &path, level) {
                return Err(ChunkError::OffPath(i));
            }
            hashed.push((kh, value_hash(v)));
        }
        let node = naive::subtree(&hashed, level);
        let got = statemap::root_along(node, &path, &self.siblings);
        if got != *root {
            return Err(ChunkError::WrongRoot {
                expected: *root,
                got,
            });
        }
        Ok(self
            .entries
            .iter()
            .zip(&hashed)
            .filter(|(_, (kh, _))| shares(kh, &path, usize::from(depth)))
            .map(|(entry, _)| entry.clone())
            .collect())
    }
}
