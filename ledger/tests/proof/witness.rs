//! Checkpoints, cosignatures and fork proofs (`ledger::witness`) on the
//! fixture's chain: a checkpoint built from the store verifies from the
//! genesis facts alone at every height, each tamper fails with what was
//! changed, consistency proofs link every pair of checkpoints, and two
//! chains from one genesis that part ways give a fork proof naming the
//! validators who signed both. Fork proofs with earlier pairs, on two
//! chains whose certificates each hold a chosen three of the four
//! validators, are in `witness/forks.rs`.

mod forks;

use ledger::history::leaf;
use ledger::merkle::root_from_leaf_hashes;
use ledger::proof::ProofError;
use ledger::testkit::{id, key};
use ledger::tx::{EntityKind, Status};
use ledger::witness::{
    extends, CheckpointProof, Cosignature, CosignatureRefused, ForkProof, WitnessError,
};
use ledger::{Hash, Height, Op};

use crate::helpers::{contract, Fixture};

fn checkpoint(f: &Fixture, h: u64) -> CheckpointProof {
    CheckpointProof::build(&f.store, Height(h))
        .unwrap()
        .expect("block h is committed")
}

/// The root over the first `h` blocks, computed here from their hashes.
fn root_of(f: &Fixture, h: u64) -> Hash {
    let leaves: Vec<Hash> = f.blocks[..h as usize]
        .iter()
        .map(|b| Hash::digest(&[&[0u8][..], &b.hash().0[..]].concat()))
        .collect();
    root_from_leaf_hashes(&leaves)
}

#[test]
fn a_checkpoint_at_every_height_verifies_from_the_genesis_file() {
    let f = Fixture::new();
    for h in 1..=8 {
        let proof = checkpoint(&f, h);
        let v = proof.verify(&f.anchor()).unwrap();
        assert_eq!(v.checkpoint.height, Height(h));
        assert_eq!(v.checkpoint.block_hash, f.blocks[h as usize - 1].hash());
        assert_eq!(v.checkpoint.history_root, root_of(&f, h));
        assert_eq!(f.store.history_root(Height(h)).unwrap(), root_of(&f, h));
        // Read back from its JSON, it is the same.
        let json = serde_json::to_vec(&proof).unwrap();
        assert_eq!(CheckpointProof::decode(&json).unwrap(), proof);
    }
    assert!(CheckpointProof::build(&f.store, Height(9))
        .unwrap()
        .is_none());
    assert!(CheckpointProof::build(&f.store, Height(0))
        .unwrap()
        .is_none());
}

#[test]
fn a_tampered_checkpoint_fails_with_what_was_changed() {
    let f = Fixture::new();
    let good = checkpoint(&f, 8);
    let fails = |tamper: &dyn Fn(&mut CheckpointProof)| {
        let mut p = good.clone();
        tamper(&mut p);
        p.verify(&f.anchor()).expect_err("tampered")
    };
    let other = Hash::digest(b"another history");
    assert_eq!(
        fails(&|p| p.checkpoint.history_root = other),
        WitnessError::CheckpointMismatch {
            field: "history_root"
        }
    );
    assert_eq!(
        fails(&|p| p.checkpoint.block_hash = other),
        WitnessError::CheckpointMismatch {
            field: "block_hash"
        }
    );
    assert_eq!(
        fails(&|p| p.checkpoint.height = Height(7)),
        WitnessError::CheckpointMismatch { field: "height" }
    );
    assert_eq!(
        fails(&|p| p.checkpoint.height = Height(0)),
        WitnessError::HeightZero
    );
    assert_eq!(
        fails(&|p| p.history_peaks[0] = other),
        WitnessError::Peaks { height: Height(8) }
    );
    assert_eq!(
        fails(&|p| {
            p.history_peaks.pop();
        }),
        WitnessError::Peaks { height: Height(8) }
    );
    assert!(matches!(
        fails(&|p| p.certificate = checkpoint(&f, 7).certificate),
        WitnessError::Proof(ProofError::BlockHashMismatch { .. })
    ));
    // Without the change that added validator-4, set(8) is not reached.
    assert!(matches!(
        fails(&|p| {
            p.validator_set_changes.remove(0);
        }),
        WitnessError::Proof(_)
    ));
    assert!(matches!(
        fails(&|p| p.genesis_hash = other),
        WitnessError::WrongChain { .. }
    ));
    // The readable header must say what its bytes say.
    assert!(matches!(
        fails(&|p| p.header.view.time_ms += 1),
        WitnessError::Proof(ProofError::HeaderChanged { .. })
    ));
}

#[test]
fn consistency_proofs_link_every_pair_of_checkpoints() {
    let f = Fixture::new();
    let cps: Vec<_> = (1..=8)
        .map(|h| checkpoint(&f, h).verify(&f.anchor()).unwrap().checkpoint)
        .collect();
    for m in 1..=8u64 {
        for n in m..=8u64 {
            let p = f
                .store
                .history_consistency(Height(m), Height(n))
                .unwrap()
                .unwrap();
            let (old, new) = (&cps[m as usize - 1], &cps[n as usize - 1]);
            assert!(extends(old, new, Some(&p)), "{m} -> {n}");
            // Never backwards, and not for another root.
            assert!(m == n || !extends(new, old, Some(&p)));
            let mut forged = new.clone();
            forged.history_root = Hash::digest(b"x");
            assert!(!extends(old, &forged, Some(&p)), "{m} -> {n} forged");
        }
    }
    assert!(f
        .store
        .history_consistency(Height(5), Height(4))
        .unwrap()
        .is_none());
    // Block 3 is in the history at 8, where the store says.
    let p = f
        .store
        .history_inclusion(Height(3), Height(8))
        .unwrap()
        .unwrap();
    assert!(p.verify_bound(&leaf(&f.blocks[2].hash()), &root_of(&f, 8), 8));
}

/// The fixture's chain and a ninth block confirming a delivery with
/// `note`.
fn with_ninth(note: &str) -> Fixture {
    let mut f = Fixture::new();
    f.block(vec![(
        "MOH.BVBM",
        Op::ConfirmDelivery {
            contract: contract("C-2"),
            milestone: "Đợt 2".into(),
            note: note.into(),
        },
    )]);
    f
}

#[test]
fn two_histories_from_one_genesis_give_a_fork_proof_naming_who_signed_both() {
    let a = with_ninth("UNC-A");
    let b = with_ninth("UNC-B");
    assert_eq!(a.blocks[7].hash(), b.blocks[7].hash(), "one chain up to 8");
    let proof = ForkProof::new(checkpoint(&a, 9), checkpoint(&b, 9));
    let json = proof.to_json();
    let read = ForkProof::decode(json.as_bytes()).unwrap();
    let v = read.verify(&a.anchor()).unwrap();
    assert_eq!(v.height, Height(9));
    assert_eq!(v.heights, [Height(9)]);
    assert_eq!(v.cosigned, a.blocks[8].hash());
    assert_eq!(v.other, b.blocks[8].hash());
    // set(9): validator-1 was removed, validator-4 added.
    let names: Vec<_> = v.signed_both.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(
        names,
        ["validator-0", "validator-2", "validator-3", "validator-4"]
    );
    // The same checkpoint twice is no fork; two heights are not one.
    assert!(matches!(
        ForkProof::new(checkpoint(&a, 9), checkpoint(&a, 9)).verify(&a.anchor()),
        Err(WitnessError::NoFork(_))
    ));
    assert!(matches!(
        ForkProof::new(checkpoint(&a, 8), checkpoint(&b, 9)).verify(&a.anchor()),
        Err(WitnessError::NotOneHeight { .. })
    ));
    // Up to 8 the two are consistent; past it, neither extends the other.
    let cp = |f: &Fixture, h| checkpoint(f, h).checkpoint;
    let p = b
        .store
        .history_consistency(Height(8), Height(9))
        .unwrap()
        .unwrap();
    assert!(extends(&cp(&a, 8), &cp(&b, 9), Some(&p)));
    assert!(!extends(&cp(&a, 9), &cp(&b, 9), None));
}

#[test]
fn a_node_keeps_a_cosignature_only_from_an_active_witness_for_its_own_history() {
    let mut f = Fixture::new();
    f.block(vec![
        (
            "MOF",
            Op::RegisterEntity {
                id: id("KTNN"),
                kind: EntityKind::Observer,
                name: "Kiểm toán Nhà nước".into(),
                parent: None,
                keys: vec![key("KTNN").public_key()],
                threshold: 1,
            },
        ),
        (
            "MOF",
            Op::RegisterEntity {
                id: id("V-0099"),
                kind: EntityKind::Vendor,
                name: "Công ty".into(),
                parent: None,
                keys: vec![key("V-0099").public_key()],
                threshold: 1,
            },
        ),
    ]);
    let state = f.chain.state.clone();
    let cp = checkpoint(&f, 9).verify(&f.anchor()).unwrap().checkpoint;
    let at = |h: u64| checkpoint(&f, h).checkpoint;
    let sign = |who: &str, cp: &ledger::witness::Checkpoint| {
        Cosignature::sign(&key(who), id(who), cp, 1_800_000_000_000)
    };
    let refused = |c: &Cosignature| f.store.admit_cosignature(c, &state).unwrap().unwrap_err();

    let good = sign("KTNN", &cp);
    assert!(good.verify());
    let json = serde_json::to_vec(&good).unwrap();
    assert_eq!(Cosignature::decode(&json).unwrap(), good);

    // Refused, and nothing stored.
    assert_eq!(
        refused(&sign("V-0099", &cp)),
        CosignatureRefused::NotAWitness(id("V-0099"))
    );
    assert_eq!(
        refused(&sign("SAO-X", &cp)),
        CosignatureRefused::UnknownWitness(id("SAO-X"))
    );
    let mut other_key = good.clone();
    other_key.key = key("V-0099").public_key();
    assert_eq!(
        refused(&other_key),
        CosignatureRefused::WrongKey(id("KTNN"))
    );
    let mut forged = good.clone();
    forged.time_ms += 1;
    assert_eq!(
        refused(&forged),
        CosignatureRefused::BadSignature(id("KTNN"))
    );
    let mut other_chain = cp.clone();
    other_chain.chain_id = "another-chain".into();
    assert!(matches!(
        refused(&sign("KTNN", &other_chain)),
        CosignatureRefused::WrongChain { .. }
    ));
    let mut ahead = cp.clone();
    ahead.height = Height(10);
    assert_eq!(
        refused(&sign("KTNN", &ahead)),
        CosignatureRefused::NotReached {
            height: Height(10),
            ours: Height(9)
        }
    );
    let mut rewritten = at(8);
    rewritten.history_root = Hash::digest(b"another history");
    assert!(matches!(
        refused(&sign("KTNN", &rewritten)),
        CosignatureRefused::OtherHistory { .. }
    ));
    assert_eq!(f.store.cosignatures().unwrap(), Vec::new());

    // Kept, then never replaced by an older one.
    f.store
        .admit_cosignature(&sign("KTNN", &at(8)), &state)
        .unwrap()
        .unwrap();
    f.store.admit_cosignature(&good, &state).unwrap().unwrap();
    assert_eq!(
        refused(&sign("KTNN", &at(7))),
        CosignatureRefused::NotNewer {
            witness: id("KTNN"),
            held: Height(9)
        }
    );
    assert_eq!(f.store.cosignatures().unwrap(), vec![good.clone()]);

    // A suspended witness is refused.
    f.block(vec![(
        "MOF",
        Op::SetStatus {
            entity: id("KTNN"),
            status: Status::Suspended,
        },
    )]);
    let c = Cosignature::sign(&key("KTNN"), id("KTNN"), &checkpoint(&f, 10).checkpoint, 1);
    assert_eq!(
        f.store.admit_cosignature(&c, &f.chain.state).unwrap(),
        Err(CosignatureRefused::Suspended(id("KTNN")))
    );
}

#[test]
fn malformed_documents_are_refused_by_the_decoders() {
    let f = Fixture::new();
    let json = serde_json::to_value(checkpoint(&f, 3)).unwrap();
    let mut extra = json.clone();
    extra["checkpoint"]["note"] = "x".into();
    assert!(matches!(
        CheckpointProof::decode(extra.to_string().as_bytes()),
        Err(WitnessError::Malformed { .. })
    ));
    let mut trailing = json.to_string().into_bytes();
    trailing.extend_from_slice(b" {}");
    assert!(CheckpointProof::decode(&trailing).is_err());
    let big = vec![b' '; ledger::witness::CHECKPOINT_BYTES_MAX + 1];
    assert!(matches!(
        CheckpointProof::decode(&big),
        Err(WitnessError::TooLarge { .. })
    ));
    assert!(Cosignature::decode(b"{}").is_err());
    assert!(ForkProof::decode(json.to_string().as_bytes()).is_err());
}
