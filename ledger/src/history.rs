//! The history tree: the RFC 6962 tree whose leaves are the block hashes
//! of a chain, block 1 first. Block H's header carries the root over
//! blocks 1..H−1 (`history_root`), so the certificate of block H signs the
//! whole history before it, and a checkpoint at H (see [`crate::witness`])
//! names the root over blocks 1..H.
//!
//! A node keeps the tree as its perfect subtrees: the root of leaves
//! `[i·2^l, (i+1)·2^l)` at (level `l`, index `i`), written once, when its
//! last leaf arrives ([`completed`]). Any root, inclusion proof or
//! consistency proof then costs O(log² n) reads of those subtrees, through
//! the [`Subtrees`] trait, whatever the length of the chain. The proofs are
//! the ones of [`crate::merkle`], which verifies them.

use crate::merkle::{node_hash, ConsistencyProof, Frontier, InclusionProof};
use crate::types::Hash;

/// The leaf of a block in the history tree: SHA-256(0x00 ‖ block hash).
pub fn leaf(block_hash: &Hash) -> Hash {
    crate::merkle::leaf_hash(&block_hash.0)
}

/// A perfect subtree of the history tree, named by its level (its height
/// above the leaves) and its index among the subtrees of that level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subtree {
    /// 0 for a leaf.
    pub level: u8,
    /// It covers leaves `[index·2^level, (index+1)·2^level)`.
    pub index: u64,
}

/// Where the roots of complete perfect subtrees are read from: a store, or
/// a list of leaves in memory (tests).
pub trait Subtrees {
    /// Why a read failed.
    type Error;
    /// The root of `subtree`, which must be complete.
    fn subtree(&self, subtree: Subtree) -> Result<Hash, Self::Error>;
}

/// Leaves held in memory; each read hashes the leaves below it.
impl Subtrees for [Hash] {
    type Error = std::convert::Infallible;
    fn subtree(&self, s: Subtree) -> Result<Hash, Self::Error> {
        let width = 1usize << s.level;
        let lo = s.index as usize * width;
        Ok(crate::merkle::root_from_leaf_hashes(&self[lo..lo + width]))
    }
}

/// Appends `leaf` to `frontier` and returns the subtrees it completes, the
/// leaf itself first and the largest last, with their roots: what a store
/// writes for each new block.
pub fn completed(frontier: &mut Frontier, leaf: Hash) -> Vec<(Subtree, Hash)> {
    let index = frontier.size();
    let mut out = vec![(Subtree { level: 0, index }, leaf)];
    let peaks = frontier.peaks();
    let mut root = leaf;
    let mut level = 0u8;
    let mut i = index;
    // Each trailing one bit of the old size is a peak to merge with.
    let mut p = peaks.len();
    while i & 1 == 1 {
        p -= 1;
        root = node_hash(&peaks[p], &root);
        level += 1;
        i >>= 1;
        out.push((Subtree { level, index: i }, root));
    }
    frontier.push(leaf);
    debug_assert_eq!(frontier.peaks().last(), Some(&root));
    out
}

/// The frontier of the first `size` leaves, read from their subtrees.
pub fn frontier<S: Subtrees + ?Sized>(src: &S, size: u64) -> Result<Frontier, S::Error> {
    let mut peaks = Vec::new();
    let mut start = 0u64;
    for level in (0..64u8).rev() {
        if size >> level & 1 == 1 {
            peaks.push(src.subtree(Subtree {
                level,
                index: start >> level,
            })?);
            start += 1 << level;
        }
    }
    Ok(Frontier::from_parts(size, peaks).expect("one peak per one bit of the size"))
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The root over leaves `[lo, hi)`, where `lo` is a multiple of the
/// largest power of two not above `hi − lo` (as every range of the RFC's
/// recursion is).
fn range_root<S: Subtrees + ?Sized>(src: &S, lo: u64, hi: u64) -> Result<Hash, S::Error> {
    let n = hi - lo;
    if n == 0 {
        return Ok(Hash::digest(&[]));
    }
    if n.is_power_of_two() {
        let level = n.trailing_zeros() as u8;
        return src.subtree(Subtree {
            level,
            index: lo >> level,
        });
    }
    let k = split(n);
    Ok(node_hash(
        &range_root(src, lo, lo + k)?,
        &range_root(src, lo + k, hi)?,
    ))
}

/// The root of the first `size` leaves.
pub fn root<S: Subtrees + ?Sized>(src: &S, size: u64) -> Result<Hash, S::Error> {
    range_root(src, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of the first `size`
/// leaves; `None` if `index` is not below `size`.
pub fn inclusion<S: Subtrees + ?Sized>(
    src: &S,
    size: u64,
    index: u64,
) -> Result<Option<InclusionProof>, S::Error> {
    if index >= size {
        return Ok(None);
    }
    let mut path = Vec::new();
    audit_path(src, index, 0, size, &mut path)?;
    Ok(Some(InclusionProof {
        tree_size: size,
        leaf_index: index,
        path,
    }))
}

/// RFC 6962 PATH(m, D[lo..hi]), leaf first.
fn audit_path<S: Subtrees + ?Sized>(
    src: &S,
    m: u64,
    lo: u64,
    hi: u64,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = hi - lo;
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        audit_path(src, m, lo, lo + k, out)?;
        out.push(range_root(src, lo + k, hi)?);
    } else {
        audit_path(src, m - k, lo + k, hi, out)?;
        out.push(range_root(src, lo, lo + k)?);
    }
    Ok(())
}

/// The consistency proof from the tree of the first `old` leaves to that of
/// the first `new`; `None` if `old` is above `new`.
pub fn consistency<S: Subtrees + ?Sized>(
    src: &S,
    old: u64,
    new: u64,
) -> Result<Option<ConsistencyProof>, S::Error> {
    if old > new {
        return Ok(None);
    }
    let mut path = Vec::new();
    if old > 0 && old < new {
        subproof(src, old, 0, new, true, &mut path)?;
    }
    Ok(Some(ConsistencyProof {
        old_size: old,
        new_size: new,
        path,
    }))
}

/// RFC 6962 SUBPROOF(m, D[lo..hi], b).
fn subproof<S: Subtrees + ?Sized>(
    src: &S,
    m: u64,
    lo: u64,
    hi: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = hi - lo;
    if m == n {
        if !complete {
            out.push(range_root(src, lo, hi)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(src, m, lo, lo + k, complete, out)?;
        out.push(range_root(src, lo + k, hi)?);
    } else {
        subproof(src, m - k, lo + k, hi, false, out)?;
        out.push(range_root(src, lo, lo + k)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::merkle::root_from_leaf_hashes;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf(&Hash::digest(&i.to_be_bytes())))
            .collect()
    }

    /// The subtrees written by [`completed`], as a store keeps them.
    struct Written(HashMap<Subtree, Hash>);

    impl Subtrees for Written {
        type Error = Subtree;
        fn subtree(&self, s: Subtree) -> Result<Hash, Subtree> {
            self.0.get(&s).copied().ok_or(s)
        }
    }

    #[test]
    fn written_subtrees_give_the_proofs_of_the_whole_list() {
        let all = leaves(70);
        let mut front = Frontier::default();
        let mut written = Written(HashMap::new());
        for (n, l) in all.iter().enumerate() {
            let new = completed(&mut front, *l);
            assert_eq!(
                new[0],
                (
                    Subtree {
                        level: 0,
                        index: n as u64
                    },
                    *l
                )
            );
            written.0.extend(new);
            let size = n as u64 + 1;
            let expected_root = root_from_leaf_hashes(&all[..=n]);
            assert_eq!(front.root(), expected_root);
            assert_eq!(root(&written, size).unwrap(), expected_root);
            assert_eq!(frontier(&written, size).unwrap(), front);
            for i in 0..size {
                let p = inclusion(&written, size, i).unwrap().unwrap();
                assert_eq!(p, InclusionProof::generate(&all[..=n], i as usize).unwrap());
                assert!(p.verify_bound(&all[i as usize], &expected_root, size));
            }
            for old in 0..=size {
                let p = consistency(&written, old, size).unwrap().unwrap();
                assert_eq!(
                    p,
                    ConsistencyProof::generate(&all[..=n], old as usize).unwrap()
                );
            }
        }
        // 70 leaves complete 70 + 35 + 17 + 8 + 4 + 2 + 1 subtrees.
        assert_eq!(written.0.len(), 137);
        assert_eq!(inclusion(&written, 70, 70).unwrap(), None);
        assert_eq!(consistency(&written, 71, 70).unwrap(), None);
    }

    #[test]
    fn an_unwritten_subtree_is_an_error_not_a_wrong_proof() {
        let written = Written(HashMap::new());
        assert_eq!(root(&written, 3), Err(Subtree { level: 1, index: 0 }));
        assert_eq!(root(&written, 0), Ok(Hash::digest(&[])));
    }

    #[test]
    fn leaves_in_memory_answer_like_written_subtrees() {
        let all = leaves(13);
        let slice: &[Hash] = &all;
        assert_eq!(root(slice, 13).unwrap(), root_from_leaf_hashes(&all));
        assert_eq!(
            inclusion(slice, 13, 5).unwrap().unwrap(),
            InclusionProof::generate(&all, 5).unwrap()
        );
    }
}
