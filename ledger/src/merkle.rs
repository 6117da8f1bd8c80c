//! The transactions Merkle tree, exactly as RFC 6962 §2.1, and inclusion
//! proofs that carry the tree size.
//!
//! - leaf hash: SHA-256(0x00 ‖ leaf bytes);
//! - node hash: SHA-256(0x01 ‖ left ‖ right);
//! - a tree of n > 1 leaves splits at the largest power of two below n;
//! - the empty tree's root is SHA-256 of nothing.
//!
//! Inclusion proofs are verified with the algorithm of RFC 9162 §2.1.3.2;
//! consistency proofs (a tree of m leaves is a prefix of one of n) are made
//! as RFC 6962 §2.1.2 says and verified as RFC 9162 §2.1.4.2 does.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::types::Hash;

/// Most elements in a proof path; a tree of 2^64 leaves needs 64.
pub const PROOF_PATH_MAX: usize = 64;

/// SHA-256(0x00 ‖ bytes).
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    Hash::digest_parts(&[&[0x00], bytes])
}

/// SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Hash::digest_parts(&[&[0x01], &left.0, &right.0])
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The root over already-hashed leaves.
pub fn root_from_leaf_hashes(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Hash::digest(&[]),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(
                &root_from_leaf_hashes(&leaves[..k]),
                &root_from_leaf_hashes(&leaves[k..]),
            )
        }
    }
}

/// The root over raw leaves.
pub fn root<T: AsRef<[u8]>>(leaves: &[T]) -> Hash {
    let hashes: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l.as_ref())).collect();
    root_from_leaf_hashes(&hashes)
}

/// Proof that a leaf is at `leaf_index` in a tree of `tree_size` leaves.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Number of leaves; must equal the header's `tx_count`.
    pub tree_size: u64,
    /// Position of the leaf.
    pub leaf_index: u64,
    /// Sibling hashes from the leaf up.
    pub path: Vec<Hash>,
}

impl InclusionProof {
    /// The proof for leaf `index` among `leaves` (already hashed).
    pub fn generate(leaves: &[Hash], index: usize) -> Option<InclusionProof> {
        if index >= leaves.len() {
            return None;
        }
        let mut path = Vec::new();
        audit_path(leaves, index, &mut path);
        Some(InclusionProof {
            tree_size: leaves.len() as u64,
            leaf_index: index as u64,
            path,
        })
    }

    /// True if the leaf is in the tree with `root` and the proof is for a tree
    /// of exactly `tree_size` leaves (a block header's `tx_count`).
    ///
    /// The root alone does not fix the tree size: a path for leaf 0 of 3 also
    /// folds to the same root when read as leaf 0 of 4. Always bind the size.
    pub fn verify_bound(&self, leaf_hash: &Hash, root: &Hash, tree_size: u64) -> bool {
        self.tree_size == tree_size && self.verify(leaf_hash, root)
    }

    /// True if the leaf with `leaf_hash` is in the tree with `root`, for the
    /// size the proof claims. Prefer [`InclusionProof::verify_bound`].
    pub fn verify(&self, leaf_hash: &Hash, root: &Hash) -> bool {
        if self.leaf_index >= self.tree_size || self.path.len() > PROOF_PATH_MAX {
            return false;
        }
        let mut f = self.leaf_index;
        let mut s = self.tree_size - 1;
        let mut r = *leaf_hash;
        for p in &self.path {
            if s == 0 {
                return false;
            }
            if f & 1 == 1 || f == s {
                r = node_hash(p, &r);
                if f & 1 == 0 {
                    while f & 1 == 0 && f != 0 {
                        f >>= 1;
                        s >>= 1;
                    }
                }
            } else {
                r = node_hash(&r, p);
            }
            f >>= 1;
            s >>= 1;
        }
        s == 0 && r == *root
    }
}

/// Proof that the tree of the first `old_size` leaves is a prefix of the
/// tree of `new_size` leaves: that nothing in it was changed or removed.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// Leaves of the older tree.
    pub old_size: u64,
    /// Leaves of the newer tree.
    pub new_size: u64,
    /// RFC 6962 PROOF(old_size, D[new_size]).
    pub path: Vec<Hash>,
}

impl ConsistencyProof {
    /// The proof that the first `old_size` of `leaves` (already hashed) are
    /// a prefix of all of them; `None` if `old_size` is more than there are.
    pub fn generate(leaves: &[Hash], old_size: usize) -> Option<ConsistencyProof> {
        if old_size > leaves.len() {
            return None;
        }
        let mut path = Vec::new();
        if old_size > 0 && old_size < leaves.len() {
            subproof(old_size, leaves, true, &mut path);
        }
        Some(ConsistencyProof {
            old_size: old_size as u64,
            new_size: leaves.len() as u64,
            path,
        })
    }

    /// True if the tree of `old_size` leaves with root `old_root` is a
    /// prefix of the tree of `new_size` leaves with root `new_root`, and the
    /// proof is for exactly those sizes (the heights two checkpoints sign).
    ///
    /// As with inclusion proofs, the roots alone do not fix the sizes: the
    /// path of (1, 3) also folds to the same roots read as (1, 4). Always
    /// bind the sizes.
    pub fn verify_bound(
        &self,
        old_root: &Hash,
        old_size: u64,
        new_root: &Hash,
        new_size: u64,
    ) -> bool {
        (self.old_size, self.new_size) == (old_size, new_size) && self.verify(old_root, new_root)
    }

    /// True if the tree with root `old_root` is a prefix of the tree with
    /// root `new_root`, for the sizes the proof claims. Any tree extends the
    /// empty one. Prefer [`ConsistencyProof::verify_bound`].
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> bool {
        let (first, second) = (self.old_size, self.new_size);
        if first > second || self.path.len() > 2 * PROOF_PATH_MAX {
            return false;
        }
        if first == 0 {
            return self.path.is_empty();
        }
        if first == second {
            return self.path.is_empty() && old_root == new_root;
        }
        // RFC 9162 §2.1.4.2.
        let mut path = self.path.iter();
        let mut fn_ = first - 1;
        let mut sn = second - 1;
        let start = if first.is_power_of_two() {
            *old_root
        } else {
            match path.next() {
                Some(h) => *h,
                None => return false,
            }
        };
        while fn_ & 1 == 1 {
            fn_ >>= 1;
            sn >>= 1;
        }
        let (mut fr, mut sr) = (start, start);
        for c in path {
            if sn == 0 {
                return false;
            }
            if fn_ & 1 == 1 || fn_ == sn {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
                if fn_ & 1 == 0 {
                    while fn_ & 1 == 0 && fn_ != 0 {
                        fn_ >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                sr = node_hash(&sr, c);
            }
            fn_ >>= 1;
            sn >>= 1;
        }
        fr == *old_root && sr == *new_root && sn == 0
    }
}

/// The right edge of an RFC 6962 tree that only grows: the roots of its
/// largest perfect subtrees, left to right, one per bit of its size. It is
/// enough to append a leaf and to give the root of the whole tree, each in
/// O(log n), without the leaves themselves: how a chain keeps the root of
/// its history of block hashes as blocks commit.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct Frontier {
    /// Leaves appended so far.
    size: u64,
    /// The perfect subtrees' roots, the largest (leftmost) first: one per
    /// one bit of `size`, which [`Frontier::from_parts`] checks.
    peaks: Vec<Hash>,
}

impl Frontier {
    /// A frontier from stored or received parts; `None` unless there is
    /// one peak per one bit of `size`.
    pub fn from_parts(size: u64, peaks: Vec<Hash>) -> Option<Frontier> {
        (peaks.len() == size.count_ones() as usize).then_some(Frontier { size, peaks })
    }

    /// Leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtrees' roots, the largest (leftmost) first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Appends a leaf (already hashed).
    pub fn push(&mut self, leaf: Hash) {
        let mut carry = leaf;
        // Each trailing one bit of the size is a peak of the new one's size
        // to merge with, right to left.
        let mut size = self.size;
        while size & 1 == 1 {
            // One peak per one bit, as `from_parts` and `push` keep it.
            let Some(left) = self.peaks.pop() else { break };
            carry = node_hash(&left, &carry);
            size >>= 1;
        }
        self.peaks.push(carry);
        self.size += 1;
    }

    /// The root of the tree of every leaf appended, as
    /// [`root_from_leaf_hashes`] gives it.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(last) = peaks.next() else {
            return Hash::digest(&[]);
        };
        peaks.fold(*last, |right, left| node_hash(left, &right))
    }
}

/// RFC 6962 SUBPROOF(m, D[n], b).
fn subproof(m: usize, leaves: &[Hash], complete: bool, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !complete {
            out.push(root_from_leaf_hashes(leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &leaves[..k], complete, out);
        out.push(root_from_leaf_hashes(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], false, out);
        out.push(root_from_leaf_hashes(&leaves[..k]));
    }
}

/// RFC 6962 PATH(m, D[n]), leaf first.
fn audit_path(leaves: &[Hash], m: usize, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        audit_path(&leaves[..k], m, out);
        out.push(root_from_leaf_hashes(&leaves[k..]));
    } else {
        audit_path(&leaves[k..], m - k, out);
        out.push(root_from_leaf_hashes(&leaves[..k]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inputs of the certificate-transparency reference tests.
    fn ct_leaves() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| hex::decode(h).unwrap())
        .collect()
    }

    #[test]
    fn known_answers_from_certificate_transparency() {
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let leaves = ct_leaves();
        for (n, want) in roots.iter().enumerate() {
            assert_eq!(
                root(&leaves[..n + 1]).to_hex(),
                *want,
                "tree of {} leaves",
                n + 1
            );
        }
        assert_eq!(
            root::<&[u8]>(&[]).to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn consistency_known_answers_from_certificate_transparency() {
        let leaves: Vec<Hash> = ct_leaves().iter().map(|l| leaf_hash(l)).collect();
        let cases: [(usize, usize, &[&str]); 4] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (m, n, want) in cases {
            let p = ConsistencyProof::generate(&leaves[..n], m).unwrap();
            let got: Vec<String> = p.path.iter().map(Hash::to_hex).collect();
            assert_eq!(got, want, "PROOF({m}, D[{n}])");
            let (old, new) = (
                root_from_leaf_hashes(&leaves[..m]),
                root_from_leaf_hashes(&leaves[..n]),
            );
            assert!(p.verify(&old, &new), "({m}, {n})");
        }
    }

    #[test]
    fn a_frontier_gives_the_root_of_every_prefix() {
        let leaves: Vec<Hash> = (0..1000u32).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let mut f = Frontier::default();
        assert_eq!(f.root(), root_from_leaf_hashes(&[]));
        for (i, l) in leaves.iter().enumerate() {
            f.push(*l);
            assert_eq!(f.size(), i as u64 + 1);
            assert_eq!(f.peaks().len(), (i + 1).count_ones() as usize);
            let copy = Frontier::from_parts(f.size(), f.peaks().to_vec()).unwrap();
            assert_eq!(copy.root(), f.root());
            assert_eq!(
                f.root(),
                root_from_leaf_hashes(&leaves[..=i]),
                "size {}",
                i + 1
            );
        }
        // The CT reference tree, leaf by leaf.
        let mut f = Frontier::default();
        let ct: Vec<Hash> = ct_leaves().iter().map(|l| leaf_hash(l)).collect();
        for l in &ct {
            f.push(*l);
        }
        assert_eq!(
            f.root().to_hex(),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
        );
        assert!(Frontier::from_parts(3, vec![ct[0]]).is_none());
        assert!(Frontier::from_parts(4, vec![ct[0], ct[1]]).is_none());
    }

    #[test]
    fn split_is_largest_power_of_two_below() {
        assert_eq!(split(2), 1);
        assert_eq!(split(3), 2);
        assert_eq!(split(4), 2);
        assert_eq!(split(5), 4);
        assert_eq!(split(8), 4);
        assert_eq!(split(9), 8);
    }

    #[test]
    fn proofs_verify_for_every_leaf_of_trees_up_to_100() {
        for n in 1..=100usize {
            let leaves: Vec<Hash> = (0..n)
                .map(|i| leaf_hash(&(i as u32).to_le_bytes()))
                .collect();
            let r = root_from_leaf_hashes(&leaves);
            for i in 0..n {
                let p = InclusionProof::generate(&leaves, i).unwrap();
                assert_eq!(p.tree_size, n as u64);
                assert!(p.verify(&leaves[i], &r), "n={n} i={i}");
                // Wrong leaf.
                let other = leaves[(i + 1) % n];
                if n > 1 {
                    assert!(!p.verify(&other, &r), "wrong leaf n={n} i={i}");
                }
                assert!(!p.verify(&leaf_hash(b"not in the tree"), &r));
                // Wrong root.
                assert!(!p.verify(&leaves[i], &leaf_hash(b"other root")));
                // Wrong index.
                if n > 1 {
                    let mut q = p.clone();
                    q.leaf_index = ((i + 1) % n) as u64;
                    assert!(!q.verify(&leaves[i], &r), "wrong index n={n} i={i}");
                }
                // A size other than the block's transaction count is refused
                // even where the path alone would still fold to the root.
                let mut q = p.clone();
                q.tree_size = n as u64 + 1;
                assert!(
                    !q.verify_bound(&leaves[i], &r, n as u64),
                    "wrong size n={n} i={i}"
                );
                assert!(p.verify_bound(&leaves[i], &r, n as u64));
                let mut q = p.clone();
                q.leaf_index = n as u64;
                assert!(!q.verify(&leaves[i], &r));
            }
        }
    }
}
