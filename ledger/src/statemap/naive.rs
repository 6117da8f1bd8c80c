//! Roots and proofs computed from a whole map at once, by the definition:
//! the model for the incremental tree, and a way to check one offline.

use std::collections::BTreeMap;

use super::{bit, internal_hash, leaf_hash, Proof, EMPTY};
use crate::types::Hash;

/// The root of `entries` (key hash → value hash).
pub fn root(entries: &BTreeMap<Hash, Hash>) -> Hash {
    let all: Vec<(Hash, Hash)> = entries.iter().map(|(k, v)| (*k, *v)).collect();
    subtree(&all, 0)
}

/// The proof of `key` in `entries`.
pub fn prove(entries: &BTreeMap<Hash, Hash>, key: &Hash) -> Proof {
    let mut here: Vec<(Hash, Hash)> = entries.iter().map(|(k, v)| (*k, *v)).collect();
    let mut siblings = Vec::new();
    let mut depth = 0;
    loop {
        match here.len() {
            0 => {
                return Proof {
                    leaf: None,
                    siblings,
                }
            }
            1 => {
                return Proof {
                    leaf: Some(here[0]),
                    siblings,
                }
            }
            _ => {
                let (ones, zeros): (Vec<_>, Vec<_>) =
                    here.into_iter().partition(|(k, _)| bit(k, depth));
                let (on, off) = if bit(key, depth) {
                    (ones, zeros)
                } else {
                    (zeros, ones)
                };
                siblings.push(subtree(&off, depth + 1));
                here = on;
                depth += 1;
            }
        }
    }
}

/// The hash of the subtree at `depth` holding `entries` (sorted by key, all
/// sharing their first `depth` bits).
pub fn subtree(entries: &[(Hash, Hash)], depth: usize) -> Hash {
    match entries {
        [] => EMPTY,
        [(k, v)] => leaf_hash(k, v),
        _ => {
            let split = entries.partition_point(|(k, _)| !bit(k, depth));
            internal_hash(
                &subtree(&entries[..split], depth + 1),
                &subtree(&entries[split..], depth + 1),
            )
        }
    }
}
