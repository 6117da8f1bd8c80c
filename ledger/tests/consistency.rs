//! Inclusion and consistency proofs of the RFC 6962 tree: for every leaf
//! of every size, and every pair of sizes, up to 300 the proof verifies,
//! and every tampered proof, wrong size, wrong index or wrong root fails;
//! for random large trees, a history that differs anywhere in its prefix
//! is caught.

use ledger::merkle::{leaf_hash, root_from_leaf_hashes, ConsistencyProof, InclusionProof};
use ledger::Hash;
use proptest::prelude::*;

fn leaves(n: usize, salt: u8) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(&[&(i as u64).to_le_bytes()[..], &[salt]].concat()))
        .collect()
}

/// The same hash with one bit flipped.
fn flipped(h: &Hash) -> Hash {
    let mut b = h.0;
    b[0] ^= 1;
    Hash(b)
}

#[test]
fn every_leaf_of_every_size_up_to_300_is_proven_and_every_tampering_fails() {
    let all = leaves(300, 0);
    for n in 1..=300usize {
        let root = root_from_leaf_hashes(&all[..n]);
        for i in 0..n {
            let p = InclusionProof::generate(&all[..n], i).unwrap();
            let size = n as u64;
            assert!(p.verify_bound(&all[i], &root, size), "leaf {i} of {n}");
            // Another leaf, root or size.
            let other = all[(i + 1) % n];
            assert!(
                n == 1 || !p.verify_bound(&other, &root, size),
                "{i}/{n} leaf"
            );
            assert!(
                !p.verify_bound(&all[i], &flipped(&root), size),
                "{i}/{n} root"
            );
            assert!(!p.verify_bound(&all[i], &root, size + 1), "{i}/{n} size");
            // Each path element changed, one missing, one too many.
            for k in 0..p.path.len() {
                let mut q = p.clone();
                q.path[k] = flipped(&q.path[k]);
                assert!(!q.verify_bound(&all[i], &root, size), "{i}/{n} path {k}");
            }
            let mut q = p.clone();
            if q.path.pop().is_some() {
                assert!(!q.verify_bound(&all[i], &root, size), "{i}/{n} short");
            }
            let mut q = p.clone();
            q.path.push(root);
            assert!(!q.verify_bound(&all[i], &root, size), "{i}/{n} long");
            // Another index of the same size.
            if n > 1 {
                let mut q = p.clone();
                q.leaf_index = ((i + 1) % n) as u64;
                assert!(!q.verify_bound(&all[i], &root, size), "{i}/{n} index");
            }
        }
        assert!(InclusionProof::generate(&all[..n], n).is_none());
    }
}

#[test]
fn every_pair_of_sizes_up_to_300_verifies_and_every_tampering_fails() {
    let all = leaves(300, 0);
    let roots: Vec<Hash> = (0..=300)
        .map(|n| root_from_leaf_hashes(&all[..n]))
        .collect();
    for n in 1..=300usize {
        for m in 0..=n {
            let p = ConsistencyProof::generate(&all[..n], m).unwrap();
            assert_eq!((p.old_size, p.new_size), (m as u64, n as u64));
            assert!(p.verify(&roots[m], &roots[n]), "({m}, {n})");
            if m == 0 {
                continue;
            }
            // Another root on either side.
            assert!(
                !p.verify(&flipped(&roots[m]), &roots[n]),
                "({m}, {n}) old root"
            );
            if m < n {
                assert!(
                    !p.verify(&roots[m], &flipped(&roots[n])),
                    "({m}, {n}) new root"
                );
            }
            // Each element of the path changed, one at a time.
            for i in 0..p.path.len() {
                let mut q = p.clone();
                q.path[i] = flipped(&q.path[i]);
                assert!(!q.verify(&roots[m], &roots[n]), "({m}, {n}) element {i}");
            }
            // A path cut short, or made longer.
            if !p.path.is_empty() {
                let mut q = p.clone();
                q.path.pop();
                assert!(!q.verify(&roots[m], &roots[n]), "({m}, {n}) shorter");
            }
            let mut q = p.clone();
            q.path.push(roots[0]);
            assert!(!q.verify(&roots[m], &roots[n]), "({m}, {n}) longer");
            // Bound to the sizes two checkpoints sign, another size is
            // refused even where the path alone would still fold.
            let (mu, nu) = (m as u64, n as u64);
            assert!(p.verify_bound(&roots[m], mu, &roots[n], nu));
            assert!(
                !p.verify_bound(&roots[m], mu, &roots[n], nu + 1),
                "({m}, {n})"
            );
            assert!(
                !p.verify_bound(&roots[m], mu + 1, &roots[n], nu),
                "({m}, {n})"
            );
            let mut q = p.clone();
            q.new_size += 1;
            assert!(!q.verify_bound(&roots[m], mu, &roots[n], nu), "({m}, {n})");
        }
    }
    assert!(ConsistencyProof::generate(&all[..5], 6).is_none());
    // An older tree larger than the newer is refused whatever the path.
    let p = ConsistencyProof {
        old_size: 6,
        new_size: 5,
        path: Vec::new(),
    };
    assert!(!p.verify(&roots[6], &roots[5]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_history_changed_anywhere_in_its_prefix_is_caught(
        n in 2usize..3000,
        m_frac in 0.0f64..1.0,
        changed_frac in 0.0f64..1.0,
    ) {
        let m = ((n as f64 * m_frac) as usize).clamp(1, n - 1);
        let changed = (m as f64 * changed_frac) as usize % m;
        let honest = leaves(n, 0);
        let p = ConsistencyProof::generate(&honest, m).unwrap();
        let old = root_from_leaf_hashes(&honest[..m]);
        let new = root_from_leaf_hashes(&honest);
        prop_assert!(p.verify(&old, &new));
        // A second history: the same but for one leaf of the old prefix.
        let mut rewritten = honest.clone();
        rewritten[changed] = leaf_hash(b"rewritten");
        let q = ConsistencyProof::generate(&rewritten, m).unwrap();
        let new2 = root_from_leaf_hashes(&rewritten);
        prop_assert!(!q.verify(&old, &new2), "m={} n={} changed={}", m, n, changed);
        prop_assert!(!p.verify(&old, &new2));
    }
}
