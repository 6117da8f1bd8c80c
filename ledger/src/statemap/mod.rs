//! The authenticated state map: a sparse Merkle tree over every state entry,
//! whose root commits to each one, so that one entry (a budget line's
//! figures, an entity's keys) can be proved present with its value, or
//! proved absent, against a root alone.
//!
//! The tree is binary over the 256 bits of a key's hash, most significant
//! bit first, with one shortcut: a subtree holding a single entry is that
//! entry's leaf, placed where the subtree starts, so a path is as deep as the
//! keys around it make it (about log2 of the entries), not 256. The same
//! shape as the sparse Merkle trees of Diem and Aptos:
//!
//! - leaf: `SHA-256(0x00 ‖ key hash ‖ value hash)`;
//! - internal node: `SHA-256(0x01 ‖ left ‖ right)`;
//! - empty subtree: 32 zero bytes, so the root of an empty map is zero.
//!
//! A [`Proof`] names the leaf found on the key's path (if any) and the
//! siblings from the top down; [`Proof::verify`] is a pure function of the
//! root, the key and the claimed value. [`naive`] computes roots and proofs
//! from a whole map, the model the incremental [`tree::update`] is tested
//! against; [`Nodes`] holds a state's latest tree. Where a state entry sits
//! in the map is the state's to say (`state::key_hash`, `state::value_hash`):
//! this module knows hashes only.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::codec;
use crate::error::TxError;
use crate::types::Hash;

pub mod grouped;
pub mod naive;
mod nodes;
pub mod tree;

pub use nodes::{NodeWrite, Nodes};

/// The most bytes a [`Proof`] takes: a full path of 256 siblings and a leaf.
pub const PROOF_BYTES_MAX: usize = 16 * 1024;

/// The root of an empty map, and the hash of any empty subtree.
pub const EMPTY: Hash = Hash([0; 32]);

/// Bits in a key hash: the deepest a path can go.
pub const DEPTH_MAX: usize = 256;

/// A leaf's hash.
pub fn leaf_hash(key: &Hash, value: &Hash) -> Hash {
    node_hash(0x00, key, value)
}

/// An internal node's hash.
pub fn internal_hash(left: &Hash, right: &Hash) -> Hash {
    node_hash(0x01, left, right)
}

fn node_hash(tag: u8, a: &Hash, b: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([tag]);
    h.update(a.0);
    h.update(b.0);
    Hash(h.finalize().into())
}

/// Bit `i` of `key` (0: the most significant bit of the first byte).
pub fn bit(key: &Hash, i: usize) -> bool {
    key.0[i / 8] & (0x80 >> (i % 8)) != 0
}

/// How many leading bits `a` and `b` share.
pub fn common_prefix(a: &Hash, b: &Hash) -> usize {
    for (i, (x, y)) in a.0.iter().zip(b.0.iter()).enumerate() {
        let d = x ^ y;
        if d != 0 {
            return i * 8 + d.leading_zeros() as usize;
        }
    }
    DEPTH_MAX
}

/// The proof of one key: the leaf its path ends at, if any, and the hashes
/// of the siblings along the path, from just under the root down. In JSON
/// (state proofs' files): `{"leaf": [key hash, value hash] | null,
/// "siblings": [hash, ...]}`, hashes in hex.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    /// The leaf where the key's path ends: the key's own (presence), another
    /// key's sharing the path so far (absence), or none (an empty subtree:
    /// absence).
    pub leaf: Option<(Hash, Hash)>,
    /// Sibling `i` is the other child at depth `i + 1`.
    pub siblings: Vec<Hash>,
}

/// Why a proof does not hold.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ProofError {
    /// More siblings than a key has bits.
    #[error("the proof is {0} levels deep; a path has at most 256")]
    TooDeep(usize),
    /// The proof shows another value, or none, where the claim has one.
    #[error("the proof does not show the claimed value for this key")]
    WrongValue,
    /// An absence proof whose leaf is the key's own, or off its path.
    #[error("the proof's leaf is not on the key's path")]
    OffPath,
    /// The path does not hash to the root.
    #[error("the proof does not lead to the root {expected}: it leads to {got}")]
    WrongRoot {
        /// The trusted root.
        expected: Hash,
        /// What the proof hashes to.
        got: Hash,
    },
}

impl Proof {
    /// Reads a proof: canonical, at most [`PROOF_BYTES_MAX`] bytes, nothing
    /// after it, at most 256 siblings.
    pub fn decode(bytes: &[u8]) -> Result<Proof, TxError> {
        let p: Proof = codec::decode::<Proof, PROOF_BYTES_MAX>(bytes)?;
        if p.siblings.len() > DEPTH_MAX {
            return Err(TxError::Malformed {
                reason: format!(
                    "a state proof of {} levels; a path has at most {DEPTH_MAX}",
                    p.siblings.len()
                ),
            });
        }
        Ok(p)
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Checks that under `root`, `key` holds `value` (a value hash), or with
    /// `None` that it holds nothing.
    pub fn verify(&self, root: &Hash, key: &Hash, value: Option<&Hash>) -> Result<(), ProofError> {
        let depth = self.siblings.len();
        if depth > DEPTH_MAX {
            return Err(ProofError::TooDeep(depth));
        }
        match (value, &self.leaf) {
            (Some(v), Some((k, lv))) if k == key && lv == v => {}
            (Some(_), _) => return Err(ProofError::WrongValue),
            (None, Some((k, _))) if k == key => return Err(ProofError::WrongValue),
            (None, Some((k, _))) if common_prefix(k, key) < depth => {
                return Err(ProofError::OffPath)
            }
            (None, _) => {}
        }
        let got = self.root_for(key);
        if got != *root {
            return Err(ProofError::WrongRoot {
                expected: *root,
                got,
            });
        }
        Ok(())
    }

    /// The root this proof hashes to along `key`'s path.
    fn root_for(&self, key: &Hash) -> Hash {
        let node = match &self.leaf {
            Some((k, v)) => leaf_hash(k, v),
            None => EMPTY,
        };
        root_along(node, key, &self.siblings)
    }
}

/// The root a node at depth `siblings.len()` on `path`'s path hashes to,
/// with `siblings` from just under the root down to it.
pub fn root_along(node: Hash, path: &Hash, siblings: &[Hash]) -> Hash {
    let mut h = node;
    for (i, sibling) in siblings.iter().enumerate().rev() {
        h = if bit(path, i) {
            internal_hash(sibling, &h)
        } else {
            internal_hash(&h, sibling)
        };
    }
    h
}

#[cfg(test)]
mod tests;
