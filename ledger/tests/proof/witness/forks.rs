//! Fork proofs with earlier pairs. Two chains from one genesis of four
//! validators share blocks 1..=PART and part after it; each block of each
//! chain is certified by three of the four, a different three from one
//! height to the next and from one chain to the other. The main pair alone
//! names only the validators in both of its certificates; earlier pairs,
//! linked on each side, name every validator who certified a block of each
//! chain. Every change to the pairs or their links fails with its own
//! error.

use std::collections::BTreeSet;

use ledger::builder::sign_commit;
use ledger::merkle::ConsistencyProof;
use ledger::proof::{ProofError, TrustAnchor};
use ledger::store::Store;
use ledger::testkit::{key, TestChain};
use ledger::witness::{CheckpointProof, ForkPair, ForkProof, Side, WitnessError, FORK_PAIRS_MAX};
use ledger::{Block, Hash, Height};
use tempfile::TempDir;

/// Validators of the genesis, `validator-0` to `validator-3`.
const VALIDATORS: usize = 4;
/// The last block the two chains share.
const PART: u64 = 3;
/// The height of both chains.
const TOP: u64 = 8;

/// One of the two chains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chain {
    A,
    B,
}

/// The validator whose precommit is left out of the certificate of block
/// `h` of `chain`: the shared blocks leave out `h mod 4`, as chain A does
/// after them; chain B's own blocks leave out `(h + 2) mod 4`.
fn left_out(chain: Chain, h: u64) -> usize {
    let shift = if chain == Chain::B && h > PART { 2 } else { 0 };
    ((h + shift) % VALIDATORS as u64) as usize
}

/// The validators whose precommits certify block `h` of `chain`.
fn signers(chain: Chain, h: u64) -> BTreeSet<usize> {
    (0..VALIDATORS)
        .filter(|i| *i != left_out(chain, h))
        .collect()
}

fn names(validators: &BTreeSet<usize>) -> Vec<String> {
    validators
        .iter()
        .map(|i| format!("validator-{i}"))
        .collect()
}

/// The validators who certified a block of chain A and a block of chain B
/// among `heights`, by the subsets chosen above.
fn expected(heights: &[u64]) -> Vec<String> {
    let union =
        |chain| -> BTreeSet<usize> { heights.iter().flat_map(|h| signers(chain, *h)).collect() };
    names(
        &union(Chain::A)
            .intersection(&union(Chain::B))
            .copied()
            .collect(),
    )
}

/// A chain in a store, each block certified by [`signers`].
struct Forked {
    store: Store,
    _dir: TempDir,
    anchor: TrustAnchor,
    blocks: Vec<Block>,
}

impl Forked {
    fn build(chain: Chain) -> Forked {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut test = TestChain::new(VALIDATORS);
        store.init(&test.genesis, test.genesis_hash).unwrap();
        let mut blocks = Vec::new();
        for h in 1..=TOP {
            if chain == Chain::B && h > PART {
                test.block_interval_ms = 1007;
            }
            let (block, _, outcome) = test.make_block(Vec::new()).unwrap();
            let keys: Vec<_> = signers(chain, h)
                .iter()
                .map(|i| key(&format!("validator-{i}")))
                .collect();
            let cert = sign_commit(&block, 0, &keys.iter().collect::<Vec<_>>());
            store
                .commit_block(&block, &cert, &outcome, &test.state)
                .unwrap();
            test.advance(&block, cert, outcome);
            blocks.push(block);
        }
        Forked {
            store,
            _dir: dir,
            anchor: TrustAnchor::from_genesis_state(&test.genesis, test.genesis_hash),
            blocks,
        }
    }

    fn checkpoint(&self, h: u64) -> CheckpointProof {
        CheckpointProof::build(&self.store, Height(h))
            .unwrap()
            .expect("committed")
    }

    fn link(&self, from: u64, to: u64) -> ConsistencyProof {
        self.store
            .history_consistency(Height(from), Height(to))
            .unwrap()
            .expect("from is not above to")
    }
}

fn chains() -> (Forked, Forked) {
    let (a, b) = (Forked::build(Chain::A), Forked::build(Chain::B));
    assert_eq!(a.blocks[PART as usize - 1], b.blocks[PART as usize - 1]);
    assert_ne!(
        a.blocks[PART as usize].hash(),
        b.blocks[PART as usize].hash()
    );
    (a, b)
}

/// The pair at `h`, each side linked to its checkpoint at `next`.
fn pair(a: &Forked, b: &Forked, h: u64, next: u64) -> ForkPair {
    ForkPair {
        cosigned: a.checkpoint(h),
        cosigned_link: a.link(h, next),
        other: b.checkpoint(h),
        other_link: b.link(h, next),
    }
}

/// The fork proof of the pair at `main` with pairs at `earlier` (in
/// increasing height), A the cosigned side.
fn fork(a: &Forked, b: &Forked, earlier: &[u64], main: u64) -> ForkProof {
    let pairs = earlier
        .iter()
        .enumerate()
        .map(|(i, h)| pair(a, b, *h, earlier.get(i + 1).copied().unwrap_or(main)))
        .collect();
    ForkProof::new(a.checkpoint(main), b.checkpoint(main)).with_earlier(pairs)
}

fn named(proof: &ForkProof, anchor: &TrustAnchor) -> Vec<String> {
    let v = proof.verify(anchor).unwrap();
    v.signed_both.iter().map(|x| x.name.clone()).collect()
}

#[test]
fn earlier_pairs_name_every_validator_who_certified_a_block_of_each_history() {
    let (a, b) = chains();
    // The main pair alone: only the two validators in both certificates.
    let alone = fork(&a, &b, &[], TOP);
    let main_only = names(
        &signers(Chain::A, TOP)
            .intersection(&signers(Chain::B, TOP))
            .copied()
            .collect(),
    );
    assert_eq!(main_only.len(), 2, "{main_only:?}");
    assert_eq!(named(&alone, &a.anchor), main_only);
    assert_eq!(expected(&[TOP]), main_only);

    // With the pairs at 5 and 7: all four signed both histories.
    let proof = fork(&a, &b, &[5, 7], TOP);
    let read = ForkProof::decode(proof.to_json().as_bytes()).unwrap();
    assert_eq!(read, proof);
    let v = read.verify(&a.anchor).unwrap();
    assert_eq!(v.height, Height(TOP));
    assert_eq!(v.cosigned, a.blocks[TOP as usize - 1].hash());
    assert_eq!(v.other, b.blocks[TOP as usize - 1].hash());
    assert_eq!(v.heights, [Height(5), Height(7), Height(TOP)]);
    let all = names(&(0..VALIDATORS).collect());
    assert_eq!(expected(&[5, 7, TOP]), all);
    let got: Vec<String> = v.signed_both.iter().map(|x| x.name.clone()).collect();
    assert_eq!(got, all);
    // Each named once, with its key from the set.
    for (x, name) in v.signed_both.iter().zip(&all) {
        assert_eq!(x.consensus_key, key(name).public_key());
    }

    // Every choice of earlier heights between the part and the main pair,
    // the lowest main pair too.
    for main in [PART + 1, TOP] {
        let between: Vec<u64> = (PART + 1..main).collect();
        for choice in 0u32..1 << between.len() {
            let earlier: Vec<u64> = between
                .iter()
                .enumerate()
                .filter(|(i, _)| choice >> i & 1 == 1)
                .map(|(_, h)| *h)
                .collect();
            let proof = fork(&a, &b, &earlier, main);
            let mut heights = earlier.clone();
            heights.push(main);
            let v = proof.verify(&a.anchor).unwrap();
            assert_eq!(v.heights.iter().map(|h| h.0).collect::<Vec<_>>(), heights);
            assert_eq!(named(&proof, &a.anchor), expected(&heights), "{heights:?}");
        }
    }
}

#[test]
fn a_fork_proof_without_earlier_pairs_is_written_as_before_and_read_strictly() {
    let (a, b) = chains();
    let alone = fork(&a, &b, &[], TOP);
    let json: serde_json::Value = serde_json::from_str(&alone.to_json()).unwrap();
    assert!(json.get("earlier").is_none(), "{json}");
    let mut empty = json.clone();
    empty["earlier"] = serde_json::json!([]);
    assert_eq!(
        ForkProof::decode(empty.to_string().as_bytes()).unwrap(),
        alone
    );

    let with = serde_json::to_value(fork(&a, &b, &[6], TOP)).unwrap();
    assert_eq!(with["earlier"].as_array().unwrap().len(), 1);
    let mut extra = with.clone();
    extra["earlier"][0]["note"] = "x".into();
    assert!(matches!(
        ForkProof::decode(extra.to_string().as_bytes()),
        Err(WitnessError::Malformed { .. })
    ));
    let mut extra = with.clone();
    extra["earlier"][0]["other_link"]["note"] = "x".into();
    assert!(matches!(
        ForkProof::decode(extra.to_string().as_bytes()),
        Err(WitnessError::Malformed { .. })
    ));
}

#[test]
fn every_change_to_the_earlier_pairs_fails_with_its_own_error() {
    let (a, b) = chains();
    let good = fork(&a, &b, &[5, 7], TOP);
    good.verify(&a.anchor).unwrap();
    let fails = |tamper: &dyn Fn(&mut ForkProof)| {
        let mut p = good.clone();
        tamper(&mut p);
        p.verify(&a.anchor).expect_err("changed")
    };
    let h = Height;

    // A pair of two heights, and a pair of one block.
    assert_eq!(
        fails(&|p| p.earlier[0].other = b.checkpoint(6)),
        WitnessError::NotOneHeight {
            cosigned: h(5),
            other: h(6)
        }
    );
    assert_eq!(
        fails(&|p| p.earlier[1].other = a.checkpoint(7)),
        WitnessError::NoFork(a.blocks[6].hash())
    );
    // Below the part the two histories are one.
    assert_eq!(
        fails(&|p| p.earlier.insert(0, pair(&a, &b, PART, 5))),
        WitnessError::NoFork(a.blocks[PART as usize - 1].hash())
    );

    // Out of order, or not below the main pair.
    assert_eq!(
        fails(&|p| p.earlier.swap(0, 1)),
        WitnessError::PairNotBelow {
            height: h(7),
            next: h(5)
        }
    );
    assert_eq!(
        fails(&|p| p.earlier.push(pair(&a, &b, TOP, TOP))),
        WitnessError::PairNotBelow {
            height: h(TOP),
            next: h(TOP)
        }
    );
    assert_eq!(
        fails(&|p| p.earlier[1] = pair(&a, &b, 5, TOP)),
        WitnessError::PairNotBelow {
            height: h(5),
            next: h(5)
        }
    );
    let below_six =
        ForkProof::new(a.checkpoint(6), b.checkpoint(6)).with_earlier(vec![pair(&a, &b, 7, TOP)]);
    assert_eq!(
        below_six.verify(&a.anchor).unwrap_err(),
        WitnessError::PairNotBelow {
            height: h(7),
            next: h(6)
        }
    );

    // Links that do not link: swapped between the sides, the other side's
    // on one side, for other heights, or a side's checkpoints mixed.
    let unlinked = |side, height, next| WitnessError::Unlinked {
        side,
        height: h(height),
        next: h(next),
    };
    assert_eq!(
        fails(&|p| {
            let pair = &mut p.earlier[0];
            std::mem::swap(&mut pair.cosigned_link, &mut pair.other_link);
        }),
        unlinked(Side::Cosigned, 5, 7)
    );
    assert_eq!(
        fails(&|p| p.earlier[1].other_link = a.link(7, TOP)),
        unlinked(Side::Other, 7, TOP)
    );
    assert_eq!(
        fails(&|p| p.earlier[0].cosigned_link = a.link(4, 7)),
        unlinked(Side::Cosigned, 5, 7)
    );
    assert_eq!(
        fails(&|p| p.earlier[0].other_link = b.link(5, TOP)),
        unlinked(Side::Other, 5, 7)
    );
    assert_eq!(
        fails(&|p| p.earlier[0].cosigned_link.path.clear()),
        unlinked(Side::Cosigned, 5, 7)
    );
    // The pair at 7 with its sides swapped: each checkpoint is now on the
    // side of the other history.
    assert_eq!(
        fails(&|p| {
            let pair = &mut p.earlier[1];
            std::mem::swap(&mut pair.cosigned, &mut pair.other);
            std::mem::swap(&mut pair.cosigned_link, &mut pair.other_link);
        }),
        unlinked(Side::Cosigned, 5, 7)
    );
    // Dropping the pair at 7 leaves the links of 5 pointing at 7.
    assert_eq!(
        fails(&|p| {
            p.earlier.pop();
        }),
        unlinked(Side::Cosigned, 5, TOP)
    );

    // A checkpoint that does not verify.
    let other = Hash::digest(b"another history");
    assert_eq!(
        fails(&|p| p.earlier[0].other.checkpoint.history_root = other),
        WitnessError::CheckpointMismatch {
            field: "history_root"
        }
    );
    assert!(matches!(
        fails(&|p| p.earlier[1].cosigned.certificate.precommits.truncate(2)),
        WitnessError::Proof(ProofError::Certificate { .. })
    ));
    assert!(matches!(
        fails(&|p| p.earlier[0].cosigned.genesis_hash = other),
        WitnessError::WrongChain { .. }
    ));

    // More pairs than a verifier reads.
    assert_eq!(
        fails(&|p| p.earlier = vec![pair(&a, &b, 5, 7); FORK_PAIRS_MAX]),
        WitnessError::TooManyPairs {
            count: FORK_PAIRS_MAX + 1,
            max: FORK_PAIRS_MAX
        }
    );
}
